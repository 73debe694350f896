package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBootstrapCreatesAdminOnce(t *testing.T) {
	s, _ := newStore(t, nil)
	dir := t.TempDir()
	pw, created, err := s.Bootstrap(dir)
	if err != nil || !created {
		t.Fatalf("first Bootstrap: created=%v err=%v", created, err)
	}
	if len(pw) < 20 {
		t.Errorf("initial password has %d characters, want >= 20", len(pw))
	}
	file := filepath.Join(dir, InitialPasswordFile)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %o, want 600", file, fi.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	if strings.TrimSpace(string(data)) != pw {
		t.Errorf("file holds %q, Bootstrap returned another password", data)
	}
	u, err := s.CheckPassword("admin", pw)
	if err != nil || u.Role != RoleAdmin {
		t.Fatalf("admin login with initial password: %+v %v", u, err)
	}

	// Second start: nothing happens, even if the file was removed.
	os.Remove(file)
	pw2, created, err := s.Bootstrap(dir)
	if err != nil || created || pw2 != "" {
		t.Fatalf("second Bootstrap: pw=%q created=%v err=%v", pw2, created, err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("second Bootstrap rewrote the password file (stat err %v)", err)
	}
	if _, err := s.CheckPassword("admin", pw); err != nil {
		t.Errorf("second Bootstrap changed the admin password: %v", err)
	}
}

func TestBootstrapLooseExistingFileBecomes0600(t *testing.T) {
	s, _ := newStore(t, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, InitialPasswordFile)
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bootstrap(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", fi.Mode().Perm())
	}
}

func TestBootstrapUnwritableDirCreatesNoUser(t *testing.T) {
	s, _ := newStore(t, nil)
	_, created, err := s.Bootstrap(filepath.Join(t.TempDir(), "missing"))
	if err == nil || created {
		t.Fatalf("Bootstrap into a missing dir: created=%v err=%v", created, err)
	}
	if us, _ := s.Users(); len(us) != 0 {
		t.Fatalf("a user was created although the password file could not be written: %+v", us)
	}
	if _, created, err := s.Bootstrap(t.TempDir()); err != nil || !created {
		t.Fatalf("retry: created=%v err=%v", created, err)
	}
}

func TestCheckPassword(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "alice", RoleEditor, "correct horse")
	mustAdd(t, s, "bob", RoleViewer, "battery staple")
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")
	if err := s.SetDisabled("bob", true); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, pw string
		want           error
	}{
		{"good", "alice", "correct horse", nil},
		{"name case-insensitive", "ALICE", "correct horse", nil},
		{"wrong password", "alice", "correct horsE", ErrBadCredentials},
		{"empty password", "alice", "", ErrBadCredentials},
		{"too long password", "alice", strings.Repeat("x", 100), ErrBadCredentials},
		{"unknown user", "mallory", "correct horse", ErrBadCredentials},
		{"disabled user right password", "bob", "battery staple", ErrDisabled},
		{"disabled user wrong password", "bob", "nope nope", ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.CheckPassword(tc.user, tc.pw)
			if tc.want == nil {
				if err != nil || u.Name != "alice" || u.Role != RoleEditor || u.ID == 0 {
					t.Fatalf("got %+v, %v", u, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if u != (User{}) {
				t.Errorf("failed check returned a user: %+v", u)
			}
			if tc.pw != "" && strings.Contains(err.Error(), tc.pw) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
	// Unknown users must still cost a bcrypt comparison.
	if s.dummyHash == nil {
		t.Error("unknown user was answered without a bcrypt comparison")
	}
}

func TestUserAdministration(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")
	mustAdd(t, s, "alice", RoleViewer, "password1")

	if _, err := s.AddUser("Alice", RoleViewer, "password2"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate (case-insensitive) name: err = %v", err)
	}
	if err := s.SetRole("alice", RoleEditor); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User("alice"); u.Role != RoleEditor {
		t.Errorf("role after SetRole = %s", u.Role)
	}
	if err := s.SetPassword("alice", "new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword("alice", "password1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := s.CheckPassword("alice", "new password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := s.SetPassword("nobody", "new password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword unknown user: %v", err)
	}

	// The last enabled admin cannot be removed, demoted or disabled.
	for name, f := range map[string]func() error{
		"delete":  func() error { return s.DeleteUser("root") },
		"demote":  func() error { return s.SetRole("root", RoleEditor) },
		"disable": func() error { return s.SetDisabled("root", true) },
	} {
		if err := f(); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("%s last admin: err = %v, want ErrLastAdmin", name, err)
		}
	}
	if u, err := s.User("root"); err != nil || u.Role != RoleAdmin || u.Disabled {
		t.Errorf("refused change was applied anyway: %+v %v", u, err)
	}

	if err := s.DeleteUser("alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	us, err := s.Users()
	if err != nil || len(us) != 1 || us[0].Name != "root" {
		t.Errorf("Users = %+v, %v", us, err)
	}
}

func TestAddUserValidation(t *testing.T) {
	s, _ := newStore(t, nil)
	cases := []struct {
		name, user string
		role       Role
		pw         string
	}{
		{"empty name", "", RoleViewer, "password1"},
		{"long name", strings.Repeat("a", 65), RoleViewer, "password1"},
		{"space", "a b", RoleViewer, "password1"},
		{"leading dot", ".a", RoleViewer, "password1"},
		{"unicode", "ädmin", RoleViewer, "password1"},
		{"reserved anonymous", "Anonymous", RoleViewer, "password1"},
		{"bad role", "carol", Role("root"), "password1"},
		{"empty role", "carol", "", "password1"},
		{"short password", "carol", RoleViewer, "short"},
		{"password over 72 bytes", "carol", RoleViewer, strings.Repeat("p", 73)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AddUser(tc.user, tc.role, tc.pw)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if len(tc.pw) >= 5 && strings.Contains(err.Error(), tc.pw) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
	if us, _ := s.Users(); len(us) != 0 {
		t.Errorf("invalid users were stored: %+v", us)
	}
}

func TestRoleOrder(t *testing.T) {
	cases := []struct {
		r, min Role
		want   bool
	}{
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleEditor, true}, {RoleAdmin, RoleViewer, true},
		{RoleEditor, RoleAdmin, false}, {RoleEditor, RoleEditor, true}, {RoleEditor, RoleViewer, true},
		{RoleViewer, RoleAdmin, false}, {RoleViewer, RoleEditor, false}, {RoleViewer, RoleViewer, true},
		{"", RoleViewer, false}, {"root", RoleViewer, false}, {RoleAdmin, "root", false},
	}
	for _, tc := range cases {
		if got := tc.r.AtLeast(tc.min); got != tc.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tc.r, tc.min, got, tc.want)
		}
	}
	if r, err := ParseRole(" Editor "); err != nil || r != RoleEditor {
		t.Errorf("ParseRole: %q %v", r, err)
	}
	if _, err := ParseRole("superuser"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseRole(superuser): %v", err)
	}
}

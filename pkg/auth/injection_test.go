package auth

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// Hostile strings in every argument that reaches SQL must be data, never
// syntax: they fail validation or match nothing, and every table survives.
var zeroTime time.Time

var injections = []string{
	`admin' --`,
	`admin' OR '1'='1`,
	`x'; DROP TABLE users; --`,
	`" OR ""="`,
	`admin/**/OR/**/1=1`,
	`%`,
	`_`,
	"admin\x00",
	`sag_' OR 1=1 --`,
	`1 UNION SELECT id, name, role, created, disabled FROM users`,
}

func TestSQLInjectionDoesNothing(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "admin", RoleAdmin, "admin pass 1")
	mustAdd(t, s, "alice", RoleViewer, "password1")
	tok, _, _ := s.NewToken("alice", "t", time.Time{})

	for _, in := range injections {
		if _, err := s.AddUser(in, RoleAdmin, "password1"); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddUser(%q): %v", in, err)
		}
		if _, err := s.CheckPassword(in, "admin pass 1"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("CheckPassword(%q): %v", in, err)
		}
		if _, err := s.CheckPassword("admin", in); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("CheckPassword(admin, %q): %v", in, err)
		}
		if _, err := s.User(in); !errors.Is(err, ErrNotFound) {
			t.Errorf("User(%q): %v", in, err)
		}
		if _, err := s.CheckToken(in); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("CheckToken(%q): %v", in, err)
		}
		if _, err := s.SessionUser(in); !errors.Is(err, ErrNotFound) {
			t.Errorf("SessionUser(%q): %v", in, err)
		}
		if err := s.EndSession(in); err != nil {
			t.Errorf("EndSession(%q): %v", in, err)
		}
		if _, err := s.Tokens(in); !errors.Is(err, ErrNotFound) {
			t.Errorf("Tokens(%q): %v", in, err)
		}
		if err := s.RevokeToken(in, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeToken(%q): %v", in, err)
		}
		for _, f := range []func() error{
			func() error { return s.SetPassword(in, "password1") },
			func() error { return s.SetRole(in, RoleAdmin) },
			func() error { return s.SetDisabled(in, true) },
			func() error { return s.DeleteUser(in) },
		} {
			if err := f(); !errors.Is(err, ErrNotFound) {
				t.Errorf("admin call on %q: %v", in, err)
			}
		}
		if s.AllowDevice(in, "x") {
			t.Errorf("AllowDevice(%q) allowed", in)
		}
		if _, err := s.NewSession(in, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Errorf("NewSession(%q): %v", in, err)
		}
	}

	// Hostile strings stored as data come back byte for byte.
	sc := Scope{Devices: []string{`a'); DROP TABLE scopes; --`, `core-*`}}
	if err := s.SetScope("alice", sc); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Scope("alice"); err != nil || !reflect.DeepEqual(got.Devices, []string{`a'); DROP TABLE scopes; --`, `core-*`}) {
		t.Errorf("Scope round trip: %+v %v", got, err)
	}
	_, info, err := s.NewToken("alice", `t'); DELETE FROM tokens; --`, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.Tokens("alice")
	if len(list) != 2 || list[1].Name != info.Name {
		t.Errorf("token listing after hostile name: %+v", list)
	}

	// Everything is still there and still works.
	us, err := s.Users()
	if err != nil || len(us) != 2 {
		t.Fatalf("users after injections: %+v %v", us, err)
	}
	if _, err := s.CheckPassword("admin", "admin pass 1"); err != nil {
		t.Errorf("admin login after injections: %v", err)
	}
	if _, err := s.CheckToken(tok); err != nil {
		t.Errorf("token after injections: %v", err)
	}
}

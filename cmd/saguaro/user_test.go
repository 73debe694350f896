package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
)

// TestUserCommand runs `saguaro user` against a fresh state database and
// checks the result through the auth store itself.
func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	user := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCmd(append(args, "--data", dir), strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := user("", "add", "alice", "--role", "editor")
	if code != 0 || !strings.Contains(out, "added alice (editor)") || !strings.Contains(out, "password: ") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	generated := strings.TrimSpace(out[strings.Index(out, "password: ")+len("password: "):])
	if code, _, errs := user("a new password\n", "passwd", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("passwd: %s", errs)
	}
	code, tok, errs := user("", "token", "alice", "--name", "ci", "--expires", "30d")
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, auth.TokenPrefix) || !strings.Contains(errs, "shown once") {
		t.Fatalf("token: %d %q %q", code, tok, errs)
	}
	code, out, _ = user("", "list")
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "editor") || !strings.Contains(out, "1:ci(sag_") || strings.Contains(out, tok) {
		t.Errorf("list: %q", out)
	}

	store, err := auth.Open(filepath.Join(dir, stateDBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CheckPassword("alice", "a new password"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	if _, err := store.CheckPassword("alice", generated); err == nil {
		t.Error("the generated password still works after passwd")
	}
	if u, err := store.CheckToken(tok); err != nil || u.Name != "alice" {
		t.Errorf("token: %v %v", u, err)
	}
	toks, _ := store.Tokens("alice")
	if len(toks) != 1 || toks[0].Expires.IsZero() {
		t.Errorf("token expiry not stored: %+v", toks)
	}
	store.Close()

	if code, out, _ := user("", "revoke", "alice", "1"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %d %q", code, out)
	}
	store, _ = auth.Open(filepath.Join(dir, stateDBName))
	if _, err := store.CheckToken(tok); err == nil {
		t.Error("revoked token still works")
	}
	store.Close()

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"add", "bob", "--role", "king"}, 1, `role "king"`},
		{[]string{"add", "alice"}, 1, "already exists"},
		{[]string{"passwd", "nobody"}, 1, "not found"},
		{[]string{"token", "alice", "--expires", "soon"}, 1, "--expires"},
		{[]string{"revoke", "alice", "x"}, 1, "not a number"},
		{[]string{"frob"}, 2, `unknown subcommand "frob"`},
		{[]string{"add"}, 2, "want 1 argument"},
	} {
		code, _, errs := user("", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: %d %q, want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	// A short password from stdin is refused with the reason, not stored.
	if code, _, errs := user("short\n", "passwd", "alice", "--password-stdin"); code != 1 || !strings.Contains(errs, "passwd") {
		t.Errorf("short password: %d %q", code, errs)
	}
}

// TestUserScope: `saguaro user scope` shows, replaces and clears the
// device and tree globs of a user, as the auth store reads them.
func TestUserScope(t *testing.T) {
	dir := t.TempDir()
	user := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCmd(append(args, "--data", dir), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, errs := user("add", "vera"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, _ := user("scope", "vera"); code != 0 || out != "vera sees every device\n" {
		t.Errorf("scope of a new user: %d %q", code, out)
	}
	code, out, errs := user("scope", "vera", "--tree", "emea/*", "--device", "core-*,edge-?", "--tree", "amer")
	if code != 0 || out != "vera sees devices core-* edge-?; sites amer emea/* (and below)\n" {
		t.Errorf("set scope: %d %q %q", code, out, errs)
	}
	store, err := auth.Open(filepath.Join(dir, stateDBName))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := store.Scope("vera")
	store.Close()
	if err != nil || !sc.Allow("x", "emea/fra1") || !sc.Allow("core-1") || sc.Allow("x", "apac") || sc.Allow("x") {
		t.Errorf("stored scope %+v (%v)", sc, err)
	}
	if code, out, _ := user("list"); code != 0 || !strings.Contains(out, "device:core-*,device:edge-?,tree:amer,tree:emea/*") {
		t.Errorf("list shows no scope: %q", out)
	}
	// A new set replaces the old one.
	if code, out, _ := user("scope", "vera", "--tree", "apac"); code != 0 || out != "vera sees sites apac (and below)\n" {
		t.Errorf("replace scope: %d %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"scope", "vera", "--clear", "--tree", "x"}, "--clear takes no"},
		{[]string{"scope", "vera", "--tree", "[a"}, "tree pattern 1"},
		{[]string{"scope", "nobody", "--tree", "a"}, "not found"},
		{[]string{"scope", "nobody"}, "not found"},
	} {
		if code, _, errs := user(tc.args...); code != 1 || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: %d %q, want 1 with %q", tc.args, code, errs, tc.msg)
		}
	}
	if code, out, _ := user("scope", "vera", "--clear"); code != 0 || out != "vera sees every device\n" {
		t.Errorf("clear scope: %d %q", code, out)
	}
}

// TestOpenAuthBootstrap: the first start makes the admin and its
// password file; a second start leaves both alone.
func TestOpenAuthBootstrap(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	log := newLogger(&out, "info")
	_, store, err := openAuth(dir, config.Auth{SessionTTL: 12 * time.Hour}, &out, log)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	first := out.String()
	if strings.Count(first, "initial_admin_created") != 1 || !strings.Contains(first, "saguaro user passwd admin") {
		t.Errorf("first start: %q", first)
	}
	out.Reset()
	_, store, err = openAuth(dir, config.Auth{SessionTTL: 12 * time.Hour}, &out, log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if out.Len() != 0 {
		t.Errorf("second start printed %q", out.String())
	}
	if us, _ := store.Users(); len(us) != 1 || us[0].Name != "admin" || us[0].Role != auth.RoleAdmin {
		t.Errorf("users: %+v", us)
	}
}

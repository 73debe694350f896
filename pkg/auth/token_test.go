package auth

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTokenLifecycle(t *testing.T) {
	clk := newClock()
	s, _ := newStore(t, clk)
	alice := mustAdd(t, s, "alice", RoleEditor, "password1")
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")

	plain, info, err := s.NewToken("alice", "backup script", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) != tokenLen || !wellFormedToken(plain) {
		t.Fatalf("token %q is not a well-formed sag_ token", plain)
	}
	if info.ID == 0 || info.User != "alice" || info.Name != "backup script" || !strings.HasPrefix(plain, strings.TrimSuffix(info.Hint, "…")) {
		t.Errorf("info = %+v", info)
	}
	u, err := s.CheckToken(plain)
	if err != nil || u.ID != alice.ID || u.Role != RoleEditor {
		t.Fatalf("CheckToken: %+v %v", u, err)
	}

	// Shown once: nothing the store returns later carries the plaintext.
	list, err := s.Tokens("alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
	if strings.Contains(list[0].Hint, plain[len(TokenPrefix):len(TokenPrefix)+10]) {
		t.Errorf("listing reveals more than a short hint: %q", list[0].Hint)
	}
	if list[0].LastUsed.IsZero() {
		t.Error("LastUsed not recorded after use")
	}

	// Another user's token ID cannot be revoked through this user.
	if err := s.RevokeToken("root", info.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke via another user: %v", err)
	}
	if err := s.RevokeToken("alice", info.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("alice", info.ID); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if _, err := s.CheckToken(plain); !errors.Is(err, ErrBadCredentials) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked token: %v", err)
	}
	list, _ = s.Tokens("alice")
	if len(list) != 1 || list[0].Revoked.IsZero() || list[0].Active(clk.Now()) {
		t.Errorf("revoked token listing: %+v", list)
	}
	if _, err := s.Tokens("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tokens(nobody): %v", err)
	}
	if list, err := s.Tokens("root"); err != nil || len(list) != 0 {
		t.Errorf("Tokens(root) = %+v, %v", list, err)
	}
}

func TestTokenExpiry(t *testing.T) {
	clk := newClock()
	s, _ := newStore(t, clk)
	mustAdd(t, s, "alice", RoleViewer, "password1")
	plain, info, err := s.NewToken("alice", "ci", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Expires.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("Expires = %v", info.Expires)
	}
	clk.Advance(59 * time.Minute)
	if _, err := s.CheckToken(plain); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := s.CheckToken(plain); !errors.Is(err, ErrBadCredentials) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at expiry: %v", err)
	}
	if _, _, err := s.NewToken("alice", "past", clk.Now().Add(-time.Second)); !errors.Is(err, ErrInvalid) {
		t.Errorf("expiry in the past: %v", err)
	}
}

func TestTokenOfDisabledOrDeletedUser(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")
	mustAdd(t, s, "alice", RoleViewer, "password1")
	plain, _, err := s.NewToken("alice", "t", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDisabled("alice", true)
	if _, err := s.CheckToken(plain); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled user's token: %v", err)
	}
	s.SetDisabled("alice", false)
	if _, err := s.CheckToken(plain); err != nil {
		t.Errorf("re-enabled user's token: %v", err)
	}
	s.DeleteUser("alice")
	if _, err := s.CheckToken(plain); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("deleted user's token: %v", err)
	}
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM tokens`).Scan(&n)
	if n != 0 {
		t.Errorf("%d token rows outlived their user", n)
	}
}

func TestTokenMalformed(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "alice", RoleViewer, "password1")
	good, _, _ := s.NewToken("alice", "t", time.Time{})
	flipped := []byte(good)
	flipped[10] ^= 1 // still base62-ish, checksum now wrong
	for _, tc := range []string{"", "sag_", "sag_x", strings.Repeat("a", tokenLen), good[:len(good)-1], good + "0", string(flipped),
		strings.Replace(good, "sag_", "SAG_", 1)} {
		if _, err := s.CheckToken(tc); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("CheckToken(%q) err = %v", tc, err)
		}
	}
}

// The database must never hold a token, session id or password in the
// clear: check every byte of the database and its WAL.
func TestSecretsNotStoredInClear(t *testing.T) {
	s, path := newStore(t, nil)
	mustAdd(t, s, "alice", RoleViewer, "plain-password-42")
	tok, _, err := s.NewToken("alice", "t", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sid, err := s.NewSession("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The stored token row: a 32-byte hash and a hint, nothing else.
	var hash []byte
	var hint string
	if err := s.db.QueryRow(`SELECT hash, hint FROM tokens`).Scan(&hash, &hint); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 || bytes.Contains(hash, []byte(tok[len(TokenPrefix):])) {
		t.Errorf("token hash column: %d bytes", len(hash))
	}
	if len(hint) > len(TokenPrefix)+hintLen+len("…") {
		t.Errorf("token hint %q is longer than a hint", hint)
	}
	var files []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	if len(files) == 0 {
		t.Fatal("read nothing from the database files")
	}
	for what, secret := range map[string]string{"token": tok[len(TokenPrefix) : len(TokenPrefix)+20], "session": sid[:20], "password": "plain-password-42"} {
		if bytes.Contains(files, []byte(secret)) {
			t.Errorf("the %s appears in clear in the database files", what)
		}
	}
}

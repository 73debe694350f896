package auth

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenMigratesEmptyDatabase(t *testing.T) {
	s, path := newStore(t, nil)
	var v int
	if err := s.db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version = %d, want %d", v, SchemaVersion())
	}
	for _, table := range []string{"users", "tokens", "sessions", "scopes", "settings"} {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: n=%d err=%v", table, n, err)
		}
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var busy int
	if err := s.db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil || busy < 1000 {
		t.Errorf("busy_timeout = %d (%v), want >= 1000", busy, err)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
	}
	mustAdd(t, s, "alice", RoleViewer, "password1") // so the WAL exists
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("state db file: %v", err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func TestReopenKeepsStateAndDoesNotReapply(t *testing.T) {
	s, path := newStore(t, nil)
	mustAdd(t, s, "alice", RoleEditor, "correct horse")
	key := append([]byte(nil), s.csrfKey...)
	s.Close()

	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	u, err := s2.User("alice")
	if err != nil || u.Role != RoleEditor {
		t.Fatalf("after reopen: %+v, %v", u, err)
	}
	var n int
	s2.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != SchemaVersion() {
		t.Errorf("schema_migrations rows = %d, want %d (each migration once)", n, SchemaVersion())
	}
	if string(s2.csrfKey) != string(key) {
		t.Error("CSRF key changed across reopen; open forms would break on restart")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := newStore(t, nil)
	future := SchemaVersion() + 3
	if _, err := s.db.Exec(`INSERT INTO schema_migrations(version, applied) VALUES (?, 0)`, future); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, strconv.Itoa(future), strconv.Itoa(SchemaVersion()), "upgrade"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path string }{
		{"empty path", ""},
		{"question mark", filepath.Join(dir, "a?b.db")},
		{"not sqlite", junk},
		{"missing directory", filepath.Join(dir, "nope", "state.db")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if tc.path != "" && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "x.db"), WithBcryptCost(99)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bcrypt cost 99: err = %v", err)
	}
}

// A second process (the CLI) writes while the server holds the database
// open; both must see each other's changes.
func TestTwoHandlesShareState(t *testing.T) {
	s, path := newStore(t, nil)
	other, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustAdd(t, other, "bob", RoleViewer, "password1")
	if _, err := s.User("bob"); err != nil {
		t.Fatalf("user added through the other handle: %v", err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("raw count = %d, %v", n, err)
	}
}

// The server and the CLI write the same file at once: WAL, the busy
// timeout and immediate transactions must make that wait, not fail.
func TestConcurrentWritersTwoHandles(t *testing.T) {
	s, path := newStore(t, nil)
	other, err := Open(path, WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")
	tok, _, err := s.NewToken("root", "t", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 6 {
		st := s
		if g%2 == 1 {
			st = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				name := fmt.Sprintf("w%d-%d", g, i)
				if _, err := st.AddUser(name, RoleViewer, "password1"); err != nil {
					errs <- err
				}
				if _, err := st.NewSession(name, time.Hour); err != nil {
					errs <- err
				}
				if _, err := st.CheckToken(tok); err != nil {
					errs <- err
				}
				if _, _, err := st.NewToken(name, "t", time.Time{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if us, _ := s.Users(); len(us) != 1+6*25 {
		t.Errorf("%d users, want %d", len(us), 1+6*25)
	}
}

package auth

import (
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	clk := newClock()
	s, _ := newStore(t, clk)
	mustAdd(t, s, "root", RoleAdmin, "admin pass 1")
	alice := mustAdd(t, s, "alice", RoleViewer, "password1")

	id, err := s.NewSession("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := s.NewSession("alice", time.Hour)
	if id == id2 || len(id) != sessionIDLen {
		t.Fatalf("session ids %q %q", id, id2)
	}
	u, err := s.SessionUser(id)
	if err != nil || u.ID != alice.ID {
		t.Fatalf("SessionUser: %+v %v", u, err)
	}
	if err := s.EndSession(id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("ended session: %v", err)
	}
	if _, err := s.SessionUser(id2); err != nil {
		t.Errorf("ending one session ended another: %v", err)
	}

	// Expiry and purge.
	clk.Advance(time.Hour)
	if _, err := s.SessionUser(id2); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	id3, _ := s.NewSession("alice", time.Hour)
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n)
	if n != 1 {
		t.Errorf("%d session rows after purge, want 1", n)
	}

	// A password change or disabling ends sessions.
	if err := s.SetPassword("alice", "another password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(id3); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
	id4, _ := s.NewSession("alice", time.Hour)
	s.SetDisabled("alice", true)
	if _, err := s.SessionUser(id4); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived disabling: %v", err)
	}
	if _, err := s.NewSession("alice", time.Hour); !errors.Is(err, ErrDisabled) {
		t.Errorf("NewSession for disabled user: %v", err)
	}

	for _, bad := range []time.Duration{0, -time.Second, MaxSessionTTL + 1} {
		if _, err := s.NewSession("root", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %s: %v", bad, err)
		}
	}
	if _, err := s.NewSession("nobody", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

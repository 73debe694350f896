package auth

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// clock is a settable clock shared by a Store and a Limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore opens a fresh store in a temp dir with the minimum bcrypt cost.
func newStore(t testing.TB, clk *clock) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	opts := []Option{WithBcryptCost(bcrypt.MinCost)}
	if clk != nil {
		opts = append(opts, WithClock(clk.Now))
	}
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustAdd(t testing.TB, s *Store, name string, role Role, pw string) User {
	t.Helper()
	u, err := s.AddUser(name, role, pw)
	if err != nil {
		t.Fatalf("AddUser(%s): %v", name, err)
	}
	return u
}

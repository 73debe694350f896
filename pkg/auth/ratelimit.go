package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrRateLimited is matched (errors.Is) by *RateLimitError.
var ErrRateLimited = errors.New("too many failed logins")

// RateLimitError says how long a client must wait before trying again; the
// HTTP layer answers 429 with Retry-After.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrRateLimited, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfterSeconds is the Retry-After header value: whole seconds,
// rounded up, at least 1.
func (e *RateLimitError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// LimiterConfig configures a Limiter; zero fields take the defaults.
type LimiterConfig struct {
	Failures int              // failures allowed per window; default 5
	Window   time.Duration    // default 1 minute
	MaxKeys  int              // memory bound on tracked keys; default 10000
	Now      func() time.Time // default time.Now
}

// Limiter counts failed logins per key (a client address, a user name) in
// a fixed window that opens at the key's first failure. Once a key has
// Failures failures, it is blocked until the window closes. Only failures
// create entries, and there are at most MaxKeys of them, so a flood of
// junk names cannot grow memory without bound.
type Limiter struct {
	cfg LimiterConfig
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

// NewLimiter returns a Limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, m: make(map[string]*failures)}
}

// Wait returns how long key is still blocked; 0 means it may try.
func (l *Limiter) Wait(key string) time.Duration {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil {
		return 0
	}
	end := f.start.Add(l.cfg.Window)
	if !now.Before(end) {
		delete(l.m, key)
		return 0
	}
	if f.n < l.cfg.Failures {
		return 0
	}
	return end.Sub(now)
}

// Fail records one failure for key.
func (l *Limiter) Fail(key string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f != nil && !now.Before(f.start.Add(l.cfg.Window)) {
		f = nil // window over: start afresh
	}
	if f == nil {
		if len(l.m) >= l.cfg.MaxKeys {
			l.evict(now)
		}
		f = &failures{start: now}
		l.m[key] = f
	}
	f.n++
}

// Reset forgets key, after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// Len is the number of tracked keys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// evict makes room: drop every closed window; if none closed, drop the
// oldest of a few entries that map iteration picks at random. Dropping an
// entry can only forgive failures, never lock anyone out.
func (l *Limiter) evict(now time.Time) {
	for k, f := range l.m {
		if !now.Before(f.start.Add(l.cfg.Window)) {
			delete(l.m, k)
		}
	}
	if len(l.m) < l.cfg.MaxKeys {
		return
	}
	var oldest string
	var at time.Time
	i := 0
	for k, f := range l.m {
		if i == 0 || f.start.Before(at) {
			oldest, at = k, f.start
		}
		if i++; i == 8 {
			break
		}
	}
	delete(l.m, oldest)
}

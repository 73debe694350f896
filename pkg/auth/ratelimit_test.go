package auth

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestLimiterWindow(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Failures: 3, Window: time.Minute, Now: clk.Now})
	for i := range 3 {
		if w := l.Wait("k"); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("k")
		clk.Advance(10 * time.Second)
	}
	// Window opened at the first failure, 30 s ago.
	if w := l.Wait("k"); w != 30*time.Second {
		t.Fatalf("Wait = %s, want 30s", w)
	}
	if l.Wait("other") != 0 {
		t.Error("another key is blocked")
	}
	clk.Advance(30 * time.Second)
	if w := l.Wait("k"); w != 0 {
		t.Fatalf("still blocked after the window: %s", w)
	}
	l.Fail("k")
	l.Reset("k")
	if l.Len() != 0 {
		t.Errorf("Len after Reset = %d", l.Len())
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Failures: 2, Window: time.Minute, MaxKeys: 100, Now: clk.Now})
	for i := range 10000 {
		l.Fail("junk-" + strconv.Itoa(i))
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("Len = %d, bound is 100", n)
	}
	// Closed windows are swept first when room is needed.
	clk.Advance(2 * time.Minute)
	l.Fail("fresh")
	if n := l.Len(); n != 1 {
		t.Errorf("Len after sweep = %d, want 1", n)
	}
}

func TestRateLimitError(t *testing.T) {
	var err error = &RateLimitError{RetryAfter: 1500 * time.Millisecond}
	if !errors.Is(err, ErrRateLimited) {
		t.Error("errors.Is(ErrRateLimited) false")
	}
	if got := err.(*RateLimitError).RetryAfterSeconds(); got != 2 {
		t.Errorf("RetryAfterSeconds = %d, want 2 (rounded up)", got)
	}
	if got := (&RateLimitError{}).RetryAfterSeconds(); got != 1 {
		t.Errorf("RetryAfterSeconds of 0 = %d, want 1", got)
	}
}

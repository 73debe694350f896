package snmpsim

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Serve starts a simulator for a test and stops it, waiting for its
// goroutines, when the test ends. Options errors fail the test.
//
//	w, _ := snmpsim.LoadWalk("testdata/walks/net-snmp-host.walk")
//	clk := snmpsim.NewManualClock(time.Now())
//	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 3, Walks: []*snmpsim.Walk{w}, Now: clk.Now})
//	d := sim.Device(0) // d.Addr, d.Community
//	clk.Advance(time.Hour); sim.Reboot(0); sim.SetDead(1, true)
func Serve(tb testing.TB, opts Options) *Sim {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("snmpsim: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	tb.Cleanup(func() { cancel(); wg.Wait() })
	return s
}

// ManualClock is a clock a test moves by hand: pass its Now as
// Options.Now to cross counter wraps and reboot periods without waiting.
// It is safe for concurrent use.
type ManualClock struct{ ns atomic.Int64 }

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock {
	c := &ManualClock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

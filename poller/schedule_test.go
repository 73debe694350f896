package poller

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// memSink records every batch.
type memSink struct {
	mu      sync.Mutex
	batches [][]metric.Sample
}

func (s *memSink) Append(_ context.Context, b []metric.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]metric.Sample(nil), b...))
	return nil
}

// find returns the samples named name with the given target label, in order.
func (s *memSink) find(name, target string) []metric.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []metric.Sample
	for _, b := range s.batches {
		for _, x := range b {
			if x.Labels.Get(metric.NameLabel) == name && (target == "" || x.Labels.Get(TargetLabel) == target) {
				out = append(out, x)
			}
		}
	}
	return out
}

// fakeCollector returns one sample per poll after working for delay. With
// ignoreCtx it keeps working past its deadline (a stuck collector).
type fakeCollector struct {
	name      string
	delay     time.Duration
	ignoreCtx bool
	err       error
	panicMsg  string

	mu     sync.Mutex
	ats    []time.Time
	closed atomic.Bool
	active atomic.Int32
	maxAct atomic.Int32
}

func (c *fakeCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	n := c.active.Add(1)
	defer c.active.Add(-1)
	if n > c.maxAct.Load() {
		c.maxAct.Store(n)
	}
	c.mu.Lock()
	c.ats = append(c.ats, at)
	c.mu.Unlock()
	if c.panicMsg != "" {
		panic(c.panicMsg)
	}
	if c.delay > 0 {
		if c.ignoreCtx {
			time.Sleep(c.delay)
		} else {
			select {
			case <-time.After(c.delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	// The time set here must be overwritten by the scheduled tick.
	s := metric.Sample{Labels: metric.New(metric.NameLabel, "fake_value", "c", c.name), Value: 42, Time: time.Unix(1, 0)}
	return []metric.Sample{s}, c.err
}

func (c *fakeCollector) Close() error { c.closed.Store(true); return nil }

func (c *fakeCollector) polls() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.ats...)
}

// runFor runs s until d of fake time has passed, then stops it and waits.
func runFor(t *testing.T, s *Scheduler, d time.Duration, during func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(d)
	if during != nil {
		during()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestOffsetStableAndSpread(t *testing.T) {
	const iv = time.Minute
	// Stable across processes: a fixed function of the name (FNV-1a), not
	// a per-process seeded hash.
	h := fnv.New64a()
	h.Write([]byte("localhost/snmp"))
	if got, want := Offset("localhost/snmp", iv), time.Duration(h.Sum64()%uint64(iv)); got != want {
		t.Fatalf("offset %v, want FNV-1a(name) mod interval = %v", got, want)
	}
	seen := map[time.Duration]bool{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		o := Offset(n, iv)
		if o < 0 || o >= iv {
			t.Fatalf("offset %v of %q outside [0, %v)", o, n, iv)
		}
		seen[o] = true
	}
	if len(seen) < 7 {
		t.Fatalf("8 names share offsets: %v", seen)
	}
	if got := Offset("x", 0); got != 0 {
		t.Fatalf("offset with zero interval = %v", got)
	}
}

func TestPollsFallOnPhaseAndAreStampedWithTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		s := New(sink, nil, nil)
		a := &fakeCollector{name: "a", delay: 1500 * time.Millisecond}
		b := &fakeCollector{name: "b"}
		const iv = 10 * time.Second
		s.Set([]Target{
			{Name: "dev1/a", Device: "dev1", Interval: iv, Timeout: 5 * time.Second, Collector: a},
			{Name: "dev2/b", Device: "dev2", Interval: iv, Collector: b},
		})
		start := time.Now()
		runFor(t, s, 45*time.Second, nil)
		for _, tc := range []struct {
			name string
			c    *fakeCollector
		}{{"dev1/a", a}, {"dev2/b", b}} {
			ats := tc.c.polls()
			if len(ats) < 4 || len(ats) > 5 {
				t.Fatalf("%s: %d polls in 45s at 10s, want 4 or 5", tc.name, len(ats))
			}
			first := firstTick(start, tc.name, iv)
			for i, at := range ats {
				if want := first.Add(time.Duration(i) * iv); !at.Equal(want) {
					t.Errorf("%s poll %d at %v, want %v", tc.name, i, at, want)
				}
				if got := at.Sub(at.Truncate(iv)); got != Offset(tc.name, iv) {
					t.Errorf("%s poll %d phase %v, want offset %v", tc.name, i, got, Offset(tc.name, iv))
				}
			}
			vals := sink.find("fake_value", "")
			for _, v := range vals {
				if v.Time.Equal(time.Unix(1, 0)) {
					t.Fatalf("sample kept the collector's time %v instead of the tick", v.Time)
				}
			}
			succ := sink.find(SuccessMetric, tc.name)
			if len(succ) != len(ats) {
				t.Fatalf("%s: %d success samples for %d polls", tc.name, len(succ), len(ats))
			}
			for i, x := range succ {
				if !x.Time.Equal(ats[i]) || x.Value != 1 || x.Labels.Get(metric.DeviceLabel) != strings.Split(tc.name, "/")[0] {
					t.Errorf("%s success sample %d = %v at %v, want 1 at %v", tc.name, i, x.Labels, x.Time, ats[i])
				}
			}
		}
		dur := sink.find(DurationMetric, "dev1/a")
		if len(dur) == 0 || dur[0].Value != 1.5 {
			t.Fatalf("duration samples %v, want 1.5 s (the collector's fake work)", dur)
		}
	})
}

func TestOverrunTicksAreSkippedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		reg := prometheus.NewPedanticRegistry()
		s := New(sink, reg, nil)
		stuck := &fakeCollector{name: "stuck", delay: 25 * time.Second, ignoreCtx: true}
		const iv = 10 * time.Second
		s.Set([]Target{{Name: "slow", Device: "d", Interval: iv, Timeout: 5 * time.Second, Collector: stuck}})
		start := time.Now()
		// First tick at f: poll runs until f+25s; ticks f+10 and f+20 are
		// skipped; f+30 polls again (until f+55); f+40 and f+50 skipped.
		f := firstTick(start, "slow", iv)
		runFor(t, s, f.Sub(start)+61*time.Second, nil)
		ats := stuck.polls()
		if len(ats) != 3 || !ats[1].Equal(f.Add(30*time.Second)) || !ats[2].Equal(f.Add(60*time.Second)) {
			t.Fatalf("polls at %v, want f, f+30s, f+60s (f=%v)", ats, f)
		}
		if stuck.maxAct.Load() != 1 {
			t.Fatalf("%d polls of one target ran at once", stuck.maxAct.Load())
		}
		h := s.Health()
		if len(h) != 1 || h[0].Skipped != 4 {
			t.Fatalf("health %+v, want 4 skipped", h)
		}
		sk := sink.find(SkippedMetric, "slow")
		if len(sk) < 2 || sk[0].Value != 2 || sk[1].Value != 4 {
			t.Fatalf("skipped samples %v, want cumulative 2 then 4", sk)
		}
		if got := promValue(t, reg, SkippedMetric, "slow", "d"); got != 4 {
			t.Fatalf("/metrics skipped = %v, want 4", got)
		}
	})
}

func TestPollTimeoutEndsPollAndRecordsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		s := New(sink, nil, nil)
		hang := &fakeCollector{name: "hang", delay: time.Hour}
		ok := &fakeCollector{name: "ok"}
		clamp := &fakeCollector{name: "clamp", delay: time.Hour}
		s.Set([]Target{
			{Name: "hang", Device: "h", Interval: 10 * time.Second, Timeout: 3 * time.Second, Collector: hang},
			{Name: "ok", Device: "o", Interval: 10 * time.Second, Timeout: 3 * time.Second, Collector: ok},
			// A timeout not below the interval is clamped to 90 % of it.
			{Name: "clamp", Device: "c", Interval: 10 * time.Second, Timeout: time.Minute, Collector: clamp},
		})
		runFor(t, s, 35*time.Second, nil)
		for name, want := range map[string]float64{"hang": 3, "clamp": 9} {
			d := sink.find(DurationMetric, name)
			if len(d) < 2 || d[0].Value != want {
				t.Fatalf("%s durations %v, want %v s", name, d, want)
			}
			for _, x := range sink.find(SuccessMetric, name) {
				if x.Value != 0 {
					t.Fatalf("%s success %v, want 0", name, x.Value)
				}
			}
		}
		for _, x := range sink.find(SuccessMetric, "ok") {
			if x.Value != 1 {
				t.Fatalf("healthy target affected: success %v", x.Value)
			}
		}
		var hh TargetHealth
		for _, h := range s.Health() {
			if h.Name == "hang" {
				hh = h
			}
		}
		if !strings.Contains(hh.LastError, "deadline") || hh.Failures != hh.Polls || hh.Skipped != 0 {
			t.Fatalf("health of timed-out target: %+v", hh)
		}
	})
}

func TestSetAddsKeepsAndRemovesTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		s := New(sink, nil, nil)
		const iv = 10 * time.Second
		a := &fakeCollector{name: "a"}
		b := &fakeCollector{name: "b"}
		a2 := &fakeCollector{name: "a2"}
		s.Set([]Target{{Name: "a", Interval: iv, Collector: a}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		time.Sleep(25 * time.Second)
		s.Set([]Target{{Name: "a", Interval: iv, Collector: a2}, {Name: "b", Interval: iv, Collector: b}})
		synctest.Wait()
		if !a.closed.Load() {
			t.Error("replaced collector of a not closed")
		}
		time.Sleep(20 * time.Second)
		s.Set([]Target{{Name: "b", Interval: iv, Collector: b}})
		synctest.Wait()
		if !a2.closed.Load() {
			t.Error("collector of removed target a not closed")
		}
		nA := len(a2.polls())
		time.Sleep(30 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := len(a2.polls()); got != nA {
			t.Errorf("removed target polled %d more times", got-nA)
		}
		// a kept its phase across the replacement: its polls, old and new
		// collector together, are exactly one interval apart.
		all := append(a.polls(), a2.polls()...)
		if len(all) < 4 {
			t.Fatalf("a polled %d times in 45 s", len(all))
		}
		for i := 1; i < len(all); i++ {
			if d := all[i].Sub(all[i-1]); d != iv {
				t.Errorf("a's polls %d and %d are %v apart: loop restarted", i-1, i, d)
			}
		}
		if n := len(b.polls()); n < 4 {
			t.Errorf("added target b polled %d times in 50 s", n)
		}
		if h := s.Health(); len(h) != 1 || h[0].Name != "b" {
			t.Errorf("health lists %+v, want only b", h)
		}
		if !b.closed.Load() {
			t.Error("collector not closed when Run ended")
		}
	})
}

func TestFailingAndPanickingCollectorsDoNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		reg := prometheus.NewPedanticRegistry()
		s := New(sink, reg, nil)
		bad := &fakeCollector{name: "bad", err: errors.New("device said no")}
		boom := &fakeCollector{name: "boom", panicMsg: "kaboom"}
		good := &fakeCollector{name: "good"}
		s.Set([]Target{
			{Name: "bad", Device: "x", Interval: 10 * time.Second, Collector: bad},
			{Name: "boom", Device: "y", Interval: 10 * time.Second, Collector: boom},
			{Name: "good", Device: "z", Interval: 10 * time.Second, Collector: good},
		})
		runFor(t, s, 30*time.Second, nil)
		h := map[string]TargetHealth{}
		for _, x := range s.Health() {
			h[x.Name] = x
		}
		if h["bad"].LastError != "device said no" || h["bad"].LastSamples != 1 {
			t.Errorf("bad: %+v (partial samples must be kept)", h["bad"])
		}
		if !strings.Contains(h["boom"].LastError, "kaboom") {
			t.Errorf("boom: %+v", h["boom"])
		}
		if h["good"].LastError != "" || h["good"].Polls < 2 {
			t.Errorf("good: %+v", h["good"])
		}
		if got := promValue(t, reg, SuccessMetric, "bad", "x"); got != 0 {
			t.Errorf("/metrics success of bad = %v", got)
		}
		if got := promValue(t, reg, SuccessMetric, "good", "z"); got != 1 {
			t.Errorf("/metrics success of good = %v", got)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]int{}
		for _, mf := range mfs {
			names[mf.GetName()] = len(mf.GetMetric())
		}
		for _, n := range []string{SuccessMetric, DurationMetric, SamplesMetric, SkippedMetric, ErrorsMetric, "saguaro_polls_total", "saguaro_poll_failures_total"} {
			if names[n] == 0 {
				t.Errorf("%s missing from the registry (have %v)", n, names)
			}
		}
		// Partial results of the failing target were stored.
		if n := len(sink.find("fake_value", "")); n < 6 {
			t.Errorf("%d value samples stored, want every poll's", n)
		}
	})
}

func TestCheckReportsEveryProblem(t *testing.T) {
	c := &fakeCollector{}
	err := Check([]Target{
		{Name: "a", Interval: time.Second, Collector: c},
		{Name: "a", Interval: time.Second, Collector: c},
		{Name: "", Interval: 0, Collector: nil, Timeout: -1},
	})
	for _, want := range []string{`targets[1] "a"`, "duplicate", "empty name", "no collector", "interval 0s", "timeout -1ns"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalidTarget) {
		t.Error("not ErrInvalidTarget")
	}
	if err := Check([]Target{{Name: "ok", Interval: time.Second, Collector: c}}); err != nil {
		t.Errorf("valid target rejected: %v", err)
	}
}

// promValue gathers reg and returns the value of metric name for target
// and device.
func promValue(t *testing.T, reg prometheus.Gatherer, name, target, device string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			lv := map[string]string{}
			for _, l := range m.GetLabel() {
				lv[l.GetName()] = l.GetValue()
			}
			if lv[TargetLabel] != target || lv["device"] != device {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no %s{target=%q, device=%q} on the registry", name, target, device)
	return 0
}

// switchCollector fails without samples until ok is set.
type switchCollector struct {
	ok  atomic.Bool
	mu  sync.Mutex
	ats []time.Time
}

func (c *switchCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	c.mu.Lock()
	c.ats = append(c.ats, at)
	c.mu.Unlock()
	if c.ok.Load() {
		return []metric.Sample{{Labels: metric.New(metric.NameLabel, "v")}}, nil
	}
	return nil, errors.New("no answer")
}

func (c *switchCollector) polls() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.ats...)
}

func TestDeadTargetBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		s := New(sink, nil, nil)
		s.SetBackoff(3, 40*time.Second)
		const iv = 10 * time.Second
		dead := &switchCollector{}
		s.Set([]Target{{Name: "dead", Device: "d", Interval: iv, Collector: dead}})
		start := time.Now()
		f := firstTick(start, "dead", iv)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		// Ticks 0..20: polls at 0, 1, 2 (down), then gaps of 1, 2, 4, 4, 4 ticks left out.
		time.Sleep(f.Sub(start) + 20*iv + iv/2)
		var got []int
		for _, at := range dead.polls() {
			got = append(got, int(at.Sub(f)/iv))
		}
		want := []int{0, 1, 2, 4, 7, 12, 17}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("polled at ticks %v, want %v", got, want)
		}
		if h := s.Health()[0]; !h.Down || h.BackedOff != 21-7 || h.Polls != 7 {
			t.Fatalf("health %+v", h)
		}
		if tot := s.Totals(); tot.Down != 1 || tot.Targets != 1 || tot.Polls != 7 || tot.Failures != 7 {
			t.Fatalf("totals while down %+v", tot)
		}
		// Every tick stored health, polled or not.
		if n := len(sink.find(SuccessMetric, "dead")); n != 21 {
			t.Fatalf("%d success samples for 21 ticks", n)
		}
		// It comes back: the next poll (tick 22) succeeds and polling is per tick again.
		dead.ok.Store(true)
		time.Sleep(5 * iv)
		got = got[:0]
		for _, at := range dead.polls()[7:] {
			got = append(got, int(at.Sub(f)/iv))
		}
		if fmt.Sprint(got) != fmt.Sprint([]int{22, 23, 24, 25}) {
			t.Fatalf("after recovery polled at ticks %v", got)
		}
		if h := s.Health()[0]; h.Down || h.DeadPolls != 0 {
			t.Fatalf("still down after recovery: %+v", h)
		}
		if tot := s.Totals(); tot.Down != 0 || tot.Polls != 11 {
			t.Fatalf("totals after recovery %+v", tot)
		}
		cancel()
		<-done
	})
}

// countingCollector records how many of its kind poll at once.
type countingCollector struct {
	active, peak *atomic.Int32
	polls        atomic.Int32
	work         time.Duration
}

func (c *countingCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	n := c.active.Add(1)
	defer c.active.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	c.polls.Add(1)
	time.Sleep(c.work)
	return nil, nil
}

func TestGlobalLimitBoundsConcurrentPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var active, peak atomic.Int32
		s := New(&memSink{}, nil, nil)
		s.SetLimit(2)
		var targets []Target
		// 6 targets each working 300 ms a second: 1.8 s of work per second
		// fits 2 slots, but phases overlap, so polls must wait for slots.
		for i := 0; i < 6; i++ {
			c := &countingCollector{active: &active, peak: &peak, work: 300 * time.Millisecond}
			targets = append(targets, Target{Name: fmt.Sprintf("t%d", i), Interval: time.Second, Collector: c})
		}
		s.Set(targets)
		runFor(t, s, 20*time.Second, nil)
		if p := peak.Load(); p != 2 {
			t.Fatalf("peak concurrency %d, want the limit 2", p)
		}
		var polls, skipped uint64
		for _, h := range s.Health() {
			polls += h.Polls
			skipped += h.Skipped
		}
		if polls < 100 || polls+skipped < 114 {
			t.Errorf("%d polls and %d skipped of about 120 ticks", polls, skipped)
		}
	})
}

type multiErr struct{ n int }

func (e multiErr) Error() string   { return "several problems" }
func (e multiErr) ErrorCount() int { return e.n }

func TestErrorsHealthCountsProblems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		s := New(sink, nil, nil)
		s.Set([]Target{
			{Name: "three", Interval: 10 * time.Second, Collector: &fakeCollector{err: fmt.Errorf("poll: %w", multiErr{3})}},
			{Name: "one", Interval: 10 * time.Second, Collector: &fakeCollector{err: errors.New("x")}},
			{Name: "none", Interval: 10 * time.Second, Collector: &fakeCollector{}},
		})
		runFor(t, s, 15*time.Second, nil)
		for name, want := range map[string]float64{"three": 3, "one": 1, "none": 0} {
			e := sink.find(ErrorsMetric, name)
			if len(e) != 1 || e[0].Value != want {
				t.Errorf("%s: errors samples %v, want one of %v", name, e, want)
			}
		}
	})
}

// /metrics is read from the targets' health when scraped: a removed target
// leaves it, a renamed device shows under its new name only, and two
// schedulers on one registry both show.
func TestMetricsFollowTheTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		s1 := New(nil, reg, nil)
		s2 := New(nil, reg, nil)
		a, b := &fakeCollector{name: "a"}, &fakeCollector{name: "b", err: errors.New("no")}
		s1.Set([]Target{{Name: "a", Device: "da", Interval: 10 * time.Second, Collector: a},
			{Name: "b", Device: "db", Interval: 10 * time.Second, Collector: b}})
		s2.Set([]Target{{Name: "c", Device: "dc", Interval: 10 * time.Second, Collector: &fakeCollector{name: "c"}}})
		ctx, cancel := context.WithCancel(t.Context())
		go s2.Run(ctx)
		runFor(t, s1, 25*time.Second, nil)
		h := s1.Health() // a, b
		if got := promValue(t, reg, "saguaro_polls_total", "a", "da"); got != float64(h[0].Polls) || got < 2 {
			t.Errorf("polls of a = %v, want %d (2 or more)", got, h[0].Polls)
		}
		if got := promValue(t, reg, "saguaro_poll_failures_total", "b", "db"); got != float64(h[1].Failures) || got < 2 {
			t.Errorf("failures of b = %v, want %d (2 or more)", got, h[1].Failures)
		}
		if got := promValue(t, reg, ErrorsMetric, "b", "db"); got != 1 {
			t.Errorf("errors of b = %v, want 1", got)
		}
		if got := promValue(t, reg, SuccessMetric, "c", "dc"); got != 1 {
			t.Errorf("success of c (second scheduler) = %v, want 1", got)
		}
		// The totals over all targets and both schedulers, unlabelled.
		hc := s2.Health()[0]
		allPolls := float64(h[0].Polls + h[1].Polls + hc.Polls)
		if got := promValue(t, reg, "saguaro_poller_polls_total", "", ""); got != allPolls {
			t.Errorf("all polls = %v, want %v", got, allPolls)
		}
		if got := promValue(t, reg, "saguaro_poller_targets", "", ""); got != 3 {
			t.Errorf("targets = %v, want 3", got)
		}
		s1.Set([]Target{{Name: "a", Device: "renamed", Interval: 10 * time.Second, Collector: a}})
		// b is gone, its counts stay in the totals.
		if got := promValue(t, reg, "saguaro_poller_polls_total", "", ""); got != allPolls {
			t.Errorf("all polls after b was removed = %v, want %v", got, allPolls)
		}
		if got := promValue(t, reg, "saguaro_poller_poll_failures_total", "", ""); got != float64(h[1].Failures) {
			t.Errorf("all failures after b was removed = %v, want b's %d", got, h[1].Failures)
		}
		if got := promValue(t, reg, "saguaro_poller_targets", "", ""); got != 2 {
			t.Errorf("targets after b was removed = %v, want 2", got)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if v := l.GetValue(); v == "b" || v == "db" || v == "da" {
						t.Errorf("%s still has a series with %s=%q", mf.GetName(), l.GetName(), v)
					}
				}
			}
		}
		if got := promValue(t, reg, "saguaro_polls_total", "a", "renamed"); got != float64(h[0].Polls) {
			t.Errorf("polls of a under its new device = %v, want %d", got, h[0].Polls)
		}
		cancel()
		synctest.Wait()
	})
}

// Health samples carry the target's labels with device and target set and
// the metric name, exactly as metric.Labels' Merge and With put them.
func TestHealthSampleLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Target
	}{
		{"plain", Target{Name: "r1/snmp", Device: "r1", Labels: metric.New(metric.DeviceLabel, "r1")}},
		{"extra labels", Target{Name: "r1/snmp", Device: "r1", Labels: metric.New("site", "x", "a", "1", "zz", "9")}},
		{"overridden", Target{Name: "t", Device: "d", Labels: metric.Labels{{Name: "target", Value: "old"}, {Name: "device", Value: "old"}, {Name: "__name__", Value: "no"}}}},
		{"empty value", Target{Name: "t", Device: "d", Labels: metric.Labels{{Name: "b", Value: ""}, {Name: "a", Value: "1"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := healthSamples(tc.t, time.Unix(100, 0), 2, time.Second, 7, 3)
			base := tc.t.Labels.Copy().Merge(metric.New(metric.DeviceLabel, tc.t.Device, TargetLabel, tc.t.Name))
			want := map[string]float64{SuccessMetric: 0, DurationMetric: 1, SamplesMetric: 7, SkippedMetric: 3, ErrorsMetric: 2}
			if len(s) != len(want) {
				t.Fatalf("%d samples", len(s))
			}
			for _, x := range s {
				name := x.Labels.Get(metric.NameLabel)
				if !x.Labels.Equal(base.With(metric.NameLabel, name)) {
					t.Errorf("labels %v, want %v", x.Labels, base.With(metric.NameLabel, name))
				}
				if v, ok := want[name]; !ok || v != x.Value {
					t.Errorf("%s = %v, want %v", name, x.Value, v)
				}
			}
		})
	}
}

// peakCounter tracks how many polls run at once and the most seen.
type peakCounter struct{ active, peak atomic.Int32 }

func (p *peakCounter) enter() {
	n := p.active.Add(1)
	for {
		m := p.peak.Load()
		if n <= m || p.peak.CompareAndSwap(m, n) {
			return
		}
	}
}

func (p *peakCounter) leave() { p.active.Add(-1) }

// restart forgets the peak seen so far (the polls running now count).
func (p *peakCounter) restart() { p.peak.Store(p.active.Load()) }

// workCollector works for work of fake time per poll, counted in every
// counter it names (its device's, all polls').
type workCollector struct {
	work     time.Duration
	counters []*peakCounter
	polls    atomic.Int32
}

func (c *workCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	for _, p := range c.counters {
		p.enter()
	}
	defer func() {
		for _, p := range c.counters {
			p.leave()
		}
	}()
	c.polls.Add(1)
	time.Sleep(c.work)
	return nil, nil
}

// blockCollector holds its poll until release is closed, deaf to its
// context (a stuck collector that the poll timeout cannot end), or, with
// hearCtx, until its context ends.
type blockCollector struct {
	release chan struct{}
	hearCtx bool
	started chan struct{} // closed by the first poll
	once    sync.Once
	mu      sync.Mutex
	ats     []time.Time
}

func newBlockCollector(hearCtx bool) *blockCollector {
	return &blockCollector{release: make(chan struct{}), started: make(chan struct{}), hearCtx: hearCtx}
}

func (c *blockCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	c.mu.Lock()
	c.ats = append(c.ats, at)
	c.mu.Unlock()
	c.once.Do(func() { close(c.started) })
	if c.hearCtx {
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	} else {
		<-c.release
	}
	return []metric.Sample{{Labels: metric.New(metric.NameLabel, "v")}}, nil
}

// deviceTargets makes n targets of device dev, each working work per
// interval iv, counted in the device's counter and in all.
func deviceTargets(dev string, n, limit int, iv, work time.Duration, devPeak, all *peakCounter) ([]Target, []*workCollector) {
	var ts []Target
	var cs []*workCollector
	for i := range n {
		c := &workCollector{work: work, counters: []*peakCounter{devPeak, all}}
		cs = append(cs, c)
		ts = append(ts, Target{Name: fmt.Sprintf("%s/t%d", dev, i), Device: dev, Interval: iv, DeviceLimit: limit, Collector: c})
	}
	return ts, cs
}

// Two targets of a device each working 6 s of every 10 s cannot avoid
// overlapping, whatever their phases: 12 s of work do not fit in 10 s.
// With a device limit of 1 they take turns, while a device without a
// limit polls its two targets in parallel.
func TestDeviceLimitSerialisesTargetsOfOneDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(&memSink{}, nil, nil)
		const iv, work = 10 * time.Second, 6 * time.Second
		var peakA, peakB, all peakCounter
		ta, ca := deviceTargets("a", 2, 1, iv, work, &peakA, &all)
		tb, cb := deviceTargets("b", 2, 0, iv, work, &peakB, &all)
		s.Set(append(ta, tb...))
		runFor(t, s, 100*time.Second, nil)
		if p := peakA.peak.Load(); p != 1 {
			t.Errorf("device a (limit 1): %d polls at once", p)
		}
		if p := peakB.peak.Load(); p != 2 {
			t.Errorf("device b (no limit): peak %d, want its 2 targets in parallel", p)
		}
		if p := all.peak.Load(); p > 3 {
			t.Errorf("%d polls at once, more than a's 1 and b's 2", p)
		}
		h := map[string]TargetHealth{}
		for _, x := range s.Health() {
			h[x.Name] = x
		}
		for i, c := range ca {
			if n := c.polls.Load(); n < 3 {
				t.Errorf("a/t%d polled %d times in 100 s: starved by its sibling", i, n)
			}
		}
		// 100 s hold at most 100/6 polls of 6 s in one slot; the rest of
		// about 20 ticks are skipped.
		polledA := ca[0].polls.Load() + ca[1].polls.Load()
		skippedA := h["a/t0"].Skipped + h["a/t1"].Skipped
		if polledA > 17 || skippedA == 0 {
			t.Errorf("device a: %d polls and %d skipped, want at most 17 polls and some skipped", polledA, skippedA)
		}
		for i, c := range cb {
			if n := c.polls.Load(); n < 9 || h[fmt.Sprintf("b/t%d", i)].Skipped != 0 {
				t.Errorf("b/t%d: %d polls, health %+v: an unlimited device must poll every tick", i, n, h[fmt.Sprintf("b/t%d", i)])
			}
		}
	})
}

// Under a global limit of 2 and a device limit of 1, three devices of
// two targets never run more than 2 polls in all nor 2 of one device.
func TestGlobalAndDeviceLimitsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(&memSink{}, nil, nil)
		s.SetLimit(2)
		const iv, work = 10 * time.Second, 3 * time.Second
		var all peakCounter
		peaks := make([]peakCounter, 3)
		var targets []Target
		var colls []*workCollector
		for i := range peaks {
			ts, cs := deviceTargets(fmt.Sprintf("d%d", i), 2, 1, iv, work, &peaks[i], &all)
			targets, colls = append(targets, ts...), append(colls, cs...)
		}
		s.Set(targets)
		runFor(t, s, 100*time.Second, nil)
		if p := all.peak.Load(); p != 2 {
			t.Errorf("peak %d polls at once, want the global limit 2", p)
		}
		for i := range peaks {
			if p := peaks[i].peak.Load(); p != 1 {
				t.Errorf("device d%d: peak %d, want its limit 1", i, p)
			}
		}
		var polls int32
		for _, c := range colls {
			polls += c.polls.Load()
		}
		// 2 slots over 100 s hold at most 2*100/3 polls of 3 s.
		if polls < 20 || polls > 67 {
			t.Errorf("%d polls in 100 s", polls)
		}
	})
}

// A poll that waits for its device's slot gives up at its next tick and
// is counted as skipped, in health, in the stored skipped series and on
// /metrics; the other targets of other devices go on.
func TestStarvedPollIsSkippedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		reg := prometheus.NewPedanticRegistry()
		s := New(sink, reg, nil)
		const iv = 10 * time.Second
		hog := newBlockCollector(false)
		other := &fakeCollector{name: "other"}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		hogT := Target{Name: "d/hog", Device: "d", Interval: iv, DeviceLimit: 1, Collector: hog}
		otherT := Target{Name: "e/other", Device: "e", Interval: iv, DeviceLimit: 1, Collector: other}
		s.Set([]Target{hogT, otherT})
		go func() { done <- s.Run(ctx) }()
		<-hog.started // the hog holds d's only slot from now on
		starved := &fakeCollector{name: "starved"}
		s.Set([]Target{hogT, otherT, {Name: "d/starved", Device: "d", Interval: iv, DeviceLimit: 1, Collector: starved}})
		f := firstTick(time.Now(), "d/starved", iv)
		// Halfway between ticks: 5 ticks have come (f .. f+40s).
		time.Sleep(time.Until(f) + 4*iv + iv/2)
		var h TargetHealth
		for _, x := range s.Health() {
			if x.Name == "d/starved" {
				h = x
			}
		}
		if n := len(starved.polls()); n != 0 {
			t.Fatalf("starved target polled %d times while its device's slot was held", n)
		}
		// Each tick gave up at the next one; the last may still wait.
		waiting := uint64(0)
		if h.Running {
			waiting = 1
		}
		if h.Skipped+waiting != 5 || h.Skipped < 4 {
			t.Fatalf("health %+v: want 5 ticks skipped or waiting, at least 4 skipped", h)
		}
		if got := promValue(t, reg, SkippedMetric, "d/starved", "d"); got != float64(h.Skipped) {
			t.Errorf("/metrics skipped = %v, want %d", got, h.Skipped)
		}
		if n := len(other.polls()); n < 5 {
			t.Errorf("target of another device polled %d times", n)
		}

		released := time.Now()
		close(hog.release)
		time.Sleep(iv + iv/2)
		ats := starved.polls()
		if len(ats) == 0 {
			t.Fatal("starved target not polled after the slot freed")
		}
		// A poll waits at most one interval: the first one after the
		// release is for a tick less than an interval old.
		if age := released.Sub(ats[0]); age >= iv {
			t.Errorf("first poll after the release was for a tick %v old", age)
		}
		sk := sink.find(SkippedMetric, "d/starved")
		if len(sk) == 0 || sk[0].Value < 4 {
			t.Fatalf("stored skipped samples %v, want the count of starved ticks (4 or more) first", sk)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// A poll waiting for a slot ends at once when the scheduler stops, not
// at its next tick an hour later.
func TestWaitingPollEndsWithContext(t *testing.T) {
	for _, global := range []bool{false, true} {
		t.Run(fmt.Sprintf("global=%v", global), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(&memSink{}, nil, nil)
				limit := 1
				if global {
					s.SetLimit(1)
					limit = 0
				}
				const iv = time.Hour
				hog := newBlockCollector(true)
				hogT := Target{Name: "d/hog", Device: "d", Interval: iv, Timeout: iv - time.Minute, DeviceLimit: limit, Collector: hog}
				s.Set([]Target{hogT})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- s.Run(ctx) }()
				<-hog.started
				waiter := &fakeCollector{name: "w"}
				s.Set([]Target{hogT, {Name: "d/w", Device: "d", Interval: iv, DeviceLimit: limit, Collector: waiter}})
				time.Sleep(time.Until(firstTick(time.Now(), "d/w", iv)) + time.Second)
				if h := s.Health(); !h[1].Running || len(waiter.polls()) != 0 {
					t.Fatalf("want d/w waiting for a slot: %+v", h[1])
				}
				stop := time.Now()
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if d := time.Since(stop); d != 0 {
					t.Errorf("Run returned %v after cancel: the waiting poll ignored its context", d)
				}
				if len(waiter.polls()) != 0 {
					t.Error("the waiting poll ran after cancel")
				}
			})
		})
	}
}

// A reload (Set with new DeviceLimit) changes the limit of running loops:
// 1, then 2, then 1 again.
func TestDeviceLimitChangesOnReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(&memSink{}, nil, nil)
		const iv, work = 10 * time.Second, 6 * time.Second
		var peak, all peakCounter
		ts, cs := deviceTargets("a", 2, 1, iv, work, &peak, &all)
		with := func(limit int) []Target {
			out := append([]Target(nil), ts...)
			for i := range out {
				out[i].DeviceLimit = limit
			}
			return out
		}
		s.Set(with(1))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		check := func(limit int32) {
			t.Helper()
			if got := s.DeviceLimit("a"); got != int(limit) && !(limit == 2 && got == 0) {
				t.Errorf("DeviceLimit(a) = %d, want %d", got, limit)
			}
			peak.restart()
			time.Sleep(60 * time.Second)
			if p := peak.peak.Load(); p != limit {
				t.Errorf("limit %d: peak %d", limit, p)
			}
		}
		check(1)
		s.Set(with(2))
		check(2)
		s.Set(with(1))
		// Polls started under the limit of 2 end within 6 s.
		time.Sleep(work)
		check(1)
		s.Set(with(0))
		check(2)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The loops were kept, not restarted: both targets kept polling
		// on their phases throughout.
		for i, c := range cs {
			if n := c.polls.Load(); n < 15 {
				t.Errorf("t%d polled %d times in 4 minutes", i, n)
			}
		}
	})
}

func TestSetLimitKeepsSemaphoreWhenUnchanged(t *testing.T) {
	s := New(nil, nil, nil)
	s.SetLimit(3)
	sem := s.sem
	s.SetLimit(3)
	if s.sem != sem {
		t.Error("setting the same limit again replaced the semaphore (and forgot the running polls)")
	}
	s.SetLimit(4)
	if cap(s.sem) != 4 || s.Limit() != 4 {
		t.Errorf("limit 4 gave a semaphore of %d, Limit %d", cap(s.sem), s.Limit())
	}
	s.SetLimit(0)
	if s.sem != nil || s.Limit() != 0 {
		t.Error("limit 0 kept a semaphore")
	}
}

// Raising a device's limit lets a poll already waiting for a slot run at
// once, for the tick it waited on.
func TestRaisedLimitWakesWaitingPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(&memSink{}, nil, nil)
		const iv = time.Minute
		hog := newBlockCollector(true)
		waiter := &fakeCollector{name: "w"}
		targets := func(limit int) []Target {
			return []Target{
				{Name: "d/hog", Device: "d", Interval: iv, Timeout: iv - time.Second, DeviceLimit: limit, Collector: hog},
				{Name: "d/w", Device: "d", Interval: iv, DeviceLimit: limit, Collector: waiter},
			}
		}
		s.Set(targets(1)[:1])
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		<-hog.started
		s.Set(targets(1))
		tick := firstTick(time.Now(), "d/w", iv)
		time.Sleep(time.Until(tick) + time.Second)
		if n := len(waiter.polls()); n != 0 {
			t.Fatalf("polled %d times under limit 1 with the slot held", n)
		}
		s.Set(targets(2))
		synctest.Wait()
		if ats := waiter.polls(); len(ats) != 1 || !ats[0].Equal(tick) {
			t.Fatalf("after raising the limit polled at %v, want once for the tick %v", ats, tick)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

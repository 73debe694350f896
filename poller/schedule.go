package poller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Scheduler polls a changing set of targets, each in its own goroutine.
type Scheduler struct {
	sink Sink
	log  *slog.Logger

	limitMu    sync.Mutex
	sem        chan struct{}     // nil: no global limit
	devs       map[string]*slots // by device: its polls running and its limit
	downAfter  int               // dead polls before backing off; 0: never
	maxBackoff time.Duration

	mu      sync.Mutex
	loops   map[string]*loop
	retired PollTotals      // counts of the loops Set removed or replaced
	runCtx  context.Context // nil unless Run is running
	wg      sync.WaitGroup  // loops started by Run
	running bool
}

// New returns a scheduler writing to sink. reg (may be nil) receives the
// per-target poll metrics; log (may be nil) gets poll failures, rate-limited
// per target.
func New(sink Sink, reg prometheus.Registerer, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if sink == nil {
		sink = discard{}
	}
	s := &Scheduler{sink: sink, log: log, loops: map[string]*loop{}, devs: map[string]*slots{},
		downAfter: DefaultDownAfter, maxBackoff: DefaultMaxBackoff}
	register(reg, s, log)
	return s
}

// Backoff defaults: a target whose last DefaultDownAfter polls all failed
// with no sample is marked down and polled every 2nd, 4th, ... tick, at
// least every DefaultMaxBackoff.
const (
	DefaultDownAfter  = 3
	DefaultMaxBackoff = 10 * time.Minute
)

// SetLimit bounds how many polls run at once over all targets (0: no
// bound). A poll that finds no free slot before its next tick is skipped
// and counted as such. Setting the limit it already has changes nothing
// (a reload calls it every time); polls running when it changes finish
// under the old limit.
func (s *Scheduler) SetLimit(n int) {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	switch {
	case n <= 0:
		s.sem = nil
	case s.sem == nil || cap(s.sem) != n:
		s.sem = make(chan struct{}, n)
	}
}

// SetBackoff sets when a dead target is backed off: after downAfter
// consecutive polls that failed without a sample (0 disables backoff), with
// the gap between its polls doubling up to maxBackoff. Ticks left out by
// backoff still store health samples (success 0), so the outage shows.
func (s *Scheduler) SetBackoff(downAfter int, maxBackoff time.Duration) {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	s.downAfter, s.maxBackoff = downAfter, maxBackoff
}

// Backoff returns what SetBackoff set.
func (s *Scheduler) Backoff() (downAfter int, maxBackoff time.Duration) {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	return s.downAfter, s.maxBackoff
}

// Limit returns the global bound SetLimit set (0: none).
func (s *Scheduler) Limit() int {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	return cap(s.sem)
}

// DeviceLimit returns the bound on device's polls that the last Set gave
// it (0: none, or no target of that device).
func (s *Scheduler) DeviceLimit(device string) int {
	sl := s.deviceSlots(device)
	if sl == nil {
		return 0
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.limit
}

// Set makes targets the polled set. Targets whose name is already polled
// keep their loop and phase: the new settings apply from their next tick
// (a changed interval restarts the loop). Removed targets stop after their
// running poll. Invalid targets (see Check) are logged and left out.
func (s *Scheduler) Set(targets []Target) {
	valid := make(map[string]Target, len(targets))
	for i, t := range targets {
		if err := Check([]Target{t}); err != nil {
			s.log.Error("invalid_target", "index", i, "err", err)
			continue
		}
		if _, dup := valid[t.Name]; dup {
			s.log.Error("invalid_target", "index", i, "target", t.Name, "err", "duplicate name")
			continue
		}
		valid[t.Name] = t
	}
	s.setDeviceLimits(valid)
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, l := range s.loops {
		nt, keep := valid[name]
		if keep && nt.Interval == l.current().Interval {
			l.replace(nt)
			delete(valid, name)
			continue
		}
		s.retired.add(l.snapshot())
		l.stop()
		delete(s.loops, name)
	}
	for _, t := range valid {
		l := newLoop(s, t)
		s.loops[t.Name] = l
		if s.running {
			s.startLocked(l)
		}
	}
}

// PollTotals counts the polls of every target, removed ones included, and
// says how many targets there are and how many are down.
type PollTotals struct {
	Polls, Failures, Skipped uint64
	Targets, Down            int
}

func (t *PollTotals) add(h TargetHealth) {
	t.Polls += h.Polls
	t.Failures += h.Failures
	t.Skipped += h.Skipped
}

// Totals returns the scheduler's poll counts since it was made: finished
// polls, failed ones and skipped ticks of all targets, also those removed
// since (a poll still running when its target was removed may be left
// out), and the targets now and those of them down.
func (s *Scheduler) Totals() PollTotals {
	s.mu.Lock()
	t := s.retired
	loops := make([]*loop, 0, len(s.loops))
	for _, l := range s.loops {
		loops = append(loops, l)
	}
	s.mu.Unlock()
	for _, l := range loops {
		h := l.snapshot()
		t.add(h)
		t.Targets++
		if h.Down {
			t.Down++
		}
	}
	return t
}

// Run polls until ctx ends and returns only after every goroutine ended.
// It returns nil on cancellation.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("poller: scheduler already running")
	}
	s.running, s.runCtx = true, ctx
	for _, l := range s.loops {
		s.startLocked(l)
	}
	s.mu.Unlock()

	<-ctx.Done()

	s.mu.Lock()
	s.running, s.runCtx = false, nil
	for _, l := range s.loops {
		l.stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	for name, l := range s.loops {
		// Loops are restartable by a later Run: give them fresh state.
		s.loops[name] = newLoop(s, l.current())
		s.loops[name].health = l.snapshot()
	}
	s.mu.Unlock()
	return nil
}

// setDeviceLimits gives every device of targets its slots with the
// targets' DeviceLimit (the smallest positive one) and drops the slots of
// devices no target names any more. A device that stays keeps its count of
// running polls, so a new limit holds at once, for waiting polls too.
func (s *Scheduler) setDeviceLimits(targets map[string]Target) {
	limits := make(map[string]int)
	for _, t := range targets {
		if t.Device == "" {
			continue
		}
		n, seen := limits[t.Device]
		if !seen || (t.DeviceLimit > 0 && (n == 0 || t.DeviceLimit < n)) {
			limits[t.Device] = t.DeviceLimit
		}
	}
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	for dev := range s.devs {
		if _, ok := limits[dev]; !ok {
			delete(s.devs, dev)
		}
	}
	for dev, n := range limits {
		sl := s.devs[dev]
		if sl == nil {
			sl = &slots{}
			s.devs[dev] = sl
		}
		sl.setLimit(n)
	}
}

// deviceSlots returns the slots of device, nil when no target names it.
func (s *Scheduler) deviceSlots(device string) *slots {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	return s.devs[device]
}

// slots counts the running polls of one device against its limit. Unlike
// the global semaphore its limit changes in place: a reload neither
// forgets the polls already running nor leaves waiting polls behind an
// old limit. Waiters are the few targets of one device, so waking them
// all when a slot frees costs little.
type slots struct {
	mu    sync.Mutex
	limit int           // 0: no bound
	used  int           // polls holding a slot
	freed chan struct{} // closed when a slot frees or the limit grows; nil: nobody waits
}

// errStarved reports a poll that found no free slot before its next tick.
var errStarved = errors.New("poller: no poll slot before the next tick")

// acquire takes a slot, waiting until one frees, deadline fires or ctx
// ends (errStarved or ctx's error).
func (sl *slots) acquire(ctx context.Context, deadline func() <-chan time.Time) error {
	for {
		sl.mu.Lock()
		if sl.limit <= 0 || sl.used < sl.limit {
			sl.used++
			sl.mu.Unlock()
			return nil
		}
		if sl.freed == nil {
			sl.freed = make(chan struct{})
		}
		freed := sl.freed
		sl.mu.Unlock()
		select {
		case <-freed:
		case <-deadline():
			return errStarved
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (sl *slots) release() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	sl.used--
	sl.wakeLocked()
}

func (sl *slots) setLimit(n int) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if n == sl.limit {
		return
	}
	grows := n <= 0 || (sl.limit > 0 && n > sl.limit)
	sl.limit = n
	if grows {
		sl.wakeLocked()
	}
}

func (sl *slots) wakeLocked() {
	if sl.freed != nil {
		close(sl.freed)
		sl.freed = nil
	}
}

// held is what a poll holds while it runs.
type held struct {
	dev *slots
	sem chan struct{}
}

func (h held) release() {
	if h.dev != nil {
		h.dev.release()
	}
	if h.sem != nil {
		<-h.sem
	}
}

// acquire takes a slot of t's device, then one of the global limit,
// waiting for them at most until nextTick (errStarved) or until ctx ends.
// The device's slot comes first: a poll waiting for its device must not
// sit on a global slot that polls of other devices could use.
func (s *Scheduler) acquire(ctx context.Context, t Target, nextTick time.Time) (held, error) {
	var h held
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// The timer is made only when a poll has to wait.
	deadline := func() <-chan time.Time {
		if timer == nil {
			timer = time.NewTimer(time.Until(nextTick))
		}
		return timer.C
	}
	if dev := s.deviceSlots(t.Device); dev != nil {
		if err := dev.acquire(ctx, deadline); err != nil {
			return h, err
		}
		h.dev = dev
	}
	s.limitMu.Lock()
	sem := s.sem
	s.limitMu.Unlock()
	if sem == nil {
		return h, nil
	}
	select {
	case sem <- struct{}{}:
		h.sem = sem
		return h, nil
	default:
	}
	select {
	case sem <- struct{}{}:
		h.sem = sem
		return h, nil
	case <-deadline():
		h.release()
		return held{}, errStarved
	case <-ctx.Done():
		h.release()
		return held{}, ctx.Err()
	}
}

func (s *Scheduler) startLocked(l *loop) {
	ctx, cancel := context.WithCancel(s.runCtx)
	l.cancel = cancel
	s.wg.Add(1)
	l.start(ctx, s.wg.Done)
}

// TargetHealth is the state of one target's polling, for the web UI.
type TargetHealth struct {
	Name, Device string
	Interval     time.Duration
	Timeout      time.Duration // the effective poll timeout
	Offset       time.Duration // phase within the interval
	LastPoll     time.Time     // scheduled tick of the last finished poll; zero before the first
	LastDuration time.Duration
	LastSamples  int
	LastError    string // "" when the last poll succeeded
	LastErrors   int    // problems of the last poll (see ErrorsMetric)
	Polls        uint64 // finished polls
	Failures     uint64 // finished polls that returned an error
	Skipped      uint64 // ticks skipped: the previous poll still ran, or no poll slot was free
	Running      bool   // a poll is in progress
	Down         bool   // the last polls all failed without a sample: backing off
	DeadPolls    int    // consecutive polls that failed without a sample
	BackedOff    uint64 // ticks left out while down
}

// Health returns the state of every target, sorted by name.
func (s *Scheduler) Health() []TargetHealth {
	s.mu.Lock()
	out := make([]TargetHealth, 0, len(s.loops))
	for _, l := range s.loops {
		out = append(out, l.snapshot())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b TargetHealth) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// loop is the goroutine state of one target.
//
// A loop holds no goroutine between polls: a timer runs each tick, and the
// poll runs in the timer's goroutine. At 20,000 targets a goroutine per
// target waiting on its ticker cost some 20,000 stacks that every garbage
// collection scanned, for targets idle 99 % of the time.
type loop struct {
	s      *Scheduler
	cancel context.CancelFunc

	// Set by start, then owned by the ticks (one at a time: see tick).
	ctx   context.Context
	timer *time.Timer
	next  time.Time      // the next scheduled tick
	polls sync.WaitGroup // ticks running
	ended bool           // guarded by mu: no tick starts any more

	mu      sync.Mutex
	target  Target
	old     []Collector // replaced collectors to close after the running poll
	health  TargetHealth
	lastLog time.Time
	quiet   int // failures not logged since lastLog
	backoff int // ticks still to leave out while down
	gap     int // current backoff gap in ticks
}

func newLoop(s *Scheduler, t Target) *loop {
	l := &loop{s: s, target: t}
	l.health = TargetHealth{Name: t.Name, Device: t.Device, Interval: t.Interval,
		Timeout: EffectiveTimeout(t.Interval, t.Timeout), Offset: Offset(t.Name, t.Interval)}
	return l
}

func (l *loop) current() Target {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.target
}

func (l *loop) snapshot() TargetHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.health
}

// replace swaps in new settings for the next tick.
func (l *loop) replace(t Target) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.target.Collector != t.Collector && t.Collector != nil {
		l.old = append(l.old, l.target.Collector)
	}
	if l.target.Collector != t.Collector {
		// New settings may well fix a dead target: try it at the next tick.
		l.backoff, l.gap, l.health.Down, l.health.DeadPolls = 0, 0, false, 0
	}
	l.target = t
	l.health.Device = t.Device
	l.health.Timeout = EffectiveTimeout(t.Interval, t.Timeout)
	if !l.health.Running {
		l.closeOldLocked()
	}
}

func (l *loop) closeOldLocked() {
	for _, c := range l.old {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	}
	l.old = nil
}

// stop cancels the loop; a loop that never started closes its collector now.
func (l *loop) stop() {
	if l.cancel != nil {
		l.cancel()
		return
	}
	l.mu.Lock()
	l.old = append(l.old, l.target.Collector)
	l.closeOldLocked()
	l.mu.Unlock()
}

// start schedules the loop's ticks until ctx ends; done is called once the
// last tick has ended and the collectors are closed.
func (l *loop) start(ctx context.Context, done func()) {
	t := l.current()
	l.ctx = ctx
	l.next = firstTick(time.Now(), t.Name, t.Interval)
	l.mu.Lock()
	l.timer = time.AfterFunc(time.Until(l.next), l.tick)
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.ended = true
		l.timer.Stop()
		l.mu.Unlock()
		l.polls.Wait()
		l.mu.Lock()
		l.old = append(l.old, l.target.Collector)
		l.closeOldLocked()
		l.mu.Unlock()
		done()
	})
}

// tick runs in the timer's goroutine at each scheduled tick: it sets the
// timer for the next one, then polls (or stands in for a poll while the
// target is down). A tick that comes while the previous poll still runs
// finds it busy and is skipped.
func (l *loop) tick() {
	l.mu.Lock()
	if l.ended || l.ctx.Err() != nil {
		l.mu.Unlock()
		return
	}
	l.polls.Add(1)
	defer l.polls.Done()
	t := l.target
	at := l.next
	// Schedule from the planned tick, not from now, so that ticks stay on
	// their phase; ticks missed entirely (a stalled process) are skipped.
	next := at.Add(t.Interval)
	now := time.Now()
	missed := uint64(0)
	for !next.After(now) {
		next = next.Add(t.Interval)
		missed++
	}
	l.next = next
	l.timer.Reset(next.Sub(now))

	busy := l.health.Running
	if busy {
		missed++
	}
	l.health.Skipped += missed
	backedOff := !busy && l.backoff > 0
	if backedOff {
		l.backoff--
		l.health.BackedOff++
	}
	if !busy {
		l.health.Running = true
	}
	l.mu.Unlock()
	switch {
	case busy:
	case backedOff:
		l.downTick(l.ctx, t, at)
	default:
		l.poll(l.ctx, t, at, next)
	}
}

// downTick stands in for a poll left out while the target is down: it
// stores failed health without contacting the target.
func (l *loop) downTick(ctx context.Context, t Target, at time.Time) {
	l.mu.Lock()
	skipped := l.health.Skipped
	l.mu.Unlock()
	if err := l.s.sink.Append(ctx, healthSamples(t, at, 1, 0, 0, skipped)); err != nil && ctx.Err() == nil {
		l.s.log.Error("append_failed", "target", t.Name, "samples", 5, "err", err)
	}
	l.finish()
}

// poll runs one poll of t for the tick at and hands samples and health to
// the sink. nextTick bounds the wait for a slot under the device's and the
// global limit: a poll still waiting then is skipped and counted.
func (l *loop) poll(ctx context.Context, t Target, at, nextTick time.Time) {
	slot, err := l.s.acquire(ctx, t, nextTick)
	if err != nil {
		if errors.Is(err, errStarved) {
			l.mu.Lock()
			l.health.Skipped++
			l.mu.Unlock()
		}
		l.finish()
		return
	}
	downAfter, maxBackoff := l.s.Backoff()
	timeout := EffectiveTimeout(t.Interval, t.Timeout)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	samples, err := safePoll(pctx, t.Collector, at)
	dur := time.Since(start)
	cancel()
	// The slots bound polls, not the storing of their samples.
	slot.release()
	for i := range samples {
		samples[i].Time = at
	}

	l.mu.Lock()
	h := &l.health
	h.LastPoll, h.LastDuration, h.LastSamples = at, dur, len(samples)
	h.Polls++
	h.LastError, h.LastErrors = "", errorCount(err)
	if err != nil {
		h.Failures++
		h.LastError = err.Error()
	}
	if err != nil && len(samples) == 0 && ctx.Err() == nil {
		h.DeadPolls++
		if downAfter > 0 && h.DeadPolls >= downAfter {
			// Down: leave out 1, 2, 4, ... ticks, up to maxBackoff.
			h.Down = true
			limit := max(int(maxBackoff/t.Interval), 1)
			l.gap = min(max(l.gap*2, 1), limit)
			l.backoff = l.gap
		}
	} else if err == nil || len(samples) > 0 {
		h.DeadPolls, h.Down, l.gap, l.backoff = 0, false, 0, 0
	}
	skipped := h.Skipped
	l.mu.Unlock()

	if ctx.Err() != nil && err != nil {
		// Shutting down or removed mid-poll: the failure is ours, not the device's.
		l.finish()
		return
	}
	if err != nil {
		l.logFailure(t, err)
	}
	batch := append(samples, healthSamples(t, at, errorCount(err), dur, len(samples), skipped)...)
	if aerr := l.s.sink.Append(ctx, batch); aerr != nil && ctx.Err() == nil {
		l.s.log.Error("append_failed", "target", t.Name, "samples", len(batch), "err", aerr)
	}
	l.finish()
}

func (l *loop) finish() {
	l.mu.Lock()
	l.health.Running = false
	l.closeOldLocked()
	l.mu.Unlock()
}

// safePoll turns a collector panic into an error, so that one broken
// collector cannot take the process down.
func safePoll(ctx context.Context, c Collector, at time.Time) (s []metric.Sample, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return c.Poll(ctx, at)
}

// PanicError reports a collector that panicked.
type PanicError struct{ Value any }

func (e *PanicError) Error() string {
	return "poller: collector panicked: " + slog.AnyValue(e.Value).String()
}

// logFailure logs at most one failure a minute per target, with the count
// of those left out.
func (l *loop) logFailure(t Target, err error) {
	l.mu.Lock()
	now := time.Now()
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < time.Minute {
		l.quiet++
		l.mu.Unlock()
		return
	}
	quiet := l.quiet
	l.lastLog, l.quiet = now, 0
	l.mu.Unlock()
	l.s.log.Warn("poll_failed", "target", t.Name, "device", t.Device, "err", err, "suppressed", quiet)
}

func healthSamples(t Target, at time.Time, errs int, dur time.Duration, n int, skipped uint64) []metric.Sample {
	// The target's labels with device and target set, sorted, then one
	// copy per sample with the name put in its place: no maps, five
	// allocations of labels per poll.
	base := make(metric.Labels, 0, len(t.Labels)+3)
	for _, l := range t.Labels {
		if l.Name != metric.DeviceLabel && l.Name != TargetLabel && l.Name != metric.NameLabel && l.Value != "" {
			base = append(base, l)
		}
	}
	if t.Device != "" {
		base = append(base, metric.Label{Name: metric.DeviceLabel, Value: t.Device})
	}
	if t.Name != "" {
		base = append(base, metric.Label{Name: TargetLabel, Value: t.Name})
	}
	slices.SortFunc(base, func(a, b metric.Label) int { return strings.Compare(a.Name, b.Name) })
	ds := metric.Gauges(2 * t.Interval)
	succ := 0.0
	if errs == 0 {
		succ = 1
	}
	mk := func(name string, v float64) metric.Sample {
		ls := make(metric.Labels, 0, len(base)+1)
		i, _ := slices.BinarySearchFunc(base, metric.NameLabel, func(l metric.Label, n string) int { return strings.Compare(l.Name, n) })
		ls = append(append(append(ls, base[:i]...), metric.Label{Name: metric.NameLabel, Value: name}), base[i:]...)
		return metric.Sample{Labels: ls, DS: ds, Time: at, Value: v}
	}
	return []metric.Sample{
		mk(SuccessMetric, succ),
		mk(DurationMetric, dur.Seconds()),
		mk(SamplesMetric, float64(n)),
		mk(SkippedMetric, float64(skipped)),
		mk(ErrorsMetric, float64(errs)),
	}
}

type discard struct{}

func (discard) Append(context.Context, []metric.Sample) error { return nil }

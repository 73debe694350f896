package poller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Sink is where polled samples go. One poll of one target per call; safe
// for concurrent use.
type Sink interface {
	Append(ctx context.Context, batch []metric.Sample) error
}

// Collector polls one target. It returns the samples it got even when it
// also returns an error (partial polls keep what answered). The scheduler
// stamps every sample with the scheduled tick at.
//
// The scheduler never runs two polls of one target at once. A collector
// that also implements io.Closer is closed when its target is removed or
// replaced and its last poll has ended.
type Collector interface {
	Poll(ctx context.Context, at time.Time) ([]metric.Sample, error)
}

// Target is one thing to poll on a schedule.
type Target struct {
	Name      string        // unique, e.g. "localhost/snmp"
	Device    string        // the device label of health samples
	Labels    metric.Labels // added to health samples
	Interval  time.Duration // between polls; must be positive
	Timeout   time.Duration // of one poll; clamped below Interval
	Collector Collector
	// DeviceLimit bounds how many polls of the targets sharing this
	// Device run at once (0: no bound). Targets of one device normally
	// agree; when they do not, the smallest positive value applies.
	DeviceLimit int
}

// Health series names, stored for every poll of every target with the
// labels device and target (and the target's Labels).
const (
	SuccessMetric  = "saguaro_poll_success"          // 1 when the poll returned no error, else 0
	DurationMetric = "saguaro_poll_duration_seconds" // wall time of the poll
	SamplesMetric  = "saguaro_poll_samples"          // samples the poll returned
	// SkippedMetric is a GAUGE holding the cumulative count of skipped ticks
	// since the target's loop started (it restarts from 0 with the process).
	SkippedMetric = "saguaro_poll_skipped_total"
	// ErrorsMetric counts the problems of the poll: 0 on success, the
	// collector's ErrorCount when its error has one (an SNMP poll lists
	// every OID that failed), else 1.
	ErrorsMetric = "saguaro_poll_errors"
)

// ErrorCounter is implemented by collector errors that bundle several
// problems, so that health records how many.
type ErrorCounter interface{ ErrorCount() int }

// errorCount is how many problems err stands for.
func errorCount(err error) int {
	if err == nil {
		return 0
	}
	var ec ErrorCounter
	if errors.As(err, &ec) && ec.ErrorCount() > 0 {
		return ec.ErrorCount()
	}
	return 1
}

// TargetLabel names the target in health samples.
const TargetLabel = "target"

// ErrInvalidTarget is wrapped by the errors of Check.
var ErrInvalidTarget = errors.New("invalid target")

// Check reports every problem of a target list at once: empty or
// duplicate names, missing collectors, non-positive intervals, negative
// timeouts or device limits. Set ignores invalid targets; callers
// validate with Check first.
func Check(targets []Target) error {
	var errs []error
	seen := make(map[string]int, len(targets))
	for i, t := range targets {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("targets[%d] %q: %w: %s", i, t.Name, ErrInvalidTarget, fmt.Sprintf(format, args...)))
		}
		if t.Name == "" {
			bad("empty name")
		} else if j, dup := seen[t.Name]; dup {
			bad("duplicate name (also targets[%d])", j)
		} else {
			seen[t.Name] = i
		}
		if t.Collector == nil {
			bad("no collector")
		}
		if t.Interval <= 0 {
			bad("interval %v must be positive", t.Interval)
		}
		if t.Timeout < 0 {
			bad("timeout %v must not be negative", t.Timeout)
		}
		if t.DeviceLimit < 0 {
			bad("device limit %d must not be negative", t.DeviceLimit)
		}
	}
	return errors.Join(errs...)
}

// EffectiveTimeout is the poll timeout the scheduler uses: the target's
// Timeout when it is set and below the interval, else 90 % of the interval.
func EffectiveTimeout(interval, timeout time.Duration) time.Duration {
	if timeout > 0 && timeout < interval {
		return timeout
	}
	return interval - interval/10
}

// Offset is a target's phase within its interval: polls of the target fall
// on wall-clock times t with t mod interval == Offset. It depends only on
// the name, so it is stable across restarts, and it spreads targets evenly.
func Offset(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	// FNV-1a, 64 bit.
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return time.Duration(h % uint64(interval))
}

// firstTick is the first time after now that falls on the target's phase.
func firstTick(now time.Time, name string, interval time.Duration) time.Time {
	t := now.Truncate(interval).Add(Offset(name, interval))
	for !t.After(now) {
		t = t.Add(interval)
	}
	return t
}

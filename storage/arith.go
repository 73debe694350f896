package storage

import (
	"fmt"
	"math"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage/rrd"
)

// This file is the seam between storage and the RRD arithmetic, which
// storage/rrd owns and tests against real rrdtool: a series' readings go
// through an rrd.DS into step-aligned PDPs, and every PDP through one
// rrd.RRA per tier and consolidation function into rows. Nothing else in
// storage knows how rates, PDPs or rows are computed.

// seriesRRD is the RRD state of one series.
type seriesRRD struct {
	ds *rrd.DS
	// One consolidator per tier and stored CF, in slot order (rra[k] is
	// slot k+1), in one allocation: every PDP visits them all, and
	// together they stay in few cache lines.
	rra []rrd.RRA

	// The previous reading, for the rate of each polled interval that the
	// raw archive keeps (rrd.DS does not expose it).
	prev     rrd.Reading
	prevOK   bool
	prevSec  int64
	prevUsec int64
}

// firstStart is when a series' DS starts, given its first reading at t:
// the whole second before it (or the start of t's second when t has a
// fraction). The first reading then only primes the DS, as if rrdtool had
// created the file just before it: a counter has nothing to difference
// yet, a gauge holds for at most a second. A whole second keeps rrdtool's
// integer count of unknown seconds exact.
func firstStart(t time.Time) time.Time {
	return t.Add(-time.Nanosecond).Truncate(time.Second)
}

// newSeriesRRD starts the RRD state of a series at start.
func newSeriesRRD(ds metric.DS, step time.Duration, tiers []*tier, start time.Time) (*seriesRRD, error) {
	d, err := rrd.NewDS(ds, step, start)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, tr := range tiers {
		n += len(tr.cfs)
	}
	sr := &seriesRRD{ds: d, rra: make([]rrd.RRA, 0, n)}
	for _, tr := range tiers {
		for _, cf := range tr.cfs {
			ra, err := rrd.NewRRA(cf, tr.XFF, int(tr.pdpCnt), step)
			if err != nil {
				return nil, fmt.Errorf("tier %s: %w", tr.name, err)
			}
			sr.rra = append(sr.rra, *ra)
		}
	}
	return sr, nil
}

// effectiveDS fills the heartbeat left to storage (twice the step).
func effectiveDS(ds metric.DS, step time.Duration) metric.DS {
	if ds.Heartbeat == 0 {
		ds.Heartbeat = 2 * step
	}
	return ds
}

// rawRate is the rate of the interval that ends with reading r at (sec,
// usec): what one poll says, before any time-weighting into PDPs. For a
// gauge it is the reading itself. It follows rrd.DS's rules for wraps,
// heartbeat and limits. It must be called before the DS sees r.
func (sr *seriesRRD) rawRate(ds metric.DS, sec, usec int64, r rrd.Reading) float64 {
	known := r.Exact || !math.IsNaN(r.Value)
	interval := float64(sec-sr.prevSec) + float64(usec-sr.prevUsec)/1e6
	prev, prevOK := sr.prev, sr.prevOK && !(ds.Heartbeat.Seconds() < interval)
	sr.prev, sr.prevOK, sr.prevSec, sr.prevUsec = r, known, sec, usec
	if !known {
		return math.NaN()
	}
	rate := math.NaN()
	switch ds.Type {
	case metric.Gauge:
		rate = r.Value
	case metric.Absolute:
		if !(ds.Heartbeat.Seconds() < interval) {
			rate = readingFloat(r) / interval
		}
	case metric.Counter, metric.Derive:
		if prevOK {
			d := readingDiff(r, prev)
			if ds.Type == metric.Counter {
				if d < 0 {
					d += 4294967295.0 // as rrd.DS (and rrdtool 1.7) do
				}
				if d < 0 {
					d += 18446744069414584320.0
				}
			}
			rate = d / interval
		}
	case metric.DCounter, metric.DDerive:
		if prevOK {
			nv, ov := readingFloat(r), readingFloat(prev)
			// A DCOUNTER that went down (in magnitude, as rrd.DS judges
			// it) has no rate.
			if ds.Type == metric.DCounter && ((nv > 0 && ov > nv) || (nv < 0 && nv > ov)) {
				return math.NaN()
			}
			rate = (nv - ov) / interval
		}
	}
	if math.IsNaN(rate) || !ds.InRange(rate) {
		return math.NaN()
	}
	return rate
}

func readingFloat(r rrd.Reading) float64 {
	if r.Exact {
		return float64(r.Count)
	}
	return r.Value
}

func readingDiff(a, b rrd.Reading) float64 {
	if a.Exact && b.Exact {
		if a.Count >= b.Count {
			return decimalFloat(a.Count - b.Count)
		}
		return -decimalFloat(b.Count - a.Count)
	}
	return readingFloat(a) - readingFloat(b)
}

// decimalFloat converts like rrdtool's rrd_diff, which forms the
// difference of two decimal strings and accumulates its digits in a double:
// above 2^53 that rounds differently from a direct conversion.
func decimalFloat(n uint64) float64 {
	if n < 1<<53 {
		return float64(n)
	}
	var digits [20]byte
	i := len(digits)
	for ; n > 0; n /= 10 {
		i--
		digits[i] = byte(n % 10)
	}
	f := 0.0
	for _, d := range digits[i:] {
		f = f*10 + float64(d)
	}
	return f
}

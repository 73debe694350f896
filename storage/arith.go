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

// rawValue is what the raw archive keeps for reading r, given the DS's
// state right after it and the interval the reading ends: the rate of
// that interval (rrd.DS.Rate: wraps, heartbeat and limits as rrdtool), and
// for a gauge the reading itself even after a gap beyond the heartbeat (a
// gauge needs no previous reading, and a slow poll is still a
// measurement). NaN: nothing to keep.
//
// The rate of an integer counter is rounded to what the counter
// resolves, see quantizeRate.
func rawValue(d *rrd.DS, ds metric.DS, r rrd.Reading, interval time.Duration) float64 {
	if ds.Type == metric.Gauge && (r.Exact || !math.IsNaN(r.Value)) {
		v := r.Value
		if r.Exact {
			v = float64(r.Count)
		}
		if ds.InRange(v) {
			return v
		}
		return math.NaN()
	}
	rate := d.Rate()
	if r.Exact && (ds.Type == metric.Counter || ds.Type == metric.Derive || ds.Type == metric.Absolute) {
		rate = quantizeRate(rate, interval)
	}
	return rate
}

// quantizeRate rounds the rate of an integer count k over interval Δt
// (k/Δt) to the nearest multiple of 2^-e, where 2^e is the smallest power
// of two not below Δt in seconds (1/64 for a one-minute poll).
//
// k/Δt as a double uses all 53 bits of the mantissa for almost every k
// (1/60 has no finite binary expansion), which tsdb's XOR encoding cannot
// compress: ~7 bytes per value, like random floats. A multiple of 2^-e has
// ~e+log2(rate) significant bits: ~4 bytes for a busy 10 GbE counter, ~3
// for a quiet one. The rounding error is below 1/(2Δt), less than one
// count over the interval, so k = round(value*Δt) is recovered exactly: no
// information the counter had is lost, but the stored value differs from
// rrdtool's k/Δt by up to 2^-(e+1) (0.0078 per second at one minute).
// Tier rows are not rounded.
func quantizeRate(rate float64, interval time.Duration) float64 {
	sec := interval.Seconds()
	if math.IsNaN(rate) || math.IsInf(rate, 0) || !(sec > 0) {
		return rate
	}
	_, e := math.Frexp(sec) // sec = f * 2^e, 0.5 <= f < 1: 2^e >= sec
	if sec == math.Ldexp(0.5, e) {
		e-- // an exact power of two
	}
	q := math.Ldexp(rate, e)
	if math.Abs(q) >= 1<<52 {
		return rate // already an integer multiple
	}
	return math.Ldexp(math.Round(q), -e)
}

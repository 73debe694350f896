package graphs

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// fakeQuerier serves series from memory the way storage does: each series
// exists at several steps (consolidation tiers), Select picks the coarsest
// tier not coarser than the query's step and crops it to [From, To).
type fakeQuerier struct {
	series  []fakeSeries
	mu      sync.Mutex
	selects []metric.Query
	err     error
}

type fakeSeries struct {
	labels metric.Labels
	tiers  []metric.Series // ascending step
	cf     *metric.CF      // when set, served only to queries with this CF
}

// add stores values at step from start (row i stamped start+i*step) and
// consolidated (by average) into the coarser tier steps.
func (f *fakeQuerier) add(labels metric.Labels, start time.Time, step time.Duration, vals []float64, tiers ...time.Duration) {
	fs := fakeSeries{labels: labels, tiers: []metric.Series{{Labels: labels, Start: start, Step: step, Values: vals}}}
	for _, ts := range tiers {
		first, st, tss := start.Unix(), int64(step/time.Second), int64(ts/time.Second)
		last := first + int64(len(vals)-1)*st
		k := int(tss / st)
		t0 := (first + tss - 1) / tss * tss
		var out []float64
		for T := t0; T <= last; T += tss {
			var sum float64
			n := 0
			for j := max(0, int(floorDiv(T-tss-first, st))+1); j < len(vals) && first+int64(j)*st <= T; j++ {
				if v := vals[j]; !math.IsNaN(v) {
					sum += v
					n++
				}
			}
			if n > 0 && n*2 >= k {
				out = append(out, sum/float64(n))
			} else {
				out = append(out, math.NaN())
			}
		}
		fs.tiers = append(fs.tiers, metric.Series{Labels: labels, Start: time.Unix(t0, 0), Step: ts, Values: out})
	}
	f.series = append(f.series, fs)
}

func (f *fakeQuerier) Select(_ context.Context, q metric.Query) ([]metric.Series, error) {
	f.mu.Lock()
	f.selects = append(f.selects, q)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []metric.Series
	for _, s := range f.series {
		if !q.Match.Matches(s.labels) || (s.cf != nil && *s.cf != q.CF) {
			continue
		}
		tier := s.tiers[0]
		for _, t := range s.tiers[1:] {
			if t.Step <= q.Step {
				tier = t
			}
		}
		// Crop to rows whose time stamp lies in (From, To+step).
		st := int64(tier.Step / time.Second)
		first := tier.Start.Unix()
		lo := max(0, int(floorDiv(q.From.Unix()-first, st))+1)
		hi := min(len(tier.Values), int(ceilDiv(q.To.Unix()+st-first, st)))
		if lo >= hi {
			continue
		}
		vals := tier.Values[lo:hi]
		start := tier.TimeAt(lo)
		out = append(out, metric.Series{Labels: s.labels, Start: start, Step: tier.Step, Values: vals})
	}
	return out, nil
}

func (f *fakeQuerier) LabelValues(_ context.Context, name string, sel metric.Selector) ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []string
	for _, s := range f.series {
		if sel.Matches(s.labels) {
			if v := s.labels.Get(name); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

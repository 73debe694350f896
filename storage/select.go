package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// RawSeries is one series' raw archive: every polled value (for counting
// types the rate of the interval before it) at the time it was polled.
type RawSeries struct {
	Labels metric.Labels
	Times  []time.Time
	Values []float64
}

// Select returns the series matching q.Match over [q.From, q.To) on a
// regular grid, consolidated with q.CF.
//
// It reads the finest archive that still covers q.From, can give q.CF and
// whose step is at least q.Step: a tier that stores q.CF (or has one PDP
// per row, where every function gives the PDP), or, for MIN, MAX and LAST,
// the raw archive. When none is coarse enough, the coarsest of them is read
// and consolidated further with q.CF. When none covers q.From, the one
// reaching back furthest is read, and rows before its history are unknown.
//
// Series.Step is the step really used; rows are stamped with the end of
// their interval and are NaN where unknown; the last row is the last
// completed one. Series without any value in the range are left out; an
// empty result is not an error.
func (db *DB) Select(ctx context.Context, q metric.Query) ([]metric.Series, error) {
	if !q.To.After(q.From) {
		return nil, fmt.Errorf("storage select: empty time range [%s, %s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	if q.CF > metric.Last {
		return nil, fmt.Errorf("storage select: unknown consolidation function %v", q.CF)
	}
	ms, err := toMatchers(q.Match)
	if err != nil {
		return nil, fmt.Errorf("storage select: %w", err)
	}
	db.inflight.RLock()
	defer db.inflight.RUnlock()
	if db.isClosed() {
		return nil, ErrClosed
	}
	src, ok := db.pickSource(q)
	if !ok {
		return nil, fmt.Errorf("storage select: no archive keeps %v", q.CF)
	}
	outStep := src.step * src.factor
	first := floorDiv(q.From.Unix(), outStep)*outStep + outStep
	toSec := q.To.Unix()
	if q.To.Nanosecond() > 0 {
		toSec++
	}
	last := ceilDiv(toSec, outStep) * outStep
	if src.factor > 1 {
		// Consolidating on read: the newest row may be partial, made of
		// the completed steps polled so far.
		last = min(last, ceilDiv(db.lastPDP.Load(), outStep)*outStep)
	} else {
		last = min(last, floorDiv(db.lastPDP.Load(), outStep)*outStep)
	}
	if last < first {
		return nil, nil
	}
	n := int((last-first)/outStep) + 1
	if src.tier != nil {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, cfLabel, src.tier.stored(q.CF).String()))
	}
	// Rows (and raw values) stamped in (first-outStep, last].
	qr, err := src.db.Querier((first-outStep)*1000+1, last*1000)
	if err != nil {
		return nil, fmt.Errorf("storage select from %s archive: %w", src.name, err)
	}
	defer qr.Close()
	ss := qr.Select(ctx, false, nil, ms...)
	var res []metric.Series
	var it chunkenc.Iterator
	var cnt []int
	avg := src.factor > 1 && q.CF == metric.Average
	stepMs, firstMs := outStep*1000, first*1000
	for ss.Next() {
		ser := ss.At()
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = math.NaN()
		}
		if avg {
			cnt = slices.Grow(cnt[:0], n)[:n]
			clear(cnt)
		}
		any := false
		it = ser.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			if math.IsNaN(v) {
				continue
			}
			// A value at t belongs to the row whose interval (end-step,
			// end] holds it; raw values fall anywhere in it.
			i := int(ceilDiv(t-firstMs, stepMs))
			if i < 0 || i >= n {
				continue
			}
			any = true
			if src.factor == 1 && src.tier != nil {
				vals[i] = v
				continue
			}
			switch cur := vals[i]; {
			case math.IsNaN(cur):
				vals[i] = v
			case q.CF == metric.Average:
				vals[i] = cur + v
			case q.CF == metric.Min:
				vals[i] = min(cur, v)
			case q.CF == metric.Max:
				vals[i] = max(cur, v)
			default:
				vals[i] = v
			}
			if avg {
				cnt[i]++
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("storage select from %s archive: %w", src.name, err)
		}
		if !any {
			continue
		}
		if avg {
			for i, c := range cnt {
				if c > 0 {
					vals[i] /= float64(c)
				}
			}
		}
		res = append(res, metric.Series{
			Labels: fromPromLabels(ser.Labels()),
			Start:  time.Unix(first, 0).UTC(),
			Step:   time.Duration(outStep) * time.Second,
			Values: vals,
		})
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("storage select from %s archive: %w", src.name, err)
	}
	slices.SortFunc(res, func(a, b metric.Series) int { return strings.Compare(seriesKey(a.Labels), seriesKey(b.Labels)) })
	return res, nil
}

// source is the archive a query reads: a tier, or the raw archive (tier
// nil), with its step in seconds and the factor by which its rows must
// still be consolidated.
type source struct {
	tier      *tier
	db        *tsdb.DB
	name      string
	step      int64
	retention time.Duration
	factor    int64
}

// pickSource chooses the archive for a query; false when no archive can
// give q.CF.
//
// The step comes first: it is the one the query would get if every tier
// kept every consolidation function (the finest covering tier's step that
// is at least q.Step). Then the coarsest archive that has q.CF, covers
// q.From and is not coarser than that step is read, consolidated on read
// up to it; if only coarser ones have q.CF, the finest of those.
func (db *DB) pickSource(q metric.Query) (source, bool) {
	req := q.Step
	if req <= 0 {
		req = db.opts.Step
	}
	wm := db.lastPDP.Load()
	from := q.From.Unix()
	covers := func(ret time.Duration) bool { return wm == 0 || from >= wm-int64(ret/time.Second) }

	var all, cands []source
	for _, t := range db.tiers {
		src := source{tier: t, db: t.db, name: t.name, step: t.stepS, retention: t.Retention}
		all = append(all, src)
		if t.has(q.CF) {
			cands = append(cands, src)
		}
	}
	// The raw archive consolidated on read gives MIN, MAX and LAST of the
	// polled values; an average of them would not be time-weighted, so
	// AVERAGE comes from tiers only. Among equal steps a tier is preferred
	// (it comes later): its rows are exact PDPs.
	if q.CF != metric.Average {
		raw := source{db: db.raw, name: "raw", step: db.step, retention: db.opts.RawRetention}
		k := 0
		for k < len(cands) && cands[k].step < raw.step {
			k++
		}
		cands = slices.Insert(cands, k, raw)
	}
	if len(cands) == 0 {
		return source{}, false
	}
	// The step is the one the query would get if every tier kept every
	// consolidation function (the finest covering tier's step that is at
	// least q.Step). The finest archive that covers q.From and has q.CF is
	// read and consolidated on read up to it, so the newest, still partial
	// row shows what has been polled so far instead of staying empty until
	// a coarse row ends (a week's graph would otherwise lag up to an hour,
	// a year's a day). Among equal steps a tier wins over raw.
	target := wantStep(all, covers, req)
	cov := coveringOrLongest(cands, covers)
	pick := cov[0]
	for _, c := range cov[1:] {
		if c.step == pick.step {
			pick = c
		}
	}
	pick.factor = max((target+pick.step-1)/pick.step, 1)
	return pick, true
}

// coveringOrLongest keeps the sources that reach back far enough; if none
// does, the one reaching back furthest.
func coveringOrLongest(srcs []source, covers func(time.Duration) bool) []source {
	var out []source
	for _, s := range srcs {
		if covers(s.retention) {
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out
	}
	best := srcs[0]
	for _, s := range srcs[1:] {
		if s.retention > best.retention {
			best = s
		}
	}
	return []source{best}
}

// wantStep is the step (seconds) of a query for steps of at least req:
// the finest covering tier's that is at least req, or else the coarsest
// covering tier's multiplied up to req.
func wantStep(tiers []source, covers func(time.Duration) bool, req time.Duration) int64 {
	cov := coveringOrLongest(tiers, covers)
	r := int64((req + time.Second - 1) / time.Second)
	for _, t := range cov {
		if t.step >= r {
			return t.step
		}
	}
	t := cov[len(cov)-1]
	return (r + t.step - 1) / t.step * t.step
}

// Raw returns the raw archive of the matching series over [from, to).
func (db *DB) Raw(ctx context.Context, sel metric.Selector, from, to time.Time) ([]RawSeries, error) {
	ms, err := toMatchers(sel)
	if err != nil {
		return nil, fmt.Errorf("storage raw: %w", err)
	}
	db.inflight.RLock()
	defer db.inflight.RUnlock()
	if db.isClosed() {
		return nil, ErrClosed
	}
	qr, err := db.raw.Querier(from.UnixMilli(), to.UnixMilli()-1)
	if err != nil {
		return nil, fmt.Errorf("storage raw: %w", err)
	}
	defer qr.Close()
	ss := qr.Select(ctx, true, nil, ms...)
	var res []RawSeries
	var it chunkenc.Iterator
	for ss.Next() {
		ser := ss.At()
		rs := RawSeries{Labels: fromPromLabels(ser.Labels())}
		it = ser.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			rs.Times = append(rs.Times, time.UnixMilli(t).UTC())
			rs.Values = append(rs.Values, v)
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("storage raw: %w", err)
		}
		if len(rs.Times) > 0 {
			res = append(res, rs)
		}
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("storage raw: %w", err)
	}
	return res, nil
}

// LabelValues returns the sorted values of label name among the known
// series matching sel, e.g. every ifName of a device.
func (db *DB) LabelValues(ctx context.Context, name string, sel metric.Selector) ([]string, error) {
	if name == "" {
		return nil, errors.New("storage label values: empty label name")
	}
	seen := map[string]struct{}{}
	err := db.eachSeries(sel, func(ls metric.Labels) {
		if v := ls.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("storage label values of %s: %w", name, err)
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// Series returns the label sets of the known series matching sel, sorted.
// A series is known from its first reading until it is deleted or its
// newest data has expired from every archive.
func (db *DB) Series(ctx context.Context, sel metric.Selector) ([]metric.Labels, error) {
	var out []metric.Labels
	err := db.eachSeries(sel, func(ls metric.Labels) { out = append(out, ls.Copy()) })
	if err != nil {
		return nil, fmt.Errorf("storage series: %w", err)
	}
	slices.SortFunc(out, func(a, b metric.Labels) int { return strings.Compare(seriesKey(a), seriesKey(b)) })
	return out, nil
}

// CatalogueVersion changes whenever a series is added to the catalogue or
// leaves it (deleted, expired): what was derived from the catalogue (a
// list of graphs) is current while it stays the same.
func (db *DB) CatalogueVersion() uint64 { return db.catver.Load() }

// eachSeries calls fn for every known series matching sel. The catalogue
// is kept in memory (and in checkpoints), so that it is exact after a
// deletion, which the TSDBs' indexes only reflect after compaction.
func (db *DB) eachSeries(sel metric.Selector, fn func(metric.Labels)) error {
	ms, err := toMatchers(sel)
	if err != nil {
		return err
	}
	db.inflight.RLock()
	defer db.inflight.RUnlock()
	if db.closed.Load() {
		return ErrClosed
	}
	match := func(s *seriesState) {
		for _, m := range ms {
			if !m.Matches(s.labels.Get(m.Name)) {
				return
			}
		}
		fn(s.labels)
	}
	for _, m := range ms {
		if m.Name == metric.DeviceLabel && m.Type == labels.MatchEqual && m.Value != "" {
			// One device: its shard's list of its series.
			sh := db.shards[shardIndex(metric.Labels{{Name: metric.DeviceLabel, Value: m.Value}})]
			sh.mu.Lock()
			defer sh.mu.Unlock()
			for _, s := range sh.byDevice[m.Value] {
				match(s)
			}
			return nil
		}
	}
	db.eachState(match)
	return nil
}

// DeleteSeries removes the matching series from every archive and forgets
// their state; their disk space is freed when the call returns.
func (db *DB) DeleteSeries(ctx context.Context, sel metric.Selector) error {
	if len(sel) == 0 {
		return errors.New("storage delete: empty selector would delete every series")
	}
	ms, err := toMatchers(sel)
	if err != nil {
		return fmt.Errorf("storage delete: %w", err)
	}
	db.inflight.Lock()
	if db.closed.Load() {
		db.inflight.Unlock()
		return ErrClosed
	}
	var gone []*seriesState
	db.eachState(func(s *seriesState) {
		if sel.Matches(s.labels) {
			gone = append(gone, s)
		}
	})
	for _, s := range gone {
		s.sh.mu.Lock()
		db.removeSeries(s)
		s.sh.mu.Unlock()
	}
	var errs []error
	// Delete up to the newest value written: a tombstone reaching into the
	// future would also hide the series if it comes back.
	maxt := db.maxMs.Load()
	for i, a := range db.archives() {
		if err := a.Delete(ctx, math.MinInt64, maxt, ms...); err != nil {
			errs = append(errs, fmt.Errorf("storage delete from %s archive: %w", db.archiveName(i), err))
		}
	}
	db.inflight.Unlock()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The journal still holds readings of the deleted series: a checkpoint
	// makes sure a replay cannot bring them back.
	if err := db.checkpoint(); err != nil {
		return err
	}
	for i, a := range db.archives() {
		if err := a.CleanTombstones(); err != nil {
			return fmt.Errorf("storage delete: free space in %s archive: %w", db.archiveName(i), err)
		}
	}
	return nil
}

func (db *DB) archives() []*tsdb.DB {
	out := []*tsdb.DB{db.raw}
	for _, t := range db.tiers {
		out = append(out, t.db)
	}
	return out
}

func (db *DB) isClosed() bool { return db.closed.Load() }

// toMatchers converts a selector; every series has a name, which also
// makes an empty selector match everything.
func toMatchers(sel metric.Selector) ([]*labels.Matcher, error) {
	ms := make([]*labels.Matcher, 0, len(sel)+2)
	ms = append(ms, labels.MustNewMatcher(labels.MatchNotEqual, metric.NameLabel, ""))
	for _, m := range sel {
		if m.Name == "" {
			return nil, errors.New("matcher with an empty label name")
		}
		t := labels.MatchEqual
		if m.Regex {
			t = labels.MatchRegexp
		}
		lm, err := labels.NewMatcher(t, m.Name, m.Value)
		if err != nil {
			return nil, fmt.Errorf("label %s: bad regular expression %q: %w", m.Name, m.Value, err)
		}
		ms = append(ms, lm)
	}
	return ms, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

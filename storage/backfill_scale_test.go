package storage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// backfillPlan is an import of history into a store that already polls
// live data: live series are polled every minute for liveDays, then
// series get days of history at step, one series after the
// other in shuffled order, each in time order (as an import of RRD dumps
// or another TSDB would go). The history ends where the live data starts,
// so for every archive it lies behind the head.
type backfillPlan struct {
	series   int
	days     int
	step     time.Duration // history poll interval; divides an hour
	liveDays int
	workers  int // concurrent importers
	batch    int // readings per Append
	rawCheck int // series whose raw values are read back (every one when >= series)
}

func (p backfillPlan) readings() int        { return p.days * int(day/p.step) } // per series, after the first
func (p backfillPlan) liveStart() time.Time { return base.Add(time.Duration(p.days) * day) }
func (p backfillPlan) liveEnd() time.Time {
	return p.liveStart().Add(time.Duration(p.liveDays) * day)
}

func backfillDevice(i int) string { return fmt.Sprintf("dev%04d", i) }

// backfillValue is history series i's reading k (at base + k*step): a
// gauge whose hourly and daily averages and maxima differ from row to row.
func backfillValue(i, k int) float64 {
	return float64((i*131+k*17)%1009) + 0.25*float64(k%4)
}

func backfillLabels(i int) metric.Labels {
	return metric.New(metric.NameLabel, "backfill", metric.DeviceLabel, backfillDevice(i))
}

// ingestLive polls p.series live gauges every minute over p.liveDays,
// one Append per minute. It returns the readings appended.
func ingestLive(tb testing.TB, db *DB, p backfillPlan) int {
	tb.Helper()
	ls := make([]metric.Labels, p.series)
	for i := range ls {
		ls[i] = metric.New(metric.NameLabel, "live", metric.DeviceLabel, backfillDevice(i))
	}
	batch := make([]metric.Sample, p.series)
	polls := p.liveDays * 1440
	for k := 1; k <= polls; k++ {
		ts := p.liveStart().Add(time.Duration(k) * time.Minute)
		for i := range batch {
			batch[i] = metric.Sample{Labels: ls[i], DS: metric.Gauges(2 * time.Minute), Time: ts, Value: float64((i + k) % 100)}
		}
		mustAppend(tb, db, batch...)
	}
	return polls * p.series
}

// importHistory imports every history series, p.workers at a time, in
// shuffled order. It returns the readings appended.
func importHistory(tb testing.TB, db *DB, p backfillPlan) int {
	tb.Helper()
	order := rand.New(rand.NewPCG(5, 6)).Perm(p.series)
	next := make(chan int)
	var failed atomic.Bool
	var wg sync.WaitGroup
	ds := metric.Gauges(2 * p.step)
	n := p.readings()
	for w := 0; w < p.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]metric.Sample, 0, p.batch)
			for i := range next {
				ls := backfillLabels(i)
				for k := 0; k <= n; k++ {
					buf = append(buf, metric.Sample{Labels: ls, DS: ds, Time: base.Add(time.Duration(k) * p.step), Value: backfillValue(i, k)})
					if len(buf) == cap(buf) || k == n {
						if err := db.Append(context.Background(), buf); err != nil {
							tb.Errorf("import %s: %v", ls, err)
							failed.Store(true)
							return
						}
						buf = buf[:0]
					}
				}
			}
		}()
	}
	for _, i := range order {
		if failed.Load() {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if failed.Load() {
		tb.FailNow()
	}
	return p.series * (n + 1)
}

// backfillWant is the rows a tier of rowStep must hold for series i:
// the average and the maximum of the readings of each row's interval
// (a gauge's reading holds for the interval before it).
func backfillWant(p backfillPlan, i int, rowStep time.Duration) (avg, mx []float64) {
	per := int(rowStep / p.step)
	rows := p.readings() / per
	avg, mx = make([]float64, rows), make([]float64, rows)
	for r := range rows {
		sum, m := 0.0, math.Inf(-1)
		for k := r*per + 1; k <= (r+1)*per; k++ {
			v := backfillValue(i, k)
			sum += v
			m = math.Max(m, v)
		}
		avg[r], mx[r] = sum/float64(per), m
	}
	return avg, mx
}

func closeRel(got, want float64) bool {
	return got == want || math.Abs(got-want) <= 1e-9*math.Max(math.Abs(got), math.Abs(want))
}

// tierByStep finds the tier of a step.
func tierByStep(tb testing.TB, db *DB, step time.Duration) *tier {
	tb.Helper()
	for _, t := range db.tiers {
		if t.Step == step {
			return t
		}
	}
	tb.Fatalf("no tier of step %v", step)
	return nil
}

// checkTierRows reads the history rows of one tier and CF straight from
// its TSDB and compares every series' rows, their count, their times and
// their values, with what the readings give.
func checkTierRows(tb testing.TB, db *DB, p backfillPlan, step time.Duration, cf metric.CF) {
	tb.Helper()
	t := tierByStep(tb, db, step)
	q, err := t.db.Querier(base.UnixMilli(), p.liveStart().UnixMilli())
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil,
		labels.MustNewMatcher(labels.MatchEqual, metric.NameLabel, "backfill"),
		labels.MustNewMatcher(labels.MatchEqual, cfLabel, cf.String()))
	seen := make([]bool, p.series)
	var it chunkenc.Iterator
	for ss.Next() {
		dev := ss.At().Labels().Get(metric.DeviceLabel)
		i, err := strconv.Atoi(dev[len("dev"):])
		if err != nil || i >= p.series || seen[i] {
			tb.Fatalf("%s tier %v: unexpected or repeated series %s", t.name, cf, ss.At().Labels())
		}
		seen[i] = true
		avg, mx := backfillWant(p, i, step)
		want := avg
		if cf == metric.Max {
			want = mx
		}
		n := 0
		it = ss.At().Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			if n >= len(want) {
				tb.Fatalf("%s tier %v %s: more than %d rows (one at %v)", t.name, cf, dev, len(want), time.UnixMilli(ts).UTC())
			}
			if wantT := base.Add(time.Duration(n+1) * step).UnixMilli(); ts != wantT || !closeRel(v, want[n]) {
				tb.Fatalf("%s tier %v %s row %d: %v at %v, want %v at %v", t.name, cf, dev, n, v,
					time.UnixMilli(ts).UTC(), want[n], time.UnixMilli(wantT).UTC())
			}
			n++
		}
		if err := it.Err(); err != nil {
			tb.Fatal(err)
		}
		if n != len(want) {
			tb.Fatalf("%s tier %v %s: %d rows, want %d", t.name, cf, dev, n, len(want))
		}
	}
	if err := ss.Err(); err != nil {
		tb.Fatal(err)
	}
	for i, ok := range seen {
		if !ok {
			tb.Fatalf("%s tier %v: series %s missing", t.name, cf, backfillDevice(i))
		}
	}
}

// checkSelect reads every history series back through Select, hourly
// averages and daily maxima over the whole history, as a graph would.
func checkSelect(tb testing.TB, db *DB, p backfillPlan) {
	tb.Helper()
	ctx := context.Background()
	for _, c := range []struct {
		step time.Duration
		cf   metric.CF
	}{{time.Hour, metric.Average}, {day, metric.Max}} {
		res, err := db.Select(ctx, metric.Query{
			Match: metric.Selector{metric.Eq(metric.NameLabel, "backfill")},
			From:  base, To: p.liveStart(), Step: c.step, CF: c.cf,
		})
		if err != nil {
			tb.Fatal(err)
		}
		if len(res) != p.series {
			tb.Fatalf("select %v %v: %d series, want %d", c.step, c.cf, len(res), p.series)
		}
		for _, s := range res {
			dev := s.Labels.Get(metric.DeviceLabel)
			i, _ := strconv.Atoi(dev[len("dev"):])
			avg, mx := backfillWant(p, i, c.step)
			want := avg
			if c.cf == metric.Max {
				want = mx
			}
			if s.Step != c.step || len(s.Values) != len(want) || !s.Start.Equal(base.Add(c.step)) {
				tb.Fatalf("select %v %v %s: step %v, start %v, %d rows; want %d rows from %v", c.step, c.cf, dev,
					s.Step, s.Start, len(s.Values), len(want), base.Add(c.step))
			}
			for r, v := range s.Values {
				if !closeRel(v, want[r]) {
					tb.Fatalf("select %v %v %s row %d at %v: %v, want %v", c.step, c.cf, dev, r, s.TimeAt(r), v, want[r])
				}
			}
		}
	}
}

// checkRaw reads the raw values of the first p.rawCheck history series:
// every reading within the raw retention, exactly, and none older. It
// reports every series that lost readings, with how many, before failing.
func checkRaw(tb testing.TB, db *DB, p backfillPlan) {
	tb.Helper()
	cut := p.liveEnd().Add(-db.opts.RawRetention)
	k0 := 1 // first reading kept
	for base.Add(time.Duration(k0) * p.step).Before(cut) {
		k0++
	}
	want := p.readings() - k0 + 1
	bad := 0
	for i := 0; i < min(p.rawCheck, p.series); i++ {
		dev := backfillDevice(i)
		res, err := db.Raw(context.Background(), metric.Selector{
			metric.Eq(metric.NameLabel, "backfill"), metric.Eq(metric.DeviceLabel, dev),
		}, base.Add(p.step), p.liveStart().Add(time.Millisecond))
		if err != nil {
			tb.Fatalf("raw %s: %v", dev, err)
		}
		if len(res) != 1 {
			tb.Errorf("raw %s: %d series, want 1 with %d values", dev, len(res), want)
			bad++
			continue
		}
		r, next, lost := res[0], k0, 0
		for j, v := range r.Values {
			k := int(r.Times[j].Sub(base) / p.step)
			if !r.Times[j].Equal(base.Add(time.Duration(k)*p.step)) || k < next || v != backfillValue(i, k) {
				tb.Fatalf("raw %s value %d: %v at %v, want reading %d (%v at %v)", dev, j, v, r.Times[j],
					next, backfillValue(i, next), base.Add(time.Duration(next)*p.step))
			}
			lost += k - next
			next = k + 1
		}
		lost += p.readings() + 1 - next
		if lost > 0 {
			tb.Errorf("raw %s: %d of %d readings missing (kept %d, from %v to %v)", dev, lost, want, len(r.Values),
				r.Times[0], r.Times[len(r.Times)-1])
			bad++
		}
	}
	if bad > 0 {
		tb.Fatalf("raw: %d of %d series lost readings", bad, min(p.rawCheck, p.series))
	}
}

// compactEverything writes the out-of-order heads (the history) and the
// heads out as blocks and compacts them, as the TSDBs do over hours.
func compactEverything(tb testing.TB, db *DB) {
	tb.Helper()
	compactAll(tb, db)
	for _, a := range db.archives() {
		if err := a.CompactOOOHead(context.Background()); err != nil {
			tb.Fatal(err)
		}
		if err := a.Compact(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
}

func (p backfillPlan) check(tb testing.TB) {
	tb.Helper()
	if p.step < time.Minute || p.step%time.Minute != 0 || time.Hour%p.step != 0 {
		tb.Fatalf("history step %v: must be whole minutes and divide an hour", p.step)
	}
	if p.series < 1 || p.days < 1 || p.liveDays < 1 || p.workers < 1 || p.batch < 1 {
		tb.Fatalf("backfill plan %+v: every count must be positive", p)
	}
}

// TestBackfillOutOfOrder imports 30 days of 5-minute history for 20
// series, shuffled, after a day of live data, and reads every row back
// from the hourly and daily tiers, through Select, and from raw; then the
// same after compaction and after a restart. One importer.
func TestBackfillOutOfOrder(t *testing.T) {
	testBackfill(t, 1)
}

// TestBackfillConcurrentImport is TestBackfillOutOfOrder with two
// importers appending history at once, as an import using every core
// would. It has lost the oldest part of a series' history (raw values and
// tier rows) at compaction in about half the runs: readable from the
// heads, gone once tsdb wrote the out-of-order data to blocks.
func TestBackfillConcurrentImport(t *testing.T) {
	testBackfill(t, 2)
}

func testBackfill(t *testing.T, workers int) {
	if testing.Short() {
		t.Skip("imports 30 days of history for 20 series")
	}
	p := backfillPlan{series: 20, days: 30, step: 5 * time.Minute, liveDays: 1, workers: workers, batch: 500, rawCheck: 20}
	p.check(t)
	dir := t.TempDir()
	// Compaction every 50 ms runs it many times during the import, beside
	// the importers' appends, as the minutely one does during a long one.
	o := DefaultOptions(dir)
	o.CompactInterval = 50 * time.Millisecond
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ingestLive(t, db, p)
	importHistory(t, db, p)
	verify := func(t *testing.T, db *DB) {
		for _, step := range []time.Duration{time.Hour, day} {
			for _, cf := range []metric.CF{metric.Average, metric.Max} {
				checkTierRows(t, db, p, step, cf)
			}
		}
		checkRaw(t, db, p)
		checkSelect(t, db, p)
	}
	t.Run("head", func(t *testing.T) { verify(t, db) })
	compactEverything(t, db)
	t.Run("compacted", func(t *testing.T) { verify(t, db) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	t.Run("reopened", func(t *testing.T) { verify(t, db2) })
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}

// BenchmarkBackfillYear imports a year of history for BACKFILL_SERIES
// series (default 1,000) polled every BACKFILL_STEP (default 5m), shuffled
// series by series behind BACKFILL_LIVE_DAYS (default 2) of live one-minute
// data for as many series, then verifies every series' hourly and daily
// rows (AVERAGE and MAX, straight from the tiers and through Select) and
// every raw value within the raw retention. Run it with -benchtime 1x.
//
// Reported: history readings imported per second (wall and per CPU
// second), the import's wall time, bytes on disk per reading fed (history
// and live) after compaction, bytes per hourly row, and the peak RSS
// before verification.
func BenchmarkBackfillYear(b *testing.B) {
	p := backfillPlan{
		series:   envInt(b, "BACKFILL_SERIES", 1000),
		days:     365,
		step:     envDuration(b, "BACKFILL_STEP", 5*time.Minute),
		liveDays: envInt(b, "BACKFILL_LIVE_DAYS", 2),
		workers:  runtime.GOMAXPROCS(0),
		batch:    2016, // a week at 5 minutes
		rawCheck: math.MaxInt,
	}
	p.check(b)
	for b.Loop() {
		dir := b.TempDir()
		db, err := Open(DefaultOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		live := ingestLive(b, db, p)
		liveS := time.Since(t0).Seconds()
		t1, cpu1 := time.Now(), cpuSeconds()
		hist := importHistory(b, db, p)
		importS, importCPU := time.Since(t1).Seconds(), cpuSeconds()-cpu1
		t2 := time.Now()
		compactEverything(b, db)
		compactS := time.Since(t2).Seconds()
		rss := peakRSSMiB()
		var all int64
		for _, name := range append([]string{"raw"}, tierNames(db)...) {
			all += blockBytes(b, filepath.Join(dir, name))
		}
		hourBytes := blockBytes(b, filepath.Join(dir, tierByStep(b, db, time.Hour).name))
		hourRows := countSamples(b, tierByStep(b, db, time.Hour).db)
		// Logged as well, so that the figures show even when verification fails.
		b.Logf("import %d readings of %d series in %.1f s (%.0f/s wall, %.0f/CPU-s); live %d in %.1f s; compaction %.1f s; "+
			"disk %.1f MB, %.2f B/reading, hour tier %.2f B/row; peak RSS %.0f MiB",
			hist, p.series, importS, float64(hist)/importS, float64(hist)/importCPU, live, liveS, compactS,
			float64(all)/1e6, float64(all)/float64(hist+live), float64(hourBytes)/float64(max(hourRows, 1)), rss)
		t3 := time.Now()
		for _, step := range []time.Duration{time.Hour, day} {
			for _, cf := range []metric.CF{metric.Average, metric.Max} {
				checkTierRows(b, db, p, step, cf)
			}
		}
		checkSelect(b, db, p)
		checkRaw(b, db, p)
		verifyS := time.Since(t3).Seconds()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(hist)/importS, "samples/s")
		b.ReportMetric(float64(hist)/importCPU, "samples/cpu-s")
		b.ReportMetric(importS, "import-s")
		b.ReportMetric(float64(live)/liveS, "live-samples/s")
		b.ReportMetric(compactS, "compact-s")
		b.ReportMetric(verifyS, "verify-s")
		b.ReportMetric(float64(all)/float64(hist+live), "disk-B/sample")
		b.ReportMetric(float64(all)/1e6, "disk-MB")
		b.ReportMetric(float64(hourBytes)/float64(max(hourRows, 1)), "hour-B/row")
		b.ReportMetric(rss, "peak-RSS-MiB")
	}
}

func tierNames(db *DB) []string {
	var ns []string
	for _, t := range db.tiers {
		ns = append(ns, t.name)
	}
	return ns
}

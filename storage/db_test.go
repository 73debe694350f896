package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// base is a UTC midnight, so that every tier's buckets start there.
var base = time.Unix(1699920000, 0).UTC()

func openTest(tb testing.TB, dir string) *DB {
	tb.Helper()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func gauge(name, dev string, t time.Time, v float64) metric.Sample {
	return metric.Sample{
		Labels: metric.New(metric.NameLabel, name, metric.DeviceLabel, dev),
		DS:     metric.Gauges(2 * time.Minute), Time: t, Value: v,
	}
}

func counter(name, dev string, t time.Time, c uint64) metric.Sample {
	return metric.Sample{
		Labels: metric.New(metric.NameLabel, name, metric.DeviceLabel, dev),
		DS:     metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: math.NaN(), Max: math.NaN()},
		Time:   t, Value: float64(c), Count: c, Exact: true,
	}
}

func mustAppend(tb testing.TB, db *DB, batch ...metric.Sample) {
	tb.Helper()
	if err := db.Append(context.Background(), batch); err != nil {
		tb.Fatalf("append: %v", err)
	}
}

func selectOne(tb testing.TB, db *DB, name string, from, to time.Time, step time.Duration, cf metric.CF) metric.Series {
	tb.Helper()
	res, err := db.Select(context.Background(), metric.Query{
		Match: metric.Selector{metric.Eq(metric.NameLabel, name)}, From: from, To: to, Step: step, CF: cf,
	})
	if err != nil {
		tb.Fatalf("select %s: %v", name, err)
	}
	if len(res) != 1 {
		tb.Fatalf("select %s: %d series, want 1", name, len(res))
	}
	return res[0]
}

// gaugeValue is the reading of the test gauge at poll k.
func gaugeValue(k int) float64 { return float64(k%7) * 1.5 }

func TestAppendSelectSteps(t *testing.T) {
	db := openTest(t, t.TempDir())
	const polls = 240 // four hours of one-minute polls
	for k := 0; k <= polls; k++ {
		ts := base.Add(time.Duration(k) * time.Minute)
		mustAppend(t, db,
			gauge("load", "r1", ts, gaugeValue(k)),
			counter("octets", "r1", ts, 1_000_000+uint64(k)*600)) // 10/s
	}
	// A gauge read at the end of each step fills that step's PDP.
	pdp := func(k int) float64 { return gaugeValue(k) }
	bucket := func(end, n int, cf metric.CF) float64 {
		vals := make([]float64, 0, n)
		for k := end - n + 1; k <= end; k++ {
			vals = append(vals, pdp(k))
		}
		return consolidate(vals, cf)
	}
	tests := []struct {
		name     string
		step     time.Duration
		cf       metric.CF
		wantStep time.Duration
	}{
		{"finest", 0, metric.Average, time.Minute},
		{"one minute", time.Minute, metric.Max, time.Minute},
		{"90s picks 5m tier", 90 * time.Second, metric.Average, 5 * time.Minute},
		{"5m average", 5 * time.Minute, metric.Average, 5 * time.Minute},
		{"5m min", 5 * time.Minute, metric.Min, 5 * time.Minute},
		{"5m max", 5 * time.Minute, metric.Max, 5 * time.Minute},
		{"5m last", 5 * time.Minute, metric.Last, 5 * time.Minute},
		{"1h max", time.Hour, metric.Max, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := selectOne(t, db, "load", base, base.Add(polls*time.Minute), tc.step, tc.cf)
			if s.Step != tc.wantStep {
				t.Fatalf("step %v, want %v", s.Step, tc.wantStep)
			}
			n := int(tc.wantStep / time.Minute)
			if !s.Start.Equal(base.Add(tc.wantStep)) {
				t.Fatalf("start %v, want %v", s.Start, base.Add(tc.wantStep))
			}
			if want := polls / n; len(s.Values) != want {
				t.Fatalf("%d rows, want %d", len(s.Values), want)
			}
			for i, v := range s.Values {
				end := (i + 1) * n
				want := bucket(end, n, tc.cf)
				if math.Abs(v-want) > 1e-12 {
					t.Fatalf("row %d at %v: %v, want %v", i, s.TimeAt(i), v, want)
				}
			}
		})
	}
	t.Run("counter rate", func(t *testing.T) {
		s := selectOne(t, db, "octets", base, base.Add(polls*time.Minute), time.Minute, metric.Average)
		if math.IsNaN(s.Values[0]) || len(s.Values) != polls {
			t.Fatalf("rows %d, first %v", len(s.Values), s.Values[0])
		}
		for i, v := range s.Values {
			if v != 10 {
				t.Fatalf("row %d: rate %v, want 10", i, v)
			}
		}
		raw, err := db.Raw(context.Background(), metric.Selector{metric.Eq(metric.NameLabel, "octets")}, base, base.Add(time.Hour))
		if err != nil || len(raw) != 1 {
			t.Fatalf("raw: %v, %d series", err, len(raw))
		}
		// The first reading has no rate; then one rate per poll.
		if len(raw[0].Values) != 59 || raw[0].Values[0] != 10 || !raw[0].Times[0].Equal(base.Add(time.Minute)) {
			t.Fatalf("raw: %d values, first %v at %v", len(raw[0].Values), raw[0].Values[0], raw[0].Times[0])
		}
	})
	t.Run("partial newest day", func(t *testing.T) {
		// Before the first day ends its row is made, on read, of the
		// minutes polled so far: the mean of the minute rows.
		end := base.Add(polls * time.Minute)
		res, err := db.Select(context.Background(), metric.Query{From: base, To: end, Step: 2 * time.Hour})
		if err != nil || len(res) != 2 {
			t.Fatalf("select: %v, %d series", err, len(res))
		}
		for _, s := range res {
			if s.Step != 24*time.Hour || len(s.Values) != 1 || !s.TimeAt(0).After(end) {
				t.Fatalf("%v: step %v, %d rows, first at %v", s.Labels, s.Step, len(s.Values), s.TimeAt(0))
			}
			mins := selectOne(t, db, s.Labels.Get(metric.NameLabel), base, end, time.Minute, metric.Average)
			sum, n := 0.0, 0
			for _, v := range mins.Values {
				if !math.IsNaN(v) {
					sum, n = sum+v, n+1
				}
			}
			if want := sum / float64(n); math.Abs(s.Values[0]-want) > 1e-9*math.Abs(want) {
				t.Fatalf("%v: partial day %v, want the mean of %d minutes %v", s.Labels, s.Values[0], n, want)
			}
		}
	})
	t.Run("two hour consolidation of the hour tier", func(t *testing.T) {
		// Ask for 2h rows over a range the hour tier covers but whose step
		// no tier has, restricted to finer tiers: use a DB without the
		// day tier.
		o := DefaultOptions(t.TempDir())
		o.Tiers = o.Tiers[:3]
		db2, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		for k := 0; k <= polls; k++ {
			mustAppend(t, db2, gauge("load", "r1", base.Add(time.Duration(k)*time.Minute), gaugeValue(k)))
		}
		s := selectOne(t, db2, "load", base, base.Add(polls*time.Minute), 2*time.Hour, metric.Average)
		if s.Step != 2*time.Hour || len(s.Values) != 2 {
			t.Fatalf("step %v, %d rows", s.Step, len(s.Values))
		}
		for i, v := range s.Values {
			want := (bucket((2*i+1)*60, 60, metric.Average) + bucket((2*i+2)*60, 60, metric.Average)) / 2
			if math.Abs(v-want) > 1e-12 {
				t.Fatalf("row %d: %v, want %v", i, v, want)
			}
		}
	})
}

func consolidate(vals []float64, cf metric.CF) float64 {
	out := vals[0]
	for i, v := range vals[1:] {
		switch cf {
		case metric.Average:
			out += v
			if i == len(vals)-2 {
				out /= float64(len(vals))
			}
		case metric.Min:
			out = math.Min(out, v)
		case metric.Max:
			out = math.Max(out, v)
		case metric.Last:
			out = v
		}
	}
	return out
}

func TestCounterRates(t *testing.T) {
	const two32m1 = 4294967295.0 // rrdtool 1.7 adds 2^32-1 on a wrap
	nan := math.NaN()
	// A 64-bit wrap: rrdtool works in doubles, so the rate is only close
	// to the exact one (tol below); the raw rate and the tier row agree.
	const last64 = 1<<64 - 1<<24
	const wrap64 = 1<<23 + 1<<24 - 1 // rrdtool adds 2^32-1, then 2^64-2^32
	tests := []struct {
		name   string
		ds     metric.DS
		counts []uint64
		want   []float64 // raw rate after each reading but the first
		tol    float64   // relative
	}{
		{
			name:   "steady",
			ds:     metric.DS{Type: metric.Counter, Heartbeat: 120 * time.Second, Min: nan, Max: nan},
			counts: []uint64{100, 700, 1300},
			want:   []float64{10, 10},
		},
		{
			name:   "32-bit wrap",
			ds:     metric.DS{Type: metric.Counter, Heartbeat: 120 * time.Second, Min: nan, Max: nan},
			counts: []uint64{4294967000, 100, 700},
			want:   []float64{(100 - 4294967000 + two32m1) / 60, 10},
		},
		{
			name:   "64-bit wrap",
			ds:     metric.DS{Type: metric.Counter, Heartbeat: 120 * time.Second, Min: nan, Max: nan},
			counts: []uint64{last64, 1 << 23, 1<<23 + 600},
			want:   []float64{wrap64 / 60, 10},
			tol:    1e-3,
		},
		{
			name:   "wrap above max is unknown",
			ds:     metric.DS{Type: metric.Counter, Heartbeat: 120 * time.Second, Min: nan, Max: 1000},
			counts: []uint64{last64, 1 << 23, 1<<23 + 600},
			want:   []float64{nan, 10},
		},
		{
			name:   "derive reset with min 0 is unknown",
			ds:     metric.DS{Type: metric.Derive, Heartbeat: 120 * time.Second, Min: 0, Max: nan},
			counts: []uint64{5000, 20, 620},
			want:   []float64{nan, 10},
		},
		{
			name:   "derive without min goes negative",
			ds:     metric.DS{Type: metric.Derive, Heartbeat: 120 * time.Second, Min: nan, Max: nan},
			counts: []uint64{5000, 4400},
			want:   []float64{-10},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, t.TempDir())
			for k, c := range tc.counts {
				s := counter("c", "d", base.Add(time.Duration(k)*time.Minute), c)
				s.DS = tc.ds
				mustAppend(t, db, s)
			}
			raw, err := db.Raw(context.Background(), nil, base, base.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			var times []time.Time
			if len(raw) == 1 {
				got, times = raw[0].Values, raw[0].Times
			}
			// Raw rates of integer counters are rounded to 1/64 per
			// second at a one-minute poll (see quantizeRate).
			var want []float64
			for i, w := range tc.want {
				if !math.IsNaN(w) {
					if math.Abs(w) < 1<<40 {
						w = math.Round(w*64) / 64
					}
					want = append(want, w)
					if len(times) >= len(want) && !times[len(want)-1].Equal(base.Add(time.Duration(i+1)*time.Minute)) {
						t.Fatalf("raw value %d at %v", len(want)-1, times[len(want)-1])
					}
				}
			}
			if !closeTo(got, want, tc.tol) {
				t.Fatalf("raw rates %v, want %v", got, want)
			}
			// The 1-minute tier holds the same rates: the readings fall on
			// step boundaries.
			s := selectOne(t, db, "c", base, base.Add(time.Duration(len(tc.counts)-1)*time.Minute), time.Minute, metric.Average)
			if !closeTo(s.Values, tc.want, tc.tol) {
				t.Fatalf("tier rows %v, want %v", s.Values, tc.want)
			}
			var known []float64
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					known = append(known, v)
				}
			}
			// Same counts per minute, within the rounding.
			same := len(known) == len(got)
			for i := 0; same && i < len(known); i++ {
				same = math.Abs(known[i]-got[i]) <= 1.0/128 && (math.Abs(known[i]) > 1<<40 || math.Round(known[i]*60) == math.Round(got[i]*60))
			}
			if !same {
				t.Fatalf("tier rows %v differ from raw rates %v", s.Values, got)
			}
		})
	}
}

// TestRestartContinues checks that Close and Open in the middle of a step
// change nothing: the result equals that of a store that never stopped.
func TestRestartContinues(t *testing.T) {
	ref := openTest(t, t.TempDir())
	dir := t.TempDir()
	db := openTest(t, dir)
	const polls = 200
	feed := func(db *DB, from, to int) {
		for k := from; k < to; k++ {
			// Off the step boundary, so that every restart cuts a PDP.
			ts := base.Add(time.Duration(k)*time.Minute + 17*time.Second + 250*time.Millisecond)
			mustAppend(t, db,
				counter("octets", "r1", ts, 1_000_000+uint64(k*k)*7),
				gauge("temp", "r1", ts, 20+float64(k%13)))
		}
	}
	feed(ref, 0, polls)
	cuts := []int{0, 37, 38, 121, polls}
	for i := 0; i+1 < len(cuts); i++ {
		feed(db, cuts[i], cuts[i+1])
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		var err error
		if db, err = Open(DefaultOptions(dir)); err != nil {
			t.Fatal(err)
		}
	}
	defer db.Close()
	end := base.Add(polls * time.Minute)
	for _, name := range []string{"octets", "temp"} {
		for _, step := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
			for cf := metric.Average; cf <= metric.Last; cf++ {
				want := selectOne(t, ref, name, base, end, step, cf)
				got := selectOne(t, db, name, base, end, step, cf)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s step %v %v after restarts:\n got %v\nwant %v", name, step, cf, got.Values, want.Values)
				}
			}
		}
		rw, _ := ref.Raw(context.Background(), metric.Selector{metric.Eq(metric.NameLabel, name)}, base, end)
		rg, _ := db.Raw(context.Background(), metric.Selector{metric.Eq(metric.NameLabel, name)}, base, end)
		if fmt.Sprint(rg) != fmt.Sprint(rw) {
			t.Fatalf("%s raw after restarts differs:\n got %v\nwant %v", name, rg, rw)
		}
	}
}

func TestCatalogueAndDelete(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	for k := 0; k < 10; k++ {
		ts := base.Add(time.Duration(k) * time.Minute)
		for _, dev := range []string{"r1", "r2"} {
			for _, ifn := range []string{"eth0", "eth1", "lo"} {
				s := counter("ifHCInOctets", dev, ts, uint64(k)*1000)
				s.Labels = s.Labels.With("ifName", ifn)
				mustAppend(t, db, s)
			}
		}
	}
	ctx := context.Background()
	r1 := metric.Selector{metric.Eq(metric.DeviceLabel, "r1")}
	vals, err := db.LabelValues(ctx, "ifName", r1)
	if err != nil || strings.Join(vals, ",") != "eth0,eth1,lo" {
		t.Fatalf("ifName of r1: %v, %v", vals, err)
	}
	devs, err := db.LabelValues(ctx, metric.DeviceLabel, nil)
	if err != nil || strings.Join(devs, ",") != "r1,r2" {
		t.Fatalf("devices: %v, %v", devs, err)
	}
	re, _ := metric.Re("ifName", "eth.*")
	ser, err := db.Series(ctx, metric.Selector{metric.Eq(metric.DeviceLabel, "r2"), re})
	if err != nil || len(ser) != 2 || ser[0].Get("ifName") != "eth0" || ser[0].Get(cfLabel) != "" {
		t.Fatalf("series: %v, %v", ser, err)
	}
	if err := db.DeleteSeries(ctx, r1); err != nil {
		t.Fatal(err)
	}
	check := func(db *DB) {
		t.Helper()
		devs, err := db.LabelValues(ctx, metric.DeviceLabel, nil)
		if err != nil || strings.Join(devs, ",") != "r2" {
			t.Fatalf("devices after delete: %v, %v", devs, err)
		}
		// By device (the per-device lists) as by a full scan.
		for dev, want := range map[string]string{"r1": "", "r2": "eth0,eth1,lo"} {
			for _, sel := range []metric.Selector{{metric.Eq(metric.DeviceLabel, dev)}, {metric.Eq(metric.NameLabel, "ifHCInOctets"), mustRe(t, metric.DeviceLabel, dev+"|none")}} {
				vals, err := db.LabelValues(ctx, "ifName", sel)
				if err != nil || strings.Join(vals, ",") != want {
					t.Fatalf("ifName of %s after delete (%v): %v, %v; want %q", dev, sel, vals, err, want)
				}
			}
		}
		res, err := db.Select(ctx, metric.Query{Match: r1, From: base, To: base.Add(time.Hour)})
		if err != nil || len(res) != 0 {
			t.Fatalf("select after delete: %v, %v", res, err)
		}
		res, err = db.Select(ctx, metric.Query{Match: metric.Selector{metric.Eq(metric.DeviceLabel, "r2")}, From: base, To: base.Add(time.Hour)})
		if err != nil || len(res) != 3 {
			t.Fatalf("r2 after delete: %d series, %v", len(res), err)
		}
	}
	check(db)
	if err := db.DeleteSeries(ctx, nil); err == nil {
		t.Fatal("empty selector deleted everything")
	}
	db.Close()
	db2 := openTest(t, dir)
	check(db2)
}

// TestCatalogueExpires: a series whose newest reading has left every
// archive's retention leaves the catalogue at the next compaction pass, and
// stays gone after a restart; a series still polled stays.
func TestCatalogueExpires(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions(dir)
	o.RawRetention = 2 * time.Hour
	o.Tiers = []Tier{{Step: time.Minute, Retention: 2 * time.Hour, XFF: 0.5}, {Step: 5 * time.Minute, Retention: 3 * time.Hour, XFF: 0.5}}
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	ctx := context.Background()
	devices := func() string {
		t.Helper()
		devs, err := db.LabelValues(ctx, metric.DeviceLabel, nil)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(devs, ",")
	}
	// "gone" is polled for the first 10 minutes, "kept" for 4 hours.
	const polls = 4 * 60
	for k := 0; k <= polls; k++ {
		ts := base.Add(time.Duration(k) * time.Minute)
		batch := []metric.Sample{gauge("g", "kept", ts, 1)}
		if k < 10 {
			batch = append(batch, gauge("g", "gone", ts, 1))
		}
		mustAppend(t, db, batch...)
		if k == 3*60 {
			// 2 h 50 min after its last reading: the 5-minute tier still has it.
			db.compact()
			if got := devices(); got != "gone,kept" {
				t.Fatalf("devices while the 3 h tier still holds gone: %q", got)
			}
		}
	}
	db.compact()
	if got := devices(); got != "kept" {
		t.Fatalf("devices after gone's data expired from every archive: %q, want kept", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(o); err != nil {
		t.Fatal(err)
	}
	if got := devices(); got != "kept" {
		t.Fatalf("devices after a restart: %q, want kept", got)
	}
}

func mustRe(tb testing.TB, name, re string) metric.Matcher {
	tb.Helper()
	m, err := metric.Re(name, re)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestBadInput(t *testing.T) {
	db := openTest(t, t.TempDir())
	good := gauge("temp", "r1", base, 1)
	late := gauge("temp", "r1", base.Add(time.Minute), 2)
	other := gauge("load", "r1", base.Add(time.Minute), 3)
	mustAppend(t, db, good)
	badType := gauge("weird", "r1", base.Add(time.Minute), 1)
	badType.DS.Type = metric.DSType(42)
	noName := gauge("x", "r1", base.Add(time.Minute), 1)
	noName.Labels = metric.New(metric.DeviceLabel, "r1")
	backwards := gauge("temp", "r1", base.Add(-time.Minute), 1)
	badLimits := gauge("lim", "r1", base.Add(time.Minute), 1)
	badLimits.DS.Min, badLimits.DS.Max = 10, 5
	future := gauge("future", "r1", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	badHB := gauge("hb", "r1", base.Add(time.Minute), 1)
	badHB.DS.Heartbeat = 1500 * time.Millisecond
	tests := []struct {
		name   string
		sample metric.Sample
		want   string
	}{
		{"unknown DS type", badType, `weird{device="r1"}: unknown data source type DSType(42)`},
		{"empty labels", metric.Sample{Time: base.Add(time.Minute), Value: 1}, "no labels"},
		{"no name", noName, `{device="r1"}: no __name__ label`},
		{"time going backwards", backwards, `temp{device="r1"}: time 2023-11-13T23:59:00Z is not after its previous reading at 2023-11-14T00:00:00Z`},
		{"min above max", badLimits, `lim{device="r1"}`},
		{"fractional heartbeat", badHB, `hb{device="r1"}`},
		{"time in the future", future, `future{device="r1"}: time 2100-01-01T00:00:00Z is more than 1h0m0s in the future`},
	}
	var batch []metric.Sample
	for _, tc := range tests {
		batch = append(batch, tc.sample)
	}
	batch = append(batch, late, other)
	err := db.Append(context.Background(), batch)
	if !errors.Is(err, ErrBadSample) {
		t.Fatalf("error %v is not ErrBadSample", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
	// The good samples of the batch are stored.
	raw, rerr := db.Raw(context.Background(), metric.Selector{metric.Eq(metric.DeviceLabel, "r1")}, base, base.Add(time.Hour))
	if rerr != nil || len(raw) != 2 {
		t.Fatalf("raw: %v, %v", raw, rerr)
	}
	if fmt.Sprint(raw[0].Values, raw[1].Values) != "[3] [1 2]" {
		t.Fatalf("raw values %v %v", raw[0].Values, raw[1].Values)
	}
	if _, err := db.Select(context.Background(), metric.Query{From: base, To: base}); err == nil {
		t.Fatal("empty range accepted")
	}
	if _, err := db.Select(context.Background(), metric.Query{Match: metric.Selector{{Name: "a", Value: "(", Regex: true}}, From: base, To: base.Add(time.Hour)}); err == nil {
		t.Fatal("bad regex accepted")
	}
}

func TestConcurrentAppendSelect(t *testing.T) {
	db := openTest(t, t.TempDir())
	const writers, polls = 4, 120
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, writers+2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < polls; k++ {
				ts := base.Add(time.Duration(k) * time.Minute)
				batch := make([]metric.Sample, 0, 10)
				for i := 0; i < 10; i++ {
					batch = append(batch, counter("octets", fmt.Sprintf("w%d-%d", w, i), ts, uint64(k)*60))
				}
				if err := db.Append(ctx, batch); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	for r := 0; r < 2; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Select(ctx, metric.Query{From: base, To: base.Add(3 * time.Hour), Step: 5 * time.Minute}); err != nil {
					errc <- err
					return
				}
				if _, err := db.LabelValues(ctx, metric.DeviceLabel, nil); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	res, err := db.Select(ctx, metric.Query{From: base, To: base.Add(polls * time.Minute), Step: time.Minute})
	if err != nil || len(res) != writers*10 {
		t.Fatalf("%d series, %v", len(res), err)
	}
	for _, s := range res {
		for i, v := range s.Values {
			if v != 1 {
				t.Fatalf("%s row %d: %v, want 1", s.Labels, i, v)
			}
		}
	}
}

// closeTo compares value lists; NaN equals NaN.
func closeTo(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		switch {
		case math.IsNaN(g) || math.IsNaN(w):
			if math.IsNaN(g) != math.IsNaN(w) {
				return false
			}
		case math.Abs(g-w) > tol*math.Abs(w):
			return false
		}
	}
	return true
}

// TestRawRateMatchesTier feeds random readings of every DS type on step
// boundaries, with gaps longer than the heartbeat and values outside the
// limits: each raw rate must equal the 1-minute row storage/rrd computed.
func TestRawRateMatchesTier(t *testing.T) {
	types := []metric.DSType{metric.Gauge, metric.Counter, metric.Derive, metric.Absolute, metric.DCounter, metric.DDerive}
	db := openTest(t, t.TempDir())
	rng := rand.New(rand.NewPCG(11, 12))
	const polls = 300
	cur := make([]uint64, len(types))
	fcur := make([]float64, len(types))
	for k := 0; k < polls; k++ {
		if k%37 == 5 {
			k += 2 // a gap longer than the heartbeat
		}
		ts := base.Add(time.Duration(k) * time.Minute)
		var batch []metric.Sample
		for i, typ := range types {
			s := metric.Sample{
				Labels: metric.New(metric.NameLabel, "x", "type", typ.String()),
				DS:     metric.DS{Type: typ, Heartbeat: 2 * time.Minute, Min: math.NaN(), Max: 5000},
				Time:   ts,
			}
			switch typ {
			case metric.Counter, metric.Derive:
				step := uint64(rng.IntN(400_000))
				if rng.IntN(20) == 0 {
					cur[i] = step // a reset or a wrap
				} else {
					cur[i] += step
				}
				s.Count, s.Exact, s.Value = cur[i], true, float64(cur[i])
			case metric.DCounter, metric.DDerive:
				fcur[i] += rng.Float64()*1000 - 100
				s.Value = fcur[i]
			default:
				s.Value = rng.Float64() * 6000
			}
			if rng.IntN(25) == 0 {
				s.Value, s.Exact = math.NaN(), false
			}
			batch = append(batch, s)
		}
		mustAppend(t, db, batch...)
	}
	ctx := context.Background()
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			sel := metric.Selector{metric.Eq("type", typ.String())}
			raw, err := db.Raw(ctx, sel, base, base.Add(polls*time.Minute))
			if err != nil || len(raw) != 1 {
				t.Fatalf("raw: %v, %v", raw, err)
			}
			res, err := db.Select(ctx, metric.Query{Match: sel, From: base, To: base.Add(polls * time.Minute), Step: time.Minute})
			if err != nil || len(res) != 1 {
				t.Fatalf("select: %v, %v", res, err)
			}
			rows := map[int64]float64{}
			for i, v := range res[0].Values {
				rows[res[0].TimeAt(i).Unix()] = v
			}
			rawAt := map[int64]float64{}
			for i, tm := range raw[0].Times {
				rawAt[tm.Unix()] = raw[0].Values[i]
			}
			checked := 0
			for ts, row := range rows {
				r, ok := rawAt[ts]
				if math.IsNaN(row) {
					if ok && typ != metric.Gauge {
						t.Fatalf("at %d: raw rate %v, tier row unknown", ts, r)
					}
					continue
				}
				if !ok {
					t.Fatalf("at %d: tier row %v, no raw rate", ts, row)
				}
				tol := 1e-9 * math.Max(1, math.Abs(row))
				if typ == metric.Counter || typ == metric.Derive {
					// Integer counters' raw rates are rounded to 1/64 (see
					// quantizeRate); the count over the minute is exact.
					tol += 1.0 / 128
					if math.Round(r*60) != math.Round(row*60) {
						t.Fatalf("at %d: raw rate %v gives %v counts, tier row %v gives %v", ts, r, math.Round(r*60), row, math.Round(row*60))
					}
				}
				if math.Abs(r-row) > tol {
					t.Fatalf("at %d: raw rate %v, tier row %v", ts, r, row)
				}
				checked++
			}
			if checked < polls/2 {
				t.Fatalf("only %d rows compared", checked)
			}
		})
	}
}

// TestFirstReadingMidStep starts series in the middle of a step: the rows
// of a constant gauge and of a counter at a constant rate are exact from
// the first one on (for a counter first read at a fraction of a second,
// from the second one on).
func TestFirstReadingMidStep(t *testing.T) {
	for _, off := range []time.Duration{23 * time.Second, 23*time.Second + 500*time.Millisecond, 0} {
		t.Run(off.String(), func(t *testing.T) {
			db := openTest(t, t.TempDir())
			for k := 0; k < 12; k++ {
				ts := base.Add(time.Duration(k)*time.Minute + off)
				mustAppend(t, db, gauge("g", "d", ts, 100), counter("c", "d", ts, uint64(k)*600))
			}
			for _, name := range []string{"g", "c"} {
				s := selectOne(t, db, name, base, base.Add(12*time.Minute), time.Minute, metric.Average)
				want := 100.0
				if name == "c" {
					want = 10
				}
				known := 0
				for i, v := range s.Values {
					if math.IsNaN(v) {
						continue
					}
					if name == "c" && off%time.Second != 0 && known == 0 {
						// rrdtool counts unknown time in whole seconds: the
						// half second before a counter's first reading is
						// lost in its first row.
						known++
						continue
					}
					known++
					if math.Abs(v-want) > 1e-12*want {
						t.Fatalf("%s row %d at %v: %v, want %v", name, i, s.TimeAt(i), v, want)
					}
				}
				if known < 10 {
					t.Fatalf("%s: only %d known rows: %v", name, known, s.Values)
				}
			}
		})
	}
}

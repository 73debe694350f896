package rrd

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

type pdp struct {
	end int64
	v   float64
}

func collect(out *[]pdp) func(time.Time, float64) {
	return func(end time.Time, v float64) { *out = append(*out, pdp{end.Unix(), v}) }
}

func mustDS(t testing.TB, spec metric.DS, step time.Duration, start int64) *DS {
	t.Helper()
	d, err := NewDS(spec, step, time.Unix(start, 0))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func spec(typ metric.DSType, hb time.Duration, min, max float64) metric.DS {
	return metric.DS{Type: typ, Heartbeat: hb, Min: min, Max: max}
}

func samePDPs(t testing.TB, got, want []pdp) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d pdps %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i].end != want[i].end || !sameValue(want[i].v, got[i].v) {
			t.Fatalf("pdp %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestDSGaugeTimeWeighted(t *testing.T) {
	d := mustDS(t, metric.Gauges(2*time.Minute), time.Minute, 1200)
	var got []pdp
	for _, u := range []struct {
		t int64
		v float64
	}{{1230, 10}, {1260, 20}, {1290, 30}, {1350, 40}} {
		if err := d.Update(time.Unix(u.t, 0), Float(u.v), collect(&got)); err != nil {
			t.Fatal(err)
		}
	}
	// Slot 1200..1260: 30 s of 10 and 30 s of 20. Slot 1260..1320: 30 s
	// of 30 and 30 s of 40.
	samePDPs(t, got, []pdp{{1260, 15}, {1320, 35}})
}

func TestDSCounterWrapAndLimits(t *testing.T) {
	tests := []struct {
		name     string
		spec     metric.DS
		readings []Reading
		want     []float64
	}{
		{"32-bit wrap adds 2^32-1", spec(metric.Counter, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Int(4294967290), Int(5)}, []float64{10.0 / 60}},
		{"plain increase", spec(metric.Counter, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Int(100), Int(700)}, []float64{10}},
		{"above max is unknown", spec(metric.Counter, time.Minute*2, 0, 5),
			[]Reading{Int(100), Int(700)}, []float64{math.NaN()}},
		{"derive below min is unknown", spec(metric.Derive, time.Minute*2, 0, math.NaN()),
			[]Reading{Int(700), Int(100)}, []float64{math.NaN()}},
		{"derive negative", spec(metric.Derive, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Int(700), Int(100)}, []float64{-10}},
		{"derive sign change is unknown", spec(metric.Derive, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Float(-60), Int(60)}, []float64{math.NaN()}},
		{"absolute", spec(metric.Absolute, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Int(60), Int(120)}, []float64{1, 2}},
		{"dcounter reset", spec(metric.DCounter, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Float(10.5), Float(2)}, []float64{math.NaN()}},
		{"dderive", spec(metric.DDerive, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Float(10.5), Float(-1.5)}, []float64{-0.2}},
		{"unknown reading", spec(metric.Counter, time.Minute*2, math.NaN(), math.NaN()),
			[]Reading{Int(100), Unknown()}, []float64{math.NaN()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Aligned updates: one PDP per update after the first.
			d := mustDS(t, tc.spec, time.Minute, 6000)
			var got []pdp
			for i, r := range tc.readings {
				if err := d.Update(time.Unix(6060+int64(i)*60, 0), r, collect(&got)); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(tc.readings) {
				t.Fatalf("got %d pdps, want %d", len(got), len(tc.readings))
			}
			want := tc.want
			if len(want) < len(got) {
				// Differencing types know nothing of the first slot.
				want = append([]float64{math.NaN()}, want...)
			}
			for i, w := range want {
				if g := got[i].v; !sameValue(w, g) {
					t.Fatalf("pdp %d: got %v, want %v", i, g, w)
				}
			}
			// Aligned one-step intervals: the last interval's rate is the
			// last PDP.
			if r, w := d.Rate(), want[len(want)-1]; !sameValue(w, r) {
				t.Fatalf("Rate() = %v, want %v", r, w)
			}
		})
	}
}

func TestDSHeartbeat(t *testing.T) {
	d := mustDS(t, metric.Gauges(90*time.Second), time.Minute, 6000)
	var got []pdp
	for _, u := range []int64{6060, 6120, 6240, 6300} {
		if err := d.Update(time.Unix(u, 0), Float(float64(u)), collect(&got)); err != nil {
			t.Fatal(err)
		}
	}
	nan := math.NaN()
	samePDPs(t, got, []pdp{{6060, 6060}, {6120, 6120}, {6180, nan}, {6240, nan}, {6300, 6300}})
}

func TestDSRejectsOldUpdates(t *testing.T) {
	d := mustDS(t, metric.Gauges(time.Minute), time.Minute, 6000)
	if err := d.Update(time.Unix(6030, 0), Float(1), nil); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []time.Time{time.Unix(6030, 0), time.Unix(6029, 999999999), time.Unix(5000, 0)} {
		err := d.Update(ts, Float(2), nil)
		if !errors.Is(err, ErrNotAfter) {
			t.Fatalf("update at %v after 6030: err %v, want ErrNotAfter", ts, err)
		}
	}
	if r := d.Rate(); r != 1 {
		t.Fatalf("rejected updates changed the rate to %v", r)
	}
	if got := d.LastUpdate(); !got.Equal(time.Unix(6030, 0)) {
		t.Fatalf("rejected updates moved the last update to %v", got)
	}
	// Sub-second progress is accepted.
	if err := d.Update(time.Unix(6030, 500e6), Float(2), nil); err != nil {
		t.Fatal(err)
	}
}

func TestNewDSRejectsBadDefinitions(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec metric.DS
		step time.Duration
	}{
		{"zero step", metric.Gauges(time.Minute), 0},
		{"fractional step", metric.Gauges(time.Minute), 1500 * time.Millisecond},
		{"zero heartbeat", metric.Gauges(0), time.Minute},
		{"bad type", metric.DS{Type: 99, Heartbeat: time.Minute, Min: math.NaN(), Max: math.NaN()}, time.Minute},
		{"min above max", spec(metric.Gauge, time.Minute, 10, 1), time.Minute},
	} {
		if _, err := NewDS(tc.spec, tc.step, time.Unix(0, 0)); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestDSResumeAfterRestart proves that persisting and restoring the state
// at any point loses nothing: the PDPs equal those of an uninterrupted run.
func TestDSResumeAfterRestart(t *testing.T) {
	readings := []struct {
		t int64
		r Reading
	}{
		{6010, Int(100)}, {6035, Int(400)}, {6100, Unknown()}, {6130, Int(900)}, {6170, Int(1200)},
		{6405, Int(1300)}, {6410, Int(4294967000)}, {6475, Int(20)}, {6521, Int(700)}, {6600, Int(800)},
	}
	sp := spec(metric.Counter, 5*time.Minute, 0, math.NaN())
	run := func(cut int) []pdp {
		d := mustDS(t, sp, time.Minute, 6000)
		ra, err := NewRRA(metric.Average, 0.5, 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var out []pdp
		rowsOut := collect(&out)
		for i, u := range readings {
			if i == cut {
				ds, err := d.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				rs, err := ra.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				d, ra = new(DS), new(RRA)
				if err := d.UnmarshalBinary(ds); err != nil {
					t.Fatal(err)
				}
				if err := ra.UnmarshalBinary(rs); err != nil {
					t.Fatal(err)
				}
			}
			err := d.Update(time.Unix(u.t, 0), u.r, func(end time.Time, v float64) {
				out = append(out, pdp{end.Unix(), v})
				if err := ra.Add(end, v, func(end time.Time, v float64) { rowsOut(end, v+1e6) }); err != nil {
					t.Fatal(err)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	want := run(-1)
	if len(want) < 10 {
		t.Fatalf("too few outputs to be meaningful: %v", want)
	}
	for cut := range readings {
		samePDPs(t, run(cut), want)
	}
}

func TestUnmarshalRejectsBadState(t *testing.T) {
	d := mustDS(t, metric.Gauges(time.Minute), time.Minute, 6000)
	good, _ := d.MarshalBinary()
	ra, _ := NewRRA(metric.Max, 0.5, 5, time.Minute)
	goodR, _ := ra.MarshalBinary()
	bad := func(b []byte, i int, v byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = v
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		into interface{ UnmarshalBinary([]byte) error }
	}{
		{"empty", nil, new(DS)},
		{"truncated", good[:len(good)-1], new(DS)},
		{"longer", append(append([]byte(nil), good...), 0), new(DS)},
		{"newer version", bad(good, 1, 9), new(DS)},
		{"bad type", bad(good, 2, 77), new(DS)},
		{"rra as ds", goodR, new(DS)},
		{"ds as rra", good, new(RRA)},
		{"bad cf", bad(goodR, 2, 9), new(RRA)},
		{"truncated rra", goodR[:10], new(RRA)},
	} {
		err := tc.into.UnmarshalBinary(tc.b)
		if !errors.Is(err, ErrState) {
			t.Errorf("%s: err %v, want ErrState", tc.name, err)
		}
	}
}

func TestRRAConsolidates(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		cf   metric.CF
		xff  float64
		in   []float64 // PDPs ending at 60, 120, ... (rows of 3 end at 180, 360, ...)
		want []pdp
	}{
		{metric.Average, 0.5, []float64{1, 2, 3, 4, nan, 6, nan, nan, 9}, []pdp{{180, 2}, {360, 5}, {540, nan}}},
		{metric.Max, 0.5, []float64{1, 7, 3, 4, nan, 6, nan, nan, 9}, []pdp{{180, 7}, {360, 6}, {540, nan}}},
		{metric.Min, 0.7, []float64{1, 7, 3, 4, nan, 6, nan, nan, 9}, []pdp{{180, 1}, {360, 4}, {540, 9}}},
		{metric.Last, 0.5, []float64{1, 7, 3, 4, 6, nan, 8, nan, 9}, []pdp{{180, 3}, {360, nan}, {540, 9}}},
	}
	for _, tc := range tests {
		t.Run(tc.cf.String(), func(t *testing.T) {
			r, err := NewRRA(tc.cf, tc.xff, 3, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var got []pdp
			for i, v := range tc.in {
				if err := r.Add(time.Unix(int64(i+1)*60, 0), v, collect(&got)); err != nil {
					t.Fatal(err)
				}
			}
			samePDPs(t, got, tc.want)
		})
	}
}

func TestRRAGapsAndErrors(t *testing.T) {
	r, err := NewRRA(metric.Average, 0.5, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []pdp
	// Starts mid-row: the row's first PDP counts as unknown (half: still known).
	if err := r.Add(time.Unix(240, 0), 4, collect(&got)); err != nil {
		t.Fatal(err)
	}
	// Skipped PDPs count as unknown.
	if err := r.Add(time.Unix(480, 0), 8, collect(&got)); err != nil {
		t.Fatal(err)
	}
	samePDPs(t, got, []pdp{{240, 4}, {360, math.NaN()}, {480, 8}})
	if err := r.Add(time.Unix(480, 0), 1, nil); !errors.Is(err, ErrNotAfter) {
		t.Fatalf("repeated pdp: err %v", err)
	}
	if err := r.Add(time.Unix(510, 0), 1, nil); err == nil {
		t.Fatal("unaligned pdp accepted")
	}
	for _, bad := range []struct {
		cf    metric.CF
		xff   float64
		steps int
		step  time.Duration
	}{{metric.Average, 1, 1, time.Minute}, {metric.Average, -0.1, 1, time.Minute}, {metric.Average, math.NaN(), 1, time.Minute},
		{metric.Average, 0.5, 0, time.Minute}, {9, 0.5, 1, time.Minute}, {metric.Average, 0.5, 1, 0}} {
		if _, err := NewRRA(bad.cf, bad.xff, bad.steps, bad.step); err == nil {
			t.Errorf("NewRRA(%v, %v, %v, %v) accepted", bad.cf, bad.xff, bad.steps, bad.step)
		}
	}
}

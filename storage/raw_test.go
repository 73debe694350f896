package storage

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// TestRawAfterGap: polls 10 minutes apart with a 2-minute heartbeat. The
// tiers have no rows (every interval is too long), the raw archive keeps
// every gauge reading but no counter rate (nothing recent to difference).
func TestRawAfterGap(t *testing.T) {
	db := openTest(t, t.TempDir())
	for k := 0; k < 6; k++ {
		ts := base.Add(time.Duration(k) * 10 * time.Minute)
		mustAppend(t, db, gauge("temp", "r1", ts, float64(20+k)), counter("octets", "r1", ts, uint64(1000*k)))
	}
	ctx := context.Background()
	raw, err := db.Raw(ctx, metric.Selector{metric.Eq(metric.NameLabel, "temp")}, base, base.Add(time.Hour))
	if err != nil || len(raw) != 1 || len(raw[0].Values) != 6 {
		t.Fatalf("gauge raw: %v, %+v", err, raw)
	}
	for k, v := range raw[0].Values {
		if v != float64(20+k) || !raw[0].Times[k].Equal(base.Add(time.Duration(k)*10*time.Minute)) {
			t.Fatalf("gauge raw %d: %v at %v", k, v, raw[0].Times[k])
		}
	}
	raw, err = db.Raw(ctx, metric.Selector{metric.Eq(metric.NameLabel, "octets")}, base, base.Add(time.Hour))
	if err != nil || len(raw) != 0 {
		t.Fatalf("counter raw after gaps: %v, %+v", err, raw)
	}
	res, err := db.Select(ctx, metric.Query{Match: metric.Selector{metric.Eq(metric.NameLabel, "temp")}, From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res {
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				t.Fatalf("row %d of %s is %v; every interval exceeds the heartbeat", i, s.Labels, v)
			}
		}
	}
}

// TestRawCounterRounding: an integer counter's raw rate over irregular
// intervals is a multiple of 2^-e (2^e >= the interval) within half of it
// of k/Δt, and gives back the increment k exactly.
func TestRawCounterRounding(t *testing.T) {
	db := openTest(t, t.TempDir())
	rng := rand.New(rand.NewPCG(21, 22))
	gaps := []time.Duration{60 * time.Second, 45 * time.Second, 90 * time.Second, 61500 * time.Millisecond, 64 * time.Second, 17 * time.Second}
	ds := metric.DS{Type: metric.Counter, Heartbeat: 10 * time.Minute, Min: math.NaN(), Max: math.NaN()}
	ts, c := base, uint64(1<<40)
	type poll struct {
		t   time.Time
		k   uint64
		gap time.Duration
	}
	var polls []poll
	for i := 0; i < 200; i++ {
		gap := gaps[i%len(gaps)]
		k := uint64(rng.Int64N(1 << uint(1+rng.IntN(40))))
		ts, c = ts.Add(gap), c+k
		if i > 0 {
			polls = append(polls, poll{ts, k, gap})
		}
		s := metric.Sample{Labels: metric.New(metric.NameLabel, "octets"), DS: ds, Time: ts, Value: float64(c), Count: c, Exact: true}
		mustAppend(t, db, s)
	}
	raw, err := db.Raw(context.Background(), nil, base, ts.Add(time.Second))
	if err != nil || len(raw) != 1 || len(raw[0].Values) != len(polls) {
		t.Fatalf("raw: %v, %d series", err, len(raw))
	}
	for i, p := range polls {
		v, sec := raw[0].Values[i], p.gap.Seconds()
		q := math.Exp2(math.Ceil(math.Log2(sec)))
		exact := float64(p.k) / sec
		if v*q != math.Round(v*q) || math.Abs(v-exact) > 0.5/q {
			t.Fatalf("poll %d (k %d over %v): raw %v, exact %v, quantum 1/%v", i, p.k, p.gap, v, exact, q)
		}
		if got := math.Round(v * sec); got != float64(p.k) {
			t.Fatalf("poll %d: raw %v x %v s gives %v, want %d", i, v, sec, got, p.k)
		}
	}
}

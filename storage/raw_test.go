package storage

import (
	"context"
	"math"
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

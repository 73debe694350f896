package storage

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// cfOptions are short retentions, so that a few hours of polls reach
// beyond the finest tier and the raw archive.
func cfOptions(dir string, cfs5m []metric.CF) Options {
	o := DefaultOptions(dir)
	o.RawRetention = 3 * time.Hour
	o.Tiers = []Tier{
		{Step: time.Minute, Retention: time.Hour, XFF: 0.5},
		{Step: 5 * time.Minute, Retention: day, XFF: 0.5, CFs: cfs5m},
		{Step: time.Hour, Retention: 30 * day, XFF: 0.5},
	}
	return o
}

// cfReading is the test gauge's reading at poll k: uneven, so that every
// consolidation function gives something different.
func cfReading(k int) float64 { return float64((k*37)%11) - 3.5 }

func appendPolls(tb testing.TB, db *DB, from, to int) {
	tb.Helper()
	for k := from; k < to; k++ {
		mustAppend(tb, db, gauge("g", "r1", base.Add(time.Duration(k)*time.Minute), cfReading(k)))
	}
}

// cfLabelValues lists the consolidation functions an archive stores.
func cfLabelValues(tb testing.TB, a *tsdb.DB) []string {
	tb.Helper()
	q, err := a.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	vs, _, err := q.LabelValues(context.Background(), cfLabel, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return vs
}

func TestTierCFs(t *testing.T) {
	db, err := Open(cfOptions(t.TempDir(), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const polls = 300 // five hours
	appendPolls(t, db, 0, polls+1)
	end := base.Add(polls * time.Minute)

	// What each archive stores: the one-PDP tier a single series, the
	// others the default AVERAGE and MAX only.
	for i, want := range [][]string{{"AVERAGE"}, {"AVERAGE", "MAX"}, {"AVERAGE", "MAX"}} {
		if got := cfLabelValues(t, db.tiers[i].db); !slices.Equal(got, want) {
			t.Errorf("%s stores %v, want %v", db.tiers[i].name, got, want)
		}
	}

	// bucket consolidates the PDPs (= readings) of polls (endK-n, endK].
	bucket := func(endK, n int, cf metric.CF) float64 {
		var vals []float64
		for k := endK - n + 1; k <= endK; k++ {
			vals = append(vals, cfReading(k))
		}
		return consolidate(vals, cf)
	}
	tests := []struct {
		name     string
		from     time.Duration // before end
		step     time.Duration
		cf       metric.CF
		wantStep time.Duration
		// known: the rows from this much before end on must be known;
		// earlier ones may be unknown (beyond every archive with the CF).
		known time.Duration
	}{
		{"min from the one-minute tier", 50 * time.Minute, 5 * time.Minute, metric.Min, 5 * time.Minute, 50 * time.Minute},
		{"min from raw beyond the one-minute tier", 150 * time.Minute, 5 * time.Minute, metric.Min, 5 * time.Minute, 150 * time.Minute},
		{"min beyond raw: raw, the longest history", 5 * time.Hour, 5 * time.Minute, metric.Min, 5 * time.Minute, 3 * time.Hour},
		{"last hourly from raw", 150 * time.Minute, time.Hour, metric.Last, time.Hour, 150 * time.Minute},
		{"max stored in the 5-minute tier", 5 * time.Hour, 5 * time.Minute, metric.Max, 5 * time.Minute, 5 * time.Hour},
		{"max hourly stored", 5 * time.Hour, time.Hour, metric.Max, time.Hour, 5 * time.Hour},
		{"average two-hourly from the hour tier", 5 * time.Hour, 2 * time.Hour, metric.Average, 2 * time.Hour, 5 * time.Hour},
		// The finest tier covering that far is 5 minutes: so is the step.
		{"min at the finest step from raw", 150 * time.Minute, 0, metric.Min, 5 * time.Minute, 150 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := end.Add(-tc.from)
			s := selectOne(t, db, "g", from, end, tc.step, tc.cf)
			if s.Step != tc.wantStep {
				t.Fatalf("step %v, want %v", s.Step, tc.wantStep)
			}
			n := int(tc.wantStep / time.Minute)
			st := int64(tc.wantStep / time.Second)
			// Completed rows, plus the newest partial one where the end
			// falls inside a row consolidated on read.
			completed := int(end.Unix()/st - from.Unix()/st)
			if len(s.Values) != completed && !(len(s.Values) == completed+1 && end.Unix()%st != 0) {
				t.Fatalf("%d rows, want %d (or one more, partial)", len(s.Values), completed)
			}
			for i, v := range s.Values {
				rowEnd := s.TimeAt(i)
				endK := int(rowEnd.Sub(base) / time.Minute)
				n := n
				if rowEnd.After(end) {
					// The partial row holds the polls up to end.
					n -= int(rowEnd.Sub(end) / time.Minute)
					endK = int(end.Sub(base) / time.Minute)
				}
				mustKnow := !rowEnd.Add(-s.Step).Before(end.Add(-tc.known))
				if math.IsNaN(v) && !mustKnow {
					continue
				}
				// Consolidated on read from hourly averages is the same
				// mean: the buckets have equal sizes.
				want := bucket(endK, n, tc.cf)
				if math.Abs(v-want) > 1e-9 {
					t.Fatalf("row %d at %v: %v, want %v", i, rowEnd, v, want)
				}
			}
		})
	}
}

func TestTierCFsMissingAverage(t *testing.T) {
	// A 5-minute tier keeping MAX alone: AVERAGE at 5 minutes comes from
	// the one-minute tier, consolidated on read.
	db, err := Open(cfOptions(t.TempDir(), []metric.CF{metric.Max}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	appendPolls(t, db, 0, 121)
	end := base.Add(120 * time.Minute)
	s := selectOne(t, db, "g", end.Add(-30*time.Minute), end, 5*time.Minute, metric.Average)
	if s.Step != 5*time.Minute || len(s.Values) != 6 {
		t.Fatalf("step %v, %d rows", s.Step, len(s.Values))
	}
	for i, v := range s.Values {
		endK := int(s.TimeAt(i).Sub(base) / time.Minute)
		var sum float64
		for k := endK - 4; k <= endK; k++ {
			sum += cfReading(k)
		}
		if math.Abs(v-sum/5) > 1e-9 {
			t.Fatalf("row %d: %v, want %v", i, v, sum/5)
		}
	}
	if got := cfLabelValues(t, db.tiers[1].db); !slices.Equal(got, []string{"MAX"}) {
		t.Fatalf("5-minute tier stores %v", got)
	}
}

func TestTierCFsChangedAcrossRestart(t *testing.T) {
	// A store restarted with MIN added to the 5-minute tier carries on its
	// AVERAGE and MAX rows exactly as one that never stopped; MIN starts.
	dirA, dirB := t.TempDir(), t.TempDir()
	ref, err := Open(cfOptions(dirA, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	appendPolls(t, ref, 0, 241)

	db, err := Open(cfOptions(dirB, nil))
	if err != nil {
		t.Fatal(err)
	}
	appendPolls(t, db, 0, 152) // stop mid-row of every tier
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(cfOptions(dirB, []metric.CF{metric.Average, metric.Min, metric.Max}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	appendPolls(t, db, 152, 241)
	end := base.Add(240 * time.Minute)
	for _, cf := range []metric.CF{metric.Average, metric.Max} {
		for _, step := range []time.Duration{5 * time.Minute, time.Hour} {
			want := selectOne(t, ref, "g", base, end, step, cf)
			got := selectOne(t, db, "g", base, end, step, cf)
			if got.Step != step || !closeTo(got.Values, want.Values, 0) {
				t.Fatalf("%v at %v after restart:\n got %v\nwant %v", cf, step, got.Values, want.Values)
			}
		}
	}
	if got := cfLabelValues(t, db.tiers[1].db); !slices.Equal(got, []string{"AVERAGE", "MAX", "MIN"}) {
		t.Fatalf("5-minute tier stores %v after adding MIN", got)
	}
}

func TestBadTierCFs(t *testing.T) {
	tests := []struct {
		name string
		cfs  []metric.CF
		want string
	}{
		{"empty", []metric.CF{}, "tiers[1].cfs: empty"},
		{"twice", []metric.CF{metric.Max, metric.Average, metric.Max}, "tiers[1].cfs[2]: MAX appears twice"},
		{"unknown", []metric.CF{metric.Average, 9}, "tiers[1].cfs[1]: unknown consolidation function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(cfOptions(t.TempDir(), tc.cfs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

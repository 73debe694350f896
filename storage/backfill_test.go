package storage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// hourly is a gauge polled once an hour, as imported history often is.
func hourly(dev string, k int) metric.Sample {
	s := gauge("imported", dev, base.Add(time.Duration(k)*time.Hour), hourlyValue(dev, k))
	s.DS.Heartbeat = 2 * time.Hour
	return s
}

func hourlyValue(dev string, k int) float64 { return float64(len(dev)*1000 + k%24*10 + k%7) }

// TestBackfillYear imports a year of hourly history for several series
// after live data already exists, series by series in random order (out of
// order for the TSDBs), and reads everything back from the tiers that
// still cover it.
func TestBackfillYear(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a year of history")
	}
	db := openTest(t, t.TempDir())
	const hours = 365 * 24
	// Live data a year later.
	live := base.Add(hours * time.Hour)
	for k := 0; k < 30; k++ {
		mustAppend(t, db, gauge("live", "r0", live.Add(time.Duration(k)*time.Minute), 1))
	}
	devs := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(devs), func(i, j int) { devs[i], devs[j] = devs[j], devs[i] })
	for _, dev := range devs {
		batch := make([]metric.Sample, 0, 500)
		for k := 0; k <= hours; k++ {
			batch = append(batch, hourly(dev, k))
			if len(batch) == cap(batch) {
				mustAppend(t, db, batch...)
				batch = batch[:0]
			}
		}
		mustAppend(t, db, batch...)
	}
	ctx := context.Background()
	// The whole year is in the hour tier: one row per reading.
	res, err := db.Select(ctx, metric.Query{
		Match: metric.Selector{metric.Eq(metric.NameLabel, "imported")},
		From:  base, To: base.Add(hours * time.Hour), Step: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(devs) {
		t.Fatalf("%d series, want %d", len(res), len(devs))
	}
	for _, s := range res {
		dev := s.Labels.Get(metric.DeviceLabel)
		if s.Step != time.Hour || len(s.Values) != hours {
			t.Fatalf("%s: step %v, %d rows", dev, s.Step, len(s.Values))
		}
		for i, v := range s.Values {
			if want := hourlyValue(dev, i+1); v != want {
				t.Fatalf("%s row %d at %v: %v, want %v", dev, i, s.TimeAt(i), v, want)
			}
		}
	}
	// Daily maxima over the year.
	res, err = db.Select(ctx, metric.Query{
		Match: metric.Selector{metric.Eq(metric.DeviceLabel, devs[0])},
		From:  base, To: base.Add(hours * time.Hour), Step: 24 * time.Hour, CF: metric.Max,
	})
	if err != nil || len(res) != 1 || len(res[0].Values) != 365 {
		t.Fatalf("daily: %v, %v", res, err)
	}
	for d, v := range res[0].Values {
		want := math.Inf(-1)
		for k := d*24 + 1; k <= d*24+24; k++ {
			want = math.Max(want, hourlyValue(devs[0], k))
		}
		if v != want {
			t.Fatalf("day %d: max %v, want %v", d, v, want)
		}
	}
	// Raw values older than the raw retention were not kept.
	raw, err := db.Raw(ctx, metric.Selector{metric.Eq(metric.DeviceLabel, devs[0])}, base, live)
	if err != nil || len(raw) != 1 {
		t.Fatalf("raw: %v, %v", raw, err)
	}
	if oldest := raw[0].Times[0]; oldest.Before(live.Add(-DefaultOptions("").RawRetention)) {
		t.Fatalf("raw value at %v is older than the retention", oldest)
	}
}

// TestTierCoverage checks that a query reaching back further than a tier
// keeps is answered by a coarser tier.
func TestTierCoverage(t *testing.T) {
	o := DefaultOptions(t.TempDir())
	o.Tiers = []Tier{
		{Step: time.Minute, Retention: 2 * time.Hour, XFF: 0.5},
		{Step: 5 * time.Minute, Retention: 12 * time.Hour, XFF: 0.5},
		{Step: time.Hour, Retention: 10 * day, XFF: 0.5},
	}
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const polls = 6 * 60
	for k := 0; k <= polls; k++ {
		mustAppend(t, db, gauge("g", "d", base.Add(time.Duration(k)*time.Minute), float64(k)))
	}
	end := base.Add(polls * time.Minute)
	tests := []struct {
		from     time.Time
		step     time.Duration
		wantStep time.Duration
	}{
		{end.Add(-time.Hour), time.Minute, time.Minute},
		{end.Add(-2 * time.Hour), 0, time.Minute},
		{end.Add(-3 * time.Hour), time.Minute, 5 * time.Minute},
		{end.Add(-13 * time.Hour), time.Minute, time.Hour},
		{end.Add(-30 * day), time.Minute, time.Hour},
		{end.Add(-time.Hour), 10 * time.Minute, time.Hour},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("from -%v step %v", end.Sub(tc.from), tc.step), func(t *testing.T) {
			s := selectOne(t, db, "g", tc.from, end, tc.step, metric.Average)
			if s.Step != tc.wantStep {
				t.Fatalf("step %v, want %v", s.Step, tc.wantStep)
			}
			// Row i averages the readings of its interval (k-1, k].
			for i, v := range s.Values {
				endK := float64(s.TimeAt(i).Sub(base) / time.Minute)
				n := float64(s.Step / time.Minute)
				if want := endK - (n-1)/2; !math.IsNaN(v) && v != want {
					t.Fatalf("row %d at %v: %v, want %v", i, s.TimeAt(i), v, want)
				}
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"tier not a multiple", func(o *Options) { o.Tiers[1].Step = 90 * time.Second }, "tiers[1].step: 1m30s is not a multiple of the step 1m0s"},
		{"xff", func(o *Options) { o.Tiers[0].XFF = 1 }, "tiers[0].xff"},
		{"fractional step", func(o *Options) { o.Step = 1500 * time.Millisecond }, "step: 1.5s"},
		{"retention", func(o *Options) { o.Tiers[2].Retention = time.Minute }, "tiers[2].retention"},
		{"order", func(o *Options) { o.Tiers[0], o.Tiers[1] = o.Tiers[1], o.Tiers[0] }, "finest first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions(t.TempDir())
			o.Tiers = append([]Tier(nil), o.Tiers...)
			tc.edit(&o)
			_, err := Open(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewerFormat(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "FORMAT"), []byte(`{"format": 99}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(DefaultOptions(dir))
	if err == nil || !strings.Contains(err.Error(), "format 99") || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error %v", err)
	}
}

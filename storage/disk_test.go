package storage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// diskKind is one realistic kind of data source for the disk figures:
// its DS and the reading at poll k of series i.
type diskKind struct {
	name string
	ds   metric.DS
	// next returns the reading of series i at poll k (counters: the
	// counter value, built by the caller from increments).
	next func(rng *rand.Rand, i, k int, prev float64) float64
}

var diskKinds = []diskKind{
	// An interface nobody uses: its octet counter does not move for hours.
	{"idle-counter", benchCounterDS, func(_ *rand.Rand, _, _ int, prev float64) float64 { return prev }},
	// A busy interface: ~40 MB/s with noise, counted in octets.
	{"busy-counter", benchCounterDS, func(rng *rand.Rand, _, _ int, prev float64) float64 {
		return prev + float64(2_400_000_000+rng.IntN(600_000_000)-300_000_000)
	}},
	// Load average as UCD-SNMP reports it (two decimals), moving slowly.
	{"load-gauge", metric.Gauges(2 * time.Minute), func(rng *rand.Rand, _, k int, prev float64) float64 {
		v := math.Round((prev+float64(rng.IntN(21)-10)/100)*100) / 100
		return max(v, 0)
	}},
	// Memory used in kB (hrStorageUsed x 4 KiB pages): an integer that
	// moves by a few pages.
	{"memory-gauge", metric.Gauges(2 * time.Minute), func(rng *rand.Rand, _, _ int, prev float64) float64 {
		return prev + float64(4*(rng.IntN(65)-32))
	}},
}

// BenchmarkDiskKinds stores a day of one-minute polls of 200 data sources
// of one kind with the default options, compacts, and reports:
//
//   - raw-B/value: bytes on disk per value in the raw archive;
//   - t60-B/row, t300-B/row: per row of the 1-minute and 5-minute tiers;
//   - all-B/poll: every archive's bytes per poll;
//   - year-MB/1kDS: an estimate of the disk a year of operation takes for
//     1,000 such data sources: 35 days of raw values, 14 days of 1-minute
//     rows, 90 days of 5-minute rows and a year of hourly and daily rows,
//     per stored CF; the hourly and daily rows are costed like 5-minute
//     ones (a day of polls gives too few of them to measure).
//
// "mix" is a device-like blend: 60 % idle interfaces, 20 % busy ones, 10 %
// each gauge.
func BenchmarkDiskKinds(b *testing.B) {
	mix := []int{0, 0, 0, 0, 0, 0, 1, 1, 2, 3}
	for _, kind := range []string{"idle-counter", "busy-counter", "load-gauge", "memory-gauge", "mix"} {
		b.Run("kind="+kind, func(b *testing.B) {
			for b.Loop() {
				const series, polls = 200, 24 * 60
				dir := b.TempDir()
				o := DefaultOptions(dir)
				db, err := Open(o)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(5, 6))
				kinds := make([]diskKind, series)
				vals := make([]float64, series)
				for i := range kinds {
					switch kind {
					case "mix":
						kinds[i] = diskKinds[mix[i%len(mix)]]
					default:
						for _, k := range diskKinds {
							if k.name == kind {
								kinds[i] = k
							}
						}
					}
					vals[i] = float64(1e9 + rng.IntN(1e9))
					if kinds[i].name == "load-gauge" {
						vals[i] = 1.5
					}
				}
				batch := make([]metric.Sample, series)
				for k := 0; k < polls; k++ {
					ts := base.Add(time.Duration(k) * time.Minute)
					for i := range batch {
						vals[i] = kinds[i].next(rng, i, k, vals[i])
						s := metric.Sample{
							Labels: metric.New(metric.NameLabel, kinds[i].name, metric.DeviceLabel, "dev", "ifIndex", fmt.Sprint(i)),
							DS:     kinds[i].ds, Time: ts, Value: vals[i],
						}
						if s.DS.Type == metric.Counter {
							s.Count, s.Exact = uint64(vals[i]), true
						}
						batch[i] = s
					}
					if err := db.Append(b.Context(), batch); err != nil {
						b.Fatal(err)
					}
				}
				compactAll(b, db)
				var bytes, rows []float64
				for i, a := range db.archives() {
					bytes = append(bytes, float64(blockBytes(b, filepath.Join(dir, []string{"raw", db.tiers[0].name, db.tiers[1].name, db.tiers[2].name, db.tiers[3].name}[i]))))
					rows = append(rows, float64(countSamples(b, a)))
				}
				db.Close()
				all := 0.0
				for _, v := range bytes {
					all += v
				}
				perRow := func(i int) float64 { return bytes[i] / max(rows[i], 1) }
				ncf := float64(len(o.Tiers[1].CFs))
				// Bytes per data source for a year of operation.
				year := perRow(0)*rows[0]/series*35 + // raw: 35 days of this day
					perRow(1)*14*1440 +
					perRow(2)*ncf*(90*288+365*24+365)
				b.ReportMetric(perRow(0), "raw-B/value")
				b.ReportMetric(perRow(1), "t60-B/row")
				b.ReportMetric(perRow(2), "t300-B/row")
				b.ReportMetric(all/float64(series*polls), "all-B/poll")
				b.ReportMetric(year*1000/1e6, "year-MB/1kDS")
			}
		})
	}
}

// countSamples counts the values stored in an archive.
func countSamples(tb testing.TB, a *tsdb.DB) int {
	q, err := a.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchNotEqual, metric.NameLabel, ""))
	n := 0
	var it chunkenc.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		for it.Next() != chunkenc.ValNone {
			n++
		}
	}
	if err := ss.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkXORValues encodes 120-sample chunks (tsdb's) of one-minute
// values with tsdb's XOR encoding and reports bytes per sample: how well
// counter rates compress as stored (k/60, exact doubles) compared with
// arbitrary floats, the integer increments k, and rates rounded to a
// binary fraction finer than the counter resolves (1/64 < 1/60).
func BenchmarkXORValues(b *testing.B) {
	gen := map[string]func(rng *rand.Rand) float64{
		"arbitrary-float": func(rng *rand.Rand) float64 { return 4e7 * (1 + rng.Float64()) },
		"rate-k/60":       func(rng *rand.Rand) float64 { return float64(2_400_000_000+rng.IntN(600_000_000)) / 60 },
		"increment-k":     func(rng *rand.Rand) float64 { return float64(2_400_000_000 + rng.IntN(600_000_000)) },
		"rate-rounded-1/64": func(rng *rand.Rand) float64 {
			return math.Round(float64(2_400_000_000+rng.IntN(600_000_000))/60*64) / 64
		},
		"small-rate-k/60":    func(rng *rand.Rand) float64 { return float64(rng.IntN(60_000)) / 60 },
		"small-rate-rounded": func(rng *rand.Rand) float64 { return math.Round(float64(rng.IntN(60_000))/60*64) / 64 },
		"zero":               func(*rand.Rand) float64 { return 0 },
	}
	for _, name := range []string{"arbitrary-float", "rate-k/60", "rate-rounded-1/64", "increment-k", "small-rate-k/60", "small-rate-rounded", "zero"} {
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			var bytes, n int
			for b.Loop() {
				c := chunkenc.NewXORChunk()
				app, err := c.Appender()
				if err != nil {
					b.Fatal(err)
				}
				for k := 0; k < 120; k++ {
					app.Append(0, int64(k)*60_000, gen[name](rng))
				}
				bytes += len(c.Bytes())
				n += 120
			}
			b.ReportMetric(float64(bytes)/float64(n), "bytes/sample")
		})
	}
}

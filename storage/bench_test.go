package storage

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// benchDevices x benchPerDevice data sources, like 10,000 interface and
// host counters polled every minute.
const (
	benchDevices   = 100
	benchPerDevice = 100
)

// benchFleet builds one poll of the fleet: per device a batch (one
// poller Append) with a realistic mix of data sources: traffic counters
// with random increments, integer gauges, and flat values.
type benchFleet struct {
	labels [][]metric.Labels
	counts [][]uint64
	rng    *rand.Rand
}

func newBenchFleet(devices, per int) *benchFleet {
	f := &benchFleet{rng: rand.New(rand.NewPCG(3, 4))}
	for d := 0; d < devices; d++ {
		var ls []metric.Labels
		for i := 0; i < per; i++ {
			name := [...]string{"ifHCInOctets", "ifHCOutOctets", "hrStorageUsed", "ifOperStatus"}[i%4]
			ls = append(ls, metric.New(metric.NameLabel, name, metric.DeviceLabel, fmt.Sprintf("dev%03d", d),
				"ifIndex", strconv.Itoa(i/4)))
		}
		f.labels = append(f.labels, ls)
		f.counts = append(f.counts, make([]uint64, per))
	}
	return f
}

var benchCounterDS = metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()}

func (f *benchFleet) batch(d, k int, buf []metric.Sample) []metric.Sample {
	buf = buf[:0]
	ts := base.Add(time.Duration(k)*time.Minute + time.Duration(d)*100*time.Millisecond)
	for i, ls := range f.labels[d] {
		s := metric.Sample{Labels: ls, Time: ts}
		switch i % 4 {
		case 0, 1:
			f.counts[d][i] += uint64(f.rng.IntN(6_000_000))
			s.DS, s.Count, s.Exact, s.Value = benchCounterDS, f.counts[d][i], true, float64(f.counts[d][i])
		case 2:
			s.DS, s.Value = metric.Gauges(2*time.Minute), float64(1<<30+f.rng.IntN(1<<20)*4096)
		default:
			s.DS, s.Value = metric.Gauges(2*time.Minute), 1
		}
		buf = append(buf, s)
	}
	return buf
}

// ingest appends polls [from, to) of the fleet with one goroutine per
// core, as pollers do.
func (f *benchFleet) ingest(tb testing.TB, db *DB, from, to, workers int) {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]metric.Sample, 0, benchPerDevice)
			for k := from; k < to; k++ {
				for d := w; d < len(f.labels); d += workers {
					if err := db.Append(context.Background(), f.batch(d, k, buf)); err != nil {
						tb.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkIngest measures appends including every tier update for
// 10,000 data sources; one op is one poll of all of them.
func BenchmarkIngest(b *testing.B) {
	db := openTest(b, b.TempDir())
	f := newBenchFleet(benchDevices, benchPerDevice)
	f.ingest(b, db, 0, 2, 2) // create the series
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuSeconds()
	f.ingest(b, db, 2, 2+b.N, 2)
	el, cpu := time.Since(start), cpuSeconds()-cpu0
	b.StopTimer()
	n := float64(b.N * benchDevices * benchPerDevice)
	b.ReportMetric(n/el.Seconds(), "samples/s")
	// The machine is shared: samples per CPU-second is the steadier figure.
	b.ReportMetric(n/cpu, "samples/cpu-s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkSeriesMemory reports the live heap per data source after two
// polls of 10,000 of them: storage's series state plus the TSDB heads'
// series (their chunks hold two samples each, so this is the fixed cost).
// With STORAGE_HEAP_PROFILE=file it also writes a heap profile at that
// moment (go tool pprof -sample_index=inuse_space).
func BenchmarkSeriesMemory(b *testing.B) {
	for b.Loop() {
		before := liveHeap()
		db, err := Open(DefaultOptions(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		f := newBenchFleet(benchDevices, benchPerDevice)
		f.ingest(b, db, 0, 2, 2)
		after := liveHeap()
		if p := os.Getenv("STORAGE_HEAP_PROFILE"); p != "" {
			writeHeapProfile(b, p)
		}
		b.ReportMetric(float64(after-before)/float64(benchDevices*benchPerDevice), "heap-bytes/series")
		runtime.KeepAlive(f)
		db.Close()
	}
}

// BenchmarkSteadyMemory polls 10,000 data sources (STEADY_DEVICES x 100)
// every minute for STEADY_HOURS (default 26) of data time, with the compaction pass run
// every hour of it as the background loop would, and reports the process's
// peak RSS and the live heap at the end: the memory of a store in steady
// operation, with full heads, blocks written and series in every tier.
// Run it alone (-run '^$' -bench SteadyMemory): the peak is the process's.
// The garbage collector runs at GCPercent unless GOGC is set.
func BenchmarkSteadyMemory(b *testing.B) {
	hours := 26
	if v, err := strconv.Atoi(os.Getenv("STEADY_HOURS")); err == nil && v > 0 {
		hours = v
	}
	devices := benchDevices
	if v, err := strconv.Atoi(os.Getenv("STEADY_DEVICES")); err == nil && v > 0 {
		devices = v
	}
	if os.Getenv("GOGC") == "" {
		// As saguaro serve runs.
		defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	}
	for b.Loop() {
		db, err := Open(DefaultOptions(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		f := newBenchFleet(devices, benchPerDevice)
		start, cpu0 := time.Now(), cpuSeconds()
		var maxCompact time.Duration
		for h := 0; h < hours; h++ {
			f.ingest(b, db, h*60, (h+1)*60, 2)
			t0 := time.Now()
			db.compact()
			maxCompact = max(maxCompact, time.Since(t0))
		}
		b.ReportMetric(maxCompact.Seconds(), "max-compact-s")
		el, cpu := time.Since(start), cpuSeconds()-cpu0
		n := float64(hours * 60 * devices * benchPerDevice)
		b.ReportMetric(n/el.Seconds(), "samples/s")
		b.ReportMetric(n/cpu, "samples/cpu-s")
		heap := liveHeap()
		if p := os.Getenv("STORAGE_HEAP_PROFILE"); p != "" {
			writeHeapProfile(b, p)
		}
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(heap)/float64(devices*benchPerDevice), "heap-B/DS")
		b.ReportMetric(rssMiB(), "RSS-MiB")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		runtime.KeepAlive(f)
		db.Close()
	}
}

// rssMiB is the process's resident set now.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return math.NaN()
}

// BenchmarkLabelValues asks for one device's ifName values among 200,000
// data sources of 2,000 devices, as listing a device's graphs does (once
// per device and per-label template).
func BenchmarkLabelValues(b *testing.B) {
	db := openTest(b, b.TempDir())
	const devices, per = 2000, 100
	f := newBenchFleet(devices, per)
	f.ingest(b, db, 0, 1, 2)
	sel := metric.Selector{metric.Eq(metric.NameLabel, "ifHCInOctets"), metric.Eq(metric.DeviceLabel, "dev1234")}
	b.ReportAllocs()
	for b.Loop() {
		vals, err := db.LabelValues(context.Background(), "ifIndex", sel)
		if err != nil || len(vals) != per/4 {
			b.Fatalf("%d values, %v", len(vals), err)
		}
	}
}

// writeHeapProfile writes a heap profile to path (go tool pprof
// -sample_index=inuse_space).
func writeHeapProfile(tb testing.TB, path string) {
	fh, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	err = pprof.WriteHeapProfile(fh)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSelect reads one data source over a day and over a year at
// about 800 points (graph width), from compacted blocks.
func BenchmarkSelect(b *testing.B) {
	dir := b.TempDir()
	db := openTest(b, dir)
	const polls = 366 * 24 * 60
	f := newBenchFleet(1, 4)
	f.ingest(b, db, 0, polls, 1)
	compactAll(b, db)
	end := base.Add(polls * time.Minute)
	sel := metric.Selector{metric.Eq(metric.NameLabel, "ifHCInOctets"), metric.Eq(metric.DeviceLabel, "dev000")}
	for _, span := range []time.Duration{24 * time.Hour, 365 * 24 * time.Hour} {
		b.Run(fmt.Sprintf("span=%v", span), func(b *testing.B) {
			q := metric.Query{Match: sel, From: end.Add(-span), To: end, Step: span / 800, CF: metric.Average}
			var rows int
			b.ReportAllocs()
			for b.Loop() {
				res, err := db.Select(context.Background(), q)
				if err != nil || len(res) != 1 {
					b.Fatalf("%v, %d series", err, len(res))
				}
				rows = len(res[0].Values)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// BenchmarkDisk stores a day of the fleet's raw values and tiers,
// compacts, and reports the bytes per raw value on disk.
func BenchmarkDisk(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		db, err := Open(DefaultOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		const devices, per, polls = 10, 100, 24 * 60
		f := newBenchFleet(devices, per)
		f.ingest(b, db, 0, polls, 2)
		compactAll(b, db)
		rawBytes := blockBytes(b, filepath.Join(dir, "raw"))
		var tierBytes int64
		for _, t := range db.tiers {
			tierBytes += blockBytes(b, filepath.Join(dir, t.name))
		}
		db.Close()
		b.ReportMetric(float64(rawBytes)/float64(devices*per*polls), "raw-bytes/sample")
		b.ReportMetric(float64(rawBytes+tierBytes)/float64(devices*per*polls), "all-bytes/sample")
	}
}

// compactAll writes every archive's head out as blocks, as the TSDBs do
// on their own over hours.
func compactAll(tb testing.TB, db *DB) {
	for _, a := range db.archives() {
		if err := a.CompactHead(tsdbRangeHead(a)); err != nil {
			tb.Fatal(err)
		}
		if err := a.Compact(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
}

// blockBytes sums the sizes of the blocks (not the WAL) under dir.
func blockBytes(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "wal") || strings.HasPrefix(rel, "chunks_head") || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// peakRSSMiB reads the process's peak resident set size.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return math.NaN()
}

func tsdbRangeHead(a *tsdb.DB) *tsdb.RangeHead {
	h := a.Head()
	return tsdb.NewRangeHead(h, h.MinTime(), h.MaxTime())
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

package graphs

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRenders renders from several goroutines at once (run it
// with -race): plans and images share pools and the font cache.
func TestConcurrentRenders(t *testing.T) {
	q := anchorData(t)
	tm := everyDrawType()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1"},
					Options{From: benchEnd.Add(-time.Duration(g+1) * 24 * time.Hour), To: benchEnd, Width: 400 + 100*g, Height: 200, Theme: []string{"", "dark"}[g%2]})
				if err != nil {
					errs <- err
					return
				}
				var buf bytes.Buffer
				if err := p.PNG(&buf); err != nil {
					errs <- err
					return
				}
				img, err := png.Decode(&buf)
				if err != nil || img.Bounds().Dx() != 400+100*g {
					errs <- fmt.Errorf("goroutine %d: bad image (%v)", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// renderConcurrently runs n goroutines rendering the 1-year anchor graph
// per times each; it returns the latencies and the peak heap in use.
func renderConcurrently(tb testing.TB, q Querier, tm *Template, device string, end time.Time, n, per int) (lat []time.Duration, wall time.Duration, peak uint64) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	peakc := make(chan uint64)
	go func() { // sample the heap while the renders run
		var m runtime.MemStats
		var hi uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			hi = max(hi, m.HeapInuse)
			select {
			case <-stop:
				peakc <- hi
				return
			case <-tick.C:
			}
		}
	}()
	o := Options{From: end.Add(-365 * 24 * time.Hour), To: end, Width: 800, Height: 300}
	t0 := time.Now()
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				s := time.Now()
				p, err := NewPlan(context.Background(), q, tm, map[string]string{"device": device}, o)
				if err == nil {
					err = p.PNG(io.Discard)
				}
				if err != nil {
					tb.Error(err)
					return
				}
				d := time.Since(s)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall = time.Since(t0)
	close(stop)
	peak = <-peakc
	slices.Sort(lat)
	return lat, wall, peak
}

// reportConcurrent prints the figures of renderConcurrently.
func reportConcurrent(label string, lat []time.Duration, wall time.Duration, peak uint64) {
	if len(lat) == 0 {
		return
	}
	p := func(q float64) float64 {
		return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)]) / float64(time.Millisecond)
	}
	fmt.Printf("%s: %d renders in %.0f ms = %.1f renders/s | latency p50 %.1f ms, p99 %.1f ms, max %.1f ms | peak heap in use %.1f MiB\n",
		label, len(lat), float64(wall)/float64(time.Millisecond), float64(len(lat))/wall.Seconds(),
		p(0.5), p(0.99), float64(lat[len(lat)-1])/float64(time.Millisecond), float64(peak)/(1<<20))
}

// BenchmarkRender1YearConcurrent20 keeps 20 renders of the 1-year graph in
// flight.
func BenchmarkRender1YearConcurrent20(b *testing.B) {
	q := anchorData(b)
	tm := anchorTemplate()
	if err := tm.Validate(); err != nil {
		b.Fatal(err)
	}
	per, _ := strconv.Atoi(os.Getenv("SAGUARO_CONCURRENT_PER"))
	per = max(per, 5)
	b.ReportAllocs()
	for b.Loop() {
		lat, wall, peak := renderConcurrently(b, q, &tm, "router1", benchEnd, 20, per)
		b.ReportMetric(float64(len(lat))/wall.Seconds(), "renders/s")
		b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

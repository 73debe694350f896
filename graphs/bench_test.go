package graphs

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// moves far less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRender plans and renders the anchor graph (AREA, 2 STACKs, LINE,
// legend statistics) at 800x300, the figure compared with rrdtool.
func benchRender(b *testing.B, span time.Duration) {
	q := anchorData(b)
	tm := anchorTemplate()
	if err := tm.Validate(); err != nil {
		b.Fatal(err)
	}
	vars := map[string]string{"device": "router1"}
	o := Options{From: benchEnd.Add(-span), To: benchEnd, Width: 800, Height: 300}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		p, err := NewPlan(context.Background(), q, &tm, vars, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.PNG(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func BenchmarkRender1Day(b *testing.B)  { benchRender(b, 24*time.Hour) }
func BenchmarkRender1Year(b *testing.B) { benchRender(b, 365*24*time.Hour) }

func BenchmarkPlan1Year(b *testing.B) {
	q := anchorData(b)
	tm := anchorTemplate()
	o := Options{From: benchEnd.Add(-365 * 24 * time.Hour), To: benchEnd, Width: 800, Height: 300}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1"}, o); err != nil {
			b.Fatal(err)
		}
	}
}

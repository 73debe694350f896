package graphs

import (
	"bytes"
	"image"
	"image/png"
	"testing"
	"time"
)

func renderedImage(tb testing.TB) *image.RGBA {
	p := newTestPlan(tb, anchorData(tb), anchorTemplate(), 365*24*time.Hour, 800, 300)
	return p.draw().Image().(*image.RGBA)
}

func TestEncodePNGRoundTrip(t *testing.T) {
	img := renderedImage(t)
	var buf bytes.Buffer
	if err := encodePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if got.Bounds() != b {
		t.Fatalf("bounds %v, want %v", got.Bounds(), b)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := img.At(x, y).RGBA()
			r2, g2, b2, a2 := got.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a2 != 0xffff {
				t.Fatalf("pixel %d,%d differs", x, y)
			}
		}
	}
}

func BenchmarkEncodePNG(b *testing.B) {
	img := renderedImage(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		buf.Reset()
		if err := encodePNG(&buf, img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
	b.ReportMetric(float64(cpuTime()-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

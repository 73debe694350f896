package graphs

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"gonum.org/v1/plot/vg"
)

// benchEnd matches the rrdtool anchor's fixed end: 2026-01-01T00:00:00Z.
var benchEnd = time.Unix(1767225600, 0).UTC()

func f64(v float64) *float64 { return &v }

// anchorTemplate is the 4-series graph of the rrdtool comparison: AREA,
// two STACKs and a LINE, with Cacti-style legend statistics.
func anchorTemplate() Template {
	return Template{
		Name: "anchor", Title: "{device} - anchor 4 series", VerticalLabel: "bits per second",
		LowerLimit: f64(0), Unit: "b",
		Defs: []Def{
			{Name: "a", Metric: "m_a", CF: "AVERAGE"},
			{Name: "b", Metric: "m_b", CF: "AVERAGE"},
			{Name: "c", Metric: "m_c", CF: "AVERAGE"},
			{Name: "d", Metric: "m_d", CF: "AVERAGE"},
		},
		Items: []Item{
			{Type: "AREA", Ref: "a", Color: "#00CF00", Legend: "Inbound"},
			{Type: "STACK", Ref: "b", Color: "#002A97", Legend: "Outbound"},
			{Type: "STACK", Ref: "c", Color: "#FFD660", Legend: "Errors"},
			{Type: "LINE", Ref: "d", Color: "#FF0000", Width: 2, Legend: "Limit"},
		},
	}
}

// anchorData fills a fake storage with one year of 5-minute data like the
// rrdtool anchor script's (daily waves, a yearly rise, rare spikes), with
// tiers of 30 minutes and 2 hours, and a gap of unknown values.
func anchorData(tb testing.TB) *fakeQuerier {
	tb.Helper()
	const n = 365 * 288
	start := benchEnd.Add(-365 * 24 * time.Hour).Add(5 * time.Minute)
	a, b, c, d := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	seed := uint64(1)
	rnd := func() float64 {
		seed = seed*6364136223846793005 + 1442695040888963407
		return float64(seed>>11) / (1 << 53)
	}
	for i := range a {
		t := float64(start.Unix() + int64(i)*300)
		day := math.Sin(2 * math.Pi * t / 86400)
		yr := 1 + 0.5*float64(i)/n
		a[i] = yr * (3e6 + 2e6*day) * (0.9 + 0.2*rnd())
		b[i] = yr * (1e6 + 8e5*day) * (0.9 + 0.2*rnd())
		c[i] = 2e5 * rnd()
		if rnd() < 0.001 {
			c[i] += 3e6
		}
		d[i] = 6e6 + 2e6*float64(i)/n
	}
	// Three hours of unknown data on the last day.
	for i := n - 288 + 100; i < n-288+136; i++ {
		a[i], b[i], c[i] = math.NaN(), math.NaN(), math.NaN()
	}
	q := &fakeQuerier{}
	for name, vals := range map[string][]float64{"m_a": a, "m_b": b, "m_c": c, "m_d": d} {
		q.add(metric.New(metric.NameLabel, name, metric.DeviceLabel, "router1"), start, 5*time.Minute, vals,
			30*time.Minute, 2*time.Hour)
	}
	return q
}

func newTestPlan(tb testing.TB, q Querier, t Template, span time.Duration, w, h int) *Plan {
	tb.Helper()
	if err := t.Validate(); err != nil {
		tb.Fatal(err)
	}
	p, err := NewPlan(context.Background(), q, &t, map[string]string{"device": "router1"},
		Options{From: benchEnd.Add(-span), To: benchEnd, Width: w, Height: h})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// writeLook keeps a render in $GRAPHS_LOOK_DIR (if set) for a person to view.
func writeLook(tb testing.TB, name string, b []byte) {
	if dir := os.Getenv("GRAPHS_LOOK_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestPNGSizes(t *testing.T) {
	q := anchorData(t)
	for _, tc := range []struct {
		name string
		span time.Duration
		w, h int
	}{
		{"day", 24 * time.Hour, 800, 300},
		{"week", 7 * 24 * time.Hour, 800, 300},
		{"month", 31 * 24 * time.Hour, 800, 300},
		{"year", 365 * 24 * time.Hour, 800, 300},
		{"thumb", 24 * time.Hour, 120, 50},
		{"small", 6 * time.Hour, 300, 150},
		{"big", 2 * time.Hour, 4000, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlan(t, q, anchorTemplate(), tc.span, tc.w, tc.h)
			var buf bytes.Buffer
			if err := p.PNG(&buf); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			writeLook(t, tc.name+".png", buf.Bytes())
		})
	}
}

func TestDashPath(t *testing.T) {
	pix := &pixels{h: 100}
	var path vg.Path
	path.Move(vg.Point{X: 0, Y: px(10)})
	path.Line(vg.Point{X: px(50), Y: px(10)})
	path.Line(vg.Point{X: px(100), Y: px(10)}) // the pattern runs on across the joint
	out := pix.dashPath(path, []float64{4, 2})
	var dashes []float64
	var start vg.Length
	for _, c := range out {
		switch c.Type {
		case vg.MoveComp:
			start = c.Pos.X
		case vg.LineComp:
			if l := float64((c.Pos.X - start) / px(1)); l > 1e-6 {
				dashes = append(dashes, l)
			}
			start = c.Pos.X
		}
	}
	// Dashes start every 6 px: 17 of them, the ones across x=50 in two parts.
	total := 0.0
	for _, d := range dashes {
		total += d
	}
	if math.Abs(total-(16*4+4)) > 1e-6 {
		t.Errorf("dashes %v cover %v px, want 68", dashes, total)
	}
}

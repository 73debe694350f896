package graphs

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// smoke builds a SMOKE series from the probe series of its def: per row the
// known values sorted, their median and the share of probes lost.
func smoke(it Item, col color.NRGBA, probes []eachSeries, rows int, legend string) PlanSeries {
	s := PlanSeries{Type: TypeSmoke, Name: it.Ref, Legend: legend, Color: col, Width: max(it.Width, 1),
		Values: make([]float64, rows), Spread: make([][]float64, rows), Loss: make([]float64, rows)}
	flat := make([]float64, 0, rows*len(probes))
	for r := 0; r < rows; r++ {
		start := len(flat)
		for _, p := range probes {
			if v := p.values[r]; isFinite(v) {
				flat = append(flat, v)
			}
		}
		known := flat[start:len(flat):len(flat)]
		slices.Sort(known)
		s.Spread[r] = known
		s.Values[r] = math.NaN()
		s.Loss[r] = math.NaN()
		if len(probes) > 0 {
			s.Loss[r] = 1 - float64(len(known))/float64(len(probes))
		}
		if n := len(known); n > 0 {
			s.Values[r] = known[n/2]
			if n%2 == 0 {
				s.Values[r] = (known[n/2-1] + known[n/2]) / 2
			}
		}
	}
	s.Current, s.Average, s.Maximum = stats(s.Values)
	return s
}

// lossColors are SmokePing's median colours by share of probes lost:
// none, up to 5 %, 10 %, 20 %, 50 %, more.
var lossColors = []struct {
	upTo float64
	col  color.NRGBA
}{
	{0, color.NRGBA{0x26, 0xFF, 0x00, 0xFF}},
	{0.05, color.NRGBA{0x00, 0xB8, 0xFF, 0xFF}},
	{0.10, color.NRGBA{0x00, 0x59, 0xFF, 0xFF}},
	{0.20, color.NRGBA{0x7E, 0x00, 0xFF, 0xFF}},
	{0.50, color.NRGBA{0xFF, 0x00, 0xFF, 0xFF}},
	{1, color.NRGBA{0xFF, 0x00, 0x00, 0xFF}},
}

func lossColor(loss float64) color.NRGBA {
	for _, l := range lossColors {
		if loss <= l.upTo+1e-9 {
			return l.col
		}
	}
	return lossColors[len(lossColors)-1].col
}

// smokePlot draws the spread as nested translucent bands (darker where
// more probes agree) and the median in its loss colour.
type smokePlot struct {
	s   *PlanSeries
	p   *Plan
	pix *pixels
}

func (sp *smokePlot) Plot(c draw.Canvas, plt *plot.Plot) {
	f := newXform(c, plt, sp.p.Step.Seconds())
	t0 := float64(sp.p.Start.Unix())
	s := sp.s
	maxN := 0
	for _, k := range s.Spread {
		maxN = max(maxN, len(k))
	}
	smokeCol := s.Color
	if smokeCol.A == 0xff && maxN > 1 {
		// Bands overlap: each is faint enough that the middle, where all
		// of them lie, reaches about half the colour.
		smokeCol.A = uint8(min(0x60, max(0x0c, 0x90/(maxN/2))))
	}
	// Band i spans the i-th smallest to the i-th largest probe.
	for i := 0; i < maxN/2; i++ {
		has := func(k int) bool { return len(s.Spread[k]) > 2*i+1 }
		lo := func(k int) float64 { return s.Spread[k][i] }
		hi := func(k int) float64 { return s.Spread[k][len(s.Spread[k])-1-i] }
		var tp, bp vg.Path
		runs(len(s.Spread), has, func(a, b int) {
			tp = f.edge(tp[:0], t0, a, b, hi, true)
			bp = f.edge(bp[:0], t0, a, b, lo, true)
			if sp.pix != nil {
				sp.pix.fillBand(c, sp.pix.vertices(nil, tp), sp.pix.vertices(nil, bp), smokeCol)
				return
			}
			path := append(vg.Path(nil), tp...)
			path = f.reverseEdge(path, t0, a, b, lo)
			path.Close()
			c.SetColor(smokeCol)
			c.Fill(path)
		})
	}
	// The median, one run per loss colour.
	value := func(k int) float64 { return s.Values[k] }
	for _, lc := range lossColors {
		in := func(k int) bool { return isFinite(s.Values[k]) && lossColor(s.Loss[k]) == lc.col }
		var path vg.Path
		runs(len(s.Values), in, func(a, b int) { path = f.edge(path, t0, a, b, value, true) })
		if len(path) == 0 {
			continue
		}
		if sp.pix != nil {
			sp.pix.stroke(c, path, max(s.Width, 2), lc.col)
		} else {
			c.SetLineStyle(draw.LineStyle{Color: lc.col, Width: px(max(s.Width, 2))})
			c.Stroke(path)
		}
	}
}

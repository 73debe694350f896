package graphs

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The plotters below draw a plan's rows. Row i covers the step before its
// time stamp; a row wider than a few pixels is drawn as a flat step, a
// narrower one as a point in its middle joined to its neighbours. Unknown
// rows break lines and areas: a gap is never drawn as zero.

// xform maps data to canvas coordinates, clamping values into the plot
// area as rrdtool clips them.
type xform struct {
	x, y   func(float64) vg.Length
	ymin   vg.Length
	ymax   vg.Length
	step   float64
	stepPx vg.Length
}

func newXform(c draw.Canvas, plt *plot.Plot, step float64) xform {
	x, y := plt.Transforms(&c)
	return xform{x: x, y: y, ymin: c.Min.Y, ymax: c.Max.Y, step: step, stepPx: x(step) - x(0)}
}

func (f xform) Y(v float64) vg.Length {
	if math.IsInf(v, 1) {
		return f.ymax
	}
	if math.IsInf(v, -1) {
		return f.ymin
	}
	return clampLen(f.y(v), f.ymin, f.ymax)
}

// clampLen limits y to [lo, hi]; NaN (a value at or below zero on a
// logarithmic axis) goes to the bottom.
func clampLen(y, lo, hi vg.Length) vg.Length {
	if y != y || y < lo {
		return lo
	}
	return min(y, hi)
}

// steps reports whether rows are wide enough to draw as flat steps.
func (f xform) steps() bool { return f.stepPx >= px(3) }

// runs calls fn for every maximal run [i, j) of rows where known(i) holds.
func runs(n int, known func(int) bool, fn func(i, j int)) {
	for i := 0; i < n; {
		if !known(i) {
			i++
			continue
		}
		j := i + 1
		for j < n && known(j) {
			j++
		}
		fn(i, j)
		i = j
	}
}

// edge appends the top edge of rows [i, j) to path, left to right, with
// value(k) the height of row k.
func (f xform) edge(path vg.Path, t0 float64, i, j int, value func(int) float64, move bool) vg.Path {
	first := true
	add := func(x, y vg.Length) {
		if first && move {
			path.Move(vg.Point{X: x, Y: y})
		} else {
			path.Line(vg.Point{X: x, Y: y})
		}
		first = false
	}
	for k := i; k < j; k++ {
		end := t0 + float64(k)*f.step
		y := f.Y(value(k))
		if f.steps() {
			add(f.x(end-f.step), y)
			add(f.x(end), y)
			continue
		}
		if k == i {
			add(f.x(end-f.step), y)
		}
		add(f.x(end-f.step/2), y)
		if k == j-1 {
			add(f.x(end), y)
		}
	}
	return path
}

// reverseEdge appends the edge of rows [i, j) right to left.
func (f xform) reverseEdge(path vg.Path, t0 float64, i, j int, value func(int) float64) vg.Path {
	for k := j - 1; k >= i; k-- {
		end := t0 + float64(k)*f.step
		y := f.Y(value(k))
		if f.steps() {
			path.Line(vg.Point{X: f.x(end), Y: y})
			path.Line(vg.Point{X: f.x(end - f.step), Y: y})
			continue
		}
		if k == j-1 {
			path.Line(vg.Point{X: f.x(end), Y: y})
		}
		path.Line(vg.Point{X: f.x(end - f.step/2), Y: y})
		if k == i {
			path.Line(vg.Point{X: f.x(end - f.step), Y: y})
		}
	}
	return path
}

type background struct {
	color color.Color
	pix   *pixels
}

func (b *background) Plot(c draw.Canvas, _ *plot.Plot) {
	if b.pix != nil {
		b.pix.rect(c, b.color)
		return
	}
	c.SetColor(b.color)
	c.Fill(c.Rectangle.Path())
}

// gridLines draws the tick grid: minor lines faint, major lines stronger.
type gridLines struct {
	x, y         plot.Ticker
	major, minor color.Color
	pix          *pixels // nil: stroke through the vg canvas
}

func (g *gridLines) Plot(c draw.Canvas, plt *plot.Plot) {
	xf, yf := plt.Transforms(&c)
	for _, minor := range []bool{true, false} {
		col := g.major
		if minor {
			col = g.minor
		}
		var path vg.Path
		for _, t := range g.x.Ticks(plt.X.Min, plt.X.Max) {
			if t.IsMinor() != minor || t.Value <= plt.X.Min || t.Value >= plt.X.Max {
				continue
			}
			x := snap(xf(t.Value))
			path.Move(vg.Point{X: x, Y: c.Min.Y})
			path.Line(vg.Point{X: x, Y: c.Max.Y})
		}
		for _, t := range g.y.Ticks(plt.Y.Min, plt.Y.Max) {
			if t.IsMinor() != minor || t.Value <= plt.Y.Min || t.Value > plt.Y.Max {
				continue
			}
			y := snap(yf(t.Value))
			path.Move(vg.Point{X: c.Min.X, Y: y})
			path.Line(vg.Point{X: c.Max.X, Y: y})
		}
		switch {
		case len(path) == 0:
		case g.pix != nil:
			// Pixel-centred horizontal and vertical lines: set the pixels.
			// (A path of many lines through gg's rasterizer grows
			// quadratically: 200 years of yearly lines took a second.)
			g.pix.gridPath(c, path, col)
		default:
			c.SetLineStyle(draw.LineStyle{Color: col, Width: px(1)})
			c.Stroke(path)
		}
	}
}

// snap puts a 1-pixel line on a pixel centre so it stays crisp.
func snap(l vg.Length) vg.Length {
	p := float64(l / px(1))
	return px(math.Floor(p) + 0.5)
}

// areaPlot fills AREA and STACK items from their base (zero or the stack
// below) to their top.
type areaPlot struct {
	s   *PlanSeries
	p   *Plan
	pix *pixels // nil: draw through the vg canvas (SVG)
}

func (a *areaPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	f := newXform(c, plt, a.p.Step.Seconds())
	t0 := float64(a.p.Start.Unix())
	vals, base := a.s.Values, a.s.Base
	bottom := func(k int) float64 {
		if base == nil || math.IsNaN(base[k]) {
			return 0
		}
		return base[k]
	}
	top := func(k int) float64 { return bottom(k) + vals[k] }
	logAxis := a.p.tmpl.Logarithmic
	// On a log axis, values at or below zero have no place: gaps.
	known := func(k int) bool { return !math.IsNaN(vals[k]) && (!logAxis || top(k) > 0) }
	if a.pix != nil {
		var tp, bp vg.Path
		var tv, bv []vertex
		runs(len(vals), known, func(i, j int) {
			tp = f.edge(tp[:0], t0, i, j, top, true)
			bp = f.edge(bp[:0], t0, i, j, bottom, true)
			tv, bv = a.pix.vertices(tv[:0], tp), a.pix.vertices(bv[:0], bp)
			a.pix.fillBand(c, tv, bv, a.s.Color)
		})
		return
	}
	var path vg.Path
	runs(len(vals), known, func(i, j int) {
		path = f.edge(path, t0, i, j, top, true)
		path = f.reverseEdge(path, t0, i, j, bottom)
		path.Close()
	})
	if len(path) > 0 {
		c.SetColor(a.s.Color)
		c.Fill(path)
	}
}

// linePlot strokes LINE items.
type linePlot struct {
	s   *PlanSeries
	p   *Plan
	pix *pixels
}

func (l *linePlot) Plot(c draw.Canvas, plt *plot.Plot) {
	f := newXform(c, plt, l.p.Step.Seconds())
	t0 := float64(l.p.Start.Unix())
	vals := l.s.Values
	value := func(k int) float64 { return vals[k] }
	var path vg.Path
	logAxis := l.p.tmpl.Logarithmic
	runs(len(vals), func(k int) bool { return !math.IsNaN(vals[k]) && (!logAxis || vals[k] > 0) }, func(i, j int) {
		path = f.edge(path, t0, i, j, value, true)
	})
	if len(path) == 0 {
		return
	}
	if l.pix != nil {
		if len(l.s.Dashes) > 0 {
			d := l.s.Dashes
			if len(d)%2 == 1 {
				d = append(slices.Clone(d), d...)
			}
			path = l.pix.dashPath(path, d)
		}
		l.pix.stroke(c, path, l.s.Width, l.s.Color)
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: l.s.Color, Width: px(l.s.Width), Dashes: dashes(l.s.Dashes)})
	c.Stroke(path)
}

func dashes(d []float64) []vg.Length {
	if len(d) == 0 {
		return nil
	}
	out := make([]vg.Length, len(d))
	for i, v := range d {
		out[i] = px(v)
	}
	if len(out)%2 == 1 {
		out = append(out, out...)
	}
	return out
}

// tickPlot draws a short mark at the bottom of the plot area for every row
// whose value is known and not zero, like rrdtool's TICK.
type tickPlot struct {
	s   *PlanSeries
	p   *Plan
	pix *pixels
}

func (t *tickPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	f := newXform(c, plt, t.p.Step.Seconds())
	t0 := float64(t.p.Start.Unix())
	h := (c.Max.Y - c.Min.Y) * 0.1
	var path vg.Path
	for k, v := range t.s.Values {
		if math.IsNaN(v) || v == 0 {
			continue
		}
		end := t0 + float64(k)*f.step
		x0, x1 := f.x(end-f.step), f.x(end)
		path.Move(vg.Point{X: x0, Y: c.Min.Y})
		path.Line(vg.Point{X: x1, Y: c.Min.Y})
		path.Line(vg.Point{X: x1, Y: c.Min.Y + h})
		path.Line(vg.Point{X: x0, Y: c.Min.Y + h})
		path.Close()
	}
	switch {
	case len(path) == 0:
	case t.pix != nil:
		t.pix.fill(c, path, t.s.Color)
	default:
		c.SetColor(t.s.Color)
		c.Fill(path)
	}
}

// rulePlot draws HRULE and VRULE across the plot area.
type rulePlot struct{ r *Rule }

func (r *rulePlot) Plot(c draw.Canvas, plt *plot.Plot) {
	xf, yf := plt.Transforms(&c)
	st := draw.LineStyle{Color: r.r.Color, Width: px(r.r.Width), Dashes: dashes(r.r.Dashes)}
	switch r.r.Type {
	case TypeHRule:
		v := r.r.Value
		if !isFinite(v) || v < plt.Y.Min || v > plt.Y.Max {
			return
		}
		y := snap(yf(v))
		c.StrokeLine2(st, c.Min.X, y, c.Max.X, y)
	case TypeVRule:
		if r.r.Time.IsZero() {
			return
		}
		v := float64(r.r.Time.Unix())
		if v < plt.X.Min || v > plt.X.Max {
			return
		}
		x := snap(xf(v))
		c.StrokeLine2(st, x, c.Min.Y, x, c.Max.Y)
	}
}

// noData says so in the middle of an empty plot area.
type noData struct{ style text.Style }

func (n *noData) Plot(c draw.Canvas, _ *plot.Plot) {
	st := n.style
	st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
	c.FillText(st, c.Center(), "no data")
}

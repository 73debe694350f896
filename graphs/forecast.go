package graphs

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Forecast is a FORECAST item's projection of a series past the end of
// the data: a least-squares line ("linear"), or additive Holt-Winters with
// a seasonal period ("holt-winters"); and when it reaches the threshold.
type Forecast struct {
	Name      string // the series fitted
	Method    string
	Legend    string
	Color     color.NRGBA
	Width     float64
	Dashes    []float64
	Slope     float64 // linear: value units per second; holt-winters: the final trend per second
	Intercept float64 // linear: the trend's value at the plan's Start
	// Curve holds holt-winters' projection, one value per step after the
	// end of the data.
	Curve []float64
	// Threshold and, when the projection reaches it after the end of the
	// data, the time it does (zero otherwise); Text says it in words.
	Threshold *float64
	Reaches   time.Time
	Text      string

	start, end time.Time
	step       time.Duration
}

// At returns the projection's value at t (for holt-winters, after the end
// of the data; NaN before).
func (f *Forecast) At(t time.Time) float64 {
	if f.Method == methodHoltWinters {
		if len(f.Curve) == 0 || t.Before(f.end) {
			return math.NaN()
		}
		i := int(t.Sub(f.end) / f.step)
		if i >= len(f.Curve) {
			return f.Curve[len(f.Curve)-1]
		}
		return f.Curve[i]
	}
	return f.Intercept + f.Slope*t.Sub(f.start).Seconds()
}

const (
	methodLinear      = "linear"
	methodHoltWinters = "holt-winters"
)

func (p *Plan) forecast(it Item, vals []float64, col color.NRGBA, legend string, base float64, unit string) Forecast {
	f := Forecast{Name: it.Ref, Method: methodLinear, Legend: legend, Color: col, Width: max(it.Width, 1), Dashes: it.Dashes,
		Threshold: it.Threshold, start: p.Start, end: p.End(), step: p.Step}
	if len(f.Dashes) == 0 {
		f.Dashes = []float64{6, 3}
	}
	if it.Method == methodHoltWinters {
		f.Method = methodHoltWinters
		season, _ := parseHorizon(it.Season) // checked at load
		return p.holtWintersForecast(f, vals, season, base, unit)
	}
	slope, icept, _ := leastSquares(vals)
	f.Slope, f.Intercept = slope/p.Step.Seconds(), icept
	if math.IsNaN(slope) {
		f.Text = "not enough data for a trend"
		return f
	}
	if it.Threshold == nil {
		f.Text = fmt.Sprintf("trend %s per day", formatSI(f.Slope*86400, base, 2, unit))
		return f
	}
	thr := *it.Threshold
	now := f.At(f.end)
	ts := formatSI(thr, base, 2, unit)
	switch {
	case now == thr || (now > thr && f.Slope > 0) || (now < thr && f.Slope < 0):
		f.Text = "at or beyond " + ts + " now"
	case f.Slope == 0:
		f.Text = "trend flat, does not reach " + ts
	default:
		secs := (thr - now) / f.Slope
		if secs > maxFuture.Seconds() {
			f.Text = "does not reach " + ts + " within 10 years"
			break
		}
		f.reached(p, time.Duration(secs*float64(time.Second)), ts)
	}
	return f
}

// reached records that the projection meets the threshold d after the end.
func (f *Forecast) reached(p *Plan, d time.Duration, ts string) {
	f.Reaches = f.end.Add(d).UTC()
	f.Text = fmt.Sprintf("reaches %s on %s (in %s)", ts, f.Reaches.In(p.opts.Location).Format("2006-01-02"), inWords(d.Seconds()))
}

// holtWintersForecast fits additive Holt-Winters (level, trend and one
// seasonal term per row of the period), choosing the smoothing factors
// that best predict each next row, then projects over the plan's future
// horizon (at least one period).
func (p *Plan) holtWintersForecast(f Forecast, vals []float64, season time.Duration, base float64, unit string) Forecast {
	m := int(math.Round(float64(season) / float64(p.Step)))
	known := 0
	for _, v := range vals {
		if isFinite(v) {
			known++
		}
	}
	if m < 2 || len(vals) < 2*m || known < 2*m {
		f.Text = fmt.Sprintf("not enough data for a seasonal forecast (needs two %s periods of at least 2 rows)", season)
		f.Slope = math.NaN()
		return f
	}
	best, bestSSE := [3]float64{}, math.Inf(1)
	grid := []float64{0.05, 0.2, 0.4, 0.6, 0.8}
	for _, a := range grid {
		for _, b := range []float64{0.001, 0.01, 0.05, 0.2} {
			for _, g := range grid {
				if sse, _ := holtWinters(vals, m, a, b, g, 0); sse < bestSSE {
					best, bestSSE = [3]float64{a, b, g}, sse
				}
			}
		}
	}
	h := max(int(p.future/p.Step), m)
	_, st := holtWinters(vals, m, best[0], best[1], best[2], h)
	f.Curve = st.curve
	f.Slope = st.trend / p.Step.Seconds()
	if f.Threshold == nil {
		f.Text = fmt.Sprintf("seasonal trend %s per day", formatSI(f.Slope*86400, base, 2, unit))
		return f
	}
	thr := *f.Threshold
	ts := formatSI(thr, base, 2, unit)
	now := st.level
	for i, v := range f.Curve {
		if (now < thr && v >= thr) || (now > thr && v <= thr) || now == thr {
			f.reached(p, time.Duration(i+1)*p.Step, ts)
			return f
		}
	}
	f.Text = fmt.Sprintf("does not reach %s within %s", ts, inWords(float64(h)*p.Step.Seconds()))
	return f
}

type hwState struct {
	level, trend float64
	curve        []float64
}

// holtWinters runs the additive method over vals with period m and returns
// the sum of squared one-step errors and, with h > 0, h projected rows.
// Unknown rows advance the state without correcting it.
func holtWinters(vals []float64, m int, a, b, g float64, h int) (float64, hwState) {
	mean := func(xs []float64) float64 {
		s, n := 0.0, 0
		for _, v := range xs {
			if isFinite(v) {
				s += v
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return s / float64(n)
	}
	m1, m2 := mean(vals[:m]), mean(vals[m:2*m])
	level, trend := m1, (m2-m1)/float64(m)
	seas := make([]float64, m)
	for i := 0; i < m; i++ {
		if v := vals[i]; isFinite(v) {
			seas[i] = v - m1
		}
	}
	var sse float64
	for t := m; t < len(vals); t++ {
		s := seas[t%m]
		pred := level + trend + s
		y := vals[t]
		if !isFinite(y) {
			level += trend
			continue
		}
		sse += (y - pred) * (y - pred)
		nl := a*(y-s) + (1-a)*(level+trend)
		trend = b*(nl-level) + (1-b)*trend
		seas[t%m] = g*(y-nl) + (1-g)*s
		level = nl
	}
	st := hwState{level: level, trend: trend}
	n := len(vals)
	for k := 1; k <= h; k++ {
		st.curve = append(st.curve, level+float64(k)*trend+seas[(n-1+k)%m])
	}
	return sse, st
}

// XRange returns the time axis range in Unix seconds: from the start of
// the first row to the end of the last, plus the forecast horizon.
func (p *Plan) XRange() (lo, hi float64) {
	return float64(p.Start.Unix()) - p.Step.Seconds(), float64(p.End().Add(p.future).Unix())
}

// forecastPlot draws the trend line over the whole axis, the threshold as
// a faint line and a mark where the trend meets it.
type forecastPlot struct {
	f *Forecast
	p *Plan
}

func (fp *forecastPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	f := fp.f
	if math.IsNaN(f.Slope) {
		return
	}
	xf, yf := plt.Transforms(&c)
	if f.Method == methodHoltWinters {
		fp.curve(c, plt)
		return
	}
	clampY := func(v float64) vg.Length { return clampLen(yf(v), c.Min.Y, c.Max.Y) }
	lo, hi := plt.X.Min, plt.X.Max
	at := func(x float64) float64 { return f.At(time.Unix(int64(x), 0)) }
	// Clip the line to the plot area's value range.
	x0, x1 := lo, hi
	if f.Slope != 0 {
		for _, lim := range []float64{plt.Y.Min, plt.Y.Max} {
			xl := float64(f.start.Unix()) + (lim-f.Intercept)/f.Slope
			if v := at(x0); (v < plt.Y.Min || v > plt.Y.Max) && xl > x0 && xl < x1 {
				x0 = xl
			}
			if v := at(x1); (v < plt.Y.Min || v > plt.Y.Max) && xl < x1 && xl > x0 {
				x1 = xl
			}
		}
	}
	st := draw.LineStyle{Color: f.Color, Width: px(f.Width), Dashes: dashes(f.Dashes)}
	c.StrokeLine2(st, xf(x0), clampY(at(x0)), xf(x1), clampY(at(x1)))
	if f.Threshold != nil && *f.Threshold >= plt.Y.Min && *f.Threshold <= plt.Y.Max {
		faint := f.Color
		faint.A /= 3
		y := snap(yf(*f.Threshold))
		c.StrokeLine2(draw.LineStyle{Color: faint, Width: px(1), Dashes: dashes([]float64{2, 3})}, c.Min.X, y, c.Max.X, y)
		if !f.Reaches.IsZero() {
			if x := float64(f.Reaches.Unix()); x >= lo && x <= hi {
				xx := snap(xf(x))
				c.StrokeLine2(draw.LineStyle{Color: f.Color, Width: px(1)}, xx, y-px(6), xx, y+px(6))
			}
		}
	}
}

// inWords says a span of seconds in hours below two days, else in days.
func inWords(secs float64) string {
	if h := secs / 3600; h < 48 {
		return fmt.Sprintf("%.0f hours", math.Max(h, 1))
	}
	return fmt.Sprintf("%.0f days", secs/86400)
}

// curve draws a holt-winters projection from the end of the data to the
// end of the axis, and the threshold.
func (fp *forecastPlot) curve(c draw.Canvas, plt *plot.Plot) {
	f := fp.f
	xf, yf := plt.Transforms(&c)
	var pts []vg.Point
	for i, v := range f.Curve {
		x := float64(f.end.Unix()) + float64(i+1)*f.step.Seconds()
		if x > plt.X.Max {
			break
		}
		pts = append(pts, vg.Point{X: xf(x), Y: clampLen(yf(v), c.Min.Y, c.Max.Y)})
	}
	if len(pts) > 1 {
		c.StrokeLines(draw.LineStyle{Color: f.Color, Width: px(f.Width), Dashes: dashes(f.Dashes)}, pts)
	}
	if f.Threshold != nil && *f.Threshold >= plt.Y.Min && *f.Threshold <= plt.Y.Max {
		faint := f.Color
		faint.A /= 3
		y := snap(yf(*f.Threshold))
		c.StrokeLine2(draw.LineStyle{Color: faint, Width: px(1), Dashes: dashes([]float64{2, 3})}, c.Min.X, y, c.Max.X, y)
	}
}

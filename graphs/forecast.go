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

// Forecast is a FORECAST item's least-squares trend of a series over the
// plotted range, and when it reaches the threshold.
type Forecast struct {
	Name      string // the series fitted
	Legend    string
	Color     color.NRGBA
	Width     float64
	Dashes    []float64
	Slope     float64 // value units per second
	Intercept float64 // the trend's value at the plan's Start
	// Threshold and, when the trend reaches it after the end of the data,
	// the time it does (zero otherwise); Text says it in words.
	Threshold *float64
	Reaches   time.Time
	Text      string

	start time.Time
}

// At returns the trend's value at t.
func (f *Forecast) At(t time.Time) float64 {
	return f.Intercept + f.Slope*t.Sub(f.start).Seconds()
}

func (p *Plan) forecast(it Item, vals []float64, col color.NRGBA, legend string, base float64, unit string) Forecast {
	f := Forecast{Name: it.Ref, Legend: legend, Color: col, Width: max(it.Width, 1), Dashes: it.Dashes,
		Threshold: it.Threshold, start: p.Start}
	if len(f.Dashes) == 0 {
		f.Dashes = []float64{6, 3}
	}
	slope, icept, _ := leastSquares(vals)
	f.Slope, f.Intercept = slope/p.Step.Seconds(), icept
	end := p.End()
	switch {
	case math.IsNaN(slope):
		f.Text = "not enough data for a trend"
	case it.Threshold == nil:
		f.Text = fmt.Sprintf("trend %s per day", formatSI(f.Slope*86400, base, 2, unit))
	default:
		thr := *it.Threshold
		now := f.At(end)
		ts := formatSI(thr, base, 2, unit)
		switch {
		case (now >= thr && f.Slope >= 0) || (now <= thr && f.Slope <= 0 && now == thr):
			f.Text = "at or beyond " + ts + " now"
		case f.Slope == 0 || (thr > now) != (f.Slope > 0):
			f.Text = "trend moves away from " + ts
		default:
			secs := (thr - now) / f.Slope
			if secs > maxFuture.Seconds() {
				f.Text = "does not reach " + ts + " within 10 years"
				break
			}
			f.Reaches = end.Add(time.Duration(secs * float64(time.Second))).UTC()
			f.Text = fmt.Sprintf("reaches %s on %s (in %s)", ts,
				f.Reaches.In(p.opts.Location).Format("2006-01-02"), inWords(secs))
		}
	}
	return f
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

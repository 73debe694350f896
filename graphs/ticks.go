package graphs

import (
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
)

// timeUnit is one choice of calendar-aware time axis ticks.
type timeUnit struct {
	major, minor period
	format       string // Go layout of major labels
}

// period is a calendar interval: n of a unit.
type period struct {
	n    int
	unit byte // 's'econd, 'd'ay, 'w'eek (Monday), 'm'onth, 'y'ear
}

func (p period) approx() time.Duration {
	switch p.unit {
	case 'd':
		return time.Duration(p.n) * 24 * time.Hour
	case 'w':
		return time.Duration(p.n) * 7 * 24 * time.Hour
	case 'm':
		return time.Duration(p.n) * 30 * 24 * time.Hour
	case 'y':
		return time.Duration(p.n) * 365 * 24 * time.Hour
	}
	return time.Duration(p.n) * time.Second
}

func secs(n int) period { return period{n, 's'} }

var timeUnits = []timeUnit{
	{secs(10), secs(1), "15:04:05"},
	{secs(30), secs(5), "15:04:05"},
	{secs(60), secs(10), "15:04"},
	{secs(300), secs(60), "15:04"},
	{secs(600), secs(120), "15:04"},
	{secs(900), secs(300), "15:04"},
	{secs(1800), secs(300), "15:04"},
	{secs(3600), secs(600), "15:04"},
	{secs(2 * 3600), secs(1800), "15:04"},
	{secs(3 * 3600), secs(3600), "15:04"},
	{secs(6 * 3600), secs(3600), "15:04"},
	{secs(12 * 3600), secs(3 * 3600), "Mon 15:04"},
	{period{1, 'd'}, secs(6 * 3600), "Mon 02"},
	{period{2, 'd'}, period{1, 'd'}, "Jan 02"},
	{period{1, 'w'}, period{1, 'd'}, "Jan 02"},
	{period{2, 'w'}, period{1, 'w'}, "Jan 02"},
	{period{1, 'm'}, period{1, 'w'}, "Jan"},
	{period{3, 'm'}, period{1, 'm'}, "Jan"},
	{period{6, 'm'}, period{1, 'm'}, "Jan"},
	{period{1, 'y'}, period{3, 'm'}, "2006"},
	{period{5, 'y'}, period{1, 'y'}, "2006"},
	{period{10, 'y'}, period{1, 'y'}, "2006"},
}

// timeTicker places ticks on calendar boundaries in loc (midnight, Monday,
// the 1st of a month), about one labelled tick per 90 pixels.
type timeTicker struct {
	loc    *time.Location
	pixels float64
	span   time.Duration // the requested range, which picks the label format

	min, max float64
	ticks    []plot.Tick
}

func (t *timeTicker) Ticks(lo, hi float64) []plot.Tick {
	if t.ticks != nil && lo == t.min && hi == t.max {
		return t.ticks
	}
	t.min, t.max = lo, hi
	t.ticks = timeTicks(lo, hi, t.pixels, t.span, t.loc)
	return t.ticks
}

func timeTicks(lo, hi, pixels float64, span time.Duration, loc *time.Location) []plot.Tick {
	if loc == nil {
		loc = time.UTC
	}
	if !(hi > lo) {
		return nil
	}
	// The axis' own span sets how dense ticks are; the requested one (the
	// axis may be wider, by a coarse storage step or a forecast) whether
	// labels need the day.
	axis := time.Duration((hi - lo) * float64(time.Second))
	if span <= 0 {
		span = axis
	}
	maxLabels := max(pixels/90, 2)
	u := timeUnits[len(timeUnits)-1]
	for _, c := range timeUnits {
		if float64(axis/c.major.approx()) <= maxLabels {
			u = c
			break
		}
	}
	format := u.format
	if format == "15:04" && span > 24*time.Hour {
		format = "Mon 15:04"
	}
	from := time.Unix(int64(math.Floor(lo)), 0).In(loc)
	to := time.Unix(int64(math.Ceil(hi)), 0)
	var ticks []plot.Tick
	// Minor ticks first; a major tick replaces the minor one at its time.
	majors := map[int64]bool{}
	for _, tm := range calendar(from, to, u.major) {
		majors[tm.Unix()] = true
		label := tm.Format(format)
		if format == "Jan" && tm.Month() == time.January {
			label = tm.Format("Jan 2006")
		}
		ticks = append(ticks, plot.Tick{Value: float64(tm.Unix()), Label: label})
	}
	for _, tm := range calendar(from, to, u.minor) {
		if !majors[tm.Unix()] {
			ticks = append(ticks, plot.Tick{Value: float64(tm.Unix())})
		}
	}
	return ticks
}

// calendar lists the boundaries of period p in [from, to], at most 2000.
func calendar(from, to time.Time, p period) []time.Time {
	loc := from.Location()
	y, m, d := from.Date()
	var cur time.Time
	switch p.unit {
	case 's':
		day := time.Date(y, m, d, 0, 0, 0, 0, loc)
		n := time.Duration(p.n) * time.Second
		cur = day.Add(from.Sub(day) / n * n)
	case 'd':
		cur = time.Date(y, m, d, 0, 0, 0, 0, loc)
	case 'w':
		cur = time.Date(y, m, d-(int(from.Weekday())+6)%7, 0, 0, 0, 0, loc)
	case 'm':
		cur = time.Date(y, time.Month((int(m)-1)/p.n*p.n+1), 1, 0, 0, 0, 0, loc)
	case 'y':
		cur = time.Date(y/p.n*p.n, 1, 1, 0, 0, 0, 0, loc)
	}
	var out []time.Time
	for i := 0; i < 4000 && !cur.After(to) && len(out) < 2000; i++ {
		if !cur.Before(from) {
			out = append(out, cur)
		}
		y, m, d := cur.Date()
		switch p.unit {
		case 's':
			cur = cur.Add(time.Duration(p.n) * time.Second)
		case 'd':
			cur = time.Date(y, m, d+p.n, 0, 0, 0, 0, loc)
		case 'w':
			cur = time.Date(y, m, d+7*p.n, 0, 0, 0, 0, loc)
		case 'm':
			cur = time.Date(y, m+time.Month(p.n), 1, 0, 0, 0, 0, loc)
		case 'y':
			cur = time.Date(y+p.n, 1, 1, 0, 0, 0, 0, loc)
		}
	}
	return out
}

// valueTicker places round ticks about every 40 pixels, labelled with SI
// prefixes in the plan's base.
type valueTicker struct {
	base   float64
	pixels float64

	min, max float64
	ticks    []plot.Tick
}

func (t *valueTicker) Ticks(lo, hi float64) []plot.Tick {
	if t.ticks != nil && lo == t.min && hi == t.max {
		return t.ticks
	}
	t.min, t.max = lo, hi
	t.ticks = valueTicks(lo, hi, t.pixels, t.base)
	return t.ticks
}

// valueStep is the labelled tick step for a value range drawn over pixels:
// a round number (1, 2 or 5 times a power of ten) of the SI-scaled
// values, about every 32 pixels.
func valueStep(lo, hi, pixels, base float64) (step, div float64, prefix string) {
	div, prefix = axisScale(math.Max(math.Abs(lo), math.Abs(hi)), base)
	n := max(math.Floor(pixels/32), 2)
	return niceStep((hi-lo)/div/n, base) * div, div, prefix
}

// axisScale picks the SI prefix of an axis whose largest value is v: from
// just below the top, so a range ending at 1000 is labelled up to "1000",
// not "1.0 k" — but never a fraction prefix for a range ending at 1, which
// would read "1000 m".
func axisScale(v, base float64) (div float64, prefix string) {
	div, prefix = siScale(v*(1-1e-9), base)
	if div < 1 {
		if d, p := siScale(v, base); d >= 1 {
			return d, p
		}
	}
	return div, prefix
}

func valueTicks(lo, hi, pixels, base float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	st, div, prefix := valueStep(lo, hi, pixels, base)
	minor := st / 2
	// Decimals needed to print every labelled (scaled) value exactly.
	dec := 0
	for dec < 6 {
		x := st / div * math.Pow(10, float64(dec))
		if math.Abs(x-math.Round(x)) < 1e-6*x {
			break
		}
		dec++
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/minor - 1e-9)
	for i := 0; i < 400; i++ {
		v := (first + float64(i)) * minor
		if v > hi+minor*1e-9 {
			break
		}
		if math.Abs(v) < minor*1e-9 {
			v = 0
		}
		tk := plot.Tick{Value: v}
		if r := v / st; math.Abs(r-math.Round(r)) < 1e-6 {
			s := strconv.FormatFloat(v/div, 'f', dec, 64)
			if prefix != "" && v != 0 {
				s += " " + prefix
			}
			tk.Label = s
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// logTicker places ticks on a log10 axis: labelled decades (every other
// one past eight) and unlabelled 2..9 multiples when decades are few.
type logTicker struct {
	base     float64
	min, max float64
	ticks    []plot.Tick
}

func (t *logTicker) Ticks(lo, hi float64) []plot.Tick {
	if t.ticks != nil && lo == t.min && hi == t.max {
		return t.ticks
	}
	t.min, t.max = lo, hi
	t.ticks = nil
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	every := 1
	if e1-e0 > 8 {
		every = (e1 - e0 + 7) / 8
	}
	for e := e0; e <= e1 && e-e0 < 400; e++ {
		d := math.Pow(10, float64(e))
		if d >= lo*(1-1e-9) && d <= hi*(1+1e-9) {
			tk := plot.Tick{Value: d}
			if (e-e0)%every == 0 {
				tk.Label = formatSI(d, 1000, 0, "")
			}
			t.ticks = append(t.ticks, tk)
		}
		if e1-e0 <= 4 {
			for m := 2.0; m < 10; m++ {
				if v := m * d; v > lo && v < hi {
					t.ticks = append(t.ticks, plot.Tick{Value: v})
				}
			}
		}
	}
	return t.ticks
}

// logScale is a log10 normalizer that maps values at or below zero to
// -Inf (drawn clamped to the bottom) where gonum's LogScale panics.
type logScale struct{}

func (logScale) Normalize(lo, hi, x float64) float64 {
	if x <= 0 || lo <= 0 || hi <= lo {
		return math.Inf(-1)
	}
	l := math.Log(lo)
	return (math.Log(x) - l) / (math.Log(hi) - l)
}

package graphs

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs/rpn"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Querier is where a plan's series come from. Select returns regular-grid
// series over [From, To); an empty result is not an error. LabelValues
// lists the values of a label among the series matching sel.
type Querier interface {
	Select(ctx context.Context, q metric.Query) ([]metric.Series, error)
	LabelValues(ctx context.Context, name string, sel metric.Selector) ([]string, error)
}

// Image size limits, in pixels.
const (
	MinWidth  = 120
	MinHeight = 50
	MaxWidth  = 4000
	MaxHeight = 2000
)

// ErrOptions is wrapped by every error about bad render options, so that a
// caller can answer them as bad requests.
var ErrOptions = errors.New("bad graph options")

// Options say which time range to draw and how large.
type Options struct {
	From, To      time.Time
	Width, Height int            // whole image, pixels
	Location      *time.Location // time axis and NEWDAY; nil means UTC
	Theme         string         // "light" (default) or "dark"
	Now           time.Time      // for the RPN NOW; zero means time.Now()
}

// Validate checks the range and size.
func (o Options) Validate() error {
	var errs []error
	if o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To) {
		errs = append(errs, fmt.Errorf("%w: start %s must be before end %s", ErrOptions,
			o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339)))
	}
	if o.Width < MinWidth || o.Width > MaxWidth {
		errs = append(errs, fmt.Errorf("%w: width %d out of range %d..%d", ErrOptions, o.Width, MinWidth, MaxWidth))
	}
	if o.Height < MinHeight || o.Height > MaxHeight {
		errs = append(errs, fmt.Errorf("%w: height %d out of range %d..%d", ErrOptions, o.Height, MinHeight, MaxHeight))
	}
	if _, ok := themes[o.Theme]; !ok {
		errs = append(errs, fmt.Errorf("%w: theme %q (want light or dark)", ErrOptions, o.Theme))
	}
	return errors.Join(errs...)
}

// Plan is one graph ready to draw or export: every series on one grid,
// computed once, so that the PNG, the CSV and the JSON show the same numbers.
type Plan struct {
	Title         string
	VerticalLabel string
	// Start is the time stamp of row 0; row i ends at Start+i*Step and covers
	// the Step before it.
	Start time.Time
	Step  time.Duration
	Rows  int
	// Series are the drawn series (AREA, LINE, STACK, TICK) in template order.
	Series []PlanSeries
	// VDefs holds every vdef's result by name.
	VDefs map[string]VValue
	// Rules are the HRULEs and VRULEs.
	Rules []Rule
	// Forecasts are the FORECAST items' trends.
	Forecasts []Forecast
	// Legend is the text under the plot, one entry per line.
	Legend []LegendLine
	// YMin and YMax are the value range of the plot area.
	YMin, YMax float64
	Base       float64

	opts   Options
	tmpl   *Template
	future time.Duration
	// itemSeries is how many Series each item added (Each items add one
	// per matched series).
	itemSeries []int
}

// PlanSeries is one drawn series.
type PlanSeries struct {
	Type   string
	Name   string // the def or cdef drawn
	Legend string
	Color  color.NRGBA
	Width  float64
	Dashes []float64
	Values []float64 // the item's own values
	// Base is what a STACK sits on (nil: zero); the drawn top is Base+Values.
	Base []float64
	// SMOKE: per row the known probe values, sorted, and the share of
	// probes unknown (0..1); Values is their median.
	Spread [][]float64
	Loss   []float64
	// Legend statistics over the known values.
	Current, Average, Maximum float64
}

// Rule is a horizontal (HRULE, at Value) or vertical (VRULE, at Time) line.
type Rule struct {
	Type   string
	Value  float64
	Time   time.Time
	Color  color.NRGBA
	Width  float64
	Dashes []float64
	Legend string
}

// LegendLine is one line of the legend: an optional colour swatch and text
// cells laid out in columns.
type LegendLine struct {
	Color  *color.NRGBA
	Cells  []string
	Dashed bool
	Line   bool // the swatch is a line (LINE, rules, forecasts), not a box
	// CellColors, when set, puts a small line swatch before cell i.
	CellColors []*color.NRGBA
}

// NewPlan queries the template's series for the device and labels in vars
// (at least "device", and every `per` label), aligns them to one grid of
// about one row per pixel column, and computes cdefs, vdefs and the legend.
func NewPlan(ctx context.Context, q Querier, t *Template, vars map[string]string, o Options) (*Plan, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c, err := t.compiledForm()
	if err != nil {
		return nil, err
	}
	if vars[metric.DeviceLabel] == "" {
		return nil, fmt.Errorf("graph %q: no device given", t.Name)
	}
	for _, l := range t.Per {
		if vars[l] == "" {
			return nil, fmt.Errorf("graph %q: no value for label %q", t.Name, l)
		}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	p := &Plan{
		Title:         expand(t.Title, vars),
		VerticalLabel: expand(t.VerticalLabel, vars),
		Base:          1000,
		opts:          o,
		tmpl:          t,
		future:        c.future,
	}
	if t.Base == 1024 {
		p.Base = 1024
	}

	// One row per pixel column of the plot area (the estimate does not need
	// to be exact: storage decides the real step).
	span := o.To.Sub(o.From)
	want := max(span/time.Duration(plotWidthEstimate(o.Width)), time.Second)
	want = want.Truncate(time.Second)
	g, err := evalGrid(ctx, q, t, c, vars, o, want)
	if errors.Is(err, errTooManyRows) {
		return nil, fmt.Errorf("graph %q: the range with %v of history for its cdefs needs more than %d rows", t.Name, c.lookback, maxRawRows)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Labels) > 0 {
		vars = withSeriesLabels(vars, t.Labels, g.raw[0])
		p.Title, p.VerticalLabel = expand(t.Title, vars), expand(t.VerticalLabel, vars)
	}
	all, first, stepS, rows := g.all, g.first, int64(g.step/time.Second), g.rows
	p.Start = time.Unix(first, 0).UTC()
	p.Step = g.step
	p.Rows = rows

	// Items drawn once per series keep each series apart.
	each := map[int][]eachSeries{}
	for _, it := range t.Items {
		j := c.varIdx[it.Ref]
		if _, done := each[j]; !(it.Each || it.Type == TypeSmoke) || done {
			continue
		}
		ss := slices.Clone(g.raw[j])
		slices.SortFunc(ss, func(a, b metric.Series) int { return naturalCompare(a.Labels.String(), b.Labels.String()) })
		list := []eachSeries{}
		for _, s := range ss {
			vals := resample([]metric.Series{s}, c.cfs[j], first-int64(g.lb)*stepS, stepS, rows+g.lb)[g.lb:]
			list = append(list, eachSeries{labels: s.Labels, values: vals})
		}
		each[j] = list
	}

	p.VDefs = make(map[string]VValue, len(t.VDefs))
	var fine *grid // the finest rows storage has, for raw vdefs
	for i, vd := range t.VDefs {
		src := g
		if vd.Raw {
			if fine == nil {
				fine, err = evalGrid(ctx, q, t, c, vars, o, 0)
				if errors.Is(err, errTooManyRows) {
					fine = g // too many to hold: the plotted rows will do, and say so
				} else if err != nil {
					return nil, err
				}
			}
			src = fine
		}
		v := c.vdefFunc[i].apply(src.all[c.varIdx[vd.Ref]], src.first, int64(src.step/time.Second))
		v.Step = src.step
		p.VDefs[vd.Name] = v
	}

	var top []float64 // what the next STACK sits on
	p.itemSeries = make([]int, len(t.Items))
	for i, it := range t.Items {
		col := c.colors[i]
		before := len(p.Series)
		switch it.Type {
		case TypeArea, TypeLine, TypeStack, TypeTick:
			if it.Each {
				top = p.appendEach(it, col, each[c.varIdx[it.Ref]], vars, top)
				p.itemSeries[i] = len(p.Series) - before
				continue
			}
			vals := all[c.varIdx[it.Ref]]
			s := PlanSeries{Type: it.Type, Name: it.Ref, Legend: expand(it.Legend, vars), Color: col,
				Width: it.Width, Dashes: it.Dashes, Values: vals}
			if s.Width == 0 && it.Type != TypeArea {
				s.Width = 1
			}
			if it.Type == TypeStack {
				s.Base = top
			}
			if it.Type != TypeTick {
				top = stackTop(s.Base, vals)
			}
			s.Current, s.Average, s.Maximum = stats(vals)
			p.Series = append(p.Series, s)
			p.itemSeries[i] = 1
		case TypeSmoke:
			p.Series = append(p.Series, smoke(it, col, each[c.varIdx[it.Ref]], rows, expand(it.Legend, vars)))
			p.itemSeries[i] = 1
		case TypeHRule:
			r := Rule{Type: it.Type, Color: col, Width: max(it.Width, 1), Dashes: it.Dashes, Legend: expand(it.Legend, vars)}
			if it.Value != nil {
				r.Value = *it.Value
			} else {
				r.Value = p.VDefs[it.Ref].Value
			}
			p.Rules = append(p.Rules, r)
		case TypeForecast:
			p.Forecasts = append(p.Forecasts, p.forecast(it, all[c.varIdx[it.Ref]], col, expand(it.Legend, vars), p.Base, t.Unit))
		case TypeVRule:
			r := Rule{Type: it.Type, Color: col, Width: max(it.Width, 1), Dashes: it.Dashes, Legend: expand(it.Legend, vars)}
			if ts := p.VDefs[it.Ref].Time; !math.IsNaN(ts) {
				r.Time = time.Unix(int64(ts), 0).UTC()
			}
			p.Rules = append(p.Rules, r)
		}
	}
	p.Legend = p.buildLegend(vars)
	p.YMin, p.YMax = p.valueRange()
	return p, nil
}

// plotWidthEstimate is the width of the plot area for an image width: the
// image less the value axis and margins.
func plotWidthEstimate(w int) int { return max(w-leftMarginEstimate-rightMargin, 10) }

const (
	leftMarginEstimate = 76
	rightMargin        = 14
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// resample puts series onto the grid whose row i ends at first+i*step. A
// source row goes to the grid row whose interval holds its time stamp;
// several source rows in one grid row consolidate by cf, and several
// series are summed (unknown only where all are).
func resample(ss []metric.Series, cf metric.CF, first, step int64, rows int) []float64 {
	out := make([]float64, rows)
	for i := range out {
		out[i] = math.NaN()
	}
	if len(ss) == 0 {
		return out
	}
	one := make([]float64, rows)
	cnt := make([]int, rows)
	for _, s := range ss {
		if len(s.Values) == 0 || s.Step <= 0 {
			continue
		}
		sStep := int64(s.Step / time.Second)
		sStart := s.Start.Unix()
		if sStep == step && (sStart-first)%step == 0 {
			// Same grid: copy with an offset.
			off := int((sStart - first) / step)
			for i := range one {
				j := i - off
				if j >= 0 && j < len(s.Values) {
					one[i] = s.Values[j]
				} else {
					one[i] = math.NaN()
				}
			}
		} else {
			for i := range one {
				one[i] = math.NaN()
				cnt[i] = 0
			}
			for j, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				ts := sStart + int64(j)*int64(s.Step/time.Second)
				if sStep == 0 {
					ts = s.Start.Add(time.Duration(j) * s.Step).Unix()
				}
				i := int(ceilDiv(ts-first, step))
				if i < 0 || i >= rows {
					continue
				}
				switch {
				case math.IsNaN(one[i]):
					one[i] = v
				case cf == metric.Average:
					one[i] += v
				case cf == metric.Max:
					one[i] = math.Max(one[i], v)
				case cf == metric.Min:
					one[i] = math.Min(one[i], v)
				case cf == metric.Last:
					one[i] = v
				}
				cnt[i]++
			}
			if cf == metric.Average {
				for i, n := range cnt {
					if n > 1 {
						one[i] /= float64(n)
					}
				}
			}
		}
		for i, v := range one {
			if math.IsNaN(v) {
				continue
			}
			if math.IsNaN(out[i]) {
				out[i] = v
			} else {
				out[i] += v
			}
		}
	}
	return out
}

// stackTop is base+vals with unknowns counting as zero, what the next
// STACK sits on.
func stackTop(base, vals []float64) []float64 {
	top := make([]float64, len(vals))
	for i, v := range vals {
		b := 0.0
		if base != nil && !math.IsNaN(base[i]) {
			b = base[i]
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		top[i] = b + v
	}
	return top
}

// stats returns the last known value, the mean and the maximum of the known
// values (NaN when there are none).
func stats(vals []float64) (cur, avg, maxv float64) {
	cur, avg, maxv = math.NaN(), math.NaN(), math.NaN()
	var sum float64
	n := 0
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		cur = v
		sum += v
		n++
		if n == 1 || v > maxv {
			maxv = v
		}
	}
	if n > 0 {
		avg = sum / float64(n)
	}
	return cur, avg, maxv
}

// valueRange is the value axis range: the data's range (stacks at their
// tops, rules included), widened to the template's limits (or clamped to
// them when rigid), never empty.
func (p *Plan) valueRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if isFinite(v) {
			lo = math.Min(lo, v)
			hi = math.Max(hi, v)
		}
	}
	for _, s := range p.Series {
		if s.Type == TypeTick {
			continue
		}
		for i, v := range s.Values {
			if !isFinite(v) {
				continue
			}
			if s.Base != nil && isFinite(s.Base[i]) {
				v += s.Base[i]
			}
			see(v)
			if s.Type == TypeArea || s.Type == TypeStack {
				see(0) // areas are drawn from zero
			}
		}
	}
	for _, r := range p.Rules {
		if r.Type == TypeHRule {
			see(r.Value)
		}
	}
	if !math.IsInf(lo, 1) { // forecasts only matter next to data
		x0, x1 := p.XRange()
		for _, f := range p.Forecasts {
			if math.IsNaN(f.Slope) {
				continue
			}
			if f.Method == methodHoltWinters {
				for _, v := range f.Curve[:min(len(f.Curve), int(p.future/p.Step)+1)] {
					see(v)
				}
			} else {
				see(f.At(time.Unix(int64(x0), 0)))
				see(f.At(time.Unix(int64(x1), 0)))
			}
			if f.Threshold != nil {
				see(*f.Threshold)
			}
		}
	}
	t := p.tmpl
	if t.Logarithmic {
		return p.logRange()
	}
	if math.IsInf(lo, 1) { // no data
		lo, hi = 0, 1
		if t.LowerLimit != nil {
			lo = *t.LowerLimit
			hi = math.Max(hi, lo+1)
		}
		if t.UpperLimit != nil {
			hi = *t.UpperLimit
			lo = math.Min(lo, hi-1)
		}
		return lo, hi
	}
	if t.LowerLimit != nil && (t.Rigid || *t.LowerLimit < lo) {
		lo = *t.LowerLimit
	}
	if t.UpperLimit != nil && (t.Rigid || *t.UpperLimit > hi) {
		hi = *t.UpperLimit
	}
	if !t.Rigid || t.UpperLimit == nil || t.LowerLimit == nil {
		lo, hi = niceRange(lo, hi, p.Base, p.plotHeightEstimate(), t.LowerLimit != nil && t.Rigid, t.UpperLimit != nil && t.Rigid)
	}
	if !(hi > lo) {
		hi = lo + 1
	}
	return lo, hi
}

// niceRange widens [lo, hi] to multiples of the axis' labelled tick step.
func niceRange(lo, hi, base, pixels float64, keepLo, keepHi bool) (float64, float64) {
	if hi == lo {
		if hi == 0 {
			return 0, 1
		}
		d := math.Abs(hi) * 0.1
		lo, hi = lo-d, hi+d
		if lo < 0 && hi > 0 && keepLo {
			lo = 0
		}
	}
	st, _, _ := valueStep(lo, hi, pixels, base)
	if !keepLo {
		lo = math.Floor(lo/st*(1+1e-12)) * st
	}
	if !keepHi {
		hi = math.Ceil(hi/st*(1-1e-12)) * st
	}
	return lo, hi
}

// plotHeightEstimate is the height in pixels of the plot area: the image
// less title, time axis and legend.
func (p *Plan) plotHeightEstimate() float64 {
	lines := 0
	if p.layout().legend {
		lines = len(p.Legend)
	}
	return max(float64(p.opts.Height-62-lines*legendLine-8), 10)
}

// niceStep rounds d up to 1, 2 or 5 times a power of ten (2.5 would need
// a decimal on every other label).
func niceStep(d, base float64) float64 {
	if !(d > 0) || math.IsInf(d, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(d)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= d*(1-1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// Time returns the time stamp of row i.
func (p *Plan) Time(i int) time.Time { return p.Start.Add(time.Duration(i) * p.Step) }

// End returns the end of the last row.
func (p *Plan) End() time.Time { return p.Time(p.Rows - 1) }

// Options returns the options the plan was made with.
func (p *Plan) Options() Options { return p.opts }

// logRange is the value range of a logarithmic axis: whole decades around
// the positive values (rules and limits included), never touching zero.
func (p *Plan) logRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, s := range p.Series {
		for i, v := range s.Values {
			if s.Base != nil && isFinite(s.Base[i]) {
				v += s.Base[i]
			}
			see(v)
		}
	}
	for _, r := range p.Rules {
		if r.Type == TypeHRule {
			see(r.Value)
		}
	}
	t := p.tmpl
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if t.LowerLimit != nil && (t.Rigid || *t.LowerLimit < lo) {
		lo = *t.LowerLimit
	}
	if t.UpperLimit != nil && (t.Rigid || *t.UpperLimit > hi) {
		hi = *t.UpperLimit
	}
	if !(hi > lo) {
		hi = lo * 10
	}
	return lo, hi
}

// appendEach adds one drawn series per series of an Each item, stacking
// AREA and STACK ones, and returns the new stack top.
func (p *Plan) appendEach(it Item, col color.NRGBA, list []eachSeries, vars map[string]string, top []float64) []float64 {
	for k, es := range list {
		typ := it.Type
		if k > 0 && typ == TypeArea {
			typ = TypeStack
		}
		lv := es.labels.Map()
		for name, v := range vars {
			if _, ok := lv[name]; !ok {
				lv[name] = v
			}
		}
		s := PlanSeries{Type: typ, Name: it.Ref, Legend: expand(it.Legend, lv), Color: col,
			Width: it.Width, Dashes: it.Dashes, Values: es.values}
		if it.Legend == "" {
			s.Legend = seriesName(es.labels)
		}
		if k > 0 {
			s.Color = palette[(k-1)%len(palette)]
		}
		if s.Width == 0 && typ == TypeLine {
			s.Width = 1
		}
		if typ == TypeStack {
			s.Base = top
		}
		top = stackTop(s.Base, es.values)
		s.Current, s.Average, s.Maximum = stats(es.values)
		p.Series = append(p.Series, s)
	}
	return top
}

type eachSeries struct {
	labels metric.Labels
	values []float64
}

// palette colours the second and later series of an Each item.
var palette = []color.NRGBA{
	{0x1F, 0x77, 0xB4, 0xFF}, {0xFF, 0x7F, 0x0E, 0xFF}, {0x2C, 0xA0, 0x2C, 0xFF}, {0xD6, 0x27, 0x28, 0xFF},
	{0x94, 0x67, 0xBD, 0xFF}, {0x8C, 0x56, 0x4B, 0xFF}, {0xE3, 0x77, 0xC2, 0xFF}, {0x7F, 0x7F, 0x7F, 0xFF},
	{0xBC, 0xBD, 0x22, 0xFF}, {0x17, 0xBE, 0xCF, 0xFF},
}

// seriesName names a series by its label values other than the metric.
func seriesName(ls metric.Labels) string {
	var parts []string
	for _, l := range ls {
		if l.Name != metric.NameLabel {
			parts = append(parts, l.Value)
		}
	}
	return strings.Join(parts, " ")
}

// maxRawRows bounds the rows of a grid (about 40 MB a series).
const maxRawRows = 5_000_000

var errTooManyRows = errors.New("too many rows")

// grid is every def and cdef of a template on one regular grid.
type grid struct {
	all   [][]float64       // defs then cdefs
	raw   [][]metric.Series // what storage returned, per def
	first int64             // Unix time stamp of row 0
	step  time.Duration
	rows  int
	lb    int // rows of history evaluated before row 0 and dropped
}

// evalGrid queries the defs with about want between rows (0: the finest
// storage has), puts them on one grid and computes the cdefs.
func evalGrid(ctx context.Context, q Querier, t *Template, c *compiled, vars map[string]string, o Options, want time.Duration) (*grid, error) {
	raw := make([][]metric.Series, len(t.Defs))
	step := time.Duration(0)
	for i, d := range t.Defs {
		sel := append(metric.Selector(nil), c.defSel[i]...)
		if d.Device == "" {
			sel = append(sel, metric.Eq(metric.DeviceLabel, vars[metric.DeviceLabel]))
		}
		for _, l := range t.Per {
			sel = append(sel, metric.Eq(l, vars[l]))
		}
		ss, err := q.Select(ctx, metric.Query{Match: sel, From: o.From.Add(-c.lookback), To: o.To, Step: want, CF: c.cfs[i]})
		if err != nil {
			return nil, fmt.Errorf("graph %q: select %s: %w", t.Name, d.Name, err)
		}
		raw[i] = ss
		for _, s := range ss {
			if s.Step > step && len(s.Values) > 0 {
				step = s.Step
			}
		}
	}
	if step <= 0 { // no data
		step = want
		if step == 0 {
			step = time.Minute
		}
	}
	step = max(step.Truncate(time.Second), time.Second)
	// Storage may give finer rows than a pixel: consolidate whole multiples
	// of its step into one row per pixel column, by each def's CF, before
	// the cdefs, as rrdtool does.
	if k := want / step; k > 1 {
		step *= k
	}
	// The grid: rows end at multiples of step, the first one covering From.
	// Cdefs with windows (TREND) are evaluated over lb more rows before it,
	// so that the first rows drawn are known; those rows are then dropped.
	stepS := int64(step / time.Second)
	from, to := o.From.Unix(), o.To.Unix()
	lb := int(ceilDiv(int64(c.lookback/time.Second), stepS))
	gridStart := floorDiv(from, stepS)*stepS - int64(lb)*stepS // start of row 0's interval
	rows := max(int(ceilDiv(to-gridStart, stepS)), lb+1)
	if rows > maxRawRows+lb {
		return nil, errTooManyRows
	}
	first := gridStart + stepS

	all := make([][]float64, len(c.vars))
	for i := range t.Defs {
		all[i] = resample(raw[i], c.cfs[i], first, stepS, rows)
	}
	env := &rpn.Env{Vars: all, Start: first, Step: stepS, Now: o.Now, Loc: o.Location}
	for i, prog := range c.progs {
		out := make([]float64, rows)
		prog.Eval(env, out)
		all[len(t.Defs)+i] = out
	}
	for i := range all {
		all[i] = all[i][lb:]
	}
	return &grid{all: all, raw: raw, first: first + int64(lb)*stepS, step: step, rows: rows - lb, lb: lb}, nil
}

// withSeriesLabels adds to a copy of vars the named labels' values from the
// first series that has each.
func withSeriesLabels(vars map[string]string, names []string, ss []metric.Series) map[string]string {
	out := make(map[string]string, len(vars)+len(names))
	for k, v := range vars {
		out[k] = v
	}
	for _, n := range names {
		if out[n] != "" {
			continue
		}
		for _, s := range ss {
			if v := s.Labels.Get(n); v != "" {
				out[n] = v
				break
			}
		}
	}
	return out
}

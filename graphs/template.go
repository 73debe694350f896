package graphs

import (
	"errors"
	"fmt"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs/rpn"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Template is one graph as engineers write it in YAML: data definitions
// (DEF), computed series (CDEF) and what to draw (items). It is rrdtool's
// graph language in declarative form; Validate checks all of it at load so
// that a render can never fail on the template.
type Template struct {
	Name          string   `yaml:"name"`
	Title         string   `yaml:"title"`
	VerticalLabel string   `yaml:"vertical_label"`
	Base          int      `yaml:"base"` // 1000 (default) or 1024
	LowerLimit    *float64 `yaml:"lower_limit"`
	UpperLimit    *float64 `yaml:"upper_limit"`
	Rigid         bool     `yaml:"rigid"`
	Logarithmic   bool     `yaml:"logarithmic"` // log10 value axis; values at or below zero are not drawn
	Unit          string   `yaml:"unit"`        // appended to legend values after the SI prefix, e.g. "b"
	// RightAxis labels the right edge in other units: value*scale+shift
	// (rrdtool's --right-axis), e.g. scale 0.125 for bytes beside bits.
	RightAxis *RightAxis `yaml:"right_axis"`
	Per       []string   `yaml:"per"`
	// Labels names labels of the first def's series that titles and
	// legends may use as {variables}, such as ifAlias or ifSpeed.
	Labels []string `yaml:"labels"`
	Future string   `yaml:"future"` // extend the time axis for FORECAST items: "30d", "12w", "1y", "720h"
	Defs   []Def    `yaml:"defs"`
	CDefs  []CDef   `yaml:"cdefs"`
	VDefs  []VDef   `yaml:"vdefs"`
	Items  []Item   `yaml:"items"`

	compiled *compiled
}

// RightAxis is a second value scale on the right of the plot.
type RightAxis struct {
	Scale float64 `yaml:"scale"`
	Shift float64 `yaml:"shift"`
	Label string  `yaml:"label"`
}

// Def selects one series: __name__=Metric, device=<the device>, one
// equality matcher per `per` label, plus Match. When several series match,
// their known values are summed per row.
//
// A Match value starting with "~" is a regular expression (fully
// anchored), and Device replaces the graph's device: "~core-.*" sums one
// interface over many devices. Aggregates like Cacti's are a Def matching
// many series, summed, or drawn one per series with an item's Each.
type Def struct {
	Name   string            `yaml:"name"`
	Metric string            `yaml:"metric"`
	CF     string            `yaml:"cf"` // AVERAGE (default), MIN, MAX, LAST
	Match  map[string]string `yaml:"match"`
	Device string            `yaml:"device"`
}

// CDef computes a series from defs and earlier cdefs with rrdtool RPN.
type CDef struct {
	Name string `yaml:"name"`
	RPN  string `yaml:"rpn"`
}

// VDef reduces a series to one value (rrdtool's VDEF): MAXIMUM, MINIMUM,
// AVERAGE, STDEV, LAST, FIRST, TOTAL, PERCENT, PERCENTNAN, LSLSLOPE,
// LSLINT, LSLCORREL. PERCENT and PERCENTNAN take Arg (the percentile).
//
// Raw computes the value over the finest rows storage holds for the range
// rather than over the plotted (pixel-consolidated) ones: a 95th percentile
// for billing must not be taken from averages.
type VDef struct {
	Name string  `yaml:"name"`
	Ref  string  `yaml:"ref"`
	Func string  `yaml:"func"`
	Arg  float64 `yaml:"arg"`
	Raw  bool    `yaml:"raw"`
}

// Item is one element drawn or printed:
//
//	AREA, LINE, STACK  a series (Ref: a def or cdef)
//	HRULE              a horizontal line at Value or at a vdef (Ref)
//	VRULE              a vertical line at a vdef's time (Ref)
//	TICK               a short vertical mark where Ref is known and non-zero
//	GPRINT             a vdef (Ref) printed in the legend with Format
//	COMMENT            Legend text in the legend
//	SMOKE              SmokePing's picture of a def matching many probe
//	                   series (one per probe): their spread per row as
//	                   smoke in Color, the median as a line coloured by
//	                   the share of probes lost
//	FORECAST           the least-squares trend of Ref, drawn across the
//	                   range and into the template's Future, with when it
//	                   reaches Threshold in the legend
type Item struct {
	Type   string    `yaml:"type"`
	Ref    string    `yaml:"ref"`
	Color  string    `yaml:"color"`
	Width  float64   `yaml:"width"`
	Dashes []float64 `yaml:"dashes"`
	Legend string    `yaml:"legend"`
	Value  *float64  `yaml:"value"`
	Format string    `yaml:"format"`
	// Threshold is the value a FORECAST's trend is projected to reach.
	Threshold *float64 `yaml:"threshold"`
	// Method of a FORECAST: linear (default, least squares) or
	// holt-winters (additive, with a seasonal period of Season, e.g. "1d").
	Method string `yaml:"method"`
	Season string `yaml:"season"`
	// Each draws an AREA, STACK or LINE of a def once per series it
	// matches (stacked for AREA and STACK), in the order of their labels,
	// with Legend expanded from each series' labels ("{ifName}") and
	// colours after the first from a palette.
	Each bool `yaml:"each"`
}

// Item types.
const (
	TypeArea     = "AREA"
	TypeLine     = "LINE"
	TypeStack    = "STACK"
	TypeHRule    = "HRULE"
	TypeVRule    = "VRULE"
	TypeTick     = "TICK"
	TypeGPrint   = "GPRINT"
	TypeComment  = "COMMENT"
	TypeForecast = "FORECAST"
	TypeSmoke    = "SMOKE"
)

var (
	nameRe  = regexp.MustCompile(`^[a-z0-9_-]+$`)
	vnameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	varRe   = regexp.MustCompile(`\{([^{}]*)\}`)
)

// compiled is the checked form of a template, built by Validate.
type compiled struct {
	vars     []string // defs then cdefs, the index space of RPN variables
	varIdx   map[string]int
	progs    []*rpn.Program // per cdef
	cfs      []metric.CF    // per def
	colors   []color.NRGBA  // per item
	vdefIdx  map[string]int
	vdefFunc []vdefFunc
	defSel   []metric.Selector // per def: name, match and device matchers known at load
	future   time.Duration
	lookback time.Duration // history the cdefs read before the first row
}

func (c *compiled) taken(name string) bool {
	_, v := c.varIdx[name]
	_, d := c.vdefIdx[name]
	return v || d
}

// Validate checks the whole template and returns every problem at once,
// each naming the template, the element and, for RPN, the token.
func (t *Template) Validate() error {
	c, err := t.compile()
	if err != nil {
		return err
	}
	t.compiled = c
	return nil
}

// compiledForm returns the checked form without modifying t, so that a
// template shared between goroutines can be planned concurrently.
func (t *Template) compiledForm() (*compiled, error) {
	if t.compiled != nil {
		return t.compiled, nil
	}
	return t.compile()
}

func (t *Template) compile() (*compiled, error) {
	var errs []error
	where := fmt.Sprintf("graph template %q", t.Name)
	add := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, a...)))
	}
	var c0 compiled
	if t.Name == "" {
		add("name is empty")
	} else if !nameRe.MatchString(t.Name) {
		add("name %q: use only a-z, 0-9, _ and -", t.Name)
	}
	if strings.TrimSpace(t.Title) == "" {
		add("title is empty")
	}
	per := map[string]bool{}
	for i, l := range t.Per {
		switch {
		case !labelRe.MatchString(l):
			add("per[%d] %q: not a label name", i, l)
		case l == metric.NameLabel || l == metric.DeviceLabel:
			add("per[%d] %q: graphs are always per device and metric", i, l)
		case per[l]:
			add("per[%d] %q: listed twice", i, l)
		}
		per[l] = true
	}
	labels := map[string]bool{}
	for i, l := range t.Labels {
		switch {
		case !labelRe.MatchString(l):
			add("labels[%d] %q: not a label name", i, l)
		case l == metric.NameLabel || l == metric.DeviceLabel || per[l] || labels[l]:
			add("labels[%d] %q: already a variable", i, l)
		}
		labels[l] = true
	}
	for _, m := range varRe.FindAllStringSubmatch(t.Title+"\x00"+t.VerticalLabel, -1) {
		if v := m[1]; v != metric.DeviceLabel && !per[v] && !labels[v] {
			add("title variable {%s}: not device, a per label nor one of labels", v)
		}
	}
	if t.Future != "" {
		if d, err := parseHorizon(t.Future); err != nil {
			add("future %q: %v", t.Future, err)
		} else {
			c0.future = d
		}
	}
	switch t.Base {
	case 0, 1000, 1024:
	default:
		add("base %d: want 1000 or 1024", t.Base)
	}
	if t.LowerLimit != nil && t.UpperLimit != nil && !(*t.LowerLimit < *t.UpperLimit) {
		add("lower_limit %v must be below upper_limit %v", *t.LowerLimit, *t.UpperLimit)
	}
	if ra := t.RightAxis; ra != nil && (ra.Scale == 0 || !isFinite(ra.Scale) || !isFinite(ra.Shift)) {
		add("right_axis: scale must be a finite number other than 0 and shift finite")
	}
	if t.Logarithmic && ((t.LowerLimit != nil && *t.LowerLimit <= 0) || (t.UpperLimit != nil && *t.UpperLimit <= 0)) {
		add("logarithmic: limits must be above zero")
	}
	for _, p := range []*float64{t.LowerLimit, t.UpperLimit} {
		if p != nil && !isFinite(*p) {
			add("limits must be finite numbers")
		}
	}

	c := &compiled{varIdx: map[string]int{}, vdefIdx: map[string]int{}, future: c0.future}
	declare := func(kind string, i int, name string) bool {
		switch {
		case name == "":
			add("%s[%d]: name is empty", kind, i)
		case !vnameRe.MatchString(name):
			add("%s[%d] %q: name must be letters, digits and _, not starting with a digit", kind, i, name)
		case isReserved(name):
			add("%s[%d] %q: name is an RPN operator", kind, i, name)
		case c.taken(name):
			add("%s[%d] %q: name used twice", kind, i, name)
		default:
			return true
		}
		return false
	}
	if len(t.Defs) == 0 {
		add("no defs")
	}
	for i, d := range t.Defs {
		if declare("defs", i, d.Name) {
			c.varIdx[d.Name] = len(c.vars)
		}
		c.vars = append(c.vars, d.Name) // keep indexes aligned even on error
		if d.Metric == "" {
			add("defs[%d] %q: metric is empty", i, d.Name)
		}
		cf := metric.Average
		if d.CF != "" {
			var err error
			if cf, err = metric.ParseCF(d.CF); err != nil {
				add("defs[%d] %q: %v", i, d.Name, err)
			}
		}
		c.cfs = append(c.cfs, cf)
		sel := metric.Selector{metric.Eq(metric.NameLabel, d.Metric)}
		for _, k := range sortedKeys(d.Match) {
			switch {
			case !labelRe.MatchString(k):
				add("defs[%d] %q: match label %q: not a label name", i, d.Name, k)
			case k == metric.NameLabel || k == metric.DeviceLabel || per[k]:
				add("defs[%d] %q: match label %q is set by the graph itself", i, d.Name, k)
			}
			m, err := matcher(k, d.Match[k])
			if err != nil {
				add("defs[%d] %q: match: %v", i, d.Name, err)
			}
			sel = append(sel, m)
		}
		if d.Device != "" {
			m, err := matcher(metric.DeviceLabel, d.Device)
			if err != nil {
				add("defs[%d] %q: device: %v", i, d.Name, err)
			}
			sel = append(sel, m)
		}
		c.defSel = append(c.defSel, sel)
	}
	for i, cd := range t.CDefs {
		ok := declare("cdefs", i, cd.Name)
		// Only earlier names are visible: no cycles, evaluation in order.
		prog, err := rpn.Compile(cd.RPN, func(name string) (int, bool) {
			j, ok := c.varIdx[name]
			return j, ok
		})
		if err != nil {
			add("cdefs[%d] %q: %v", i, cd.Name, err)
		}
		c.progs = append(c.progs, prog)
		if prog != nil {
			// Chained cdefs can add up their windows.
			c.lookback += time.Duration(prog.Lookback() * float64(time.Second))
		}
		if ok {
			c.varIdx[cd.Name] = len(c.vars)
		}
		c.vars = append(c.vars, cd.Name)
	}
	for i, vd := range t.VDefs {
		ok := declare("vdefs", i, vd.Name)
		if _, found := c.varIdx[vd.Ref]; !found {
			add("vdefs[%d] %q: ref %q is not a def or cdef", i, vd.Name, vd.Ref)
		}
		f, err := parseVDefFunc(vd.Func, vd.Arg)
		if err != nil {
			add("vdefs[%d] %q: %v", i, vd.Name, err)
		}
		c.vdefFunc = append(c.vdefFunc, f)
		if ok {
			c.vdefIdx[vd.Name] = i + 1 // 0 means absent
		}
	}
	if len(t.Items) == 0 {
		add("no items")
	}
	canStack := false
	for i, it := range t.Items {
		iw := fmt.Sprintf("items[%d] %s", i, it.Type)
		if it.Ref != "" {
			iw += fmt.Sprintf(" %q", it.Ref)
		}
		series := func() {
			if _, ok := c.varIdx[it.Ref]; !ok {
				add("%s: ref %q is not a def or cdef", iw, it.Ref)
			}
		}
		vdef := func() {
			if c.vdefIdx[it.Ref] == 0 {
				add("%s: ref %q is not a vdef", iw, it.Ref)
			}
		}
		needColor := true
		if it.Each {
			if it.Type != TypeArea && it.Type != TypeStack && it.Type != TypeLine {
				add("%s: only AREA, STACK and LINE take each", iw)
			} else if j, ok := c.varIdx[it.Ref]; ok && j >= len(t.Defs) {
				add("%s: each needs a def, not a cdef", iw)
			}
		}
		switch it.Type {
		case TypeArea, TypeLine:
			series()
			canStack = true
		case TypeStack:
			series()
			if !canStack {
				add("%s: nothing to stack on (put an AREA or LINE before it)", iw)
			}
		case TypeTick:
			series()
		case TypeSmoke:
			series()
			if j, ok := c.varIdx[it.Ref]; ok && j >= len(t.Defs) {
				add("%s: smoke needs a def (its probe series), not a cdef", iw)
			}
		case TypeForecast:
			series()
			if it.Threshold != nil && !isFinite(*it.Threshold) {
				add("%s: threshold must be a finite number", iw)
			}
			switch it.Method {
			case "", methodLinear:
				if it.Season != "" {
					add("%s: only the holt-winters method takes a season", iw)
				}
			case methodHoltWinters:
				if d, err := parseHorizon(it.Season); err != nil || d <= 0 {
					add("%s: season %q: want a period such as 1d or 1w", iw, it.Season)
				}
			default:
				add("%s: method %q: want linear or holt-winters", iw, it.Method)
			}
		case TypeHRule:
			switch {
			case it.Value != nil && it.Ref != "":
				add("%s: give value or ref, not both", iw)
			case it.Value != nil:
				if !isFinite(*it.Value) {
					add("%s: value must be a finite number", iw)
				}
			default:
				vdef()
			}
		case TypeVRule:
			vdef()
		case TypeGPrint:
			vdef()
			needColor = false
			if err := checkFormat(it.Format); err != nil {
				add("%s: format %q: %v", iw, it.Format, err)
			}
		case TypeComment:
			needColor = false
			if it.Ref != "" {
				add("%s: a comment has no ref", iw)
			}
		default:
			add("items[%d]: unknown type %q (want AREA, LINE, STACK, TICK, HRULE, VRULE, GPRINT, COMMENT, FORECAST or SMOKE)", i, it.Type)
			needColor = false
		}
		var col color.NRGBA
		if needColor {
			var err error
			if col, err = ParseColor(it.Color); err != nil {
				add("%s: %v", iw, err)
			}
		} else if it.Color != "" {
			add("%s: has no colour", iw)
		}
		c.colors = append(c.colors, col)
		if it.Width < 0 || it.Width > 20 || (it.Width != 0 && it.Type != TypeLine && it.Type != TypeHRule && it.Type != TypeVRule && it.Type != TypeForecast) {
			add("%s: width %v: only LINE, HRULE, VRULE and FORECAST take a width, from 0 to 20", iw, it.Width)
		}
		for _, d := range it.Dashes {
			if !(d > 0 && d <= 100) {
				add("%s: dashes must be lengths from 0 to 100 pixels", iw)
				break
			}
		}
		if it.Type != TypeGPrint && it.Format != "" {
			add("%s: only GPRINT takes a format", iw)
		}
		if it.Value != nil && it.Type != TypeHRule {
			add("%s: only HRULE takes a value", iw)
		}
		if (it.Threshold != nil || it.Method != "" || it.Season != "") && it.Type != TypeForecast {
			add("%s: only FORECAST takes a threshold, method or season", iw)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func isFinite(v float64) bool { return v == v && v-v == 0 }

// isReserved reports whether a variable name would shadow an RPN word.
func isReserved(name string) bool {
	_, err := rpn.Compile(name, func(string) (int, bool) { return 0, false })
	if err == nil {
		return true // a nullary operator or constant such as TIME or INF
	}
	var re *rpn.Error
	if errors.As(err, &re) && strings.Contains(re.Msg, "unknown operator") {
		return false
	}
	return true
}

// ParseColor parses #RRGGBB or #RRGGBBAA.
func ParseColor(s string) (color.NRGBA, error) {
	if len(s) != 7 && len(s) != 9 || s[0] != '#' {
		return color.NRGBA{}, fmt.Errorf("colour %q: want #RRGGBB or #RRGGBBAA", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("colour %q: want #RRGGBB or #RRGGBBAA", s)
	}
	if len(s) == 7 {
		v = v<<8 | 0xff
	}
	return color.NRGBA{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}, nil
}

// expand replaces {label} in s with vars; unknown names stay as written.
func expand(s string, vars map[string]string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// maxFuture bounds how far a forecast axis may reach.
const maxFuture = 10 * 365 * 24 * time.Hour

// parseHorizon reads a forecast horizon: a Go duration ("720h") or a
// whole number of days, weeks or years ("30d", "12w", "1y").
func parseHorizon(s string) (time.Duration, error) {
	var d time.Duration
	if n := len(s); n > 1 && strings.ContainsRune("dwy", rune(s[n-1])) {
		v, err := strconv.Atoi(s[:n-1])
		if err != nil {
			return 0, fmt.Errorf("want a whole number before %q", s[n-1:])
		}
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[n-1]]
		d = time.Duration(v) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration such as 30d, 12w, 1y or 720h")
		}
	}
	if d < 0 || d > maxFuture {
		return 0, fmt.Errorf("must be from 0 to 10 years")
	}
	return d, nil
}

// matcher is an equality matcher, or a regular expression for a value
// starting with "~".
func matcher(name, value string) (metric.Matcher, error) {
	if strings.HasPrefix(value, "~") {
		return metric.Re(name, value[1:])
	}
	return metric.Eq(name, value), nil
}

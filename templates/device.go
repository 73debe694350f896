package templates

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller/httpsrc"
)

// Device is a device template: what to collect from one kind of device and
// which graph templates show it.
type Device struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	SNMP        *SNMP    `yaml:"snmp"`
	HTTP        *HTTP    `yaml:"http"`
	Script      *Script  `yaml:"script"`
	Probe       *Probe   `yaml:"probe"`
	Graphs      []string `yaml:"graphs"`
}

// Has reports whether the template has a section for protocol ("snmp",
// "http", "script" or "probe"), so a device polled that way can use it.
func (d *Device) Has(protocol string) bool {
	switch protocol {
	case "snmp":
		return d.SNMP != nil
	case "http":
		return d.HTTP != nil
	case "script":
		return d.Script != nil
	case "probe":
		return d.Probe != nil
	}
	return false
}

// Protocols lists the template's sections in a fixed order.
func (d *Device) Protocols() []string {
	var out []string
	for _, p := range []string{"snmp", "http", "script", "probe"} {
		if d.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// SNMP lists single values (scalars) and tables to poll.
type SNMP struct {
	Scalars []Object `yaml:"scalars"`
	Tables  []Table  `yaml:"tables"`
}

// Object is one value to poll and the series it becomes.
type Object struct {
	Metric    string            `yaml:"metric"`
	OID       string            `yaml:"oid"`
	Type      string            `yaml:"type"`
	Heartbeat Duration          `yaml:"heartbeat"`
	Min       Limit             `yaml:"min"`
	Max       Limit             `yaml:"max"`
	Labels    map[string]string `yaml:"labels"`
}

// Table is an SNMP table walked every poll, like a Cacti data query: each
// row becomes series labelled with the row index and the label columns.
type Table struct {
	Name       string        `yaml:"name"`
	IndexLabel string        `yaml:"index_label"`
	Labels     []LabelColumn `yaml:"labels"`
	Columns    []Object      `yaml:"columns"`
	// Identity names label columns that identify a row when the device
	// renumbers its index (ifName, then ifDescr): a row with a unique
	// identity keeps its series across renumbering.
	Identity []string `yaml:"identity"`
	// ReindexEvery reads the label columns only this often (they are read
	// again at once when rows appear or vanish, or the device reboots).
	ReindexEvery Duration `yaml:"reindex_every"`
}

// LabelColumn is a table column whose text values become a label.
type LabelColumn struct {
	Name string `yaml:"name"`
	OID  string `yaml:"oid"`
}

// HTTP says how to read an HTTP source: the body's format, which series
// to keep (include, by metric name), and for JSON where each number is.
type HTTP struct {
	Format  string      `yaml:"format"`
	Include []string    `yaml:"include"`
	JSON    []JSONValue `yaml:"json"`
}

// JSONValue picks numbers out of a JSON body by path (format json):
// `value.HeapMemoryUsage.used`, `items[2].count`, `["a.b"].n`; a segment
// `{name}` matches every key or index and sets label name to it.
type JSONValue struct {
	Path      string            `yaml:"path"`
	Metric    string            `yaml:"metric"`
	Type      string            `yaml:"type"`
	Heartbeat Duration          `yaml:"heartbeat"`
	Min       Limit             `yaml:"min"`
	Max       Limit             `yaml:"max"`
	Labels    map[string]string `yaml:"labels"`
}

// DS returns the value's data-source definition (see Object.DS).
func (v JSONValue) DS(defaultHeartbeat time.Duration) metric.DS {
	return Object{Type: v.Type, Heartbeat: v.Heartbeat, Min: v.Min, Max: v.Max}.DS(defaultHeartbeat)
}

// Script says what a script data input's output means. A bare number
// becomes Metric; a "name:value" pair becomes the field's own metric when
// Fields lists the name, else Metric{field="name"} with Metric's type.
type Script struct {
	Metric    string        `yaml:"metric"`
	Type      string        `yaml:"type"`
	Heartbeat Duration      `yaml:"heartbeat"`
	Min       Limit         `yaml:"min"`
	Max       Limit         `yaml:"max"`
	Fields    []ScriptField `yaml:"fields"`
}

// DS returns the data-source definition of bare numbers and unlisted
// fields.
func (s Script) DS(defaultHeartbeat time.Duration) metric.DS {
	return Object{Type: s.Type, Heartbeat: s.Heartbeat, Min: s.Min, Max: s.Max}.DS(defaultHeartbeat)
}

// ScriptField maps one output name to a series.
type ScriptField struct {
	Name      string            `yaml:"name"`
	Metric    string            `yaml:"metric"`
	Type      string            `yaml:"type"`
	Heartbeat Duration          `yaml:"heartbeat"`
	Min       Limit             `yaml:"min"`
	Max       Limit             `yaml:"max"`
	Labels    map[string]string `yaml:"labels"`
}

// Object returns the field as an Object (no OID) for its DS and checks.
func (f ScriptField) Object() Object {
	return Object{Metric: f.Metric, Type: f.Type, Heartbeat: f.Heartbeat, Min: f.Min, Max: f.Max, Labels: f.Labels}
}

// Probe holds a latency probe's defaults; a device's probe section sets
// the kind and target and may override the numbers.
type Probe struct {
	Kind        string    `yaml:"kind"`    // tcp, http or icmp; the device's wins
	Count       int       `yaml:"count"`   // probes per poll
	Spacing     Duration  `yaml:"spacing"` // between probe starts
	Timeout     Duration  `yaml:"timeout"` // of one probe
	Percentiles []float64 `yaml:"percentiles"`
}

// Duration is a YAML duration such as 120s or 5m.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 120s, 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Limit is a data source's min or max: a number, or U (unset) as in rrdtool.
type Limit struct {
	Value float64
	Set   bool
}

// UnmarshalYAML accepts a number or U.
func (l *Limit) UnmarshalYAML(n *yaml.Node) error {
	if strings.EqualFold(n.Value, "U") {
		*l = Limit{}
		return nil
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(v) {
		return fmt.Errorf("line %d: %q is not a number or U", n.Line, n.Value)
	}
	*l = Limit{Value: v, Set: true}
	return nil
}

func (l Limit) float() float64 {
	if !l.Set {
		return math.NaN()
	}
	return l.Value
}

// DS returns the object's data-source definition; a zero heartbeat is
// replaced by defaultHeartbeat (the caller knows the poll interval).
func (o Object) DS(defaultHeartbeat time.Duration) metric.DS {
	t, _ := metric.ParseDSType(o.Type) // validated at load
	hb := time.Duration(o.Heartbeat)
	if hb == 0 {
		hb = defaultHeartbeat
	}
	return metric.DS{Type: t, Heartbeat: hb, Min: o.Min.float(), Max: o.Max.float()}
}

var (
	oidRE    = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)+$`)
	metricRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// HTTPFormats are the body formats an HTTP device template may name.
var HTTPFormats = []string{"prometheus", "json", "apache", "nginx", "probe"}

// ProbeKinds are the latency probe kinds.
var ProbeKinds = []string{"tcp", "http", "icmp"}

// MaxProbes bounds the probes of one poll.
const MaxProbes = 100

// validate returns every problem of one device template, each prefixed
// with where it is.
func (d *Device) validate(graphExists func(string) bool) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("device template %q: %s: %s", d.Name, path, fmt.Sprintf(format, args...)))
	}
	if len(d.Protocols()) == 0 {
		add("(template)", "needs an snmp, http, script or probe section")
	}
	if d.SNMP != nil {
		for i, o := range d.SNMP.Scalars {
			o.check(fmt.Sprintf("snmp.scalars[%d]", i), add)
		}
		for i, t := range d.SNMP.Tables {
			p := fmt.Sprintf("snmp.tables[%d]", i)
			if t.Name == "" {
				add(p+".name", "must be set")
			}
			if !labelRE.MatchString(t.IndexLabel) {
				add(p+".index_label", "%q is not a label name", t.IndexLabel)
			}
			for j, l := range t.Labels {
				if !labelRE.MatchString(l.Name) {
					add(fmt.Sprintf("%s.labels[%d].name", p, j), "%q is not a label name", l.Name)
				}
				if !oidRE.MatchString(l.OID) {
					add(fmt.Sprintf("%s.labels[%d].oid", p, j), "%q is not a numeric OID", l.OID)
				}
			}
			for j, id := range t.Identity {
				found := false
				for _, l := range t.Labels {
					found = found || l.Name == id
				}
				if !found {
					add(fmt.Sprintf("%s.identity[%d]", p, j), "%q is not one of the table's labels", id)
				}
			}
			if t.ReindexEvery < 0 {
				add(p+".reindex_every", "must not be negative")
			}
			if len(t.Columns) == 0 {
				add(p+".columns", "a table needs at least one column")
			}
			for j, o := range t.Columns {
				o.check(fmt.Sprintf("%s.columns[%d]", p, j), add)
			}
		}
	}
	if d.HTTP != nil {
		ok := false
		for _, f := range HTTPFormats {
			ok = ok || d.HTTP.Format == f
		}
		if !ok {
			add("http.format", "unknown format %q (want one of %s)", d.HTTP.Format, strings.Join(HTTPFormats, ", "))
		}
		for i, re := range d.HTTP.Include {
			if _, err := regexp.Compile(re); err != nil {
				add(fmt.Sprintf("http.include[%d]", i), "%v", err)
			}
		}
		d.HTTP.checkJSON(add)
	}
	if d.Script != nil {
		d.Script.check(add)
	}
	if d.Probe != nil {
		d.Probe.check(add)
	}
	for i, g := range d.Graphs {
		if !graphExists(g) {
			add(fmt.Sprintf("graphs[%d]", i), "no graph template named %q", g)
		}
	}
	return errors.Join(errs...)
}

func (o Object) check(p string, add func(string, string, ...any)) {
	if !oidRE.MatchString(o.OID) {
		add(p+".oid", "%q is not a numeric OID", o.OID)
	}
	o.checkSeries(p, add)
}

// checkSeries checks what every kind of value shares: the metric name,
// the data-source type and limits, and fixed labels.
func (o Object) checkSeries(p string, add func(string, string, ...any)) {
	if !metricRE.MatchString(o.Metric) {
		add(p+".metric", "%q is not a metric name", o.Metric)
	}
	if _, err := metric.ParseDSType(o.Type); err != nil {
		add(p+".type", "%v", err)
	}
	if o.Heartbeat < 0 {
		add(p+".heartbeat", "must not be negative")
	}
	if o.Min.Set && o.Max.Set && o.Min.Value >= o.Max.Value {
		add(p, "min %v must be below max %v", o.Min.Value, o.Max.Value)
	}
	for k := range o.Labels {
		if !labelRE.MatchString(k) {
			add(p+".labels", "%q is not a label name", k)
		}
	}
}

func (h *HTTP) checkJSON(add func(string, string, ...any)) {
	if h.Format == "json" && len(h.JSON) == 0 {
		add("http.json", "format json needs at least one path")
	}
	if h.Format != "json" && len(h.JSON) > 0 {
		add("http.json", "paths need format json, not %q", h.Format)
		return
	}
	for i, v := range h.JSON {
		p := fmt.Sprintf("http.json[%d]", i)
		Object{Metric: v.Metric, Type: v.Type, Heartbeat: v.Heartbeat, Min: v.Min, Max: v.Max, Labels: v.Labels}.checkSeries(p, add)
		if err := checkJSONPath(v.Path); err != nil {
			add(p+".path", "%v", err)
		}
	}
}

func (s *Script) check(add func(string, string, ...any)) {
	Object{Metric: s.Metric, Type: s.Type, Heartbeat: s.Heartbeat, Min: s.Min, Max: s.Max}.checkSeries("script", add)
	seen := map[string]bool{}
	for i, f := range s.Fields {
		p := fmt.Sprintf("script.fields[%d]", i)
		switch {
		case f.Name == "" || strings.ContainsAny(f.Name, ": \t\n"):
			add(p+".name", "%q is not an output name (no spaces or ':')", f.Name)
		case seen[f.Name]:
			add(p+".name", "%q is listed twice", f.Name)
		}
		seen[f.Name] = true
		f.Object().checkSeries(p, add)
	}
}

func (pr *Probe) check(add func(string, string, ...any)) {
	if pr.Kind != "" && !slices.Contains(ProbeKinds, pr.Kind) {
		add("probe.kind", "%q is not a probe kind (want tcp, http or icmp)", pr.Kind)
	}
	if pr.Count < 0 || pr.Count > MaxProbes {
		add("probe.count", "must be between 1 and %d, got %d", MaxProbes, pr.Count)
	}
	if pr.Spacing < 0 {
		add("probe.spacing", "must not be negative")
	}
	if pr.Timeout < 0 {
		add("probe.timeout", "must not be negative")
	}
	for i, q := range pr.Percentiles {
		if !(q > 0 && q < 100) {
			add(fmt.Sprintf("probe.percentiles[%d]", i), "must be a percentile between 0 and 100 (exclusive), got %v", q)
		}
	}
}

// checkJSONPath compiles a path the way the HTTP collector will, so that
// a template that loads never fails a poll on its syntax.
func checkJSONPath(path string) error {
	_, err := httpsrc.New(httpsrc.Config{
		Device: "template", URL: "http://template.invalid/", Format: httpsrc.FormatJSON,
		JSON: []httpsrc.JSONMetric{{Path: path, Metric: "m"}},
	})
	if err == nil {
		return nil
	}
	// Keep the path problem, not the collector's field prefix.
	msg := err.Error()
	if i := strings.Index(msg, httpsrc.ErrPath.Error()); i >= 0 {
		msg = msg[i:]
	}
	return errors.New(msg)
}

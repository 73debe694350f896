package templates

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Device is a device template: what to collect from one kind of device and
// which graph templates show it.
type Device struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	SNMP        *SNMP    `yaml:"snmp"`
	HTTP        *HTTP    `yaml:"http"`
	Graphs      []string `yaml:"graphs"`
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

// HTTP says how to read an HTTP source.
type HTTP struct {
	Format  string   `yaml:"format"`
	Include []string `yaml:"include"`
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
var HTTPFormats = []string{"prometheus"}

// validate returns every problem of one device template, each prefixed
// with where it is.
func (d *Device) validate(graphExists func(string) bool) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("device template %q: %s: %s", d.Name, path, fmt.Sprintf(format, args...)))
	}
	if d.SNMP == nil && d.HTTP == nil {
		add("(template)", "needs an snmp or an http section")
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
	}
	for i, g := range d.Graphs {
		if !graphExists(g) {
			add(fmt.Sprintf("graphs[%d]", i), "no graph template named %q", g)
		}
	}
	return errors.Join(errs...)
}

func (o Object) check(p string, add func(string, string, ...any)) {
	if !metricRE.MatchString(o.Metric) {
		add(p+".metric", "%q is not a metric name", o.Metric)
	}
	if !oidRE.MatchString(o.OID) {
		add(p+".oid", "%q is not a numeric OID", o.OID)
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

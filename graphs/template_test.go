package graphs

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"

	"gopkg.in/yaml.v3"
)

// goodYAML is the shape the templates package decodes.
const goodYAML = `
graphs:
  - name: interface_traffic
    title: "{device} - traffic on {ifName}"
    vertical_label: bits per second
    base: 1000
    lower_limit: 0
    per: [ifName]
    defs:
      - {name: in, metric: if_in_octets, cf: AVERAGE}
      - {name: out, metric: if_out_octets, cf: AVERAGE, match: {direction: out}}
    cdefs:
      - {name: in_bits, rpn: "in,8,*"}
      - {name: out_bits, rpn: "out,8,*"}
      - {name: total, rpn: "in_bits,out_bits,ADDNAN"}
    vdefs:
      - {name: p95, ref: total, func: PERCENT, arg: 95}
      - {name: last_in, ref: in_bits, func: LAST}
    items:
      - {type: AREA, ref: in_bits, color: "#00CF00", legend: "Inbound"}
      - {type: GPRINT, ref: last_in, format: "Cur:%8.2lf%s\\n"}
      - {type: LINE, ref: out_bits, color: "#002A97", width: 2, legend: "Outbound"}
      - {type: STACK, ref: out_bits, color: "#FF000080", legend: "stacked"}
      - {type: HRULE, ref: p95, color: "#FF00FF", legend: "95th"}
      - {type: HRULE, value: 1e6, color: "#000000", dashes: [4, 2]}
      - {type: COMMENT, legend: "note"}
`

func decode(t *testing.T, src string) []Template {
	t.Helper()
	var doc struct {
		Graphs []Template `yaml:"graphs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return doc.Graphs
}

func TestValidateGood(t *testing.T) {
	ts := decode(t, goodYAML)
	if len(ts) != 1 {
		t.Fatalf("got %d templates", len(ts))
	}
	if err := ts[0].Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if ts[0].Defs[1].Match["direction"] != "out" || ts[0].LowerLimit == nil || *ts[0].LowerLimit != 0 {
		t.Errorf("decoded %+v", ts[0])
	}
}

func base() Template {
	return Template{
		Name: "cpu", Title: "{device} cpu",
		Defs:  []Def{{Name: "user", Metric: "cpu_user"}, {Name: "sys", Metric: "cpu_sys", CF: "MAX"}},
		CDefs: []CDef{{Name: "busy", RPN: "user,sys,+"}},
		Items: []Item{{Type: "AREA", Ref: "busy", Color: "#112233"}},
	}
}

func TestValidateBad(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Template)
		want []string
	}{
		{"bad rpn token", func(t *Template) { t.CDefs = append(t.CDefs, CDef{Name: "x", RPN: "user,2,FOO"}) },
			[]string{`graph template "cpu": cdefs[1] "x": rpn token 3 "FOO": unknown operator or variable`}},
		{"underflow", func(t *Template) { t.CDefs[0].RPN = "user,+" },
			[]string{`graph template "cpu": cdefs[0] "busy": rpn token 2 "+": stack underflow (needs 2 values, has 1)`}},
		{"leftover", func(t *Template) { t.CDefs[0].RPN = "user,sys" },
			[]string{`cdefs[0] "busy": rpn: "user,sys" leaves 2 values on the stack (want exactly 1)`}},
		{"later cdef not visible", func(t *Template) {
			t.CDefs = []CDef{{Name: "a", RPN: "b,1,+"}, {Name: "b", RPN: "user"}}
		}, []string{`cdefs[0] "a": rpn token 1 "b": unknown operator or variable`}},
		{"unknown ref", func(t *Template) { t.Items[0].Ref = "nope" },
			[]string{`graph template "cpu": items[0] AREA "nope": ref "nope" is not a def or cdef`}},
		{"bad colour", func(t *Template) { t.Items[0].Color = "red" },
			[]string{`items[0] AREA "busy": colour "red": want #RRGGBB or #RRGGBBAA`}},
		{"bad colour hex", func(t *Template) { t.Items[0].Color = "#12345G" }, []string{`colour "#12345G"`}},
		{"unknown cf", func(t *Template) { t.Defs[0].CF = "MEDIAN" },
			[]string{`defs[0] "user": unknown consolidation function "MEDIAN"`}},
		{"unknown type", func(t *Template) { t.Items[0].Type = "BAR" }, []string{`items[0]: unknown type "BAR"`}},
		{"duplicate names", func(t *Template) { t.CDefs[0].Name = "user" }, []string{`cdefs[0] "user": name used twice`}},
		{"reserved name", func(t *Template) { t.Defs[0].Name = "TIME" }, []string{`defs[0] "TIME": name is an RPN operator`}},
		{"bad template name", func(t *Template) { t.Name = "CPU Load" }, []string{`name "CPU Load": use only a-z`}},
		{"stack first", func(t *Template) { t.Items[0].Type = "STACK" }, []string{`nothing to stack on`}},
		{"no defs no items", func(t *Template) { t.Defs, t.CDefs, t.Items = nil, nil, nil }, []string{`no defs`, `no items`}},
		{"title var", func(t *Template) { t.Title = "{ifName} on {device}" }, []string{`title variable {ifName}: not device, a per label nor one of labels`}},
		{"labels", func(t *Template) { t.Labels = []string{"ifAlias", "ifAlias", "device", "bad-name"} },
			[]string{`labels[1] "ifAlias": already a variable`, `labels[2] "device": already a variable`, `labels[3] "bad-name": not a label name`}},
		{"base", func(t *Template) { t.Base = 1023 }, []string{`base 1023: want 1000 or 1024`}},
		{"limits", func(t *Template) { t.LowerLimit, t.UpperLimit = f64(5), f64(1) }, []string{`lower_limit 5 must be below upper_limit 1`}},
		{"per device", func(t *Template) { t.Per = []string{"device"} }, []string{`per[0] "device"`}},
		{"match per label", func(t *Template) {
			t.Per = []string{"ifName"}
			t.Defs[0].Match = map[string]string{"ifName": "x"}
		}, []string{`defs[0] "user": match label "ifName" is set by the graph itself`}},
		{"gprint format", func(t *Template) {
			t.VDefs = []VDef{{Name: "m", Ref: "busy", Func: "MAXIMUM"}}
			t.Items = append(t.Items, Item{Type: "GPRINT", Ref: "m", Format: "%d"})
		}, []string{`items[1] GPRINT "m": format "%d": bad conversion at byte 0`}},
		{"vdef func", func(t *Template) { t.VDefs = []VDef{{Name: "m", Ref: "busy", Func: "MEAN"}} }, []string{`vdefs[0] "m": unknown function "MEAN"`}},
		{"percent arg", func(t *Template) { t.VDefs = []VDef{{Name: "m", Ref: "busy", Func: "PERCENT", Arg: 101}} }, []string{`PERCENT needs arg from 0 to 100`}},
		{"hrule needs vdef", func(t *Template) { t.Items = append(t.Items, Item{Type: "HRULE", Ref: "busy", Color: "#000000"}) }, []string{`items[1] HRULE "busy": ref "busy" is not a vdef`}},
		{"right axis scale", func(t *Template) { t.RightAxis = &RightAxis{Scale: 0} }, []string{`right_axis: scale must be a finite number other than 0`}},
		{"width on area", func(t *Template) { t.Items[0].Width = 2 }, []string{`only LINE, HRULE, VRULE and FORECAST take a width`}},
		{"every problem at once", func(t *Template) {
			t.Items[0].Color = "#zz"
			t.CDefs[0].RPN = "user,BAR"
			t.Defs[1].CF = "x"
		}, []string{`colour "#zz"`, `rpn token 2 "BAR"`, `unknown consolidation function "x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := base()
			tc.edit(&tm)
			err := tm.Validate()
			if err == nil {
				t.Fatalf("Validate succeeded, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
	if err := func() error { tm := base(); return tm.Validate() }(); err != nil {
		t.Fatalf("base template invalid: %v", err)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		f    string
		v    float64
		base float64
		want string
	}{
		{"%8.2lf%s", 1234567, 1000, "    1.23M"},
		{"%8.2lf%s", 1536, 1024, "    1.50k"},
		{"Cur:%6.1lf %sb", 0.005, 1000, "Cur:   5.0 mb"},
		{"%.0lf%%", 95, 1000, "95%"},
		{"%8.2lf%s", 12, 1000, "   12.00 "},
		{"%le", 12, 1000, "1.200000e+01"},
		{"%8.2lf%s", math.NaN(), 1000, "     nan "},
		{"Max:%6.1lf", math.Inf(-1), 1000, "Max:  -inf"},
	}
	for _, tc := range tests {
		g, err := parseFormat(tc.f)
		if err != nil {
			t.Fatalf("%q: %v", tc.f, err)
		}
		if got := g.format(tc.v, tc.base); got != tc.want {
			t.Errorf("format(%q, %v) = %q, want %q", tc.f, tc.v, got, tc.want)
		}
	}
	for _, bad := range []string{"", "no number", "%s%lf", "%lf%lf", "%d", "%8.2.1lf", "%lf%s%s"} {
		if _, err := parseFormat(bad); err == nil {
			t.Errorf("parseFormat(%q) accepted", bad)
		}
	}
	if got := formatSI(1.234e6, 1000, 2, "b"); got != "1.23 Mb" {
		t.Errorf("formatSI = %q", got)
	}
	if got := formatSI(1000, 1000, 2, ""); got != "1.00 k" {
		t.Errorf("formatSI(1000) = %q", got)
	}
}

// fuzzData serves a gauge named m with unknowns, zeros and negatives.
var fuzzData = func() *fakeQuerier {
	q := &fakeQuerier{}
	vals := make([]float64, 120)
	for i := range vals {
		vals[i] = float64(i%7) - 2
		if i%11 == 0 {
			vals[i] = math.NaN()
		}
	}
	q.add(metric.New(metric.NameLabel, "m", metric.DeviceLabel, "router1"), benchEnd.Add(-119*time.Minute), time.Minute, vals)
	return q
}()

func FuzzTemplateYAML(f *testing.F) {
	f.Add(goodYAML)
	f.Add("graphs: [{name: x, title: t, defs: [{name: a, metric: m}], items: [{type: LINE, ref: a, color: '#000000'}]}]")
	f.Add("graphs: [{name: x, title: t, logarithmic: true, future: 2d, right_axis: {scale: 2}, defs: [{name: a, metric: m}], cdefs: [{name: b, rpn: 'a,600,TREND'}], vdefs: [{name: v, ref: b, func: LSLSLOPE}], items: [{type: AREA, ref: a, color: '#000000'}, {type: STACK, ref: b, color: '#00000080'}, {type: FORECAST, ref: a, color: '#FF0000', threshold: 3}, {type: HRULE, ref: v, color: '#00FF00'}, {type: VRULE, ref: v, color: '#00FF00'}, {type: GPRINT, ref: v, format: '%lf%s'}]}]")
	f.Fuzz(func(t *testing.T, src string) {
		var doc struct {
			Graphs []Template `yaml:"graphs"`
		}
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if dec.Decode(&doc) != nil {
			return
		}
		for i := range doc.Graphs {
			tm := &doc.Graphs[i]
			if tm.Validate() != nil || len(tm.Per) > 0 {
				continue
			}
			// A template that loads must render, whatever it asks for.
			p, err := NewPlan(context.Background(), fuzzData, tm, map[string]string{"device": "router1"},
				Options{From: benchEnd.Add(-2 * time.Hour), To: benchEnd, Width: 200, Height: 120})
			if err != nil {
				t.Fatalf("valid template failed to plan: %v", err)
			}
			if err := p.PNG(io.Discard); err != nil {
				t.Fatal(err)
			}
			if err := p.CSV(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}

package httpsrc

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// A Jolokia read of java.lang:type=Memory plus an application's counters.
const jolokia = `{
  "request": {"mbean": "java.lang:type=Memory", "type": "read"},
  "value": {
    "HeapMemoryUsage": {"init": 262144000, "committed": 251658240, "max": 4164943872, "used": 73400320},
    "NonHeapMemoryUsage": {"used": 52428800},
    "Verbose": false
  },
  "timestamp": 1700000000,
  "status": 200,
  "app": {
    "orders": {"eu": {"placed": 9007199254740993, "failed": 3}, "us": {"placed": 12, "failed": "4"}},
    "queues": [{"depth": 5}, {"depth": 7.5}, {"depth": null}],
    "weird.key": {"n": 1}
  }
}`

var derive0 = metric.DS{Type: metric.Derive, Min: 0, Max: math.NaN()}

func TestJSONPaths(t *testing.T) {
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(jolokia))
	})
	c := mustNew(t, Config{Device: "jvm1", URL: u, Format: FormatJSON, JSON: []JSONMetric{
		{Path: "value.HeapMemoryUsage.used", Metric: "jvm_heap_used_bytes", DS: gaugeDS},
		{Path: "$.value.NonHeapMemoryUsage.used", Metric: "jvm_nonheap_used_bytes", DS: gaugeDS},
		{Path: "value.Verbose", Metric: "jvm_verbose", DS: gaugeDS},
		{Path: "app.orders.{region}.placed", Metric: "orders_placed_total", DS: derive0},
		{Path: "app.orders.{region}.failed", Metric: "orders_failed_total", DS: derive0},
		{Path: "app.queues[{queue}].depth", Metric: "queue_depth", DS: gaugeDS},
		{Path: `app["weird.key"].n`, Metric: "weird", DS: gaugeDS},
		{Path: "app.queues[1].depth", Metric: "second_queue_depth", DS: gaugeDS},
		{Path: "value.NoSuchThing", Metric: "missing", DS: gaugeDS},
		{Path: "value.HeapMemoryUsage", Metric: "object", DS: gaugeDS},
	}})
	s, err := c.Poll(t.Context(), time.Now())
	if err == nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("error %v, want the missing path reported", err)
	}
	for _, want := range []string{"jvm1", "value.NoSuchThing", "value.HeapMemoryUsage: value is an object", `queue="2"`, "null"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, tc := range []struct {
		name  string
		kv    []string
		value float64
	}{
		{"jvm_heap_used_bytes", nil, 73400320},
		{"jvm_nonheap_used_bytes", nil, 52428800},
		{"jvm_verbose", nil, 0},
		{"orders_placed_total", []string{"region", "us"}, 12},
		{"orders_failed_total", []string{"region", "us"}, 4},
		{"orders_failed_total", []string{"region", "eu"}, 3},
		{"queue_depth", []string{"queue", "0"}, 5},
		{"queue_depth", []string{"queue", "1"}, 7.5},
		{"second_queue_depth", nil, 7.5},
		{"weird", nil, 1},
	} {
		got := find(s, tc.name, tc.kv...)
		if len(got) != 1 || got[0].Value != tc.value || got[0].Labels.Get("device") != "jvm1" {
			t.Errorf("%s %v = %v, want one sample of %v", tc.name, tc.kv, got, tc.value)
		}
	}
	// Integers of counting types are exact beyond 2^53.
	if p := find(s, "orders_placed_total", "region", "eu"); len(p) != 1 || !p[0].Exact || p[0].Count != 9007199254740993 {
		t.Errorf("big counter %+v, want exact 9007199254740993", p)
	}
	if len(find(s, "queue_depth")) != 2 {
		t.Error("null queue depth produced a sample")
	}
}

func TestJSONBadDocuments(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":        "<html>",
		"truncated":       `{"a": {"b": 1}`,
		"trailing data":   `{"a": 1} {"a": 2}`,
		"huge exponent":   `{"a": 1e999}`,
		"empty body":      ``,
		"number overflow": `{"a": -1e400}`,
	} {
		t.Run(name, func(t *testing.T) {
			u := serve(t, text(body))
			c := mustNew(t, Config{Device: "j", URL: u, Format: FormatJSON, JSON: []JSONMetric{{Path: "a", Metric: "a", DS: gaugeDS}}})
			s, err := c.Poll(t.Context(), time.Now())
			if err == nil || len(s) != 0 {
				t.Fatalf("%d samples, error %v", len(s), err)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // segments rendered, or "error"
	}{
		{"a.b.c", "k:a k:b k:c"},
		{"$.a[0].b", "k:a i:0 k:b"},
		{"$a", "k:a"},
		{`["x.y"]["z]"].n`, "k:x.y k:z] k:n"},
		{"a.{l}.b[{m}]", "k:a w:l k:b w:m"},
		{"a..b", "error"},
		{"a.", "error"},
		{"a[", "error"},
		{"a[-1]", "error"},
		{"a[+1]", "error"},
		{"a[x]", "error"},
		{"a.{1bad}", "error"},
		{"a.{l}.{l}", "error"},
		{`a["unterminated]`, "error"},
		{"", "error"},
		{"$", "error"},
		{"a]b", "error"},
	} {
		segs, err := parsePath(tc.in)
		got := "error"
		if err == nil {
			var parts []string
			for _, s := range segs {
				switch s.kind {
				case segKey:
					parts = append(parts, "k:"+s.key)
				case segIndex:
					parts = append(parts, "i:"+strconv.Itoa(s.index))
				case segWild:
					parts = append(parts, "w:"+s.key)
				}
			}
			got = strings.Join(parts, " ")
		} else if !errors.Is(err, ErrPath) {
			t.Errorf("%q: error %v is not ErrPath", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("parsePath(%q) = %s (%v), want %s", tc.in, got, err, tc.want)
		}
	}
}

func FuzzJSON(f *testing.F) {
	f.Add("a.b", `{"a": {"b": 1}}`)
	f.Add("x[{i}].y", `{"x": [{"y": 1}, {"y": "2"}, {"y": true}]}`)
	f.Add(`["k"].{l}`, `{"k": {"a": 1, "b": null}}`)
	f.Fuzz(func(t *testing.T, path, doc string) {
		segs, err := parsePath(path)
		if err != nil {
			return
		}
		cm := []compiledJSON{{m: JSONMetric{Path: path, Metric: "m", DS: gaugeDS}, segs: segs, base: metric.New("device", "d", metric.NameLabel, "m")}}
		s, _ := parseJSON([]byte(doc), cm)
		for _, x := range s {
			if math.IsInf(x.Value, 0) || math.IsNaN(x.Value) {
				t.Fatalf("non-finite value %v from %q at %q", x.Value, doc, path)
			}
			if x.Labels.Get("device") != "d" || x.Labels.Get(metric.NameLabel) != "m" {
				t.Fatalf("labels %v lost device or name", x.Labels)
			}
		}
	})
}

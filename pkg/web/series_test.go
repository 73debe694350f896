package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// memSeries holds label sets; Select returns, for each match, row i =
// i + 1000*series index on the requested grid, with row 1 unknown.
type memSeries struct{ all []metric.Labels }

func newMemSeries(n int) *memSeries {
	m := &memSeries{}
	for i := range n {
		m.all = append(m.all, metric.New("__name__", "ifHCInOctets", "device", fmt.Sprintf("r%d", i%3), "ifName", fmt.Sprintf("eth%02d", i)))
	}
	return m
}

func (m *memSeries) Series(_ context.Context, sel metric.Selector) ([]metric.Labels, error) {
	var out []metric.Labels
	for _, l := range m.all {
		if sel.Matches(l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (m *memSeries) Select(_ context.Context, q metric.Query) ([]metric.Series, error) {
	var out []metric.Series
	start := q.From.Truncate(q.Step).Add(q.Step)
	n := int(q.To.Sub(start)/q.Step) + 1
	for j, l := range m.all {
		if !q.Match.Matches(l) {
			continue
		}
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = float64(i + 1000*j)
		}
		if n > 1 {
			vals[1] = math.NaN()
		}
		out = append(out, metric.Series{Labels: l, Start: start, Step: q.Step, Values: vals})
	}
	return out, nil
}

func TestParseSelector(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`ifHCInOctets`, `__name__=ifHCInOctets`, ""},
		{`{device="r1"}`, `device=r1`, ""},
		{`ifHCInOctets{device="r1", ifName=~"eth.*"}`, `__name__=ifHCInOctets device=r1 ifName=~eth.*`, ""},
		{`{a="x\"y"}`, `a=x"y`, ""},
		{`m{a="1",}`, `__name__=m a=1`, ""},
		{``, ``, "empty"},
		{`{}`, ``, "at least one"},
		{`{a!="x"}`, ``, "negative"},
		{`{a="x"`, ``, "want name{"},
		{`{a=x}`, ``, "quoted"},
		{`{a="x}`, ``, "unterminated"},
		{`{a=~"("}`, ``, "regular expression"},
		{`{9a="x"}`, ``, "label name"},
		{`m{a<"x"}`, ``, "want = or =~"},
	}
	for _, tc := range cases {
		sel, err := parseSelector(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		var parts []string
		for _, m := range sel {
			op := "="
			if m.Regex {
				op = "=~"
			}
			parts = append(parts, m.Name+op+m.Value)
		}
		if err != nil || strings.Join(parts, " ") != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, parts, err, tc.want)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{`m`, `{a="b"}`, `m{a=~"x.*",b="\\"}`, `{a!="x"}`, `{"`, `m{a="1",}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := parseSelector(s)
		if err == nil && len(sel) == 0 {
			t.Errorf("%q: no error and no matcher", s)
		}
	})
}

func TestAPISeries(t *testing.T) {
	src := newMemSeries(12)
	env := newTestEnvOpts(t, nil, nil, func(o *Options) { o.Series = src })
	type list struct {
		Series []map[string]string
		Paging pageJSON
	}
	get := func(q url.Values) (int, list, string) {
		code, _, body := env.do(t, "GET", "/api/v1/series?"+q.Encode(), auth.RoleViewer, nil)
		var l list
		_ = json.Unmarshal([]byte(body), &l)
		return code, l, body
	}
	code, l, body := get(url.Values{"match[]": {`{device="r1"}`, `ifHCInOctets{ifName="eth00"}`}, "per_page": {"3"}, "page": {"2"}})
	// r1 has eth01, eth04, eth07, eth10; eth00 is r0: 5 series, page 2 of 3 holds 2.
	if code != 200 || l.Paging.Total != 5 || len(l.Series) != 2 || l.Series[0]["ifName"] != "eth07" || l.Series[1]["ifName"] != "eth10" {
		t.Errorf("series: %d %s", code, body)
	}
	for _, tc := range []struct {
		q     url.Values
		field string
	}{
		{url.Values{}, "match[]"},
		{url.Values{"match[]": {`{a!="x"}`}}, "match[]"},
		{url.Values{"match[]": {`m`}, "per_page": {"0"}}, "per_page"},
	} {
		if code, _, body := get(tc.q); code != 400 || !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%v: %d %s", tc.q, code, body)
		}
	}
}

func TestAPISeriesData(t *testing.T) {
	src := newMemSeries(120)
	env := newTestEnvOpts(t, nil, nil, func(o *Options) { o.Series = src })
	q := url.Values{"match": {`{ifName=~"eth0[12]"}`}, "start": {"1700000000"}, "end": {"1700003600"}, "step": {"600"}, "cf": {"max"}}
	code, _, body := env.do(t, "GET", "/api/v1/series/data?"+q.Encode(), auth.RoleViewer, nil)
	var doc struct {
		Step   float64
		CF     string
		Series []struct {
			Labels map[string]string
			Step   float64
			Values [][2]any
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("data: %d %s", code, body)
	}
	if doc.Step != 600 || doc.CF != "MAX" || len(doc.Series) != 2 || doc.Series[0].Labels["ifName"] != "eth01" || doc.Series[1].Labels["ifName"] != "eth02" {
		t.Fatalf("data: %s", body)
	}
	s1 := doc.Series[1].Values
	// Rows end at 1700000400 (the first step end after start) and run to end.
	if len(s1) != 6 || s1[0][0].(float64) != 1700000400 || s1[0][1].(float64) != 2000 || s1[1][1] != nil || s1[5][1].(float64) != 2005 {
		t.Errorf("series values: %v", s1)
	}
	// The same as CSV, by suffix and by format=csv.
	for _, u := range []string{"/api/v1/series/data.csv?" + q.Encode(), "/api/v1/series/data?format=csv&" + q.Encode()} {
		code, h, body := env.do(t, "GET", u, auth.RoleViewer, nil)
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if code != 200 || err != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || len(rows) != 7 {
			t.Fatalf("csv: %d %v %s", code, err, body)
		}
		if rows[0][0] != "time" || !strings.Contains(rows[0][1], `ifName="eth01"`) || rows[1][0] != "1700000400" || rows[1][2] != "2000" || rows[2][2] != "" || rows[6][1] != "1005" {
			t.Errorf("csv rows: %v", rows)
		}
	}
	for _, tc := range []struct {
		q     string
		field string
	}{
		{"match=", "match"},
		{"match=" + url.QueryEscape(`{ifName=~"eth.*"}`), "match"}, // 120 series > 100
		{"match=m&start=-1y&step=60", "step"},                      // 525,600 rows
		{"match=m&step=0", "step"},
		{"match=m&step=fast", "step"},
		{"match=m&cf=median", "cf"},
		{"match=m&start=now&end=-1d", "start"},
		{"match=m&format=xml", "format"},
	} {
		if code, _, body := env.do(t, "GET", "/api/v1/series/data?"+tc.q, auth.RoleViewer, nil); code != 400 || !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s, want 400 on %s", tc.q, code, body, tc.field)
		}
	}
	// A year at the default step stays within bounds.
	if code, _, body := env.do(t, "GET", "/api/v1/series/data?match="+url.QueryEscape(`{ifName="eth03"}`)+"&start=-1y", auth.RoleViewer, nil); code != 200 {
		t.Errorf("default step: %d %.200s", code, body)
	}
	_ = time.Second
}

// TestAPISeriesScope: a viewer limited to some devices sees only their series.
func TestAPISeriesScope(t *testing.T) {
	src := newMemSeries(6)
	env := newTestEnvOpts(t, nil, nil, func(o *Options) { o.Series = src })
	if err := env.store.SetScope("viewer1", auth.Scope{Devices: []string{"r2"}}); err != nil {
		t.Fatal(err)
	}
	_, _, body := env.do(t, "GET", "/api/v1/series?match[]=ifHCInOctets", auth.RoleViewer, nil)
	if strings.Contains(body, `"r0"`) || strings.Contains(body, `"r1"`) || strings.Count(body, `"r2"`) != 2 {
		t.Errorf("scoped list: %s", body)
	}
	_, _, body = env.do(t, "GET", "/api/v1/series/data?match=ifHCInOctets", auth.RoleViewer, nil)
	if strings.Contains(body, `"r0"`) || strings.Count(body, `"r2"`) != 2 {
		t.Errorf("scoped data: %.300s", body)
	}
}

// TestSeriesAndDevicesHostile: hostile values in every parameter of the
// series routes and in device bodies give 2xx, 400 or 404, never a 500,
// and markup never comes back unescaped in a JSON error.
func TestSeriesAndDevicesHostile(t *testing.T) {
	ed := newMemEditor(t)
	env := newTestEnvOpts(t, nil, ed, func(o *Options) { o.Series = newMemSeries(4); o.DeviceEditor = ed })
	for _, v := range hostile {
		for _, p := range []string{"match", "match[]", "start", "end", "step", "cf", "format", "page", "per_page"} {
			for _, path := range []string{"/api/v1/series", "/api/v1/series/data", "/api/v1/series/data.csv"} {
				q := url.Values{p: {v}}
				if p != "match" && p != "match[]" {
					q.Set("match", "ifHCInOctets")
					q.Set("match[]", "ifHCInOctets")
				}
				code, _, body := env.do(t, "GET", path+"?"+q.Encode(), auth.RoleViewer, nil)
				if code != 200 && code != 400 || strings.Contains(body, "<script>") {
					t.Errorf("GET %s?%s=%.40q: %d %.200s", path, p, v, code, body)
				}
			}
		}
		b, _ := json.Marshal(map[string]any{"name": v, "template": v, "snmp": map[string]any{"address": v, "community": v}})
		code, _, body := env.do(t, "POST", "/api/v1/devices", auth.RoleEditor, strings.NewReader(string(b)), "Content-Type", "application/json")
		// A few are good names ("1e309"); the fake editor has no templates.
		if code != 400 && code != 201 || strings.Contains(body, "<script>") {
			t.Errorf("POST device named %.40q: %d %.200s", v, code, body)
		}
		for _, m := range []string{"PUT", "DELETE"} {
			if code, _, _ := env.do(t, m, "/api/v1/devices/"+url.PathEscape(v), auth.RoleEditor, strings.NewReader(`{"template":"t"}`)); code >= 500 {
				t.Errorf("%s device %.40q: %d", m, v, code)
			}
		}
	}
}

package web

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

func TestAPIGraphsFiltersAndPaging(t *testing.T) {
	m := newManyGraphs(t, 5, 8) // 40 graphs
	env := newTestEnvWith(t, m, manyDevices{m})
	type list struct {
		Graphs []graphJSON
		Paging pageJSON
	}
	get := func(q string) list {
		t.Helper()
		code, _, body := env.do(t, "GET", "/api/v1/graphs"+q, auth.RoleViewer, nil)
		var l list
		if code != 200 || json.Unmarshal([]byte(body), &l) != nil {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		return l
	}
	cases := []struct {
		q           string
		n, total    int
		first, last string
	}{
		{"", 40, 40, "rtr-000.interface_traffic.eth0", "rtr-004.disk.eth1"},
		{"?per_page=15&page=3", 10, 40, "rtr-003.memory.eth1", "rtr-004.disk.eth1"},
		{"?device=rtr-002", 8, 8, "rtr-002.interface_traffic.eth0", "rtr-002.disk.eth1"},
		{"?template=cpu&per_page=2", 2, 10, "rtr-000.cpu.eth0", "rtr-000.cpu.eth1"},
		{"?q=RTR-003+memory", 2, 2, "rtr-003.memory.eth0", "rtr-003.memory.eth1"},
		{"?label=ifName=eth1&template=disk", 5, 5, "rtr-000.disk.eth1", "rtr-004.disk.eth1"},
		{"?q=nothing-matches", 0, 0, "", ""},
		{"?page=9", 0, 40, "", ""},
	}
	for _, tc := range cases {
		l := get(tc.q)
		if len(l.Graphs) != tc.n || l.Paging.Total != tc.total {
			t.Errorf("%s: %d graphs of %d, want %d of %d", tc.q, len(l.Graphs), l.Paging.Total, tc.n, tc.total)
			continue
		}
		if tc.n > 0 && (l.Graphs[0].ID != tc.first || l.Graphs[tc.n-1].ID != tc.last) {
			t.Errorf("%s: %s .. %s, want %s .. %s", tc.q, l.Graphs[0].ID, l.Graphs[tc.n-1].ID, tc.first, tc.last)
		}
	}
	if g := get("?per_page=1").Graphs[0]; g.SVG != "/api/v1/graphs/"+g.ID+".svg" || g.JSON != "/api/v1/graphs/"+g.ID+".json" || g.Page != "/graph/"+g.ID {
		t.Errorf("links: %+v", g)
	}
}

func TestAPIFormats(t *testing.T) {
	env := newTestEnv(t, nil)
	for _, tc := range []struct{ ext, ctype, prefix string }{
		{"png", "image/png", "\x89PNG"},
		{"svg", "image/svg+xml", "<?xml"},
		{"csv", "text/csv", "#"},
		{"json", "application/json", "{"},
	} {
		code, h, body := env.do(t, "GET", "/api/v1/graphs/dev1.temp."+tc.ext+"?start=-6h&width=400&height=150&theme=dark", auth.RoleViewer, nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), tc.ctype) || !strings.HasPrefix(strings.TrimSpace(body), tc.prefix) {
			t.Errorf("%s: %d %s %.40q", tc.ext, code, h.Get("Content-Type"), body)
		}
	}
	// JSON carries the geometry the zoom script maps drags with.
	_, _, body := env.do(t, "GET", "/api/v1/graphs/dev1.temp.json?start=1700000000&end=1700086400&width=400&height=150", auth.RoleViewer, nil)
	var doc struct {
		Meta struct {
			Geometry struct {
				Width    int
				Plot     [4]float64
				TimeFrom float64 `json:"time_from"`
				TimeTo   float64 `json:"time_to"`
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Meta.Geometry.Width != 400 || doc.Meta.Geometry.Plot[2] <= 0 || doc.Meta.Geometry.Plot[2] > 400 ||
		doc.Meta.Geometry.TimeFrom > 1700000000 || doc.Meta.Geometry.TimeTo < 1700086400-600 {
		t.Errorf("json geometry: %v %+v", err, doc.Meta.Geometry)
	}
	if code, _, body := env.do(t, "GET", "/api/v1/graphs/dev1.temp.png?theme=blue", auth.RoleViewer, nil); code != 400 || !strings.Contains(body, `"field":"theme"`) {
		t.Errorf("bad theme: %d %s", code, body)
	}
	// CSV is an attachment with a safe file name.
	if _, h, _ := env.do(t, "GET", "/api/v1/graphs/dev1.temp.csv", auth.RoleViewer, nil); h.Get("Content-Disposition") != `attachment; filename="dev1.temp.csv"` {
		t.Errorf("csv disposition %q", h.Get("Content-Disposition"))
	}
}

func TestAPIAdHoc(t *testing.T) {
	m := newManyGraphs(t, 1, 4)
	env := newTestEnvWith(t, m, manyDevices{m})
	code, _, body := env.do(t, "GET", "/api/v1/graph?template=cpu&device=any-host&var.ifName=eth9&width=300&height=120", auth.RoleViewer, nil)
	if code != 200 {
		t.Fatalf("ad-hoc: %d %s", code, body)
	}
	img, err := png.Decode(bytes.NewReader([]byte(body)))
	if err != nil || img.Bounds().Dx() != 300 || img.Bounds().Dy() != 120 {
		t.Errorf("ad-hoc png: %v", err)
	}
	for _, tc := range []struct{ q, field string }{
		{"device=x", "template"}, {"template=cpu", "device"}, {"template=cpu&device=x&format=gif", "format"},
	} {
		if code, _, body := env.do(t, "GET", "/api/v1/graph?"+tc.q, auth.RoleViewer, nil); code != 400 || !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s", tc.q, code, body)
		}
	}
	if code, _, _ := env.do(t, "GET", "/api/v1/graph?template=nope&device=x", auth.RoleViewer, nil); code != 404 {
		t.Errorf("unknown template: %d", code)
	}
}

func TestAPIDevicesAndTemplates(t *testing.T) {
	env := newTestEnv(t, nil)
	var devs struct {
		Devices []deviceJSON
		Paging  pageJSON
	}
	_, _, body := env.do(t, "GET", "/api/v1/devices", auth.RoleViewer, nil)
	if err := json.Unmarshal([]byte(body), &devs); err != nil || len(devs.Devices) != 2 || devs.Devices[1].Error != "request timeout" {
		t.Fatalf("devices: %v %s", err, body)
	}
	_, _, body = env.do(t, "GET", "/api/v1/devices?status=error", auth.RoleViewer, nil)
	if err := json.Unmarshal([]byte(body), &devs); err != nil || len(devs.Devices) != 1 || devs.Devices[0].Name != "dev2" {
		t.Errorf("devices with errors: %s", body)
	}
	var dev deviceJSON
	_, _, body = env.do(t, "GET", "/api/v1/devices/dev1", auth.RoleViewer, nil)
	if err := json.Unmarshal([]byte(body), &dev); err != nil || len(dev.Graphs) != 1 || len(dev.Sources) != 1 || dev.Sources[0].Metric != "temp" {
		t.Errorf("device: %v %s", err, body)
	}
	if code, _, _ := env.do(t, "GET", "/api/v1/devices/nope", auth.RoleViewer, nil); code != 404 {
		t.Errorf("unknown device: %d", code)
	}
	code, _, body := env.do(t, "GET", "/api/v1/templates?kind=graph", auth.RoleViewer, nil)
	if code != 200 || !strings.Contains(body, `"valid":true`) || strings.Contains(body, `"kind":"device"`) {
		t.Errorf("graph templates: %d %s", code, body)
	}
	code, _, body = env.do(t, "GET", "/api/v1/templates/graph/temp", auth.RoleViewer, nil)
	if code != 200 || !strings.Contains(body, `"yaml":"graphs:`) {
		t.Errorf("template: %d %s", code, body)
	}
	code, _, body = env.do(t, "POST", "/api/v1/templates/validate", auth.RoleEditor, strings.NewReader("graphs:\n  - name: x\n    color: bad\n"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "not a colour") {
		t.Errorf("bad template: %d %s", code, body)
	}
	// Pages: the template's YAML is shown escaped; the device page lists
	// its data sources and its poll error.
	_, _, body = env.do(t, "GET", "/templates/graph/temp", auth.RoleViewer, nil)
	if !strings.Contains(body, "title: &lt;script&gt;") {
		t.Errorf("template page does not show the YAML escaped:\n%s", body)
	}
	_, _, body = env.do(t, "GET", "/device/dev2", auth.RoleViewer, nil)
	if !strings.Contains(body, "request timeout") || !strings.Contains(body, ".1.3.6.1.4.1.2021.13.16.2.1.3") {
		t.Errorf("device page lacks the error or the data sources:\n%s", body)
	}
}

func TestAPITokens(t *testing.T) {
	env := newTestEnv(t, nil)
	code, _, body := env.do(t, "POST", "/api/v1/tokens", auth.RoleViewer, strings.NewReader(`{"name":"script","expires_days":30}`), "Content-Type", "application/json")
	var made struct {
		ID    int64
		Token string
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &made) != nil || !strings.HasPrefix(made.Token, "sag_") {
		t.Fatalf("new token: %d %s", code, body)
	}
	use := func() int {
		c, _, _ := env.do(t, "GET", "/api/v1/graphs", "", nil, "Authorization", "Bearer "+made.Token)
		return c
	}
	if c := use(); c != 200 {
		t.Errorf("new token: %d", c)
	}
	_, _, body = env.do(t, "GET", "/api/v1/tokens", auth.RoleViewer, nil)
	if strings.Contains(body, made.Token) || !strings.Contains(body, `"name":"script"`) || !strings.Contains(body, `"expires"`) {
		t.Errorf("token list: %s", body)
	}
	// Someone else cannot revoke it; its owner can.
	if c, _, _ := env.do(t, "DELETE", "/api/v1/tokens/"+itoa(made.ID), auth.RoleEditor, nil); c != 404 {
		t.Errorf("revoking another user's token: %d", c)
	}
	if c, _, _ := env.do(t, "DELETE", "/api/v1/tokens/"+itoa(made.ID), auth.RoleViewer, nil); c != 204 {
		t.Errorf("revoke: %d", c)
	}
	if c := use(); c != 401 {
		t.Errorf("revoked token: %d", c)
	}
	for _, b := range []string{`{"name":""}`, `{"name":"x","expires_days":-1}`, `not json`} {
		if c, _, body := env.do(t, "POST", "/api/v1/tokens", auth.RoleViewer, strings.NewReader(b), "Content-Type", "application/json"); c != 400 || !strings.Contains(body, `"field"`) {
			t.Errorf("%s: %d %s", b, c, body)
		}
	}
}

func itoa(n int64) string { return formatInt(n) }

func formatInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestHomePaging(t *testing.T) {
	m := newManyGraphs(t, 10, 10) // 100 graphs
	env := newTestEnvWith(t, m, manyDevices{m})
	for _, tc := range []struct {
		q      string
		imgs   int
		marker string
	}{
		{"/", 24, "page 1 of 5"},
		{"/?page=5", 4, "page 5 of 5"},
		{"/?per_page=48&page=2", 48, "page 2 of 3"},
		{"/?page=99", 4, "page 5 of 5"},
	} {
		code, _, body := env.do(t, "GET", tc.q, auth.RoleViewer, nil)
		if n := strings.Count(body, `class="zoomable"`); code != 200 || n != tc.imgs || !strings.Contains(body, tc.marker) {
			t.Errorf("%s: %d, %d images, want %d and %q", tc.q, code, n, tc.imgs, tc.marker)
		}
	}
	_, _, body := env.do(t, "GET", "/?per_page=48", auth.RoleViewer, nil)
	if !strings.Contains(body, `href="/?per_page=96&amp;start=-1d"`) || !strings.Contains(body, `aria-current="true" class="active">48<`) {
		t.Errorf("per-page choices missing or wrong")
	}
}

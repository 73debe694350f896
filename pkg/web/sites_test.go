package web

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

func TestInSiteAndTrees(t *testing.T) {
	for _, tc := range []struct {
		site, p string
		want    bool
	}{
		{"emea/fra1", "emea", true}, {"emea/fra1", "emea/fra1", true}, {"emea", "emea", true}, {"emea/fra1", "", true}, {"", "", true},
		{"emea-2/x", "emea", false}, {"emea", "emea/fra1", false}, {"emea/fra10", "emea/fra1", false}, {"", "emea", false}, {"amer", "emea", false},
	} {
		if got := inSite(tc.site, tc.p); got != tc.want {
			t.Errorf("inSite(%q, %q) = %v, want %v", tc.site, tc.p, got, tc.want)
		}
	}
	if got := siteTrees("a/b/c"); !slices.Equal(got, []string{"a/b/c", "a/b", "a"}) {
		t.Errorf("siteTrees: %q", got)
	}
	if got := siteTrees(""); got != nil {
		t.Errorf("siteTrees of no site: %q", got)
	}
}

// Six devices of four graphs: rtr-000 and rtr-004 in emea/fra1, rtr-001
// in emea/lon2, rtr-002 in amer, rtr-003 and rtr-005 in none.
var testSites = []string{"emea/fra1", "emea/lon2", "amer", "", "emea/fra1", ""}

func newSitesEnv(t *testing.T) *testEnv {
	m := newManyGraphs(t, 6, 4)
	return newTestEnvWith(t, m, sitedDevices{manyDevices{m}, testSites})
}

// treeOrder lists the tree's sites (as "site:path") and devices in
// document order.
func treeOrder(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-site="([^"]+)"|id="device-([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if m[1] != "" {
			out = append(out, "site:"+m[1])
		} else {
			out = append(out, m[2])
		}
	}
	return out
}

// siteTag returns the opening of a site's summary up to its count.
func siteTag(body, path string) string {
	i := strings.Index(body, `data-site="`+path+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</summary>")
	return body[i : i+j]
}

func TestSiteTree(t *testing.T) {
	env := newSitesEnv(t)
	code, _, body := env.do(t, "GET", "/", auth.RoleViewer, nil)
	if code != 200 {
		t.Fatalf("home: %d", code)
	}
	// Sites by name, child sites in their parent, devices in
	// configuration order, devices without a site last at the top.
	want := []string{"site:amer", "rtr-002", "site:emea", "site:emea/fra1", "rtr-000", "rtr-004", "site:emea/lon2", "rtr-001", "rtr-003", "rtr-005"}
	if got := treeOrder(body); !slices.Equal(got, want) {
		t.Errorf("tree order %q, want %q", got, want)
	}
	// Counts: graphs below each site; sites closed without a selection.
	for path, n := range map[string]string{"emea": "12", "emea/fra1": "8", "emea/lon2": "4", "amer": "4"} {
		tag := siteTag(body, path)
		if !strings.Contains(tag, `<span class="count" title="`) || !strings.Contains(tag, `graphs">`+n+`</span>`) {
			t.Errorf("site %s: want %s graphs in %q", path, n, tag)
		}
		if strings.Contains(tag, "<details open") {
			t.Errorf("site %s open without a selection", path)
		}
	}
	if tag := siteTag(body, "emea"); !strings.Contains(tag, `title="3 devices, 12 graphs"`) || !strings.Contains(tag, `href="/?start=-1d&amp;site=emea"`) {
		t.Errorf("emea summary: %q", tag)
	}

	// site= filters the grid to the site and below, opens its branch
	// and marks it.
	_, _, body = env.do(t, "GET", "/?site=emea", auth.RoleViewer, nil)
	if !strings.Contains(body, "12 of 24 graphs in site <strong>emea</strong>") {
		t.Errorf("site=emea: count line missing")
	}
	for _, id := range []string{"rtr-000", "rtr-001", "rtr-004"} {
		if !strings.Contains(body, `data-id="`+id+`.cpu.eth0"`) {
			t.Errorf("site=emea: grid lacks %s", id)
		}
	}
	if strings.Contains(body, `data-id="rtr-002.`) || strings.Contains(body, `data-id="rtr-003.`) {
		t.Error("site=emea: grid shows devices of other sites")
	}
	if tag := siteTag(body, "emea"); !strings.Contains(tag, "<details open") || !strings.Contains(tag, `aria-current="true"`) {
		t.Errorf("site=emea: branch not open and current: %q", tag)
	}
	if tag := siteTag(body, "emea/fra1"); strings.Contains(tag, "<details open") {
		t.Errorf("site=emea opens its child fra1: %q", tag)
	}
	_, _, body = env.do(t, "GET", "/?site="+url.QueryEscape("emea/fra1"), auth.RoleViewer, nil)
	if !strings.Contains(body, "8 of 24 graphs") || !strings.Contains(siteTag(body, "emea"), "<details open") || !strings.Contains(siteTag(body, "emea/fra1"), "<details open") || strings.Contains(siteTag(body, "emea/lon2"), "<details open") {
		t.Errorf("site=emea/fra1: wrong count or branch")
	}
	// A level is matched whole: emea/fra is no prefix of emea/fra1.
	if _, _, body = env.do(t, "GET", "/?site="+url.QueryEscape("emea/fra"), auth.RoleViewer, nil); !strings.Contains(body, "0 of 24 graphs") {
		t.Error("site=emea/fra matches emea/fra1")
	}
	// A selected device opens the sites above it.
	_, _, body = env.do(t, "GET", "/?device=rtr-001", auth.RoleViewer, nil)
	if !strings.Contains(siteTag(body, "emea"), "<details open") || !strings.Contains(siteTag(body, "emea/lon2"), "<details open") || strings.Contains(siteTag(body, "amer"), "<details open") {
		t.Error("device=rtr-001 does not open emea > lon2 alone")
	}
	// A search prunes the tree, sites included, and opens what is left.
	_, _, body = env.do(t, "GET", "/?q=rtr-004", auth.RoleViewer, nil)
	if got := treeOrder(body); !slices.Equal(got, []string{"site:emea", "site:emea/fra1", "rtr-004"}) || !strings.Contains(siteTag(body, "emea/fra1"), "<details open") {
		t.Errorf("search rtr-004: tree %q", got)
	}
	// Links keep the view (range) and the device page names the site.
	if _, _, body = env.do(t, "GET", "/device/rtr-001", auth.RoleViewer, nil); !strings.Contains(body, `<a href="/?site=emea%2flon2">emea/lon2</a>`) {
		t.Error("device page lacks its site")
	}
	for _, bad := range []string{"emea//x", "a/b/c/d/e", "emea/*", "../x"} {
		if code, _, body := env.do(t, "GET", "/?site="+url.QueryEscape(bad), auth.RoleViewer, nil); code != 400 || !strings.Contains(body, "site") {
			t.Errorf("site=%s: %d, want 400", bad, code)
		}
	}
}

// Without any site the tree is the device list it always was.
func TestTreeWithoutSites(t *testing.T) {
	m := newManyGraphs(t, 3, 2)
	env := newTestEnvWith(t, m, manyDevices{m})
	_, _, body := env.do(t, "GET", "/", auth.RoleViewer, nil)
	if got := treeOrder(body); !slices.Equal(got, []string{"rtr-000", "rtr-001", "rtr-002"}) {
		t.Errorf("tree %q", got)
	}
}

func TestSiteAPI(t *testing.T) {
	env := newSitesEnv(t)
	devices := func(q string) []string {
		t.Helper()
		code, _, body := env.do(t, "GET", "/api/v1/devices"+q, auth.RoleViewer, nil)
		if code != 200 {
			t.Fatalf("devices%s: %d %s", q, code, body)
		}
		var r struct{ Devices []deviceJSON }
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range r.Devices {
			out = append(out, d.Name+"@"+d.Site)
		}
		return out
	}
	if got := devices(""); !slices.Equal(got, []string{"rtr-000@emea/fra1", "rtr-001@emea/lon2", "rtr-002@amer", "rtr-003@", "rtr-004@emea/fra1", "rtr-005@"}) {
		t.Errorf("all devices: %q", got)
	}
	if got := devices("?site=emea"); !slices.Equal(got, []string{"rtr-000@emea/fra1", "rtr-001@emea/lon2", "rtr-004@emea/fra1"}) {
		t.Errorf("site=emea: %q", got)
	}
	if got := devices("?site=emea/lon2"); !slices.Equal(got, []string{"rtr-001@emea/lon2"}) {
		t.Errorf("site=emea/lon2: %q", got)
	}
	if got := devices("?site=eme"); len(got) != 0 {
		t.Errorf("site=eme: %q", got)
	}
	if _, _, body := env.do(t, "GET", "/api/v1/devices/rtr-002", auth.RoleViewer, nil); !strings.Contains(body, `"site":"amer"`) {
		t.Errorf("device JSON lacks its site: %s", body)
	}
	code, _, body := env.do(t, "GET", "/api/v1/graphs?site=emea/fra1&template=cpu", auth.RoleViewer, nil)
	var r struct {
		Graphs []graphJSON
		Paging pageJSON
	}
	if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
		t.Fatalf("graphs: %d %v", code, err)
	}
	if r.Paging.Total != 2 || r.Graphs[0].Device != "rtr-000" || r.Graphs[0].Site != "emea/fra1" || r.Graphs[1].Device != "rtr-004" {
		t.Errorf("graphs site=emea/fra1&template=cpu: %+v", r)
	}
	// The capacity report narrows to a site too: a disk and a memory
	// forecast per device.
	if _, _, body := env.do(t, "GET", "/api/v1/capacity?site=emea&start=-7d", auth.RoleViewer, nil); !strings.Contains(body, `"graphs":6,`) || strings.Contains(body, `"device":"rtr-002"`) {
		t.Errorf("capacity site=emea: %.300s", body)
	}
	if _, _, body := env.do(t, "GET", "/capacity?site=amer", auth.RoleViewer, nil); strings.Count(body, "<tr><td>") != 2 || !strings.Contains(body, "site=amer") {
		t.Errorf("capacity page site=amer: %d rows", strings.Count(body, "<tr><td>"))
	}
	for _, p := range []string{"/api/v1/graphs?site=emea//x", "/api/v1/devices?site=%2Femea"} {
		if code, _, body := env.do(t, "GET", p, auth.RoleViewer, nil); code != 400 || !strings.Contains(body, `"field":"site"`) {
			t.Errorf("%s: %d %s, want 400 on site", p, code, body)
		}
	}
}

// TestTreeScope: a viewer limited to tree globs sees the devices of the
// matching sites and of the sites below them, in pages, API and exports.
func TestTreeScope(t *testing.T) {
	env := newSitesEnv(t)
	in, out := []string{"rtr-000", "rtr-001", "rtr-004"}, []string{"rtr-002", "rtr-003", "rtr-005"}
	for _, sc := range []auth.Scope{{Trees: []string{"emea/*"}}, {Trees: []string{"emea"}}, {Trees: []string{"em?a"}}} {
		t.Run(strings.Join(sc.Trees, ","), func(t *testing.T) {
			if err := env.store.SetScope("viewer1", sc); err != nil {
				t.Fatal(err)
			}
			_, _, body := env.do(t, "GET", "/", auth.RoleViewer, nil)
			if got := treeOrder(body); !slices.Equal(got, []string{"site:emea", "site:emea/fra1", "rtr-000", "rtr-004", "site:emea/lon2", "rtr-001"}) {
				t.Errorf("tree of a scoped viewer: %q", got)
			}
			if !strings.Contains(body, "12 of 12 graphs") {
				t.Error("home count of a scoped viewer")
			}
			_, _, body = env.do(t, "GET", "/api/v1/graphs", auth.RoleViewer, nil)
			if strings.Count(body, `"id"`) != 12 {
				t.Errorf("API graphs of a scoped viewer: %d", strings.Count(body, `"id"`))
			}
			_, _, body = env.do(t, "GET", "/api/v1/devices", auth.RoleViewer, nil)
			for _, d := range out {
				if strings.Contains(body, `"`+d+`"`) {
					t.Errorf("API devices show %s", d)
				}
			}
			for _, d := range in {
				for _, p := range []string{"/api/v1/graphs/" + d + ".cpu.eth0.png", "/api/v1/graphs/" + d + ".cpu.eth0.csv", "/graph/" + d + ".cpu.eth0", "/device/" + d, "/api/v1/devices/" + d, "/api/v1/graph?template=cpu&device=" + d} {
					if code, _, _ := env.do(t, "GET", p, auth.RoleViewer, nil); code != 200 {
						t.Errorf("%s in scope: %d", p, code)
					}
				}
			}
			for _, d := range out {
				for _, p := range []string{"/api/v1/graphs/" + d + ".cpu.eth0.png", "/api/v1/graphs/" + d + ".cpu.eth0.csv", "/api/v1/graphs/" + d + ".cpu.eth0.json", "/graph/" + d + ".cpu.eth0", "/device/" + d, "/api/v1/devices/" + d, "/api/v1/graph?template=cpu&device=" + d} {
					if code, _, _ := env.do(t, "GET", p, auth.RoleViewer, nil); code != 404 {
						t.Errorf("%s outside the scope: %d, want 404", p, code)
					}
				}
			}
			// The editor is not limited.
			if code, _, _ := env.do(t, "GET", "/api/v1/graphs/rtr-002.cpu.eth0.png", auth.RoleEditor, nil); code != 200 {
				t.Errorf("unscoped editor: %d", code)
			}
		})
	}
	// Tree and device globs add up; amer/* names no site below amer.
	if err := env.store.SetScope("viewer1", auth.Scope{Trees: []string{"amer/*", "emea/lon2"}, Devices: []string{"rtr-003"}}); err != nil {
		t.Fatal(err)
	}
	_, _, body := env.do(t, "GET", "/", auth.RoleViewer, nil)
	if got := treeOrder(body); !slices.Equal(got, []string{"site:emea", "site:emea/lon2", "rtr-001", "rtr-003"}) {
		t.Errorf("tree of a viewer scoped to emea/lon2 and rtr-003: %q", got)
	}
}

// TestTreeScopeSeries: the raw series export follows tree scopes too.
func TestTreeScopeSeries(t *testing.T) {
	src := newMemSeries(6) // devices r0, r1, r2
	devs := staticDevices{{Name: "r0", Site: "emea/fra1"}, {Name: "r1", Site: "amer"}, {Name: "r2"}}
	env := newTestEnvOpts(t, nil, devs, func(o *Options) { o.Series = src })
	if err := env.store.SetScope("viewer1", auth.Scope{Trees: []string{"emea"}}); err != nil {
		t.Fatal(err)
	}
	_, _, body := env.do(t, "GET", "/api/v1/series?match[]=ifHCInOctets", auth.RoleViewer, nil)
	if strings.Count(body, `"r0"`) != 2 || strings.Contains(body, `"r1"`) || strings.Contains(body, `"r2"`) {
		t.Errorf("series of a viewer scoped to emea: %s", body)
	}
	_, _, body = env.do(t, "GET", "/api/v1/series/data?match=ifHCInOctets", auth.RoleViewer, nil)
	if strings.Count(body, `"r0"`) != 2 || strings.Contains(body, `"r1"`) {
		t.Errorf("series data of a viewer scoped to emea: %.300s", body)
	}
}

type staticDevices []DeviceStatus

func (d staticDevices) Devices() []DeviceStatus { return slices.Clone(d) }

// TestOpenAPISite: the description served names the site filter of both
// lists and the site field of graphs and devices.
func TestOpenAPISite(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
		Components struct {
			Schemas map[string]struct{ Properties map[string]any }
		}
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/graphs", "/devices"} {
		if !slices.ContainsFunc(doc.Paths[p]["get"].Parameters, func(x struct{ Name, In string }) bool { return x.Name == "site" && x.In == "query" }) {
			t.Errorf("GET %s: no site parameter in openapi.json", p)
		}
	}
	for _, s := range []string{"Graph", "Device", "DeviceConfig"} {
		if _, ok := doc.Components.Schemas[s].Properties["site"]; !ok {
			t.Errorf("schema %s: no site property", s)
		}
	}
}

package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// Paging of the preview grid.
const (
	defaultPerPage = 24
	maxPerPage     = 200
)

// Thumbnail and full-size image sizes.
const (
	thumbW, thumbH = 480, 200
	fullW, fullH   = 900, 320
)

var funcs = template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"ms":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"date": func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	"add":  func(a, b int) int { return a + b },
	"days": func(d *float64) string { return strconv.FormatFloat(*d, 'f', 1, 64) },
	"fmtv": func(v any) string {
		switch x := v.(type) {
		case float64:
			return formatValue(x)
		case *float64:
			return formatValue(*x)
		}
		return ""
	},
}

// base is what every page's frame needs.
type base struct {
	Theme   string // "dark", "light" or "" (the browser's preference)
	Title   string
	Version string
	User    string
	Role    string
	CSRF    string
	Admin   bool
}

func (s *Server) base(c echo.Context, title string) base {
	b := base{Title: title, Version: s.o.Version, CSRF: auth.CSRFToken(c.Request()), Theme: themeOf(c)}
	if u, ok := auth.UserFrom(c.Request().Context()); ok {
		b.User, b.Role, b.Admin = u.Name, string(u.Role), u.Role == auth.RoleAdmin
	}
	return b
}

type errorPage struct {
	base
	Code int
	Msg  string
}

// visible returns the graphs and device statuses the request's user may
// see, in their configured order.
func (s *Server) visible(c echo.Context) ([]graphs.Info, []DeviceStatus, error) {
	list, err := s.o.Graphs.List(c.Request().Context())
	if err != nil {
		return nil, nil, err
	}
	var devs []DeviceStatus
	if s.o.Devices != nil {
		devs = s.o.Devices.Devices()
	}
	allow, err := s.scopeWith(c, devs)
	if err != nil {
		return nil, nil, err
	}
	if allow != nil {
		list = slices.DeleteFunc(slices.Clone(list), func(g graphs.Info) bool { return !allow(g.Device) })
		devs = slices.DeleteFunc(devs, func(d DeviceStatus) bool { return !allow(d.Name) })
	}
	return list, devs, nil
}

// scope returns a device filter for the request's user, or nil when the
// user sees everything.
func (s *Server) scope(c echo.Context) (func(string) bool, error) {
	return s.scopeWith(c, nil)
}

// userScope returns the request's user's scope and whether it limits
// them; a request without a stored user (ID 0, anonymous access) is not
// limited.
func (s *Server) userScope(c echo.Context) (auth.Scope, bool, error) {
	u, ok := auth.UserFrom(c.Request().Context())
	if !ok || u.ID == 0 || s.o.Users == nil {
		return auth.Scope{}, false, nil
	}
	sc, err := s.o.Users.Scope(u.Name)
	if err != nil {
		return auth.Scope{}, false, err
	}
	return sc, !sc.Unrestricted(), nil
}

// scopeWith is scope with the device list at hand (nil: read it if the
// scope has tree globs). A device is matched with its site and the
// site's ancestors as its trees; a device the list lacks has no site.
// Answers are kept per device name: a page of 10,000 graphs asks about
// a few hundred devices.
func (s *Server) scopeWith(c echo.Context, devs []DeviceStatus) (func(string) bool, error) {
	sc, limited, err := s.userScope(c)
	if err != nil || !limited {
		return nil, err
	}
	var sites map[string]string
	if len(sc.Trees) > 0 {
		if devs == nil && s.o.Devices != nil {
			devs = s.o.Devices.Devices()
		}
		sites = siteIndex(devs)
	}
	known := map[string]bool{}
	return func(d string) bool {
		ok, seen := known[d]
		if !seen {
			ok = sc.Allow(d, siteTrees(sites[d])...)
			known[d] = ok
		}
		return ok
	}, nil
}

// filter is the search of the tree and the grid: free text over title,
// device, template and label values, plus exact device, template and
// label (name=value) filters and a site with everything below it.
type filter struct {
	q, device, template, label, site string
	// sites maps device names to sites; set with site.
	sites map[string]string
}

func (f filter) match(g graphs.Info) bool {
	if f.device != "" && g.Device != f.device || f.template != "" && g.Template != f.template {
		return false
	}
	if f.site != "" && !inSite(f.sites[g.Device], f.site) {
		return false
	}
	if f.label != "" {
		k, v, _ := strings.Cut(f.label, "=")
		if got, ok := g.Vars[k]; !ok || v != "" && got != v {
			return false
		}
	}
	if f.q == "" {
		return true
	}
	for _, word := range strings.Fields(strings.ToLower(f.q)) {
		if !containsFold(g.Title, word) && !containsFold(g.Device, word) && !containsFold(g.Template, word) && !varsContain(g.Vars, word) {
			return false
		}
	}
	return true
}

func varsContain(vars map[string]string, word string) bool {
	for _, v := range vars {
		if containsFold(v, word) {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains ignoring ASCII case, without allocating;
// word is already lower case.
func containsFold(s, word string) bool {
	n := len(word)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != word[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// Bounds on filter text: long enough for any real name, short enough to
// keep the search cheap.
const maxFilterLen = 200

func readFilter(c echo.Context) (filter, error) {
	f := filter{q: c.QueryParam("q"), device: c.QueryParam("device"), template: c.QueryParam("template"), label: c.QueryParam("label")}
	for name, v := range map[string]string{"q": f.q, "device": f.device, "template": f.template, "label": f.label} {
		if len(v) > maxFilterLen {
			return f, badParam(name, "longer than %d bytes", maxFilterLen)
		}
	}
	var err error
	f.site, err = readSite(c)
	return f, err
}

// readPaging reads page (1-based) and per_page (defPer when absent, at
// most maxPer).
func readPaging(c echo.Context, defPer, maxPer int) (page, per int, err error) {
	if page, err = intParam(c, "page", 1, 1, 1_000_000); err != nil {
		return
	}
	per, err = intParam(c, "per_page", defPer, 1, maxPer)
	return
}

// treeDevice is one device of the tree with its graph groups.
type treeDevice struct {
	Name   string
	Href   string
	Status *DeviceStatus
	Groups []treeGroup
	Count  int
	Open   bool
}

type treeGroup struct {
	Template string
	Href     string
	Count    int
	Active   bool
}

type homeData struct {
	base
	View     view
	Presets  []preset
	Tree     []treeDevice
	Sites    []*treeSite
	TreeHTML template.HTML
	Graphs   []graphs.Info
	Total    int
	Matched  int
	Pages    []int
	Page     int
	LastPage int
	ThumbW   int
	ThumbH   int
	// PerPageChoices are the grid sizes offered.
	PerPageChoices []int
}

func (s *Server) home(c echo.Context) error {
	r, err := readRange(c, s.now(), "-1d")
	if err != nil {
		return err
	}
	f, err := readFilter(c)
	if err != nil {
		return err
	}
	page, per, err := readPaging(c, defaultPerPage, maxPerPage)
	if err != nil {
		return err
	}
	list, devs, err := s.visible(c)
	if err != nil {
		return err
	}
	d := homeData{base: s.base(c, "Graphs"), Presets: presets, ThumbW: thumbW, ThumbH: thumbH, Total: len(list), PerPageChoices: []int{24, 48, 96},
		View: view{Path: "/", Range: r, Q: f.q, Device: f.device, Template: f.template, Label: f.label, Site: f.site, Page: page, PerPage: per, Theme: themeOf(c)}}
	if f.site != "" {
		f.sites = siteIndex(devs)
	}
	d.Tree = buildTree(list, devs, f)
	// Tree links are built here, not in the template: with thousands of
	// branches, a method call per link in html/template costs milliseconds.
	q := d.View.values()
	q.Del("device")
	q.Del("template")
	q.Del("site")
	prefix := "/?" + q.Encode()
	for i := range d.Tree {
		td := &d.Tree[i]
		td.Href = prefix + "&device=" + url.QueryEscape(td.Name)
		for j := range td.Groups {
			td.Groups[j].Href = td.Href + "&template=" + url.QueryEscape(td.Groups[j].Template)
		}
	}
	var loose []int
	d.Sites, loose = buildSites(d.Tree, f)
	siteHrefs(d.Sites, prefix)
	d.TreeHTML = treeHTML(d.Tree, d.Sites, loose)

	var matched []graphs.Info
	for _, g := range list {
		if f.match(g) {
			matched = append(matched, g)
		}
	}
	d.Matched = len(matched)
	d.LastPage = max(1, (len(matched)+per-1)/per)
	if page > d.LastPage {
		page = d.LastPage
	}
	d.Page = page
	lo := (page - 1) * per
	d.Graphs = matched[lo:min(lo+per, len(matched))]
	for p := max(1, page-4); p <= min(d.LastPage, page+4); p++ {
		d.Pages = append(d.Pages, p)
	}
	return s.render(c, "home.html", d)
}

// buildTree groups graphs by device and then by template, devices in
// configuration order. Devices whose graphs do not match the text search
// are left out of the tree; exact device/template filters only mark the
// open branch.
func buildTree(list []graphs.Info, devs []DeviceStatus, f filter) []treeDevice {
	byName := map[string]int{}
	var out []treeDevice
	add := func(name string) int {
		i, ok := byName[name]
		if !ok {
			i = len(out)
			byName[name] = i
			out = append(out, treeDevice{Name: name, Open: name == f.device})
		}
		return i
	}
	for i := range devs {
		out[add(devs[i].Name)].Status = &devs[i]
	}
	text := filter{q: f.q, label: f.label}
	for _, g := range list {
		if !text.match(g) {
			continue
		}
		td := &out[add(g.Device)]
		td.Count++
		if n := len(td.Groups); n > 0 && td.Groups[n-1].Template == g.Template {
			td.Groups[n-1].Count++
			continue
		}
		found := false
		for j := range td.Groups {
			if td.Groups[j].Template == g.Template {
				td.Groups[j].Count++
				found = true
				break
			}
		}
		if !found {
			td.Groups = append(td.Groups, treeGroup{Template: g.Template, Count: 1, Active: td.Open && g.Template == f.template})
		}
	}
	if f.q != "" || f.label != "" {
		out = slices.DeleteFunc(out, func(d treeDevice) bool { return d.Count == 0 })
	}
	return out
}

type graphView struct {
	Label string
	Query string
}

type graphPageData struct {
	base
	Graph   graphs.Info
	View    view
	Presets []preset
	Views   []graphView
	Exports []graphView
	Plan    *graphs.Plan
	Stats   []statRow
	FullW   int
	FullH   int
}

type statRow struct{ Name, Value, At string }

func (s *Server) graphPage(c echo.Context) error {
	id := c.Param("id")
	list, _, err := s.visible(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(g graphs.Info) bool { return g.ID == id })
	if i < 0 {
		return ErrNotFound
	}
	r, err := readRange(c, s.now(), "-1d")
	if err != nil {
		return err
	}
	d := graphPageData{base: s.base(c, list[i].Title), Graph: list[i], Presets: presets, FullW: fullW, FullH: fullH,
		View: view{Path: "/graph/" + id, Range: r, PerPage: defaultPerPage, Theme: themeOf(c)}}
	for _, k := range []string{"1d", "1w", "1m", "1y"} {
		p, _ := presetByKey(k)
		pv := view{Range: timeRange{Start: p.Start, End: "now"}, Theme: d.View.Theme}
		d.Views = append(d.Views, graphView{Label: "Last " + p.Label, Query: pv.Img(id, "png", fullW, fullH)})
	}
	for _, f := range []string{"png", "svg", "csv", "json"} {
		d.Exports = append(d.Exports, graphView{Label: strings.ToUpper(f), Query: f})
	}
	// The plan of the chosen range gives the numbers beside the picture:
	// vdefs (95th percentile and the like) and forecasts.
	plan, err := s.o.Graphs.Plan(c.Request().Context(), id, graphs.Options{From: r.From, To: r.To, Width: fullW, Height: fullH})
	if err == nil {
		d.Plan = plan
		for _, name := range sortedKeys(plan.VDefs) {
			v := plan.VDefs[name]
			row := statRow{Name: name, Value: formatValue(v.Value)}
			if v.Time == v.Time { // not NaN
				row.At = time.Unix(int64(v.Time), 0).Format("2006-01-02 15:04")
			}
			d.Stats = append(d.Stats, row)
		}
	} else {
		s.o.Logger.Warn("graph_plan_failed", "graph", id, "err", err)
	}
	return s.render(c, "graph.html", d)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// formatValue prints a number with an SI prefix, as the legends do.
func formatValue(v float64) string {
	if v != v {
		return "unknown"
	}
	abs := v
	if abs < 0 {
		abs = -abs
	}
	for _, p := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if abs >= p.f {
			return strconv.FormatFloat(v/p.f, 'f', 2, 64) + " " + p.s
		}
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

type devicePageData struct {
	base
	Device   DeviceStatus
	Graphs   []graphs.Info
	Template *TemplateInfo
	View     view
}

func (s *Server) devicePage(c echo.Context) error {
	name := c.Param("name")
	list, devs, err := s.visible(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(devs, func(d DeviceStatus) bool { return d.Name == name })
	if i < 0 {
		return ErrNotFound
	}
	r, err := readRange(c, s.now(), "-1d")
	if err != nil {
		return err
	}
	d := devicePageData{base: s.base(c, name), Device: devs[i], View: view{Path: "/", Range: r, Device: name, PerPage: defaultPerPage, Theme: themeOf(c)}}
	for _, g := range list {
		if g.Device == name {
			d.Graphs = append(d.Graphs, g)
		}
	}
	if s.o.Templates != nil {
		if t, err := s.o.Templates.Template(c.Request().Context(), KindDevice, devs[i].Template); err == nil {
			d.Template = &t
		}
	}
	return s.render(c, "device.html", d)
}

func (s *Server) render(c echo.Context, name string, data any) error {
	return s.renderStatus(c, http.StatusOK, name, data)
}

func (s *Server) renderStatus(c echo.Context, code int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(code, buf.Bytes())
}

var esc = template.HTMLEscapeString

// treeHTML renders the tree: sites with their devices, then the devices
// without a site (loose, indexes into tree). It is written directly
// rather than by html/template, whose per-value escaping through
// reflection costs over 10 ms for a tree of 10,000 graphs; every value is
// escaped here.
func treeHTML(tree []treeDevice, sites []*treeSite, loose []int) template.HTML {
	var b strings.Builder
	b.Grow(len(tree)*400 + len(sites)*200)
	b.WriteString(`<ul class="devices">`)
	for _, n := range sites {
		writeSite(&b, n, tree)
	}
	for _, i := range loose {
		writeDevice(&b, &tree[i])
	}
	b.WriteString("</ul>")
	return template.HTML(b.String())
}

// writeDevice writes one device of the tree with its graph groups.
func writeDevice(b *strings.Builder, d *treeDevice) {
	name := esc(d.Name)
	b.WriteString(`<li id="device-` + name + `"><details`)
	cur := ""
	if d.Open {
		b.WriteString(" open")
		cur = ` aria-current="true"`
	}
	b.WriteString(`><summary><a href="` + esc(d.Href) + `"` + cur + `>` + name + `</a> <span class="count">` + strconv.Itoa(d.Count) + `</span>`)
	if d.Status != nil && d.Status.Error != "" {
		b.WriteString(` <span class="dot bad" title="` + esc(d.Status.Error) + `">failing</span>`)
	}
	b.WriteString("</summary>\n<ul>")
	for _, g := range d.Groups {
		cur := ""
		if g.Active {
			cur = ` aria-current="true"`
		}
		b.WriteString(`<li><a href="` + esc(g.Href) + `"` + cur + `>` + esc(g.Template) + `</a> <span class="count">` + strconv.Itoa(g.Count) + `</span></li>`)
	}
	b.WriteString(`<li><a href="/device/` + esc(url.PathEscape(d.Name)) + `">device details</a></li></ul></details></li>` + "\n")
}

// themeCookie holds the theme a person chose, so that pages and graph
// images come in that theme from the first byte.
const themeCookie = "saguaro_theme"

func themeOf(c echo.Context) string {
	if ck, err := c.Cookie(themeCookie); err == nil && (ck.Value == "dark" || ck.Value == "light") {
		return ck.Value
	}
	return ""
}

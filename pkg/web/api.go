package web

import (
	"bytes"
	"context"

	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/graphs"
)

// Default image size, like a Cacti graph with its legend.
const (
	defaultWidth  = 800
	defaultHeight = 300
)

// AdHoc draws a graph template for any device and labels, not only the
// instances the catalogue lists.
type AdHoc interface {
	PlanTemplate(ctx context.Context, template string, vars map[string]string, o graphs.Options) (*graphs.Plan, error)
}

type graphJSON struct {
	ID       string            `json:"id"`
	Title    string            `json:"title"`
	Device   string            `json:"device"`
	Site     string            `json:"site,omitempty"`
	Template string            `json:"template"`
	Vars     map[string]string `json:"vars,omitempty"`
	PNG      string            `json:"png"`
	SVG      string            `json:"svg"`
	CSV      string            `json:"csv"`
	JSON     string            `json:"json"`
	Page     string            `json:"page"`
}

type pageJSON struct {
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Pages   int `json:"pages"`
}

// paginate cuts one page out of n items.
func paginate(n, page, per int) (lo, hi int, p pageJSON) {
	p = pageJSON{Total: n, Page: page, PerPage: per, Pages: (n + per - 1) / per}
	lo = min((page-1)*per, n)
	return lo, min(lo+per, n), p
}

// apiGraphs lists graphs with the tree's filters (q, device, template,
// label, site) and paging (page, per_page; default all up to the maximum).
func (s *Server) apiGraphs(c echo.Context) error {
	f, err := readFilter(c)
	if err != nil {
		return err
	}
	page, per, err := readPaging(c, maxAPIPage, maxAPIPage)
	if err != nil {
		return err
	}
	list, devs, err := s.visible(c)
	if err != nil {
		return err
	}
	f.sites = siteIndex(devs)
	var matched []graphs.Info
	for _, g := range list {
		if f.match(g) {
			matched = append(matched, g)
		}
	}
	lo, hi, p := paginate(len(matched), page, per)
	out := make([]graphJSON, 0, hi-lo)
	for _, g := range matched[lo:hi] {
		b := "/api/v1/graphs/" + g.ID
		out = append(out, graphJSON{ID: g.ID, Title: g.Title, Device: g.Device, Site: f.sites[g.Device], Template: g.Template, Vars: g.Vars,
			PNG: b + ".png", SVG: b + ".svg", CSV: b + ".csv", JSON: b + ".json", Page: "/graph/" + g.ID})
	}
	return c.JSON(http.StatusOK, map[string]any{"graphs": out, "paging": p})
}

// maxAPIPage bounds one page of an API list.
const maxAPIPage = 10000

var formats = map[string]string{
	"png":  "image/png",
	"svg":  "image/svg+xml",
	"csv":  "text/csv; charset=utf-8",
	"json": "application/json",
}

// apiGraphFile serves /api/v1/graphs/{id}.{png,svg,csv,json}.
func (s *Server) apiGraphFile(c echo.Context) error {
	file := c.Param("file")
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 {
		return badParam("format", "add .png, .svg, .csv or .json to the graph id")
	}
	id, format := file[:dot], file[dot+1:]
	if _, ok := formats[format]; !ok {
		return badParam("format", "%q is not a format (want png, svg, csv or json)", format)
	}
	o, err := s.graphOptions(c)
	if err != nil {
		return err
	}
	// A graph of a device outside the user's scope does not exist for them.
	if allow, err := s.scope(c); err != nil {
		return err
	} else if allow != nil {
		list, err := s.o.Graphs.List(c.Request().Context())
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(list, func(g graphs.Info) bool { return g.ID == id }); i < 0 || !allow(list[i].Device) {
			return ErrNotFound
		}
	}
	plan, err := s.o.Graphs.Plan(c.Request().Context(), id, o)
	if err != nil {
		return err
	}
	return s.writePlan(c, plan, format, id)
}

func (s *Server) writePlan(c echo.Context, plan *graphs.Plan, format, name string) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = plan.PNG(&buf)
	case "svg":
		err = plan.SVG(&buf)
	case "csv":
		err = plan.CSV(&buf)
	case "json":
		err = plan.JSON(&buf)
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	if format == "csv" || c.QueryParam("download") != "" {
		h.Set("Content-Disposition", `attachment; filename="`+safeFileName(name)+"."+format+`"`)
	}
	return c.Blob(http.StatusOK, formats[format], buf.Bytes())
}

// safeFileName keeps a download name to characters that need no quoting.
func safeFileName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}

// apiAdHoc draws a template for a device and labels given as parameters:
// /api/v1/graph?template=T&device=D&var.ifName=eth0&format=png.
func (s *Server) apiAdHoc(c echo.Context) error {
	ah, ok := s.o.Graphs.(AdHoc)
	if !ok {
		return ErrNotFound
	}
	tmpl := c.QueryParam("template")
	if tmpl == "" {
		return badParam("template", "name a graph template")
	}
	dev := c.QueryParam("device")
	if dev == "" {
		return badParam("device", "name a device")
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "png"
	}
	if _, ok := formats[format]; !ok {
		return badParam("format", "%q is not a format (want png, svg, csv or json)", format)
	}
	if allow, err := s.scope(c); err != nil {
		return err
	} else if allow != nil && !allow(dev) {
		return ErrNotFound
	}
	vars := map[string]string{"device": dev}
	for k, v := range c.QueryParams() {
		if name, ok := strings.CutPrefix(k, "var."); ok && len(v) > 0 {
			if name == "" || len(name) > 100 || len(v[0]) > maxFilterLen {
				return badParam(k, "label names and values are 1 to 100 and up to %d bytes", maxFilterLen)
			}
			vars[name] = v[0]
		}
	}
	o, err := s.graphOptions(c)
	if err != nil {
		return err
	}
	plan, err := ah.PlanTemplate(c.Request().Context(), tmpl, vars, o)
	if err != nil {
		return err
	}
	return s.writePlan(c, plan, format, tmpl+"-"+dev)
}

// graphOptions reads start, end, width, height and theme, saying which
// one is wrong and why.
func (s *Server) graphOptions(c echo.Context) (graphs.Options, error) {
	o := graphs.Options{Width: defaultWidth, Height: defaultHeight}
	var err error
	if o.From, o.To, err = s.readRange(c); err != nil {
		return o, err
	}
	if o.Width, err = intParam(c, "width", o.Width, minWidth, maxWidth); err != nil {
		return o, err
	}
	if o.Height, err = intParam(c, "height", o.Height, minHeight, maxHeight); err != nil {
		return o, err
	}
	switch th := c.QueryParam("theme"); th {
	case "", "light", "dark":
		o.Theme = th
	default:
		return o, badParam("theme", "%q is not a theme (want light or dark)", th)
	}
	return o, nil
}

// Image size bounds: a thumbnail to a wall display.
const (
	minWidth, maxWidth   = 120, 4000
	minHeight, maxHeight = 50, 2000
)

func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badParam(name, "%q is not a whole number", v)
	}
	if n < lo || n > hi {
		return 0, badParam(name, "%d is out of range (%d to %d)", n, lo, hi)
	}
	return n, nil
}

type deviceJSON struct {
	Name     string       `json:"name"`
	Template string       `json:"template"`
	Site     string       `json:"site,omitempty"`
	Address  string       `json:"address"`
	LastPoll *time.Time   `json:"last_poll,omitempty"`
	Duration float64      `json:"last_poll_seconds"`
	Samples  int          `json:"last_samples"`
	Error    string       `json:"last_error,omitempty"`
	Skipped  uint64       `json:"skipped"`
	Graphs   []string     `json:"graphs,omitempty"`
	Sources  []DataSource `json:"data_sources,omitempty"`
	Page     string       `json:"page"`
	// Source is "config" (the configuration file) or "api" (the state
	// database); Config the device's settings, secrets masked.
	Source string         `json:"source,omitempty"`
	Config map[string]any `json:"config,omitempty"`
}

func toDeviceJSON(d DeviceStatus) deviceJSON {
	return deviceJSON{Name: d.Name, Template: d.Template, Site: d.Site, Address: d.Address, LastPoll: optTime(d.LastPoll),
		Duration: d.Duration.Seconds(), Samples: d.Samples, Error: d.Error, Skipped: d.Skipped, Page: "/device/" + d.Name, Source: d.Source}
}

// apiDevices lists devices: q (name or template contains), template,
// site (that site and those below it), status (ok, error, never), page
// and per_page.
func (s *Server) apiDevices(c echo.Context) error {
	q := strings.ToLower(c.QueryParam("q"))
	tmpl, status := c.QueryParam("template"), c.QueryParam("status")
	if len(q) > maxFilterLen {
		return badParam("q", "longer than %d bytes", maxFilterLen)
	}
	if status != "" && status != "ok" && status != "error" && status != "never" {
		return badParam("status", "%q is not a status (want ok, error or never)", status)
	}
	site, err := readSite(c)
	if err != nil {
		return err
	}
	page, per, err := readPaging(c, maxAPIPage, maxAPIPage)
	if err != nil {
		return err
	}
	_, devs, err := s.visible(c)
	if err != nil {
		return err
	}
	var matched []deviceJSON
	for _, d := range devs {
		st := "ok"
		if d.Error != "" {
			st = "error"
		} else if d.LastPoll.IsZero() {
			st = "never"
		}
		if q != "" && !containsFold(d.Name, q) && !containsFold(d.Template, q) || tmpl != "" && d.Template != tmpl || status != "" && st != status || !inSite(d.Site, site) {
			continue
		}
		matched = append(matched, toDeviceJSON(d))
	}
	lo, hi, p := paginate(len(matched), page, per)
	out := matched[lo:hi]
	if out == nil {
		out = []deviceJSON{}
	}
	return c.JSON(http.StatusOK, map[string]any{"devices": out, "paging": p})
}

func (s *Server) apiDevice(c echo.Context) error {
	name := c.Param("name")
	list, devs, err := s.visible(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(devs, func(d DeviceStatus) bool { return d.Name == name })
	if i < 0 {
		return ErrNotFound
	}
	d := toDeviceJSON(devs[i])
	for _, g := range list {
		if g.Device == name {
			d.Graphs = append(d.Graphs, g.ID)
		}
	}
	if s.o.DeviceEditor != nil {
		if st, ok := s.o.DeviceEditor.Settings(name); ok {
			d.Source, d.Config = st.Source, st.Settings
		}
	}
	if s.o.Templates != nil {
		if t, err := s.o.Templates.Template(c.Request().Context(), KindDevice, devs[i].Template); err == nil {
			d.Sources = t.DataSources
		}
	}
	return c.JSON(http.StatusOK, d)
}

package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/graphs"
)

// preset is a time range the pages offer, as rrdtool-style relative start.
type preset struct {
	Key, Label, Start string
}

var presets = []preset{
	{"1h", "1 hour", "-1h"}, {"6h", "6 hours", "-6h"}, {"1d", "1 day", "-1d"},
	{"1w", "1 week", "-1w"}, {"1m", "1 month", "-31d"}, {"1y", "1 year", "-1y"}, {"2y", "2 years", "-2y"},
}

func presetByKey(k string) (preset, bool) {
	for _, p := range presets {
		if p.Key == k {
			return p, true
		}
	}
	return preset{}, false
}

var funcs = template.FuncMap{
	"query": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return template.URL(v.Encode())
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"ms": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}

type deviceGroup struct {
	Name   string
	Status *DeviceStatus
	Graphs []graphs.Info
}

type homeData struct {
	Version string
	Presets []preset
	Range   preset
	Devices []deviceGroup
}

func (s *Server) home(c echo.Context) error {
	rk := c.QueryParam("range")
	if rk == "" {
		rk = "1d"
	}
	r, ok := presetByKey(rk)
	if !ok {
		return badParam("range", "%q is not a range (want 1h, 6h, 1d, 1w, 1m, 1y or 2y)", rk)
	}
	list, err := s.o.Graphs.List(c.Request().Context())
	if err != nil {
		return err
	}
	// Devices in configuration order, then any that only have graphs.
	groups := map[string]*deviceGroup{}
	var order []string
	var statuses []DeviceStatus
	if s.o.Devices != nil {
		statuses = s.o.Devices.Devices()
	}
	for i := range statuses {
		groups[statuses[i].Name] = &deviceGroup{Name: statuses[i].Name, Status: &statuses[i]}
		order = append(order, statuses[i].Name)
	}
	for _, g := range list {
		dg := groups[g.Device]
		if dg == nil {
			dg = &deviceGroup{Name: g.Device}
			groups[g.Device] = dg
			order = append(order, g.Device)
		}
		dg.Graphs = append(dg.Graphs, g)
	}
	data := homeData{Version: s.o.Version, Presets: presets, Range: r}
	for _, name := range order {
		data.Devices = append(data.Devices, *groups[name])
	}
	return s.render(c, "home.html", data)
}

type graphPageData struct {
	Version string
	Graph   graphs.Info
	Views   []preset
}

func (s *Server) graphPage(c echo.Context) error {
	id := c.Param("id")
	list, err := s.o.Graphs.List(c.Request().Context())
	if err != nil {
		return err
	}
	for _, g := range list {
		if g.ID == id {
			views := []preset{presets[2], presets[3], presets[4], presets[5]}
			return s.render(c, "graph.html", graphPageData{Version: s.o.Version, Graph: g, Views: views})
		}
	}
	return ErrNotFound
}

func (s *Server) render(c echo.Context, name string, data any) error {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

package web

import (
	"bytes"
	"net/http"
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

type graphJSON struct {
	ID       string            `json:"id"`
	Title    string            `json:"title"`
	Device   string            `json:"device"`
	Template string            `json:"template"`
	Vars     map[string]string `json:"vars,omitempty"`
	PNG      string            `json:"png"`
	CSV      string            `json:"csv"`
}

func (s *Server) apiGraphs(c echo.Context) error {
	list, err := s.o.Graphs.List(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]graphJSON, 0, len(list))
	for _, g := range list {
		out = append(out, graphJSON{
			ID: g.ID, Title: g.Title, Device: g.Device, Template: g.Template, Vars: g.Vars,
			PNG: "/api/v1/graphs/" + g.ID + ".png", CSV: "/api/v1/graphs/" + g.ID + ".csv",
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"graphs": out})
}

// apiGraphFile serves /api/v1/graphs/{id}.png and {id}.csv.
func (s *Server) apiGraphFile(c echo.Context) error {
	file := c.Param("file")
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 {
		return badParam("format", "add .png or .csv to the graph id")
	}
	id, format := file[:dot], file[dot+1:]
	if format != "png" && format != "csv" {
		return badParam("format", "%q is not a format (want png or csv)", format)
	}
	o, err := s.graphOptions(c)
	if err != nil {
		return err
	}
	plan, err := s.o.Graphs.Plan(c.Request().Context(), id, o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	ctype := "image/png"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
		err = plan.CSV(&buf)
	} else {
		err = plan.PNG(&buf)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// graphOptions reads start, end, width and height, saying which one is
// wrong and why.
func (s *Server) graphOptions(c echo.Context) (graphs.Options, error) {
	now := s.now()
	o := graphs.Options{From: now.Add(-24 * time.Hour), To: now, Width: defaultWidth, Height: defaultHeight}
	var err error
	if v := c.QueryParam("start"); v != "" {
		if o.From, err = parseTime(v, now); err != nil {
			return o, badParam("start", "%v", err)
		}
	}
	if v := c.QueryParam("end"); v != "" {
		if o.To, err = parseTime(v, now); err != nil {
			return o, badParam("end", "%v", err)
		}
	}
	if !o.From.Before(o.To) {
		return o, badParam("start", "start (%s) must be before end (%s)", o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339))
	}
	if o.Width, err = intParam(c, "width", o.Width, minWidth, maxWidth); err != nil {
		return o, err
	}
	if o.Height, err = intParam(c, "height", o.Height, minHeight, maxHeight); err != nil {
		return o, err
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

package web

import (
	"context"
	"encoding/csv"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/graphs"
)

// Forecasts says which graph templates carry FORECAST items with a
// threshold: the capacity report plans only those graphs.
type Forecasts interface {
	HasForecast(template string) bool
}

// Bounds of one capacity report: the graphs planned and the work done
// at once, so a report over a large installation stays a bounded cost.
const (
	maxCapacityGraphs = 2000
	capacityWorkers   = 2
	capacityWidth     = 400
)

// capacityRow is one forecast series: when its trend reaches the
// template's threshold.
type capacityRow struct {
	Graph       string     `json:"graph"`
	Title       string     `json:"title"`
	Device      string     `json:"device"`
	Template    string     `json:"template"`
	Series      string     `json:"series"`
	Threshold   float64    `json:"threshold"`
	Current     *float64   `json:"trend_now"`
	SlopePerDay *float64   `json:"slope_per_day"`
	Reaches     *time.Time `json:"reaches,omitempty"`
	Days        *float64   `json:"days_until,omitempty"`
	Text        string     `json:"text"`
}

type capacityReport struct {
	Rows      []capacityRow
	Graphs    int  // graphs planned
	Truncated bool // more graphs had forecasts than one report plans
	Range     timeRange
}

// capacity plans every visible graph with a forecast over the range and
// ranks the forecasts by days until their threshold; those never
// reaching it come after them, and last those whose range holds too
// little data for a trend (no current value).
func (s *Server) capacity(c echo.Context) (capacityReport, error) {
	var rep capacityReport
	fc, ok := s.o.Graphs.(Forecasts)
	if !ok {
		return rep, ErrNotFound
	}
	r, err := readRange(c, s.now(), "-30d")
	if err != nil {
		return rep, err
	}
	rep.Range = r
	f, err := readFilter(c)
	if err != nil {
		return rep, err
	}
	list, devs, err := s.visible(c)
	if err != nil {
		return rep, err
	}
	f.sites = siteIndex(devs)
	var todo []graphs.Info
	for _, g := range list {
		if fc.HasForecast(g.Template) && f.match(g) {
			todo = append(todo, g)
		}
	}
	if len(todo) > maxCapacityGraphs {
		todo, rep.Truncated = todo[:maxCapacityGraphs], true
	}
	rep.Graphs = len(todo)
	now := s.now()
	rows := make([][]capacityRow, len(todo))
	ctx := c.Request().Context()
	var wg sync.WaitGroup
	next := make(chan int)
	for range capacityWorkers {
		wg.Go(func() {
			for i := range next {
				rows[i] = s.forecastRows(ctx, todo[i], r, now)
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, rs := range rows {
		rep.Rows = append(rep.Rows, rs...)
	}
	// Soonest first, then those never reaching their threshold, then
	// those with too little data in the range to fit a trend.
	rank := func(r capacityRow) int {
		switch {
		case r.Days != nil:
			return 0
		case r.Current != nil:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rep.Rows, func(a, b capacityRow) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if a.Days != nil {
			return cmpFloat(*a.Days, *b.Days)
		}
		return 0
	})
	return rep, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// forecastRows plans one graph; a graph that fails to plan is logged and
// left out rather than failing the whole report.
func (s *Server) forecastRows(ctx context.Context, g graphs.Info, r timeRange, now time.Time) []capacityRow {
	plan, err := s.o.Graphs.Plan(ctx, g.ID, graphs.Options{From: r.From, To: r.To, Width: capacityWidth, Height: 200})
	if err != nil {
		if ctx.Err() == nil {
			s.o.Logger.Warn("capacity_plan_failed", "graph", g.ID, "err", err)
		}
		return nil
	}
	var out []capacityRow
	for i := range plan.Forecasts {
		fo := &plan.Forecasts[i]
		if fo.Threshold == nil {
			continue
		}
		row := capacityRow{Graph: g.ID, Title: g.Title, Device: g.Device, Template: g.Template, Series: fo.Legend,
			Threshold: *fo.Threshold, Current: finite(fo.At(plan.End())), SlopePerDay: finite(fo.Slope * 86400), Text: fo.Text}
		if row.Series == "" {
			row.Series = fo.Name
		}
		switch {
		case !fo.Reaches.IsZero():
			t := fo.Reaches
			row.Reaches = &t
			row.Days = finite(math.Max(0, t.Sub(now).Hours()/24))
		case row.Current != nil && (fo.Slope >= 0 && *row.Current >= *fo.Threshold || fo.Slope < 0 && *row.Current <= *fo.Threshold):
			zero := 0.0
			row.Days = &zero // already there
		}
		out = append(out, row)
	}
	return out
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

type capacityPageData struct {
	base
	View   view
	Report capacityReport
	CSV    string
}

func (s *Server) capacityPage(c echo.Context) error {
	rep, err := s.capacity(c)
	if err != nil {
		return err
	}
	f, _ := readFilter(c)
	v := view{Path: "/capacity", Range: rep.Range, Q: f.q, Device: f.device, Template: f.template, Label: f.label, Site: f.site, PerPage: defaultPerPage, Theme: themeOf(c)}
	q := url.Values{}
	q.Set("format", "csv")
	q.Set("start", rep.Range.Start)
	if rep.Range.End != "now" {
		q.Set("end", rep.Range.End)
	}
	for k, val := range map[string]string{"q": f.q, "device": f.device, "template": f.template, "label": f.label, "site": f.site} {
		if val != "" {
			q.Set(k, val)
		}
	}
	return s.render(c, "capacity.html", capacityPageData{base: s.base(c, "Capacity"), View: v, Report: rep, CSV: "/api/v1/capacity?" + q.Encode()})
}

// apiCapacity is the report as JSON or, with format=csv, as CSV.
func (s *Server) apiCapacity(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "csv" {
		return badParam("format", "%q is not a format (want json or csv)", format)
	}
	rep, err := s.capacity(c)
	if err != nil {
		return err
	}
	if format != "csv" {
		rows := rep.Rows
		if rows == nil {
			rows = []capacityRow{}
		}
		return c.JSON(http.StatusOK, map[string]any{"forecasts": rows, "graphs": rep.Graphs, "truncated": rep.Truncated,
			"start": rep.Range.From.Unix(), "end": rep.Range.To.Unix()})
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="capacity.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"graph", "device", "template", "series", "threshold", "trend_now", "slope_per_day", "reaches", "days_until"})
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', 6, 64)
	}
	for _, r := range rep.Rows {
		reaches := ""
		if r.Reaches != nil {
			reaches = r.Reaches.UTC().Format(time.RFC3339)
		}
		_ = w.Write([]string{r.Graph, r.Device, r.Template, r.Series, strconv.FormatFloat(r.Threshold, 'g', 6, 64),
			num(r.Current), num(r.SlopePerDay), reaches, num(r.Days)})
	}
	w.Flush()
	return w.Error()
}

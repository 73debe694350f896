package web

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// preset is a time range the pages offer. Rolling presets keep relative
// start/end ("-1d", "now") so a bookmark stays "the last day"; calendar
// presets ("this week") are resolved to Unix seconds when chosen.
type preset struct {
	Key, Label, Start string
	// calendar, when set, gives the range for now.
	calendar func(now time.Time) (time.Time, time.Time)
}

var presets = []preset{
	{Key: "1h", Label: "1 hour", Start: "-1h"}, {Key: "6h", Label: "6 hours", Start: "-6h"},
	{Key: "1d", Label: "1 day", Start: "-1d"}, {Key: "1w", Label: "1 week", Start: "-1w"},
	{Key: "1m", Label: "1 month", Start: "-31d"}, {Key: "1y", Label: "1 year", Start: "-1y"},
	{Key: "2y", Label: "2 years", Start: "-2y"},
	{Key: "today", Label: "today", calendar: func(n time.Time) (time.Time, time.Time) { d := day(n); return d, d.AddDate(0, 0, 1) }},
	{Key: "yesterday", Label: "yesterday", calendar: func(n time.Time) (time.Time, time.Time) { d := day(n); return d.AddDate(0, 0, -1), d }},
	{Key: "thisweek", Label: "this week", calendar: func(n time.Time) (time.Time, time.Time) { w := week(n); return w, w.AddDate(0, 0, 7) }},
	{Key: "lastweek", Label: "previous week", calendar: func(n time.Time) (time.Time, time.Time) { w := week(n); return w.AddDate(0, 0, -7), w }},
	{Key: "thismonth", Label: "this month", calendar: func(n time.Time) (time.Time, time.Time) { m := month(n); return m, m.AddDate(0, 1, 0) }},
	{Key: "lastmonth", Label: "previous month", calendar: func(n time.Time) (time.Time, time.Time) { m := month(n); return m.AddDate(0, -1, 0), m }},
	{Key: "thisyear", Label: "this year", calendar: func(n time.Time) (time.Time, time.Time) { y := year(n); return y, y.AddDate(1, 0, 0) }},
	{Key: "lastyear", Label: "previous year", calendar: func(n time.Time) (time.Time, time.Time) { y := year(n); return y.AddDate(-1, 0, 0), y }},
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}
func week(t time.Time) time.Time {
	d := day(t)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // ISO weeks start on Monday
}
func month(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location()) }
func year(t time.Time) time.Time  { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, t.Location()) }

func presetByKey(k string) (preset, bool) {
	for _, p := range presets {
		if p.Key == k {
			return p, true
		}
	}
	return preset{}, false
}

// timeRange is the range a page shows: the parameters as written (kept
// in links) and the instants they meant at request time.
type timeRange struct {
	Start, End string
	From, To   time.Time
	Preset     string // key of the matching preset, if any
}

// Span is the range's length.
func (r timeRange) Span() time.Duration { return r.To.Sub(r.From) }

// readRange reads range= (a preset key) or start= and end= from a request.
func readRange(c echo.Context, now time.Time, defStart string) (timeRange, error) {
	r := timeRange{Start: c.QueryParam("start"), End: c.QueryParam("end")}
	if k := c.QueryParam("range"); k != "" {
		p, ok := presetByKey(k)
		if !ok {
			return r, badParam("range", "%q is not a range (want one of %s)", k, presetKeys())
		}
		r.Preset = k
		if p.calendar != nil {
			f, t := p.calendar(now)
			r.Start, r.End = strconv.FormatInt(f.Unix(), 10), strconv.FormatInt(t.Unix(), 10)
		} else {
			r.Start, r.End = p.Start, "now"
		}
	}
	if r.Start == "" {
		r.Start = defStart
	}
	if r.End == "" {
		r.End = "now"
	}
	var err error
	if r.From, err = parseTime(r.Start, now); err != nil {
		return r, badParam("start", "%v", err)
	}
	if r.To, err = parseTime(r.End, now); err != nil {
		return r, badParam("end", "%v", err)
	}
	if !r.From.Before(r.To) {
		return r, badParam("start", "start (%s) must be before end (%s)", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	}
	if r.Preset == "" && r.End == "now" {
		for _, p := range presets {
			if p.calendar == nil && p.Start == r.Start {
				r.Preset = p.Key
			}
		}
	}
	return r, nil
}

func presetKeys() string {
	s := ""
	for i, p := range presets {
		if i > 0 {
			s += ", "
		}
		s += p.Key
	}
	return s
}

// shifted is the range moved by d, in absolute seconds.
func (r timeRange) shifted(d time.Duration) (string, string) {
	return unix(r.From.Add(d)), unix(r.To.Add(d))
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Label describes the range for people.
func (r timeRange) Label() string {
	if p, ok := presetByKey(r.Preset); ok {
		if p.calendar != nil {
			return p.Label
		}
		return "last " + p.Label
	}
	const f = "2006-01-02 15:04"
	return fmt.Sprintf("%s to %s", r.From.Format(f), r.To.Format(f))
}

// view is the state of a browsing page carried in its URL: the time range
// and the filters. Links are built from it so every view is bookmarkable.
type view struct {
	Path     string
	Range    timeRange
	Q        string
	Device   string
	Template string
	Label    string
	Site     string
	Page     int
	PerPage  int
	Theme    string // graph images in the dark theme when "dark"
}

func (v view) values() url.Values {
	q := url.Values{}
	q.Set("start", v.Range.Start)
	if v.Range.End != "now" {
		q.Set("end", v.Range.End)
	}
	for k, val := range map[string]string{"q": v.Q, "device": v.Device, "template": v.Template, "label": v.Label, "site": v.Site} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if v.PerPage != defaultPerPage {
		q.Set("per_page", strconv.Itoa(v.PerPage))
	}
	return q
}

// With returns the view's URL with some parameters replaced; an empty
// value removes one. Page resets unless given.
func (v view) With(kv ...string) string {
	q := v.values()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return v.Path + "?" + q.Encode()
}

// PresetURL is the view with a preset's range.
func (v view) PresetURL(p preset) string {
	if p.calendar != nil {
		return v.With("start", "", "end", "", "range", p.Key)
	}
	return v.With("start", p.Start, "end", "")
}

// Back and Forward shift the range by its own length; ZoomOut doubles it
// around its middle.
func (v view) Back() string {
	s, e := v.Range.shifted(-v.Range.Span())
	return v.With("start", s, "end", e)
}

func (v view) Forward() string {
	s, e := v.Range.shifted(v.Range.Span())
	return v.With("start", s, "end", e)
}

func (v view) ZoomOut() string {
	h := v.Range.Span() / 2
	return v.With("start", unix(v.Range.From.Add(-h)), "end", unix(v.Range.To.Add(h)))
}

// ZoomIn halves the range around its middle: the keyboard's drag-zoom.
func (v view) ZoomIn() string {
	q := v.Range.Span() / 4
	return v.With("start", unix(v.Range.From.Add(q)), "end", unix(v.Range.To.Add(-q)))
}

// InputStart and InputEnd show the range in the custom-range form:
// relative times as written, Unix seconds as a readable RFC 3339 time.
func (v view) InputStart() string { return readable(v.Range.Start, v.Range.From) }
func (v view) InputEnd() string   { return readable(v.Range.End, v.Range.To) }

func readable(s string, t time.Time) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return t.Format(time.RFC3339)
	}
	return s
}

// PageURL is the view at page n (1-based).
func (v view) PageURL(n int) string { return v.With("page", strconv.Itoa(n)) }

// ImgQuery is the query string of a graph image in this view.
func (v view) ImgQuery(width, height int) string {
	q := url.Values{}
	q.Set("start", v.Range.Start)
	if v.Range.End != "now" {
		q.Set("end", v.Range.End)
	}
	q.Set("width", strconv.Itoa(width))
	q.Set("height", strconv.Itoa(height))
	if v.Theme == "dark" {
		q.Set("theme", "dark")
	}
	return q.Encode()
}

// RangeQuery is the query string of the time range alone.
func (v view) RangeQuery() string {
	q := url.Values{}
	q.Set("start", v.Range.Start)
	if v.Range.End != "now" {
		q.Set("end", v.Range.End)
	}
	return q.Encode()
}

// Img is the URL of a graph export in this view's range.
func (v view) Img(id, format string, width, height int) string {
	return "/api/v1/graphs/" + url.PathEscape(id) + "." + format + "?" + v.ImgQuery(width, height)
}

// GraphURL is the URL of a graph's page in this view's range.
func (v view) GraphURL(id string) string {
	return "/graph/" + url.PathEscape(id) + "?" + v.RangeQuery()
}

package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// SeriesSource is where the raw series export reads: the series
// catalogue and the consolidated values (*storage.DB).
type SeriesSource interface {
	Series(ctx context.Context, sel metric.Selector) ([]metric.Labels, error)
	Select(ctx context.Context, q metric.Query) ([]metric.Series, error)
}

// Export bounds: rows of one series, series of one export, and the
// selectors and their length in one request.
const (
	maxExportRows    = 100_000
	maxExportSeries  = 100
	maxSelectors     = 20
	maxSelectorLen   = 1000
	defaultExportRow = 1440 // default step: the range in about a day of minutes
	defaultSeriesPer = 1000
)

// parseSelector reads a series selector as Prometheus writes one:
// `ifHCInOctets`, `{device="r1"}` or `ifHCInOctets{device="r1",ifName=~"eth.*"}`.
// Only = and =~ exist (a Selector is a conjunction of positive matches),
// and a selector must match something: at least one matcher.
func parseSelector(s string) (metric.Selector, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty selector")
	}
	if len(s) > maxSelectorLen {
		return nil, fmt.Errorf("longer than %d bytes", maxSelectorLen)
	}
	var sel metric.Selector
	i := 0
	for i < len(s) && isNameByte(s[i], i == 0, true) {
		i++
	}
	if i > 0 {
		sel = append(sel, metric.Eq(metric.NameLabel, s[:i]))
	}
	rest := strings.TrimSpace(s[i:])
	if rest == "" {
		return sel, nil
	}
	if rest[0] != '{' || rest[len(rest)-1] != '}' {
		return nil, fmt.Errorf("%q: want name{label=\"value\", ...}", s)
	}
	body := rest[1 : len(rest)-1]
	for p := 0; ; {
		for p < len(body) && (body[p] == ' ' || body[p] == ',') {
			p++
		}
		if p >= len(body) {
			break
		}
		st := p
		for p < len(body) && isNameByte(body[p], p == st, false) {
			p++
		}
		name := body[st:p]
		if name == "" {
			return nil, fmt.Errorf("label name expected at %q", clipText(body[st:], 20))
		}
		for p < len(body) && body[p] == ' ' {
			p++
		}
		var op string
		switch {
		case strings.HasPrefix(body[p:], "=~"):
			op = "=~"
		case strings.HasPrefix(body[p:], "!=") || strings.HasPrefix(body[p:], "!~"):
			return nil, fmt.Errorf("label %s: negative matchers (!=, !~) are not supported; use =~ with the values wanted", name)
		case strings.HasPrefix(body[p:], "="):
			op = "="
		default:
			return nil, fmt.Errorf("label %s: want = or =~", name)
		}
		p += len(op)
		for p < len(body) && body[p] == ' ' {
			p++
		}
		if p >= len(body) || body[p] != '"' {
			return nil, fmt.Errorf("label %s: want a quoted value", name)
		}
		q := p + 1
		for q < len(body) && body[q] != '"' {
			if body[q] == '\\' {
				q++
			}
			q++
		}
		if q >= len(body) {
			return nil, fmt.Errorf("label %s: unterminated value", name)
		}
		val, err := strconv.Unquote(body[p : q+1])
		if err != nil {
			return nil, fmt.Errorf("label %s: bad value %s", name, body[p:q+1])
		}
		p = q + 1
		if op == "=" {
			sel = append(sel, metric.Eq(name, val))
			continue
		}
		m, err := metric.Re(name, val)
		if err != nil {
			return nil, err
		}
		sel = append(sel, m)
	}
	if len(sel) == 0 {
		return nil, errors.New("a selector needs at least one label to match")
	}
	return sel, nil
}

func isNameByte(b byte, first, metricName bool) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_':
		return true
	case b == ':':
		return metricName
	case b >= '0' && b <= '9':
		return !first
	}
	return false
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (s *Server) seriesSource() (SeriesSource, error) {
	if s.o.Series == nil {
		return nil, ErrNotFound
	}
	return s.o.Series, nil
}

// allowedSeries drops series of devices outside the user's scope.
func (s *Server) allowedSeries(c echo.Context, ls []metric.Labels) ([]metric.Labels, error) {
	allow, err := s.scope(c)
	if err != nil || allow == nil {
		return ls, err
	}
	return slices.DeleteFunc(ls, func(l metric.Labels) bool { return !allow(l.Get(metric.DeviceLabel)) }), nil
}

// apiSeries: GET /api/v1/series?match[]=SEL&match[]=SEL&page=&per_page=
// lists the label sets of the series any selector matches.
func (s *Server) apiSeries(c echo.Context) error {
	src, err := s.seriesSource()
	if err != nil {
		return err
	}
	matches := c.QueryParams()["match[]"]
	if len(matches) == 0 {
		matches = c.QueryParams()["match"]
	}
	if len(matches) == 0 {
		return badParam("match[]", `give at least one selector, e.g. match[]={device="r1"}`)
	}
	if len(matches) > maxSelectors {
		return badParam("match[]", "%d selectors; at most %d", len(matches), maxSelectors)
	}
	page, per, err := readPaging(c, defaultSeriesPer, maxAPIPage)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var all []metric.Labels
	for _, m := range matches {
		sel, err := parseSelector(m)
		if err != nil {
			return badParam("match[]", "%v", err)
		}
		ls, err := src.Series(c.Request().Context(), sel)
		if err != nil {
			return err
		}
		for _, l := range ls {
			if k := l.String(); !seen[k] {
				seen[k] = true
				all = append(all, l)
			}
		}
	}
	if all, err = s.allowedSeries(c, all); err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b metric.Labels) int { return strings.Compare(a.String(), b.String()) })
	lo, hi, p := paginate(len(all), page, per)
	out := make([]map[string]string, 0, hi-lo)
	for _, l := range all[lo:hi] {
		out = append(out, l.Map())
	}
	return c.JSON(http.StatusOK, map[string]any{"series": out, "paging": p})
}

// exportQuery reads the parameters of /series/data.
func (s *Server) exportQuery(c echo.Context) (metric.Query, error) {
	var q metric.Query
	m := c.QueryParam("match")
	if m == "" {
		m = c.QueryParam("match[]")
	}
	if m == "" {
		return q, badParam("match", `give a selector, e.g. match=ifHCInOctets{device="r1",ifName="eth0"}`)
	}
	sel, err := parseSelector(m)
	if err != nil {
		return q, badParam("match", "%v", err)
	}
	q.Match = sel
	if q.From, q.To, err = s.readRange(c); err != nil {
		return q, err
	}
	span := q.To.Sub(q.From)
	if v := c.QueryParam("step"); v != "" {
		d, err := parseStep(v)
		if err != nil {
			return q, badParam("step", "%v", err)
		}
		q.Step = d
	} else {
		q.Step = max(time.Second, (span / defaultExportRow).Round(time.Second))
	}
	if rows := span / q.Step; rows > maxExportRows {
		return q, badParam("step", "%v over %v gives %d rows; at most %d per series (use a step of at least %v)",
			q.Step, span, rows, maxExportRows, (span/maxExportRows + time.Second).Truncate(time.Second))
	}
	if v := c.QueryParam("cf"); v != "" {
		if q.CF, err = metric.ParseCF(v); err != nil {
			return q, badParam("cf", "%v", err)
		}
	}
	return q, nil
}

// parseStep reads a step as seconds ("300") or a duration ("5m", "1h").
func parseStep(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 1 || n > 10*365*86400 {
			return 0, fmt.Errorf("%d seconds is out of range", n)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 10*365*24*time.Hour {
		return 0, fmt.Errorf("%q is not a step (seconds, or a duration such as 5m; at least 1s)", v)
	}
	return d, nil
}

type seriesData struct {
	Labels map[string]string `json:"labels"`
	Start  int64             `json:"start"`
	Step   float64           `json:"step"`
	Values [][2]any          `json:"values"` // [unix time, value or null]
}

// apiSeriesData: GET /api/v1/series/data[.csv]?match=&start=&end=&step=&cf=
// exports the values of the matching series on a regular grid.
func (s *Server) apiSeriesData(c echo.Context) error {
	src, err := s.seriesSource()
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if strings.HasSuffix(c.Request().URL.Path, ".csv") {
		format = "csv"
	}
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return badParam("format", "%q: want json or csv", format)
	}
	q, err := s.exportQuery(c)
	if err != nil {
		return err
	}
	// The catalogue says how many series match before any is read.
	ls, err := src.Series(c.Request().Context(), q.Match)
	if err != nil {
		return err
	}
	if ls, err = s.allowedSeries(c, ls); err != nil {
		return err
	}
	if len(ls) > maxExportSeries {
		return badParam("match", "matches %d series; at most %d per export (narrow the selector)", len(ls), maxExportSeries)
	}
	var series []metric.Series
	if len(ls) > 0 {
		series, err = src.Select(c.Request().Context(), q)
		if err != nil {
			return err
		}
	}
	allowed := map[string]bool{}
	for _, l := range ls {
		allowed[l.String()] = true
	}
	series = slices.DeleteFunc(series, func(sr metric.Series) bool { return !allowed[sr.Labels.String()] })
	slices.SortFunc(series, func(a, b metric.Series) int { return strings.Compare(a.Labels.String(), b.Labels.String()) })
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	if format == "csv" {
		var buf bytes.Buffer
		if err := writeSeriesCSV(&buf, series); err != nil {
			return err
		}
		h.Set("Content-Disposition", `attachment; filename="series.csv"`)
		return c.Blob(http.StatusOK, formats["csv"], buf.Bytes())
	}
	out := make([]seriesData, 0, len(series))
	for _, sr := range series {
		d := seriesData{Labels: sr.Labels.Map(), Start: sr.Start.Unix(), Step: sr.Step.Seconds(), Values: make([][2]any, len(sr.Values))}
		for i, v := range sr.Values {
			var val any
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				val = v
			}
			d.Values[i] = [2]any{sr.TimeAt(i).Unix(), val}
		}
		out = append(out, d)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(map[string]any{
		"start": q.From.Unix(), "end": q.To.Unix(), "step": q.Step.Seconds(), "cf": q.CF.String(), "series": out,
	}); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, formats["json"], buf.Bytes())
}

// writeSeriesCSV writes one column per series and one row per time of any
// series: "time,<series>...", Unix seconds, unknown values empty.
func writeSeriesCSV(buf *bytes.Buffer, series []metric.Series) error {
	w := csv.NewWriter(buf)
	head := []string{"time"}
	var times []int64
	at := map[int64][]string{}
	for j, sr := range series {
		head = append(head, sr.Labels.String())
		for i, v := range sr.Values {
			t := sr.TimeAt(i).Unix()
			row, ok := at[t]
			if !ok {
				row = make([]string, len(series))
				at[t] = row
				times = append(times, t)
			}
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				row[j] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
	}
	slices.Sort(times)
	if err := w.Write(head); err != nil {
		return err
	}
	for _, t := range times {
		if err := w.Write(append([]string{strconv.FormatInt(t, 10)}, at[t]...)); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

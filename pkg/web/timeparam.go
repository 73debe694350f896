package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"
)

// parseTime reads a time parameter as a user of rrdtool or Grafana would
// write it: "now", a relative offset ("-1d", "-6h", "now-2w"), Unix seconds,
// or RFC 3339.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty")
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-") || strings.HasPrefix(s, "-"):
		d, err := model.ParseDuration(strings.TrimPrefix(strings.TrimPrefix(s, "now"), "-"))
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a relative time (e.g. -6h, -1d, -1w, -1y)", s)
		}
		return now.Add(-time.Duration(d)), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return time.Time{}, fmt.Errorf("%q is out of range for Unix seconds", s)
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time (use now, -1d, Unix seconds or RFC 3339)", s)
	}
	return t, nil
}

// readRange reads start and end (default: the last day), saying which one
// is wrong and why.
func (s *Server) readRange(c echo.Context) (from, to time.Time, err error) {
	now := s.now()
	from, to = now.Add(-24*time.Hour), now
	if v := c.QueryParam("start"); v != "" {
		if from, err = parseTime(v, now); err != nil {
			return from, to, badParam("start", "%v", err)
		}
	}
	if v := c.QueryParam("end"); v != "" {
		if to, err = parseTime(v, now); err != nil {
			return from, to, badParam("end", "%v", err)
		}
	}
	if !from.Before(to) {
		return from, to, badParam("start", "start (%s) must be before end (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	return from, to, nil
}

package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestReadRange(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 11, 27, 14, 30, 0, 0, loc) // a Friday
	e := echo.New()
	read := func(q string) (timeRange, error) {
		c := e.NewContext(httptest.NewRequest("GET", "/?"+q, nil), httptest.NewRecorder())
		return readRange(c, now, "-1d")
	}
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, loc) }
	cases := []struct {
		q        string
		from, to time.Time
		preset   string
		label    string
	}{
		{"", now.Add(-24 * time.Hour), now, "1d", "last 1 day"},
		{"start=-1w", now.Add(-7 * 24 * time.Hour), now, "1w", "last 1 week"},
		{"range=6h", now.Add(-6 * time.Hour), now, "6h", "last 6 hours"},
		{"range=today", d(2026, 11, 27), d(2026, 11, 28), "today", "today"},
		{"range=yesterday", d(2026, 11, 26), d(2026, 11, 27), "yesterday", "yesterday"},
		{"range=thisweek", d(2026, 11, 23), d(2026, 11, 30), "thisweek", "this week"},
		{"range=lastweek", d(2026, 11, 16), d(2026, 11, 23), "lastweek", "previous week"},
		{"range=lastmonth", d(2026, 10, 1), d(2026, 11, 1), "lastmonth", "previous month"},
		{"range=thisyear", d(2026, 1, 1), d(2027, 1, 1), "thisyear", "this year"},
		{"range=lastyear", d(2025, 1, 1), d(2026, 1, 1), "lastyear", "previous year"},
		{"start=1700000000&end=1700003600", time.Unix(1700000000, 0), time.Unix(1700003600, 0), "", ""},
	}
	for _, tc := range cases {
		r, err := read(tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		if !r.From.Equal(tc.from) || !r.To.Equal(tc.to) || r.Preset != tc.preset {
			t.Errorf("%s: %v .. %v (%q), want %v .. %v (%q)", tc.q, r.From, r.To, r.Preset, tc.from, tc.to, tc.preset)
		}
		if tc.label != "" && r.Label() != tc.label {
			t.Errorf("%s: label %q, want %q", tc.q, r.Label(), tc.label)
		}
	}
	for q, field := range map[string]string{"range=3d": "range", "start=soon": "start", "end=-1x": "end", "start=now&end=-1h": "start"} {
		_, err := read(q)
		if pe, ok := err.(*paramError); !ok || pe.Field != field {
			t.Errorf("%s: %v, want an error naming %s", q, err, field)
		}
	}
}

func TestViewLinks(t *testing.T) {
	from, to := time.Unix(1700000000, 0), time.Unix(1700003600, 0)
	v := view{Path: "/", Range: timeRange{Start: "1700000000", End: "1700003600", From: from, To: to}, Q: "a b", Device: "r&d", PerPage: defaultPerPage}
	q := func(u string) url.Values {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return p.Query()
	}
	if b := q(v.Back()); b.Get("start") != "1699996400" || b.Get("end") != "1700000000" || b.Get("q") != "a b" || b.Get("device") != "r&d" {
		t.Errorf("back: %v", b)
	}
	if f := q(v.Forward()); f.Get("start") != "1700003600" || f.Get("end") != "1700007200" {
		t.Errorf("forward: %v", f)
	}
	if z := q(v.ZoomOut()); z.Get("start") != "1699998200" || z.Get("end") != "1700005400" {
		t.Errorf("zoom out: %v", z)
	}
	if z := q(v.ZoomIn()); z.Get("start") != "1700000900" || z.Get("end") != "1700002700" {
		t.Errorf("zoom in: %v", z)
	}
	if got := v.InputStart(); got != from.Format(time.RFC3339) {
		t.Errorf("input start %q", got)
	}
	p, _ := presetByKey("1w")
	if u := q(v.PresetURL(p)); u.Get("start") != "-1w" || u.Has("end") || u.Get("q") != "a b" {
		t.Errorf("preset: %v", u)
	}
	if u := v.Img("a/b", "png", 300, 100); !strings.HasPrefix(u, "/api/v1/graphs/a%2Fb.png?") || q(u).Get("width") != "300" || q(u).Get("end") != "1700003600" {
		t.Errorf("img: %s", u)
	}
	if u := q(v.PageURL(3)); u.Get("page") != "3" {
		t.Errorf("page: %v", u)
	}
}

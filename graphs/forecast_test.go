package graphs

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// linearData: a disk filling by exactly 1 GB per day, hourly rows over 30
// days ending at benchEnd, with some noise-free unknown rows.
func linearData() *fakeQuerier {
	const n = 30 * 24
	start := benchEnd.Add(-n * time.Hour).Add(time.Hour)
	vals := make([]float64, n)
	for i := range vals {
		t := start.Add(time.Duration(i) * time.Hour)
		vals[i] = 100e9 + 1e9*t.Sub(benchEnd).Hours()/24
		if i%50 == 7 {
			vals[i] = math.NaN()
		}
	}
	q := &fakeQuerier{}
	q.add(metric.New(metric.NameLabel, "disk_used", metric.DeviceLabel, "router1"), start, time.Hour, vals)
	return q
}

func forecastTemplate(threshold float64) Template {
	return Template{
		Name: "disk", Title: "{device} disk", Future: "60d", Unit: "B",
		Defs: []Def{{Name: "used", Metric: "disk_used"}},
		Items: []Item{
			{Type: "AREA", Ref: "used", Color: "#3366CC", Legend: "Used"},
			{Type: "FORECAST", Ref: "used", Color: "#CC0000", Legend: "Trend", Threshold: &threshold},
		},
	}
}

func TestForecastReaches(t *testing.T) {
	for _, tc := range []struct {
		threshold float64
		days      float64 // from the end of the data; NaN: not reached
		text      string
	}{
		{130e9, 30, "reaches 130.00 GB on 2026-01-31 (in 30 days)"},
		{100.5e9, 0.5, "reaches 100.50 GB on 2026-01-01 (in 12 hours)"},
		{90e9, math.NaN(), "at or beyond 90.00 GB now"},
		{1e18, math.NaN(), "does not reach 1.00 EB within 10 years"},
	} {
		tm := forecastTemplate(tc.threshold)
		if err := tm.Validate(); err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(context.Background(), linearData(), &tm, map[string]string{"device": "router1"},
			Options{From: benchEnd.Add(-30 * 24 * time.Hour), To: benchEnd, Width: 800, Height: 300})
		if err != nil {
			t.Fatal(err)
		}
		f := p.Forecasts[0]
		// 1 GB per day, exactly on the line.
		if got := f.Slope * 86400; math.Abs(got-1e9) > 1 {
			t.Errorf("slope %v per day, want 1e9", got)
		}
		if got := f.At(p.End()); math.Abs(got-(100e9+1e9*p.End().Sub(benchEnd).Hours()/24)) > 10 {
			t.Errorf("trend at end %v", got)
		}
		if !strings.Contains(f.Text, tc.text) {
			t.Errorf("threshold %v: text %q, want %q", tc.threshold, f.Text, tc.text)
		}
		if math.IsNaN(tc.days) {
			if !f.Reaches.IsZero() {
				t.Errorf("threshold %v: reaches %v, want never", tc.threshold, f.Reaches)
			}
			continue
		}
		if d := f.Reaches.Sub(benchEnd.Add(time.Duration(tc.days * 24 * float64(time.Hour)))); d < -time.Minute || d > time.Minute {
			t.Errorf("threshold %v: reaches %v, want %v", tc.threshold, f.Reaches, benchEnd.Add(time.Duration(tc.days*24*float64(time.Hour))))
		}
		x0, x1 := p.XRange()
		if got := time.Unix(int64(x1), 0).Sub(p.End()); got != 60*24*time.Hour {
			t.Errorf("axis extends %v past the data, want 60 days (x0 %v)", got, x0)
		}
		var legend []string
		for _, l := range p.Legend {
			legend = append(legend, strings.Join(l.Cells, " "))
		}
		if !strings.Contains(strings.Join(legend, "\n"), "Trend "+tc.text) {
			t.Errorf("legend %q lacks the forecast", legend)
		}
		if tc.threshold == 130e9 {
			writeLook(t, "forecast.png", mustPNG(t, p))
		}
	}
}

func TestForecastValidate(t *testing.T) {
	tm := forecastTemplate(1)
	tm.Future = "11y"
	tm.Items[0].Threshold = f64(3)
	err := tm.Validate()
	for _, w := range []string{`future "11y": must be from 0 to 10 years`, `items[0] AREA "used": only FORECAST takes a threshold`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want %q", err, w)
		}
	}
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseHorizon(in); err != nil || got != want {
			t.Errorf("parseHorizon(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"xd", "soon", "-1d"} {
		if _, err := parseHorizon(bad); err == nil {
			t.Errorf("parseHorizon(%q) accepted", bad)
		}
	}
}

// seasonalData: 14 days of hourly values 100 + day + 10*sin(2*pi*day),
// ending at benchEnd (day 14).
func seasonalData() *fakeQuerier {
	const n = 14 * 24
	start := benchEnd.Add(-n * time.Hour).Add(time.Hour)
	vals := make([]float64, n)
	for i := range vals {
		d := float64(i+1) / 24
		vals[i] = 100 + d + 10*math.Sin(2*math.Pi*d)
	}
	q := &fakeQuerier{}
	q.add(metric.New(metric.NameLabel, "load", metric.DeviceLabel, "router1"), start, time.Hour, vals)
	return q
}

func seasonalTemplate() Template {
	return Template{
		Name: "seasonal", Title: "{device} seasonal load", Future: "7d",
		Defs:  []Def{{Name: "l", Metric: "load"}},
		CDefs: []CDef{{Name: "usual", RPN: "86400,-3,3600,l,PREDICT"}},
		Items: []Item{
			{Type: "LINE", Ref: "l", Color: "#3366CC", Width: 1, Legend: "Load"},
			{Type: "LINE", Ref: "usual", Color: "#33AA33", Width: 1, Dashes: []float64{2, 2}, Legend: "Same hour, last 3 days"},
			{Type: "FORECAST", Ref: "l", Color: "#CC0000", Legend: "Holt-Winters", Threshold: f64(125), Method: "holt-winters", Season: "1d"},
			{Type: "FORECAST", Ref: "l", Color: "#888888", Legend: "Linear", Threshold: f64(125)},
		},
	}
}

func TestHoltWinters(t *testing.T) {
	tm := seasonalTemplate()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	// 14 days at one row per hour: 336 px of plot.
	w := 14*24 + leftMarginEstimate + rightMargin
	p, err := NewPlan(context.Background(), seasonalData(), &tm, map[string]string{"device": "router1"},
		Options{From: benchEnd.Add(-14 * 24 * time.Hour), To: benchEnd, Width: w, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step != time.Hour {
		t.Fatalf("step %v", p.Step)
	}
	hw := p.Forecasts[0]
	// The seasonal peak of day 15 (at 15.25 days, 125.25) is the first
	// above 125: 1.25 days after the end of the data.
	want := benchEnd.Add(30 * time.Hour)
	if d := hw.Reaches.Sub(want); d < -3*time.Hour || d > 3*time.Hour {
		t.Errorf("holt-winters reaches %v (%s), want about %v", hw.Reaches, hw.Text, want)
	}
	// Its projection keeps the daily swing.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range hw.Curve[:24] {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi-lo < 15 {
		t.Errorf("projected day swings %v..%v, want about 20", lo, hi)
	}
	// The straight line misses the peaks: it reaches 125 only on about
	// day 25.
	if lin := p.Forecasts[1]; !lin.Reaches.After(benchEnd.Add(9 * 24 * time.Hour)) {
		t.Errorf("linear reaches %v (%s)", lin.Reaches, lin.Text)
	}
	writeLook(t, "holt-winters.png", mustPNG(t, p))

	short := seasonalTemplate()
	short.Items[2].Season = "30d"
	if err := short.Validate(); err != nil {
		t.Fatal(err)
	}
	p2, err := NewPlan(context.Background(), seasonalData(), &short, map[string]string{"device": "router1"},
		Options{From: benchEnd.Add(-14 * 24 * time.Hour), To: benchEnd, Width: w, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p2.Forecasts[0].Text, "not enough data for a seasonal forecast") {
		t.Errorf("30-day season over 14 days: %q", p2.Forecasts[0].Text)
	}
	bad := seasonalTemplate()
	bad.Items[2].Season = ""
	bad.Items[3].Method = "arima"
	err = bad.Validate()
	for _, w := range []string{`season "": want a period`, `method "arima": want linear or holt-winters`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

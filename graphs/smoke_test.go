package graphs

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// pingData: 20 probes of round-trip time every 5 minutes over a day,
// spreading from 20 ms; probe k is lost in row r when (r+k)%p == 0, with p
// shrinking through the day so that loss grows.
func pingData() *fakeQuerier {
	q := &fakeQuerier{}
	const rows = 288
	start := benchEnd.Add(-(rows - 1) * 5 * time.Minute)
	for k := 0; k < 20; k++ {
		vals := make([]float64, rows)
		for r := range vals {
			vals[r] = 0.020 + 0.002*float64(k)*(1+math.Sin(float64(r)/20))
			per := 40 - r/10
			if per > 0 && (r+k)%per == 0 {
				vals[r] = math.NaN()
			}
			if r > 250 && k%2 == 0 {
				vals[r] = math.NaN() // half the probes lost late in the day
			}
		}
		q.add(metric.New(metric.NameLabel, "ping_rtt_seconds", metric.DeviceLabel, "router1", "probe", strconv.Itoa(k)), start, 5*time.Minute, vals)
	}
	return q
}

func smokeTemplate() Template {
	return Template{
		Name: "latency", Title: "{device} latency", VerticalLabel: "seconds", LowerLimit: f64(0), Unit: "s",
		Defs:  []Def{{Name: "rtt", Metric: "ping_rtt_seconds"}},
		Items: []Item{{Type: "SMOKE", Ref: "rtt", Color: "#000000", Legend: "RTT"}},
	}
}

func TestSmoke(t *testing.T) {
	q := pingData()
	p := newTestPlanFor(t, q, smokeTemplate(), "router1", 24*time.Hour)
	s := p.Series[0]
	if p.Step != 5*time.Minute || len(s.Spread) != p.Rows {
		t.Fatalf("step %v, %d spread rows for %d", p.Step, len(s.Spread), p.Rows)
	}
	ss, _ := q.Select(t.Context(), metric.Query{Match: metric.Selector{metric.Eq(metric.NameLabel, "ping_rtt_seconds")},
		From: p.Start.Add(-p.Step), To: p.End()})
	for r := 0; r < p.Rows; r++ {
		var known []float64
		for _, x := range ss {
			if i := int(p.Time(r).Sub(x.Start) / x.Step); i >= 0 && i < len(x.Values) && !math.IsNaN(x.Values[i]) {
				known = append(known, x.Values[i])
			}
		}
		slices.Sort(known)
		if !slices.Equal(known, s.Spread[r]) {
			t.Fatalf("row %d spread %v, want %v", r, s.Spread[r], known)
		}
		if want := 1 - float64(len(known))/20; math.Abs(s.Loss[r]-want) > 1e-12 {
			t.Fatalf("row %d loss %v, want %v", r, s.Loss[r], want)
		}
		if n := len(known); n > 0 {
			want := known[n/2]
			if n%2 == 0 {
				want = (known[n/2-1] + known[n/2]) / 2
			}
			if s.Values[r] != want {
				t.Fatalf("row %d median %v, want %v", r, s.Values[r], want)
			}
		}
	}
	if lossColor(0) == lossColor(0.5) || lossColor(0.03) != lossColors[1].col {
		t.Error("loss colours")
	}
	var buf bytes.Buffer
	if err := p.CSV(&buf); err != nil {
		t.Fatal(err)
	}
	body := buf.String()[strings.Index(buf.String(), "time,"):]
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "time,RTT,RTT loss" {
		t.Errorf("columns %v", recs[0])
	}
	if err := p.JSON(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	writeLook(t, "smoke.png", mustPNG(t, p))
	bad := smokeTemplate()
	bad.CDefs = []CDef{{Name: "ms", RPN: "rtt,1000,*"}}
	bad.Items[0].Ref = "ms"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "smoke needs a def") {
		t.Errorf("smoke over a cdef: %v", err)
	}
}

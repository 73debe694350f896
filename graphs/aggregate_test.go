package graphs

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// aggData: interface traffic of eth1, eth2 and eth10 on router1 and of
// eth1 on router2, hourly over a day; interface k carries k*1e6 plus a wave.
func aggData() *fakeQuerier {
	q := &fakeQuerier{}
	start := benchEnd.Add(-23 * time.Hour)
	for _, dev := range []string{"router1", "router2"} {
		for _, k := range []int{1, 2, 10} {
			if dev == "router2" && k != 1 {
				continue
			}
			vals := make([]float64, 24)
			for i := range vals {
				vals[i] = float64(k)*1e6 + 5e5*math.Sin(float64(i)/4)
			}
			if dev == "router2" {
				for i := range vals {
					vals[i] *= 3
				}
			}
			q.add(metric.New(metric.NameLabel, "if_in", metric.DeviceLabel, dev, "ifName", "eth"+strconv.Itoa(k)), start, time.Hour, vals)
		}
	}
	return q
}

func TestAggregates(t *testing.T) {
	q := aggData()
	stacked := Template{
		Name: "all_ifs", Title: "{device} all interfaces",
		Defs:  []Def{{Name: "in", Metric: "if_in", Match: map[string]string{"ifName": "~eth[0-9]+"}}},
		CDefs: []CDef{{Name: "total", RPN: "in"}},
		Items: []Item{
			{Type: "AREA", Ref: "in", Color: "#00CF00", Legend: "{ifName}", Each: true},
			{Type: "LINE", Ref: "total", Color: "#000000", Width: 1, Legend: "Total"},
		},
	}
	p := newTestPlanFor(t, q, stacked, "router1", 24*time.Hour)
	if len(p.Series) != 4 {
		t.Fatalf("%d series, want 3 interfaces and the total", len(p.Series))
	}
	for i, want := range []string{"eth1", "eth2", "eth10", "Total"} {
		if p.Series[i].Legend != want {
			t.Errorf("series %d legend %q, want %q", i, p.Series[i].Legend, want)
		}
	}
	if p.Series[0].Type != TypeArea || p.Series[1].Type != TypeStack || p.Series[2].Type != TypeStack {
		t.Errorf("types %s %s %s, want AREA STACK STACK", p.Series[0].Type, p.Series[1].Type, p.Series[2].Type)
	}
	if p.Series[1].Color == p.Series[0].Color {
		t.Error("second interface has the first one's colour")
	}
	for r := 0; r < p.Rows; r++ {
		sum := p.Series[0].Values[r] + p.Series[1].Values[r] + p.Series[2].Values[r]
		if tot := p.Series[3].Values[r]; math.IsNaN(tot) || math.Abs(tot-sum) > 1e-6 {
			t.Fatalf("row %d: total %v, stacked sum %v", r, tot, sum)
		}
		if top := p.Series[2].Base[r] + p.Series[2].Values[r]; math.Abs(top-sum) > 1e-6 {
			t.Fatalf("row %d: stack top %v, want %v", r, top, sum)
		}
	}
	writeLook(t, "aggregate.png", mustPNG(t, p))

	// The same interface summed over devices.
	across := Template{
		Name: "eth1_everywhere", Title: "eth1 on all routers",
		Defs:  []Def{{Name: "in", Metric: "if_in", Device: "~router.*", Match: map[string]string{"ifName": "eth1"}}},
		Items: []Item{{Type: "LINE", Ref: "in", Color: "#0000FF", Legend: "eth1, all routers"}},
	}
	p2 := newTestPlanFor(t, q, across, "any", 24*time.Hour)
	if got, want := p2.Series[0].Values[0], 4*(1e6); math.Abs(got-want) > 1 {
		t.Errorf("sum over routers %v, want %v", got, want)
	}

	bad := stacked
	bad.Defs = []Def{{Name: "in", Metric: "if_in", Match: map[string]string{"ifName": "~eth[0-9"}}}
	bad.Items = []Item{{Type: "HRULE", Value: f64(1), Color: "#000000", Each: true}, {Type: "AREA", Ref: "total", Color: "#000000", Each: true}}
	err := bad.Validate()
	for _, w := range []string{`defs[0] "in": match: label ifName: bad regular expression`, `items[0] HRULE: only AREA, STACK and LINE take each`, `items[1] AREA "total": each needs a def, not a cdef`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func newTestPlanFor(t *testing.T, q Querier, tm Template, device string, span time.Duration) *Plan {
	t.Helper()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": device},
		Options{From: benchEnd.Add(-span), To: benchEnd, Width: 800, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

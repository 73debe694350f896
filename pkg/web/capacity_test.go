package web

import (
	"encoding/csv"
	"encoding/json"
	"github.com/saguaro-monitoring/saguaro/graphs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

func TestCapacityReport(t *testing.T) {
	m := newManyGraphs(t, 3, 8) // per device: 2 disk and 2 memory graphs with forecasts
	env := newTestEnvWith(t, m, manyDevices{m})
	code, _, body := env.do(t, "GET", "/api/v1/capacity?start=-7d", auth.RoleViewer, nil)
	var rep struct {
		Forecasts []capacityRow
		Graphs    int
	}
	if code != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("capacity: %d %s", code, body)
	}
	if rep.Graphs != 12 || len(rep.Forecasts) != 12 {
		t.Fatalf("planned %d graphs, %d forecasts; want 12 and 12", rep.Graphs, len(rep.Forecasts))
	}
	// The disks reach 2000 within the horizon and come first, soonest
	// first; memory (threshold 1e12) never does and comes last.
	for i, r := range rep.Forecasts {
		wantDisk := i < 6
		if (r.Template == "disk") != wantDisk {
			t.Errorf("row %d is %s", i, r.Template)
		}
		if wantDisk && (r.Days == nil || r.Reaches == nil || *r.Days <= 0 || i > 0 && rep.Forecasts[i-1].Days != nil && *rep.Forecasts[i-1].Days > *r.Days) {
			t.Errorf("row %d: days %v reaches %v, want increasing positive days", i, r.Days, r.Reaches)
		}
		if !wantDisk && r.Days != nil {
			t.Errorf("memory row %d reaches its threshold in %v days", i, *r.Days)
		}
	}
	// CSV: one line per forecast, numbers parse.
	code, h, body := env.do(t, "GET", "/api/v1/capacity?start=-7d&format=csv&template=disk", auth.RoleViewer, nil)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 7 || rows[0][8] != "days_until" || !strings.Contains(h.Get("Content-Disposition"), "capacity.csv") {
		t.Fatalf("csv: %d %v %q", code, err, body)
	}
	if d, err := strconv.ParseFloat(rows[1][8], 64); err != nil || d <= 0 {
		t.Errorf("csv days_until %q", rows[1][8])
	}
	// The page lists them with a CSV link of the same view.
	_, _, body = env.do(t, "GET", "/capacity?q=rtr-001", auth.RoleViewer, nil)
	if strings.Count(body, "<tr><td>") != 4 || strings.Contains(body, "%!") || !regexp.MustCompile(`<td>\d+\.\d</td>`).MatchString(body) || !strings.Contains(body, `href="/api/v1/capacity?format=csv&amp;q=rtr-001&amp;start=-30d"`) {
		t.Errorf("capacity page:\n%s", body)
	}
	if code, _, _ := env.do(t, "GET", "/api/v1/capacity?format=xml", auth.RoleViewer, nil); code != 400 {
		t.Errorf("bad format: %d", code)
	}
}

// TestCapacityTooLittleData: a graph whose range holds no data says so
// instead of "never", and comes after those that never reach their
// threshold.
func TestCapacityTooLittleData(t *testing.T) {
	m := newManyGraphs(t, 1, 4) // rtr-000: one disk, one memory forecast
	m.ids["nodata.disk.eth0"] = len(m.list)
	m.list = append(m.list, graphs.Info{ID: "nodata.disk.eth0", Title: "nodata - disk eth0", Device: "nodata", Template: "disk",
		Vars: map[string]string{"device": "nodata", "ifName": "eth0"}})
	env := newTestEnvWith(t, m, manyDevices{m})
	_, _, body := env.do(t, "GET", "/capacity", auth.RoleViewer, nil)
	rows := regexp.MustCompile(`(?s)<tr><td><a [^>]*>([^<]*)</a>.*?</tr>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3:\n%s", len(rows), body)
	}
	if !strings.Contains(rows[0][0], "rtr-000 - disk") || !strings.Contains(rows[1][0], "rtr-000 - memory") || !strings.Contains(rows[1][0], "never") {
		t.Errorf("first rows: %q, %q", rows[0][0], rows[1][0])
	}
	if !strings.Contains(rows[2][0], "nodata - disk") || !strings.Contains(rows[2][0], "too little data") || strings.Contains(rows[2][0], "never") {
		t.Errorf("last row: %q", rows[2][0])
	}
}

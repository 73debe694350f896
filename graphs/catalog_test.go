package graphs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

func TestCatalogList(t *testing.T) {
	q := &fakeQuerier{}
	start := benchEnd.Add(-time.Hour)
	one := []float64{1}
	for _, l := range []metric.Labels{
		metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth10"),
		metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth2"),
		metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "Gi0/1"),
		metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "Gi0_1"),
		metric.New(metric.NameLabel, "g", metric.DeviceLabel, "other", "ifName", "eth0"),
		metric.New(metric.NameLabel, "cpu_user", metric.DeviceLabel, "router1"),
	} {
		q.add(l, start, time.Minute, one)
	}
	cpu := base()
	c, err := NewCatalog(q, []Template{simpleTemplate(), cpu})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := c.List(context.Background(), []Device{
		{Name: "router1", Templates: []string{"simple", "cpu"}},
		{Name: "host a", Templates: []string{"cpu"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids, titles []string
	for _, in := range infos {
		ids = append(ids, in.ID)
		titles = append(titles, in.Title)
	}
	wantIDs := []string{"host_a.cpu", "router1.cpu", "router1.simple.Gi0_1", "router1.simple.Gi0_1-2",
		"router1.simple.eth2", "router1.simple.eth10"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("ids %q\nwant %q", ids, wantIDs)
	}
	if titles[2] != "router1 Gi0/1" || titles[0] != "host a cpu" {
		t.Errorf("titles %q", titles)
	}
	if v := infos[5].Vars; v["device"] != "router1" || v["ifName"] != "eth10" || infos[5].Template != "simple" {
		t.Errorf("vars %v", infos[5])
	}
	if tm, ok := c.Template("simple"); !ok || tm.Name != "simple" {
		t.Error("Template(simple) not found")
	}
	if _, ok := c.Template("nope"); ok {
		t.Error("Template(nope) found")
	}

	// A listed instance can be planned with its vars.
	tm, _ := c.Template(infos[5].Template)
	if _, err := NewPlan(context.Background(), q, tm, infos[5].Vars,
		Options{From: start, To: benchEnd, Width: 400, Height: 200}); err != nil {
		t.Errorf("plan of listed instance: %v", err)
	}

	if _, err := c.List(context.Background(), []Device{{Name: "x", Templates: []string{"missing"}}}); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: %v", err)
	}
	q.err = errors.New("index broken")
	if _, err := c.List(context.Background(), []Device{{Name: "router1", Templates: []string{"simple"}}}); err == nil ||
		!strings.Contains(err.Error(), "index broken") {
		t.Errorf("querier error: %v", err)
	}
}

func TestNewCatalogErrors(t *testing.T) {
	bad := base()
	bad.Items[0].Color = "#nothex"
	_, err := NewCatalog(&fakeQuerier{}, []Template{base(), base(), bad})
	if err == nil {
		t.Fatal("accepted duplicates")
	}
	for _, w := range []string{`graph template "cpu": defined twice (graphs[0] and graphs[1])`, `colour "#nothex"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not contain %q", err, w)
		}
	}
}

func TestNaturalCompareAndSlug(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"eth2", "eth10", -1}, {"eth10", "eth2", 1}, {"a", "a", 0}, {"a01", "a1", 0}, {"x", "xy", -1}, {"B", "a", -1}} {
		if got := naturalCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for in, want := range map[string]string{"Gi0/1": "Gi0_1", "a b  c": "a_b_c", "": "_", "ünï": "_n_", "x-y_z": "x-y_z"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLabelVariables: titles can use labels of the series, such as the
// interface alias, in the catalog and in the plan.
func TestLabelVariables(t *testing.T) {
	q := &fakeQuerier{}
	q.add(metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth0", "ifAlias", "uplink to ISP"),
		benchEnd.Add(-time.Hour), time.Minute, []float64{1, 2})
	q.add(metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth1"),
		benchEnd.Add(-time.Hour), time.Minute, []float64{1, 2})
	tm := simpleTemplate()
	tm.Title = "{device} {ifName} ({ifAlias})"
	tm.Labels = []string{"ifAlias"}
	c, err := NewCatalog(q, []Template{tm})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := c.List(context.Background(), []Device{{Name: "router1", Templates: []string{"simple"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Title != "router1 eth0 (uplink to ISP)" || infos[1].Title != "router1 eth1 ({ifAlias})" {
		t.Fatalf("titles %q, %q", infos[0].Title, infos[1].Title)
	}
	tp, _ := c.Template("simple")
	vars := map[string]string{"device": "router1", "ifName": "eth0"} // as a caller may pass them
	p, err := NewPlan(context.Background(), q, tp, vars, Options{From: benchEnd.Add(-time.Hour), To: benchEnd, Width: 400, Height: 200})
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "router1 eth0 (uplink to ISP)" {
		t.Errorf("plan title %q", p.Title)
	}
	if _, ok := vars["ifAlias"]; ok {
		t.Error("NewPlan changed the caller's vars")
	}
}

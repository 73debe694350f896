package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/saguaro-monitoring/saguaro/graphs"
)

// manyGraphs is a fake graph catalogue of n graphs spread over devices
// and templates, every one drawn from memQuerier's ramp.
type manyGraphs struct {
	list  []graphs.Info
	ids   map[string]int
	tmpls map[string]*graphs.Template
}

var fakeTemplateNames = []string{"interface_traffic", "cpu", "memory", "disk"}

func newManyGraphs(t testing.TB, devices, perDevice int) *manyGraphs {
	t.Helper()
	m := &manyGraphs{ids: map[string]int{}, tmpls: map[string]*graphs.Template{}}
	colours := []string{"#00A000", "#0000FF", "#FF8000", "#A000A0"}
	for i, name := range fakeTemplateNames {
		tm := &graphs.Template{
			Name: name, Title: "{device} - " + name, VerticalLabel: "units",
			Defs:  []graphs.Def{{Name: "v", Metric: "temp", CF: "AVERAGE"}},
			Items: []graphs.Item{{Type: "AREA", Ref: "v", Color: colours[i], Legend: name}},
		}
		// Disks fill soon, memory never: the capacity report ranks them.
		switch name {
		case "disk":
			th := 2000.0
			tm.Future = "30d"
			tm.Items = append(tm.Items, graphs.Item{Type: "FORECAST", Ref: "v", Color: "#CC0000", Threshold: &th, Legend: "Trend"})
		case "memory":
			th := 1e12
			tm.Future = "30d"
			tm.Items = append(tm.Items, graphs.Item{Type: "FORECAST", Ref: "v", Color: "#CC0000", Threshold: &th, Legend: "Trend"})
		}
		if err := tm.Validate(); err != nil {
			t.Fatal(err)
		}
		m.tmpls[name] = tm
	}
	for d := 0; d < devices; d++ {
		dev := fmt.Sprintf("rtr-%03d", d)
		for g := 0; g < perDevice; g++ {
			tn := fakeTemplateNames[g%len(fakeTemplateNames)]
			port := fmt.Sprintf("eth%d", g/len(fakeTemplateNames))
			id := fmt.Sprintf("%s.%s.%s", dev, tn, port)
			m.ids[id] = len(m.list)
			m.list = append(m.list, graphs.Info{ID: id, Title: dev + " - " + tn + " " + port, Device: dev, Template: tn,
				Vars: map[string]string{"device": dev, "ifName": port}})
		}
	}
	return m
}

func (m *manyGraphs) HasForecast(template string) bool {
	return template == "disk" || template == "memory"
}

func (m *manyGraphs) List(context.Context) ([]graphs.Info, error) { return m.list, nil }

func (m *manyGraphs) Plan(ctx context.Context, id string, o graphs.Options) (*graphs.Plan, error) {
	i, ok := m.ids[id]
	if !ok {
		return nil, fmt.Errorf("graph %s: %w", id, ErrNotFound)
	}
	g := m.list[i]
	return graphs.NewPlan(ctx, memQuerier{}, m.tmpls[g.Template], g.Vars, o)
}

func (m *manyGraphs) PlanTemplate(ctx context.Context, name string, vars map[string]string, o graphs.Options) (*graphs.Plan, error) {
	t, ok := m.tmpls[name]
	if !ok {
		return nil, fmt.Errorf("template %s: %w", name, ErrNotFound)
	}
	return graphs.NewPlan(ctx, memQuerier{}, t, vars, o)
}

// manyDevices reports the devices of a manyGraphs, one of them failing.
type manyDevices struct{ m *manyGraphs }

func (d manyDevices) Devices() []DeviceStatus {
	var out []DeviceStatus
	seen := map[string]bool{}
	for _, g := range d.m.list {
		if seen[g.Device] {
			continue
		}
		seen[g.Device] = true
		st := DeviceStatus{Name: g.Device, Template: "net-snmp-host", Address: "snmp://127.0.0.1:161"}
		if len(out) == 1 {
			st.Error = "request timeout"
		}
		out = append(out, st)
	}
	return out
}

// sitedDevices are the devices of a manyGraphs with sites given in turn
// ("" for none).
type sitedDevices struct {
	manyDevices
	sites []string
}

func (d sitedDevices) Devices() []DeviceStatus {
	out := d.manyDevices.Devices()
	for i := range out {
		out[i].Site = d.sites[i%len(d.sites)]
	}
	return out
}

// recorder is a minimal http.ResponseWriter for handler calls that need
// a chosen RemoteAddr.
type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}, code: 200} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

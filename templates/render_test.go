package templates

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// shapeQuerier serves a day of plausible values for every metric the
// built-in graphs read, so each template is drawn as an operator would see
// it. Series are already rates where storage would store rates.
type shapeQuerier struct{}

// multi lists the series of metrics drawn once per series (each: true).
var multi = map[string][2]string{
	"app_events_total": {"counter", "items_ingested,messages_sent,orders_paid"},
	"script_value":     {"field", "users,sessions"},
}

func (shapeQuerier) Select(_ context.Context, q metric.Query) ([]metric.Series, error) {
	var name string
	labels := map[string]string{}
	for _, m := range q.Match {
		if !m.Regex {
			labels[m.Name] = m.Value
		}
		if m.Name == metric.NameLabel {
			name = m.Value
		}
	}
	step := q.Step
	if step <= 0 {
		step = 5 * time.Minute
	}
	start := q.From.Truncate(step).Add(step)
	n := int(q.To.Sub(start) / step)
	mk := func(extra string, k int) metric.Series {
		ls := metric.FromMap(labels)
		if extra != "" {
			ls = ls.With(multi[name][0], extra)
		}
		s := metric.Series{Labels: ls, Start: start, Step: step, Values: make([]float64, n)}
		for i := range s.Values {
			s.Values[i] = shape(name, labels, q.CF, start.Add(time.Duration(i)*step), i, k)
		}
		return s
	}
	if m, ok := multi[name]; ok && labels[m[0]] == "" {
		var out []metric.Series
		for k, v := range strings.Split(m[1], ",") {
			out = append(out, mk(v, k))
		}
		return out, nil
	}
	return []metric.Series{mk("", 0)}, nil
}

func (shapeQuerier) LabelValues(context.Context, string, metric.Selector) ([]string, error) {
	return nil, nil
}

// shape is a value at t: a daily cycle with some deterministic jitter.
func shape(name string, l map[string]string, cf metric.CF, t time.Time, i, k int) float64 {
	day := 0.5 + 0.5*math.Sin(2*math.Pi*(float64(t.Hour())+float64(t.Minute())/60-8)/24)
	jit := 0.5 + 0.5*math.Sin(float64(i)*1.7+float64(k))*math.Cos(float64(i)*0.31)
	peak := 1.0
	if cf == metric.Max {
		peak = 1.25
	}
	switch name {
	case "hr_storage_unit_bytes":
		return 4096
	case "hr_storage_size_units":
		return 25e6
	case "hr_storage_used_units":
		return (14e6 + float64(i)*4e3 + 2e5*jit) * peak
	case "ucd_diskio_read_bytes":
		return (1e6 + 8e6*day*jit) * peak
	case "ucd_diskio_written_bytes":
		return (5e5 + 3e6*day) * peak
	case "ucd_diskio_reads", "ucd_diskio_writes":
		return (20 + 300*day*jit) * peak
	case "apache_accesses_total", "nginx_http_requests_total":
		return (5 + 60*day + 10*jit) * peak
	case "nginx_connections_accepted_total":
		return 2 + 20*day + 3*jit
	case "nginx_connections_handled_total":
		if i%97 < 3 {
			return 2 + 20*day
		}
		return 2 + 20*day + 3*jit
	case "apache_sent_kilobytes_total":
		return 200 + 3000*day*jit
	case "apache_workers":
		busy := 3 + 40*day*jit
		if l["state"] == "busy" {
			return busy
		}
		return 75 - busy
	case "apache_scoreboard":
		w := map[string]float64{"reading": 2, "sending": 10, "keepalive": 20, "closing": 3, "waiting": 30}[l["state"]]
		return w * (0.3 + day*jit)
	case "nginx_connections":
		w := map[string]float64{"reading": 2, "writing": 8, "waiting": 50}[l["state"]]
		return w * (0.3 + day*jit)
	case "nginx_connections_active":
		return 60 * (0.3 + day*jit)
	case "jvm_memory_heap_bytes":
		switch l["kind"] {
		case "used":
			return (200e6 + 5e6*float64(i%24)*(1+day)) * peak // GC sawtooth
		case "committed":
			return 1024e6
		case "max":
			return 2048e6
		}
		return 256e6
	case "jvm_memory_nonheap_bytes":
		if l["kind"] == "committed" {
			return 140e6
		}
		return 110e6 + float64(i)*20e3
	case "app_events_total":
		return (1 + float64(k)*3) * (2 + 10*day*jit)
	case "script_value":
		return float64(10*(k+1)) + 20*day*jit
	case "latency_rtt_seconds":
		base := 0.018 + 0.006*day
		switch l["stat"] {
		case "min":
			return base - 0.004
		case "max":
			return base + 0.004 + 0.03*jit*jit*jit
		case "p90":
			return base + 0.004 + 0.012*jit*jit*jit
		}
		return base + 0.001*jit
	case "latency_loss_ratio":
		if i%53 < 2 {
			return 0.15 * peak
		}
		return 0
	}
	return (1 + 10*day*jit) * peak
}

// Every built-in graph template draws a PNG with each of its series
// known; SAGUARO_PNG_DIR=dir keeps the pictures for a person to look at.
func TestBuiltinGraphsRender(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("SAGUARO_PNG_DIR")
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	perValues := map[string]string{"ifName": "eth0", "hrStorageDescr": "/", "diskIODevice": "sda"}
	for _, name := range sortedKeys(s.Graphs) {
		t.Run(name, func(t *testing.T) {
			g := s.Graphs[name]
			vars := map[string]string{metric.DeviceLabel: "web1"}
			for _, p := range g.Per {
				vars[p] = perValues[p]
			}
			plan, err := graphs.NewPlan(context.Background(), shapeQuerier{}, g, vars,
				graphs.Options{From: end.Add(-24 * time.Hour), To: end, Width: 800, Height: 300, Now: end})
			if err != nil {
				t.Fatal(err)
			}
			for _, ps := range plan.Series {
				known := 0
				for _, v := range ps.Values {
					if !math.IsNaN(v) {
						known++
					}
				}
				if known < plan.Rows/2 {
					t.Errorf("series %q: %d of %d rows known", ps.Legend, known, plan.Rows)
				}
			}
			var buf bytes.Buffer
			if err := plan.PNG(&buf); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil || img.Bounds().Dx() != 800 {
				t.Fatalf("png: %v %v", err, img.Bounds())
			}
			if out != "" {
				if err := os.WriteFile(filepath.Join(out, name+".png"), buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// freshQuerier is shapeQuerier with only the last few minutes known, as on
// a new installation looked at over an hour.
type freshQuerier struct{ known time.Time }

func (f freshQuerier) Select(ctx context.Context, q metric.Query) ([]metric.Series, error) {
	ss, err := shapeQuerier{}.Select(ctx, q)
	for _, s := range ss {
		for i := range s.Values {
			if s.Start.Add(time.Duration(i) * s.Step).Before(f.known) {
				s.Values[i] = math.NaN()
			}
		}
	}
	return ss, err
}

func (freshQuerier) LabelValues(context.Context, string, metric.Selector) ([]string, error) {
	return nil, nil
}

// TestTrafficPercentileOfFewPolls: the built-in traffic graph's 95th
// percentile is that of the values known, as Cacti's, so that it shows
// from the first polls on instead of staying unknown until 95 % of the
// view has data.
func TestTrafficPercentileOfFewPolls(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	plan, err := graphs.NewPlan(context.Background(), freshQuerier{known: end.Add(-5 * time.Minute)}, s.Graphs["interface_traffic"],
		map[string]string{metric.DeviceLabel: "web1", "ifName": "eth0"},
		graphs.Options{From: end.Add(-time.Hour), To: end, Width: 800, Height: 300, Now: end})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"in_p95", "out_p95"} {
		v, ok := plan.VDefs[name]
		if !ok || math.IsNaN(v.Value) || v.Value <= 0 {
			t.Errorf("%s = %+v, want the 95th percentile of the known values", name, v)
		}
		if max := plan.VDefs[strings.Replace(name, "p95", "max", 1)].Value; v.Value > max {
			t.Errorf("%s = %v above the maximum %v", name, v.Value, max)
		}
	}
}

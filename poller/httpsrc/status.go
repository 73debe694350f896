package httpsrc

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

var (
	// A counter a restart resets: with Min 0 the reset reads as unknown.
	resetCounter = metric.DS{Type: metric.Derive, Min: 0, Max: math.NaN()}
	resetFloat   = metric.DS{Type: metric.DDerive, Min: 0, Max: math.NaN()}
)

// statusSample is one parsed value before labels are finished.
type statusSample struct {
	name   string
	labels []string // name, value pairs
	ds     metric.DS
	value  float64
	count  uint64
	exact  bool
}

func (b *builder) addStatus(s statusSample) {
	if !b.wanted(s.name, false) {
		return
	}
	m := make(map[string]string, len(b.common)+len(s.labels)/2+1)
	for i := 0; i+1 < len(s.labels); i += 2 {
		m[s.labels[i]] = s.labels[i+1]
	}
	for _, l := range b.common {
		m[l.Name] = l.Value
	}
	m[metric.NameLabel] = s.name
	b.out = append(b.out, metric.Sample{Labels: metric.FromMap(m), DS: s.ds, Value: s.value, Count: s.count, Exact: s.exact})
}

// apacheFields maps mod_status?auto keys to samples.
var apacheFields = map[string]statusSample{
	"Total Accesses":      {name: "apache_accesses_total", ds: resetCounter},
	"Total kBytes":        {name: "apache_sent_kilobytes_total", ds: resetCounter},
	"Total Duration":      {name: "apache_duration_milliseconds_total", ds: resetCounter},
	"ServerUptimeSeconds": {name: "apache_uptime_seconds", ds: gaugeDS},
	"CPULoad":             {name: "apache_cpu_load", ds: gaugeDS},
	"CPUUser":             {name: "apache_cpu_seconds_total", labels: []string{"mode", "user"}, ds: resetFloat},
	"CPUSystem":           {name: "apache_cpu_seconds_total", labels: []string{"mode", "system"}, ds: resetFloat},
	"CPUChildrenUser":     {name: "apache_cpu_seconds_total", labels: []string{"mode", "children_user"}, ds: resetFloat},
	"CPUChildrenSystem":   {name: "apache_cpu_seconds_total", labels: []string{"mode", "children_system"}, ds: resetFloat},
	"BusyWorkers":         {name: "apache_workers", labels: []string{"state", "busy"}, ds: gaugeDS},
	"IdleWorkers":         {name: "apache_workers", labels: []string{"state", "idle"}, ds: gaugeDS},
	"GracefulWorkers":     {name: "apache_workers", labels: []string{"state", "graceful"}, ds: gaugeDS},
	"Processes":           {name: "apache_processes", ds: gaugeDS},
	"ConnsTotal":          {name: "apache_connections", labels: []string{"state", "total"}, ds: gaugeDS},
	"ConnsAsyncWriting":   {name: "apache_connections", labels: []string{"state", "writing"}, ds: gaugeDS},
	"ConnsAsyncKeepAlive": {name: "apache_connections", labels: []string{"state", "keepalive"}, ds: gaugeDS},
	"ConnsAsyncClosing":   {name: "apache_connections", labels: []string{"state", "closing"}, ds: gaugeDS},
	"Load1":               {name: "apache_load", labels: []string{"period", "1m"}, ds: gaugeDS},
	"Load5":               {name: "apache_load", labels: []string{"period", "5m"}, ds: gaugeDS},
	"Load15":              {name: "apache_load", labels: []string{"period", "15m"}, ds: gaugeDS},
}

// scoreboardStates names the characters of Apache's scoreboard.
var scoreboardStates = []struct {
	c     byte
	state string
}{
	{'_', "waiting"}, {'S', "starting"}, {'R', "reading"}, {'W', "sending"}, {'K', "keepalive"},
	{'D', "dns"}, {'C', "closing"}, {'L', "logging"}, {'G', "graceful"}, {'I', "idle_cleanup"}, {'.', "open"},
}

// parseApache reads Apache httpd's mod_status page in machine form
// (server-status?auto): "Key: value" lines and a Scoreboard.
func parseApache(body []byte, b *builder) error {
	known := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue // the first line is the host name
		}
		val = strings.TrimSpace(val)
		if key == "Scoreboard" {
			known++
			for _, st := range scoreboardStates {
				n := strings.Count(val, string(st.c))
				b.addStatus(statusSample{name: "apache_scoreboard", labels: []string{"state", st.state}, ds: gaugeDS, value: float64(n)})
			}
			continue
		}
		f, ok := apacheFields[key]
		if !ok {
			continue
		}
		known++
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: Apache status line %d: %s: %s is not a number", ErrFormat, line, key, quote(val))
		}
		f.value = v
		if f.ds.Type == metric.Derive {
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: Apache status line %d: %s: %s is not a whole number", ErrFormat, line, key, quote(val))
			}
			f.count, f.exact = n, true
		}
		b.addStatus(f)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: Apache status: %v", ErrFormat, err)
	}
	if known == 0 {
		return fmt.Errorf("%w: not an Apache server-status?auto page (no known fields)", ErrFormat)
	}
	return nil
}

// parseNginx reads nginx's stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
func parseNginx(body []byte, b *builder) error {
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	bad := func(line int, what string) error {
		return fmt.Errorf("%w: nginx stub_status line %d: %s", ErrFormat, line, what)
	}
	if len(lines) != 4 {
		return bad(len(lines), fmt.Sprintf("want 4 lines, got %d", len(lines)))
	}
	num := func(line int, s string) (uint64, error) {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return 0, bad(line, fmt.Sprintf("%s is not a count", quote(s)))
		}
		return n, nil
	}
	act, ok := strings.CutPrefix(strings.TrimSpace(lines[0]), "Active connections:")
	if !ok {
		return bad(1, "no \"Active connections:\"")
	}
	active, err := num(1, act)
	if err != nil {
		return err
	}
	if strings.Join(strings.Fields(lines[1]), " ") != "server accepts handled requests" {
		return bad(2, "no \"server accepts handled requests\"")
	}
	f := strings.Fields(lines[2])
	if len(f) != 3 {
		return bad(3, "want three counts")
	}
	var counts [3]uint64
	for i := range f {
		if counts[i], err = num(3, f[i]); err != nil {
			return err
		}
	}
	f = strings.Fields(lines[3])
	if len(f) != 6 || f[0] != "Reading:" || f[2] != "Writing:" || f[4] != "Waiting:" {
		return bad(4, "want \"Reading: N Writing: N Waiting: N\"")
	}
	var states [3]uint64
	for i := range states {
		if states[i], err = num(4, f[2*i+1]); err != nil {
			return err
		}
	}
	b.addStatus(statusSample{name: "nginx_connections_active", ds: gaugeDS, value: float64(active)})
	for i, n := range []string{"nginx_connections_accepted_total", "nginx_connections_handled_total", "nginx_http_requests_total"} {
		b.addStatus(statusSample{name: n, ds: resetCounter, value: float64(counts[i]), count: counts[i], exact: true})
	}
	for i, st := range []string{"reading", "writing", "waiting"} {
		b.addStatus(statusSample{name: "nginx_connections", labels: []string{"state", st}, ds: gaugeDS, value: float64(states[i])})
	}
	return nil
}

package httpsrc

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/pkg/nginxtest"
)

func TestNginxStubStatus(t *testing.T) {
	base := nginxtest.Start(t)
	c := mustNew(t, Config{Device: "web1", URL: base + "/stub", Format: FormatNginx})
	s1, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := 0; i < n; i++ {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s2, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r1 := find(s1, "nginx_http_requests_total")
	r2 := find(s2, "nginx_http_requests_total")
	if len(r1) != 1 || len(r2) != 1 || !r2[0].Exact || r2[0].DS.Type != metric.Derive || r2[0].DS.Min != 0 {
		t.Fatalf("requests samples %v %v", r1, r2)
	}
	// Our n requests plus the second scrape itself.
	if d := r2[0].Count - r1[0].Count; d != n+1 {
		t.Errorf("requests grew by %d, want %d", d, n+1)
	}
	if a := find(s2, "nginx_connections_active"); len(a) != 1 || a[0].Value < 1 {
		t.Errorf("active connections %v, want at least our own", a)
	}
	if w := find(s2, "nginx_connections", "state", "writing"); len(w) != 1 || w[0].Value < 1 {
		t.Errorf("writing connections %v", w)
	}
	acc := find(s2, "nginx_connections_accepted_total")
	hnd := find(s2, "nginx_connections_handled_total")
	if len(acc) != 1 || len(hnd) != 1 || acc[0].Count < hnd[0].Count || acc[0].Count == 0 {
		t.Errorf("accepted %v handled %v", acc, hnd)
	}
	if len(s2) != 7 {
		t.Errorf("%d samples, want 7", len(s2))
	}
	// The same page read as Apache status is rejected, not misread.
	c = mustNew(t, Config{Device: "web1", URL: base + "/stub", Format: FormatApache})
	if _, err := c.Poll(t.Context(), time.Now()); !errors.Is(err, ErrFormat) {
		t.Errorf("nginx page as Apache status: %v", err)
	}
}

// apacheAuto has the shape of Apache 2.4's server-status?auto.
const apacheAuto = `localhost
ServerVersion: Apache/2.4.62 (Debian)
ServerMPM: event
Server Built: 2024-07-17T18:57:09
CurrentTime: Friday, 27-Nov-2026 13:00:00 UTC
RestartTime: Friday, 27-Nov-2026 12:00:00 UTC
ParentServerConfigGeneration: 1
ParentServerMPMGeneration: 0
ServerUptimeSeconds: 3600
ServerUptime: 1 hour
Load1: 0.25
Load5: 0.20
Load15: 0.10
Total Accesses: 123456
Total kBytes: 9876
Total Duration: 4567
CPUUser: 1.5
CPUSystem: .75
CPUChildrenUser: 0
CPUChildrenSystem: 0
CPULoad: .0625
Uptime: 3600
ReqPerSec: 34.2933
BytesPerSec: 2809.17
BytesPerReq: 81.9
DurationPerReq: .037
BusyWorkers: 3
GracefulWorkers: 0
IdleWorkers: 72
Processes: 3
Stopping: 0
ConnsTotal: 4
ConnsAsyncWriting: 1
ConnsAsyncKeepAlive: 2
ConnsAsyncClosing: 0
Scoreboard: __W_K___R_______..........
`

func TestApacheStatus(t *testing.T) {
	u := serve(t, text(apacheAuto))
	c := mustNew(t, Config{Device: "web2", URL: u, Format: FormatApache})
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		kv    []string
		value float64
	}{
		{"apache_accesses_total", nil, 123456},
		{"apache_sent_kilobytes_total", nil, 9876},
		{"apache_uptime_seconds", nil, 3600},
		{"apache_cpu_seconds_total", []string{"mode", "system"}, 0.75},
		{"apache_workers", []string{"state", "busy"}, 3},
		{"apache_workers", []string{"state", "idle"}, 72},
		{"apache_connections", []string{"state", "keepalive"}, 2},
		{"apache_load", []string{"period", "5m"}, 0.2},
		{"apache_scoreboard", []string{"state", "waiting"}, 13},
		{"apache_scoreboard", []string{"state", "sending"}, 1},
		{"apache_scoreboard", []string{"state", "open"}, 10},
	} {
		got := find(s, tc.name, tc.kv...)
		if len(got) != 1 || got[0].Value != tc.value || got[0].Labels.Get("device") != "web2" {
			t.Errorf("%s %v = %v, want %v", tc.name, tc.kv, got, tc.value)
		}
	}
	if a := find(s, "apache_accesses_total"); !a[0].Exact || a[0].Count != 123456 || a[0].DS.Min != 0 {
		t.Errorf("accesses not an exact resettable counter: %+v", a[0])
	}
	for name, body := range map[string]string{
		"html page":       "<html><body>It works!</body></html>",
		"bad number":      "Total Accesses: lots\n",
		"fraction counts": "Total Accesses: 1.5\n",
	} {
		u := serve(t, text(body))
		c := mustNew(t, Config{Device: "web2", URL: u, Format: FormatApache})
		if s, err := c.Poll(t.Context(), time.Now()); !errors.Is(err, ErrFormat) || len(s) != 0 {
			t.Errorf("%s: %d samples, error %v", name, len(s), err)
		}
	}
}

func TestNginxGarbage(t *testing.T) {
	for name, body := range map[string]string{
		"empty":       "",
		"three lines": "Active connections: 1\nserver accepts handled requests\n 1 1 1\n",
		"words":       "Active connections: x\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
		"negative":    "Active connections: 1\nserver accepts handled requests\n -1 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
		"shuffled":    "Active connections: 1\nserver accepts handled requests\n 1 1 1\nWriting: 0 Reading: 1 Waiting: 0\n",
	} {
		u := serve(t, text(body))
		c := mustNew(t, Config{Device: "n", URL: u, Format: FormatNginx})
		if s, err := c.Poll(t.Context(), time.Now()); !errors.Is(err, ErrFormat) || len(s) != 0 {
			t.Errorf("%s: %d samples, error %v", name, len(s), err)
		}
	}
}

func TestProbe(t *testing.T) {
	ok := serve(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") })
	down := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(http.NotFoundHandler())
	gone := srv.URL
	srv.Close()
	for _, tc := range []struct {
		name, url string
		success   float64
		status    float64 // 0: no status sample
	}{
		{"200", ok, 1, 200},
		{"503", down, 0, 503},
		{"refused", gone, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, Config{Device: "site", URL: tc.url, Format: FormatProbe, Timeout: time.Second})
			s, err := c.Poll(t.Context(), time.Now())
			if err != nil {
				t.Fatalf("probe error %v: a failed probe is data", err)
			}
			if x := find(s, "probe_success"); len(x) != 1 || x[0].Value != tc.success {
				t.Errorf("probe_success %v, want %v", x, tc.success)
			}
			st := find(s, "probe_http_status_code")
			if (tc.status == 0) != (len(st) == 0) || len(st) == 1 && st[0].Value != tc.status {
				t.Errorf("status samples %v, want %v", st, tc.status)
			}
			if d := find(s, "probe_duration_seconds"); len(d) != 1 || d[0].Value <= 0 || d[0].Value > 1 {
				t.Errorf("duration %v", d)
			}
		})
	}
}

func TestHeadersAndBasicAuth(t *testing.T) {
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "mon" || pass != "s3cret" || r.Header.Get("X-Api-Key") != "k1" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "up 1\n")
	})
	c := mustNew(t, Config{Device: "d", URL: u, Username: "mon", Password: "s3cret", Headers: map[string]string{"X-Api-Key": "k1"}})
	if s, err := c.Poll(t.Context(), time.Now()); err != nil || len(s) != 1 {
		t.Fatalf("with credentials: %v %v", s, err)
	}
	c = mustNew(t, Config{Device: "d", URL: u, Username: "mon", Password: "wrong", Headers: map[string]string{"X-Api-Key": "k1"}})
	if _, err := c.Poll(t.Context(), time.Now()); !errors.Is(err, ErrStatus) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(fmt.Sprint(c.Poll(t.Context(), time.Now())), "s3cret") {
		t.Error("password in the error")
	}
}

func TestFormatConfigErrors(t *testing.T) {
	_, err := New(Config{Device: "d", URL: "http://x/", Format: "xml", JSON: []JSONMetric{{Path: "a..b", Metric: "1x"}},
		Headers: map[string]string{"Bad Header": "v"}})
	for _, want := range []string{`format: `, `"xml"`, "json[0].path", "json[0].metric", "headers"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if _, err := New(Config{Device: "d", URL: "http://x/", Format: FormatJSON}); err == nil {
		t.Error("json format without metrics accepted")
	}
}

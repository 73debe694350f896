package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/pkg/nginxtest"
	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/storage"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// Each built-in device template is polled from a real source, and every
// series its graphs draw must be among what the poll returned: a template
// whose graphs name a metric the source never yields draws empty graphs.
func TestBuiltinTemplatesAgainstRealSources(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		device func(t *testing.T) string // the device's YAML, one list entry
		// between polls, e.g. traffic so that counters move
		traffic func(t *testing.T)
		check   func(t *testing.T, first, second []metric.Sample)
	}{
		{name: "nginx-status", device: func(t *testing.T) string {
			base := nginxtest.Start(t)
			nginxBase = base
			return fmt.Sprintf("{name: web1, template: nginx-status, http: {url: %q}}", base+"/stub")
		}, traffic: func(t *testing.T) { hit(t, nginxBase+"/", 5) },
			check: func(t *testing.T, a, b []metric.Sample) {
				if d := value(t, b, "nginx_http_requests_total") - value(t, a, "nginx_http_requests_total"); d < 6 {
					t.Errorf("nginx requests grew by %v, want at least 6", d)
				}
			}},
		{name: "apache-status", device: func(t *testing.T) string {
			base := startApache(t)
			apacheBase = base
			return fmt.Sprintf("{name: web2, template: apache-status, http: {url: %q}}", base+"/server-status?auto")
		}, traffic: func(t *testing.T) { hit(t, apacheBase+"/", 5) },
			check: func(t *testing.T, a, b []metric.Sample) {
				if d := value(t, b, "apache_accesses_total") - value(t, a, "apache_accesses_total"); d < 5 {
					t.Errorf("apache accesses grew by %v, want at least 5", d)
				}
				busy := find(b, "apache_workers", "state", "busy")
				if len(busy) != 1 || busy[0].Value < 1 {
					t.Errorf("busy workers %v", busy)
				}
			}},
		{name: "jvm-jolokia", device: jolokiaDevice, check: func(t *testing.T, _, b []metric.Sample) {
			if v := find(b, "jvm_memory_heap_bytes", "kind", "used"); len(v) != 1 || v[0].Value != 56432768 {
				t.Errorf("heap used %v", v)
			}
			// max -1 (unbounded) is outside min 0: stored as unknown.
			if v := find(b, "jvm_memory_nonheap_bytes", "kind", "max"); len(v) != 1 || v[0].DS.InRange(v[0].Value) {
				t.Errorf("non-heap max %v should be out of range", v)
			}
		}},
		{name: "json-counters", device: countersDevice, check: func(t *testing.T, a, b []metric.Sample) {
			x, y := find(a, "app_events_total", "counter", "messages_sent"), find(b, "app_events_total", "counter", "messages_sent")
			if len(x) != 1 || len(y) != 1 || y[0].Value-x[0].Value != 7 || !y[0].Exact || y[0].DS.Type != metric.Derive {
				t.Errorf("messages_sent %v then %v", x, y)
			}
		}},
		{name: "latency-probe tcp", device: func(t *testing.T) string {
			return fmt.Sprintf("{name: gw, template: latency-probe, probe: {kind: tcp, target: %q, count: 5, spacing: 10ms, percentiles: [90, 99]}}", acceptingTCPAddr(t))
		}, check: func(t *testing.T, _, b []metric.Sample) {
			if v := find(b, "latency_loss_ratio"); len(v) != 1 || v[0].Value != 0 {
				t.Errorf("loss %v", v)
			}
			for _, st := range []string{"min", "median", "max", "p90", "p99"} {
				if v := find(b, "latency_rtt_seconds", "stat", st); len(v) != 1 || !(v[0].Value > 0 && v[0].Value < 1) {
					t.Errorf("rtt %s: %v", st, v)
				}
			}
		}},
		{name: "latency-probe http", device: func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
			t.Cleanup(srv.Close)
			return fmt.Sprintf("{name: site, template: latency-probe, probe: {kind: http, target: %q, count: 3, spacing: 10ms}}", srv.URL)
		}, check: func(t *testing.T, _, b []metric.Sample) {
			if v := find(b, "latency_loss_ratio"); len(v) != 1 || v[0].Value != 0 {
				t.Errorf("loss %v", v)
			}
		}},
		{name: "script-values", device: func(t *testing.T) string {
			dir := t.TempDir()
			p := filepath.Join(dir, "users.sh")
			if err := os.WriteFile(p, []byte("#!/bin/sh\necho \"users:$1 sessions:7\"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("{name: logins, template: script-values, script: {command: %q, args: [\"3\"], timeout: 5s}}", p)
		}, check: func(t *testing.T, _, b []metric.Sample) {
			if v := find(b, "script_value", "field", "users"); len(v) != 1 || v[0].Value != 3 {
				t.Errorf("users %v", v)
			}
		}},
		{name: "net-snmp-host", device: func(t *testing.T) string {
			agent := snmpdtest.Start(t)
			return fmt.Sprintf("{name: host1, template: net-snmp-host, snmp: {address: %q, community: %s}}", agent.Addr, snmpdtest.Community)
		}, check: func(t *testing.T, _, b []metric.Sample) {
			root := find(b, "hr_storage_size_units", "hrStorageDescr", "/")
			used := find(b, "hr_storage_used_units", "hrStorageDescr", "/")
			unit := find(b, "hr_storage_unit_bytes", "hrStorageDescr", "/")
			if len(root) != 1 || len(used) != 1 || len(unit) != 1 || used[0].Value > root[0].Value || unit[0].Value < 512 {
				t.Errorf("hrStorage /: size %v used %v unit %v", root, used, unit)
			}
			if len(find(b, "ucd_diskio_read_bytes")) == 0 {
				t.Error("no diskIOTable rows")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev := tc.device(t)
			cfg, err := config.Parse([]byte("devices:\n  - " + dev + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			targets, err := buildTargets(cfg, set)
			if err != nil {
				t.Fatal(err)
			}
			tg := targets[0]
			first := poll(t, tg)
			if tc.traffic != nil {
				tc.traffic(t)
			}
			second := poll(t, tg)
			for _, s := range second {
				if s.DS.Heartbeat <= 0 {
					t.Errorf("%s: heartbeat %v", s.Labels, s.DS.Heartbeat)
				}
			}
			tpl := set.Devices[cfg.Devices[0].Template]
			for _, g := range tpl.Graphs {
				if g == "poll_health" {
					continue // stored by the poller, not the source
				}
				for _, d := range set.Graphs[g].Defs {
					var match []string
					for k, v := range d.Match {
						match = append(match, k, v)
					}
					if len(find(second, d.Metric, match...)) == 0 {
						t.Errorf("graph %s def %s: no %s%v among the %d samples", g, d.Name, d.Metric, d.Match, len(second))
					}
				}
			}
			tc.check(t, first, second)
		})
	}
}

var nginxBase, apacheBase string

func poll(t *testing.T, tg poller.Target) []metric.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tg.Collector.Poll(ctx, time.Now())
	if err != nil {
		t.Fatalf("poll %s: %v", tg.Name, err)
	}
	return s
}

func hit(t *testing.T, url string, n int) {
	t.Helper()
	for range n {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// find returns the samples of a metric whose labels hold the pairs.
func find(s []metric.Sample, name string, pairs ...string) []metric.Sample {
	var out []metric.Sample
next:
	for _, x := range s {
		if x.Labels.Get(metric.NameLabel) != name {
			continue
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if x.Labels.Get(pairs[i]) != pairs[i+1] {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

func value(t *testing.T, s []metric.Sample, name string) float64 {
	t.Helper()
	v := find(s, name)
	if len(v) != 1 {
		t.Fatalf("%s: %d samples", name, len(v))
	}
	return v[0].Value
}

// jolokiaDevice serves Jolokia's answer to read/java.lang:type=Memory over
// TLS, behind basic auth and a header, as a secured agent would.
func jolokiaDevice(t *testing.T) string {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "jmx" || p != "jmx-secret" || r.Header.Get("X-Jolokia-Token") != "tok123" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/jolokia/read/java.lang:type=Memory" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"request":{"mbean":"java.lang:type=Memory","type":"read"},"value":{"ObjectPendingFinalizationCount":0,"Verbose":false,`+
			`"HeapMemoryUsage":{"init":264241152,"committed":257425408,"max":3760193536,"used":56432768},`+
			`"NonHeapMemoryUsage":{"init":7667712,"committed":45940736,"max":-1,"used":43758152},`+
			`"ObjectName":{"objectName":"java.lang:type=Memory"}},"timestamp":1764250000,"status":200}`)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{name: app-jvm, template: jvm-jolokia, http: {url: %q, username: jmx, password: jmx-secret, headers: {X-Jolokia-Token: tok123}, tls: {ca_file: %q, server_name: example.com}}}`,
		srv.URL+"/jolokia/read/java.lang:type=Memory", ca)
}

// countersDevice serves business counters that grow between polls.
func countersDevice(t *testing.T) string {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		k := n.Add(1)
		fmt.Fprintf(w, `{"service":"billing","counters":{"items_ingested":%d,"messages_sent":%d}}`, 1000+100*k, 50+7*k)
	}))
	t.Cleanup(srv.Close)
	return fmt.Sprintf("{name: billing, template: json-counters, http: {url: %q}}", srv.URL+"/counters")
}

// startDaemon runs a web server in the foreground, stopped by PID when the
// test ends, and waits until addr accepts connections.
func startDaemon(t *testing.T, name string, dir, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			so, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			t.Fatalf("%s exited: %s %s", name, log, so)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("%s did not listen on %s within 10s", name, addr)
}

// requireBinary fails under CI and skips otherwise when a daemon is not
// installed.
func requireBinary(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; install it with: apt-get install -y %s", path, pkg)
		}
		t.Skipf("%s not found (apt-get install -y %s); skipping outside CI", path, pkg)
	}
}

// acceptingTCPAddr is the address of a loopback listener that accepts
// connections and closes them at once (a TCP probe's target), closed when
// the test ends.
func acceptingTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startApache runs Debian's apache2 (event MPM) with mod_status at
// /server-status and ExtendedStatus on.
func startApache(t *testing.T) string {
	requireBinary(t, "/usr/sbin/apache2", "apache2")
	// Workers running as nobody must reach the document root, which a
	// test's TempDir (inside a 0700 directory) does not allow.
	dir, err := os.MkdirTemp("", "saguaro-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := freeTCPAddr(t)
	// As root, workers drop to nobody; they need to read nothing here.
	user := ""
	if os.Geteuid() == 0 {
		user = "User nobody\nGroup nogroup\n"
	}
	mods := "/usr/lib/apache2/modules"
	conf := fmt.Sprintf(`ServerRoot %[1]s
ServerName 127.0.0.1
Listen %[2]s
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
Mutex file:%[1]s
LoadModule mpm_event_module %[3]s/mod_mpm_event.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule status_module %[3]s/mod_status.so
%[4]sExtendedStatus On
DocumentRoot %[1]s
<Location /server-status>
  SetHandler server-status
</Location>
`, dir, addr, mods, user)
	cp := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(cp, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "apache2", dir, addr, "/usr/sbin/apache2", "-f", cp, "-DFOREGROUND")
	return "http://" + addr
}

func TestBuildTargetsProtocolMismatch(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`devices:
  - {name: a, template: nginx-status, script: {command: /bin/true}}
  - {name: b, template: latency-probe, probe: {kind: tcp, target: "127.0.0.1:1"}}
  - {name: c, template: jvm-jolokia, http: {url: "https://x/", tls: {ca_file: /nonexistent/ca.pem}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	targets, err := buildTargets(cfg, set)
	for _, want := range []string{
		`devices[0].template: template "nginx-status" has no script section but the device is polled by script (the template has: [http])`,
		`devices[2] "c": http target "c": tls`,
		`ca_file`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if len(targets) != 1 || targets[0].Name != "b/probe" {
		t.Fatalf("targets %+v", targets)
	}
	// A probe's kind comes from the device, else from its template.
	withKind, err := templates.Load("../../templates/testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Parse([]byte(`devices:
  - {name: p1, template: ssh-latency, probe: {target: "127.0.0.1:22"}}
  - {name: p2, template: latency-probe, probe: {target: "127.0.0.1:22"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	targets, err = buildTargets(cfg, withKind)
	if err == nil || !strings.Contains(err.Error(), `devices[1] "p2": probe kind: set kind (tcp, http or icmp) in the device or in template "latency-probe"`) {
		t.Errorf("probe without kind: %v", err)
	}
	if len(targets) != 1 || targets[0].Name != "p1/probe" {
		t.Errorf("targets %+v", targets)
	}
	// Collectors that hold connections stay closable through the
	// heartbeat wrapper.
	cfg, _ = config.Parse([]byte("devices:\n  - {name: w, template: nginx-status, http: {url: \"http://127.0.0.1:1/\"}}\n"))
	targets, err = buildTargets(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := targets[0].Collector.(interface{ Close() error }); !ok {
		t.Error("http collector lost its Close")
	}
}

// Real polls of real sources, stored by the real storage and drawn by the
// built-in graph templates: rates, heartbeats and label matches must line
// up so that every drawn series has values. SAGUARO_PNG_DIR=dir keeps the
// pictures.
func TestBuiltinGraphsFromRealPolls(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	base := nginxtest.Start(t)
	var mu sync.Mutex
	var k, items, sent int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		// Uneven growth, as business counters have.
		k++
		items += 600 + (k%7)*300
		sent += 40 + (k*k)%50
		fmt.Fprintf(w, `{"counters":{"items_ingested":%d,"messages_sent":%d}}`, items, sent)
	}))
	t.Cleanup(app.Close)
	probeAddr := acceptingTCPAddr(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`devices:
  - {name: web1, template: nginx-status, http: {url: %q}}
  - {name: billing, template: json-counters, http: {url: %q}}
  - {name: gw, template: latency-probe, probe: {kind: tcp, target: %q, count: 5, spacing: 5ms}}
`, base+"/stub", app.URL, probeAddr)))
	if err != nil {
		t.Fatal(err)
	}
	targets, err := buildTargets(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	const polls = 30
	t0 := time.Now().Truncate(time.Minute).Add(-(polls + 5) * time.Minute)
	for i := range polls {
		hit(t, base+"/", 1+(i*7)%11)
		for _, tg := range targets {
			s := poll(t, tg)
			for j := range s {
				s[j].Time = t0.Add(time.Duration(i) * time.Minute)
			}
			if err := db.Append(ctx, s); err != nil {
				t.Fatalf("append %s: %v", tg.Name, err)
			}
		}
	}
	out := os.Getenv("SAGUARO_PNG_DIR")
	for _, d := range cfg.Devices {
		for _, g := range set.Devices[d.Template].Graphs {
			if g == "poll_health" {
				continue
			}
			t.Run(d.Name+"/"+g, func(t *testing.T) {
				plan, err := graphs.NewPlan(ctx, db, set.Graphs[g], map[string]string{metric.DeviceLabel: d.Name},
					graphs.Options{From: t0, To: t0.Add(polls * time.Minute), Width: 800, Height: 300})
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
					// The first rows have no rate yet.
					if known < plan.Rows*2/3 {
						t.Errorf("series %q: %d of %d rows known", ps.Legend, known, plan.Rows)
					}
					if ps.Legend != "items_ingested" {
						continue
					}
					// Each poll adds 600 + (k mod 7)*300 items a minute: the
					// drawn rate is one of those over 60 s, never a reset.
					for i, v := range ps.Values {
						m := v * 60 / 300 // 2 + (k mod 7)
						if !math.IsNaN(v) && (math.Abs(m-math.Round(m)) > 1e-9 || m < 2 || m > 8) {
							t.Errorf("items_ingested row %d: %v per second", i, v)
						}
					}
				}
				if out != "" {
					f, err := os.Create(filepath.Join(out, "real-"+d.Name+"-"+g+".png"))
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if err := plan.PNG(f); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// The poller's bounds come from the configuration: each target carries its
// device's limit (inherited, overridden, lifted by 0), and a reload sets
// the scheduler's global and device bounds without restarting it.
func TestConcurrencyLimitsFromConfigAndReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "saguaro.yaml")
	write := func(global, device int, override string) {
		t.Helper()
		y := fmt.Sprintf(`poller: {max_concurrent: %d, device_max_concurrent: %d, down_after: 4, max_backoff: 20m}
devices:
  - {name: a, template: nginx-status, http: {url: "http://127.0.0.1:1/"}}
  - {name: b, template: nginx-status, %s http: {url: "http://127.0.0.1:1/"}}
`, global, device, override)
		if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(100, 2, "max_concurrent: 0,")
	cfg, set, err := loadAll(file)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := buildTargets(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || targets[0].DeviceLimit != 2 || targets[1].DeviceLimit != 0 {
		t.Fatalf("device limits %+v", targets)
	}
	for _, tg := range targets {
		tg.Collector.(interface{ Close() error }).Close()
	}

	sched := poller.New(nil, nil, nil)
	svc := &service{file: file, sched: sched, log: newLogger(io.Discard, "error")}
	if err := svc.apply(cfg, set); err != nil {
		t.Fatal(err)
	}
	check := func(global, a, b int) {
		t.Helper()
		if got := sched.Limit(); got != global {
			t.Errorf("global limit %d, want %d", got, global)
		}
		if got := sched.DeviceLimit("a"); got != a {
			t.Errorf("device a limit %d, want %d", got, a)
		}
		if got := sched.DeviceLimit("b"); got != b {
			t.Errorf("device b limit %d, want %d", got, b)
		}
	}
	check(100, 2, 0)
	if n, d := sched.Backoff(); n != 4 || d != 20*time.Minute {
		t.Errorf("backoff %d, %v", n, d)
	}
	write(0, 1, "max_concurrent: 3,")
	if err := svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	check(0, 1, 3)
	// A refused reload keeps the running bounds.
	write(5, -1, "")
	if err := svc.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "poller.device_max_concurrent: must be >= 0") {
		t.Errorf("bad reload: %v", err)
	}
	check(0, 1, 3)
	sched.Set(nil) // closes the collectors
}

// TestGraphListFollowsCatalogue: the list of graphs is made once and kept
// while neither the configuration nor storage's catalogue changes; a new
// interface's series adds its graphs at once, and a reload rebuilds it.
func TestGraphListFollowsCatalogue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "saguaro.yaml")
	cfgText := `devices:
  - {name: r1, template: net-snmp-host, snmp: {address: "127.0.0.1:1", community: c}}
`
	if err := os.WriteFile(file, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, set, err := loadAll(file)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.DefaultOptions(filepath.Join(dir, "data")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sched := poller.New(nil, nil, nil)
	defer sched.Set(nil)
	svc := &service{file: file, db: db, sched: sched, log: newLogger(io.Discard, "error")}
	if err := svc.apply(cfg, set); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ifGraphs := func(list []graphs.Info) int {
		n := 0
		for _, g := range list {
			if g.Vars["ifName"] != "" {
				n++
			}
		}
		return n
	}
	l1, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := svc.List(ctx)
	if len(l1) == 0 || &l1[0] != &l2[0] {
		t.Fatalf("second List made the list again (or it is empty: %d graphs)", len(l1))
	}
	if n := ifGraphs(l1); n != 0 {
		t.Fatalf("%d interface graphs before any interface series", n)
	}
	// eth0 appears in storage: its graphs are listed and can be planned.
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	err = db.Append(ctx, []metric.Sample{{
		Labels: metric.New(metric.NameLabel, "if_in_octets", metric.DeviceLabel, "r1", "ifName", "eth0"),
		DS:     metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()},
		Time:   at, Value: 1000, Count: 1000, Exact: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	l3, _ := svc.List(ctx)
	if ifGraphs(l3) == 0 {
		t.Fatal("no interface graph after eth0's series appeared")
	}
	var id string
	for _, g := range l3 {
		if g.Vars["ifName"] == "eth0" {
			id = g.ID
			break
		}
	}
	if _, err := svc.Plan(ctx, id, graphs.Options{From: at.Add(-time.Hour), To: at, Width: 400, Height: 150}); err != nil {
		t.Errorf("plan %s: %v", id, err)
	}
	if _, err := svc.Plan(ctx, "r1.nope", graphs.Options{}); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("plan of an unknown id: %v", err)
	}
	// A reload with another device makes it anew.
	if err := os.WriteFile(file, []byte(cfgText+"  - {name: r2, template: net-snmp-host, snmp: {address: \"127.0.0.1:1\", community: c}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	l4, _ := svc.List(ctx)
	devs := map[string]bool{}
	for _, g := range l4 {
		devs[g.Device] = true
	}
	if !devs["r2"] {
		t.Errorf("r2's graphs missing after the reload: %v", devs)
	}
}

// TestApplyKeepsUnchangedTargets: applying a configuration again keeps the
// collector (and what it learned of its device) of every device whose
// settings and template did not change, and builds anew the others.
func TestApplyKeepsUnchangedTargets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "saguaro.yaml")
	write := func(r2Community string) {
		t.Helper()
		y := fmt.Sprintf(`devices:
  - {name: r1, template: net-snmp-host, snmp: {address: "127.0.0.1:1", community: c}}
  - {name: r2, template: net-snmp-host, snmp: {address: "127.0.0.1:2", community: %s}}
  - {name: n1, template: nginx-status, http: {url: "http://127.0.0.1:1/"}}
`, r2Community)
		if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("c")
	cfg, set, err := loadAll(file)
	if err != nil {
		t.Fatal(err)
	}
	sched := poller.New(nil, nil, nil)
	defer sched.Set(nil)
	svc := &service{file: file, listen: cfg.Listen, dataDir: cfg.DataDir, sched: sched, log: newLogger(io.Discard, "error")}
	if err := svc.apply(cfg, set); err != nil {
		t.Fatal(err)
	}
	collectors := func() map[string]poller.Collector {
		m := map[string]poller.Collector{}
		for name, b := range svc.state.Load().built {
			m[name] = b.target.Collector
		}
		return m
	}
	c0 := collectors()
	if len(c0) != 3 {
		t.Fatalf("%d targets built, want 3", len(c0))
	}
	// The same configuration again (a device added through the API does this).
	st := svc.state.Load()
	if err := svc.apply(st.file, st.set); err != nil {
		t.Fatal(err)
	}
	for name, c := range collectors() {
		if c != c0[name] {
			t.Errorf("%s: collector built again for an unchanged device", name)
		}
	}
	// A reload where r2's community changed: r2 anew, the others kept
	// (the templates read again are equal).
	write("other")
	if err := svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	c1 := collectors()
	if c1["r2"] == c0["r2"] {
		t.Error("r2's collector kept after its community changed")
	}
	if c1["r1"] != c0["r1"] || c1["n1"] != c0["n1"] {
		t.Error("unchanged devices got new collectors on reload")
	}
	// The scheduler polls the kept and the new collectors.
	polled := map[poller.Collector]bool{}
	for _, tg := range svc.state.Load().built {
		polled[tg.target.Collector] = true
	}
	if !polled[c1["r2"]] || len(polled) != 3 {
		t.Errorf("targets after reload: %v", polled)
	}
}

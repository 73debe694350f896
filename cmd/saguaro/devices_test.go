package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
)

// server is one serve() run of a test, stopped by stop.
type server struct {
	base string
	logs *lockedBuffer
	stop func(t *testing.T)
}

func startServe(t *testing.T, cfgPath string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs := &lockedBuffer{b: &bytes.Buffer{}}
	go func() {
		done <- serve(ctx, serveOptions{ConfigFile: cfgPath, Stderr: logs, Ready: func(a string) { ready <- a }})
	}()
	s := &server{logs: logs}
	select {
	case a := <-ready:
		s.base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve ended early: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve not ready in 20 s")
	}
	stopped := false
	s.stop = func(t *testing.T) {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s")
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// lockedBuffer: the server's goroutines log while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// call sends a JSON request with the test token.
func call(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type apiDevice struct {
	Name     string
	Source   string
	Template string
	LastPoll *time.Time `json:"last_poll"`
	Error    string     `json:"last_error"`
	Graphs   []string
	Config   map[string]any
}

// waitPolled waits (bounded) until the device has a poll after since.
func waitPolled(t *testing.T, base, name string, since time.Time) apiDevice {
	t.Helper()
	var d apiDevice
	deadline := time.Now().Add(60 * time.Second) // the first poll waits up to one 10 s interval
	for time.Now().Before(deadline) {
		code, body := call(t, "GET", base+"/api/v1/devices/"+name, "")
		if code != 200 {
			t.Fatalf("device %s: %d %s", name, code, body)
		}
		d = apiDevice{}
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		if d.LastPoll != nil && !d.LastPoll.Before(since.Add(-10*time.Second)) && d.Error == "" && len(d.Graphs) > 0 {
			return d
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("device %s not polled within 60 s: %+v", name, d)
	return d
}

// TestDevicesThroughAPI discovers a real net-snmp agent through the API
// and adds it, checks it is polled and its series exported, then stops
// the service and starts it again: the device is still there and polled,
// until it is deleted.
func TestDevicesThroughAPI(t *testing.T) {
	const community = "s3cret-lab-community"
	agent := snmpdtest.Start(t, "rocommunity "+community+" 127.0.0.1")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "saguaro.yaml")
	dataDir := filepath.Join(dir, "data")
	writeFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
log_level: info
poller: {interval: 10s, timeout: 8s}
storage: {step: 10s}
devices:
  - name: self
    template: saguaro-self
    http: {url: "http://{listen}/metrics"}
`, dataDir))
	srv := startServe(t, cfgPath)
	var tokOut, tokErr bytes.Buffer
	if code := run([]string{"user", "token", "admin", "--name", "devices", "--data", dataDir}, &tokOut, &tokErr); code != 0 {
		t.Fatalf("user token: %d %s", code, tokErr.String())
	}
	e2eToken = strings.TrimSpace(tokOut.String())
	defer func() { e2eToken = "" }()

	// Refusals name the field; nothing is stored.
	for _, tc := range []struct {
		body  string
		code  int
		field string
	}{
		{`{"name":"x","template":"net-snmp-host","snmp":{"address":"127.0.0.1"}}`, 400, "snmp.community"},
		{`{"name":"x","template":"no-such","snmp":{"address":"127.0.0.1","community":"c"}}`, 400, "template"},
		{`{"name":"x","template":"saguaro-self","snmp":{"address":"127.0.0.1","community":"c"}}`, 400, "template"},
		{`{"name":"self","template":"net-snmp-host","snmp":{"address":"127.0.0.1","community":"c"}}`, 409, "name"},
	} {
		if code, body := call(t, "POST", srv.base+"/api/v1/devices", tc.body); code != tc.code || !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s, want %d on %s", tc.body, code, body, tc.code, tc.field)
		}
	}
	if code, body := call(t, "PUT", srv.base+"/api/v1/devices/self", `{"template":"saguaro-self","http":{"url":"http://x/"}}`); code != 409 {
		t.Errorf("PUT a file device: %d %s", code, body)
	}

	// Discovery proposes the agent; apply adds it.
	body := fmt.Sprintf(`{"addresses":[%q, "127.0.0.1:%d"],"community":%q,"apply":true}`, agent.Addr, freeClosedPort(t), community)
	t0 := time.Now()
	code, out := call(t, "POST", srv.base+"/api/v1/discover", body)
	var disc struct {
		Devices []struct {
			Address, Template, Error string
			SysName                  string `json:"sys_name"`
			Added                    bool
			Device                   map[string]any
		}
	}
	if code != 200 || json.Unmarshal([]byte(out), &disc) != nil || len(disc.Devices) != 2 {
		t.Fatalf("discover: %d %s", code, out)
	}
	got, dead := disc.Devices[0], disc.Devices[1]
	if got.Template != "net-snmp-host" || !got.Added || got.Device["name"] == nil || dead.Error == "" || dead.Added {
		t.Fatalf("discover: %s", out)
	}
	if strings.Contains(out, community) {
		t.Errorf("discovery answer shows the community: %s", out)
	}
	t.Logf("discovered %s as %v in %v", got.Address, got.Device["name"], time.Since(t0).Round(time.Millisecond))
	name := got.Device["name"].(string)

	d := waitPolled(t, srv.base, name, t0)
	if d.Source != "api" || d.Config["snmp"].(map[string]any)["community"] != "<secret>" {
		t.Errorf("device: %+v", d)
	}
	// A second discovery of the same agent proposes nothing new.
	if _, out := call(t, "POST", srv.base+"/api/v1/discover", body); !strings.Contains(out, "already polled as device "+name) {
		t.Errorf("second discovery: %s", out)
	}
	// PUT with the masked community keeps it: the device still polls.
	d.Config["interval"] = "20s"
	b, _ := json.Marshal(d.Config)
	if code, out := call(t, "PUT", srv.base+"/api/v1/devices/"+name, string(b)); code != 200 || !strings.Contains(out, `"interval":"20s"`) {
		t.Fatalf("put: %d %s", code, out)
	}

	// Its series are listed and exported.
	sel := url.QueryEscape(fmt.Sprintf(`{device=%q}`, name))
	code, out = call(t, "GET", srv.base+"/api/v1/series?per_page=5&match[]="+sel, "")
	if code != 200 || !strings.Contains(out, `"device":"`+name+`"`) {
		t.Fatalf("series: %d %.300s", code, out)
	}
	load := "/api/v1/series/data.csv?start=-10m&step=10&match=" + url.QueryEscape(fmt.Sprintf(`ucd_load_1min{device=%q}`, name))
	// Series without a known value yet are left out: the header may be
	// "time" alone until a second poll.
	if code, out = call(t, "GET", srv.base+load, ""); code != 200 || !strings.HasPrefix(out, "time") {
		t.Errorf("series csv: %d %.300s", code, out)
	}

	// Restart: the device comes back from the state database.
	srv.stop(t)
	if strings.Contains(srv.logs.String(), community) {
		t.Errorf("the community is in the log")
	}
	t1 := time.Now()
	srv = startServe(t, cfgPath)
	d = waitPolled(t, srv.base, name, t1)
	if d.Source != "api" || d.Config["interval"] != "20s" {
		t.Errorf("after restart: %+v", d)
	}
	t.Logf("polled again %v after the restart", time.Since(t1).Round(time.Second))
	// The load average gets known rows once two polls fall in one
	// completed row (a gauge needs a previous reading).
	known := false
	for deadline := time.Now().Add(120 * time.Second); !known && time.Now().Before(deadline); time.Sleep(time.Second) {
		if _, out = call(t, "GET", srv.base+load, ""); !strings.HasPrefix(out, `time,"ucd_load_1min{`) {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			if f := strings.Split(line, ","); len(f) == 2 && f[1] != "" {
				known = true
			}
		}
	}
	if !known {
		t.Errorf("no known load average exported: %.500s", out)
	}
	// A reload of the file keeps it.
	if code, out := post(t, srv.base+"/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, out)
	}
	if code, _ := call(t, "GET", srv.base+"/api/v1/devices/"+name, ""); code != 200 {
		t.Errorf("after reload: %d", code)
	}
	if code, out := call(t, "DELETE", srv.base+"/api/v1/devices/"+name, ""); code != 204 {
		t.Fatalf("delete: %d %s", code, out)
	}
	if code, _ := call(t, "GET", srv.base+"/api/v1/devices/"+name, ""); code != 404 {
		t.Errorf("after delete: %d", code)
	}
	if _, out := call(t, "GET", srv.base+"/api/v1/graphs?device="+name, ""); !strings.Contains(out, `"total":0`) {
		t.Errorf("graphs after delete: %.300s", out)
	}

	// A stored device that the file later defines too gives way to the
	// file's at the next reload.
	dev := fmt.Sprintf(`{"name":"shadowed","template":"net-snmp-host","snmp":{"address":%q,"community":%q}}`, agent.Addr, community)
	if code, out := call(t, "POST", srv.base+"/api/v1/devices", dev); code != 201 {
		t.Fatalf("add: %d %s", code, out)
	}
	if _, out := call(t, "GET", srv.base+"/api/v1/devices/shadowed", ""); !strings.Contains(out, `"source":"api"`) {
		t.Errorf("stored: %s", out)
	}
	writeFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
poller: {interval: 10s, timeout: 8s}
storage: {step: 10s}
devices:
  - name: shadowed
    template: net-snmp-host
    snmp: {address: %q, community: public}
`, dataDir, agent.Addr))
	if code, out := post(t, srv.base+"/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, out)
	}
	if _, out := call(t, "GET", srv.base+"/api/v1/devices/shadowed", ""); !strings.Contains(out, `"source":"config"`) {
		t.Errorf("after the file took the name: %s", out)
	}
	if !strings.Contains(srv.logs.String(), "stored_device_shadowed") {
		t.Errorf("shadowing not logged")
	}
	// DELETE removes the stored copy; after that the name is the file's
	// alone and cannot be deleted through the API.
	if code, _ := call(t, "DELETE", srv.base+"/api/v1/devices/shadowed", ""); code != 204 {
		t.Errorf("delete the stored copy: %d", code)
	}
	if code, _ := call(t, "DELETE", srv.base+"/api/v1/devices/shadowed", ""); code != 409 {
		t.Errorf("delete a file device: %d, want 409", code)
	}
	if strings.Contains(srv.logs.String(), community) {
		t.Errorf("the community is in the log")
	}
}

// TestCheckDevice: one device is refused for what the file would be
// refused for, with paths relative to the device.
func TestCheckDevice(t *testing.T) {
	cfg, set, err := loadAll("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, json, path string
	}{
		{"good snmp", `{"name":"a","template":"net-snmp-host","snmp":{"address":"127.0.0.1","community":"c"}}`, ""},
		{"good probe", `{"name":"a","template":"latency-probe","probe":{"kind":"tcp","target":"127.0.0.1:22"}}`, ""},
		{"no template", `{"name":"a","template":"nope","snmp":{"address":"127.0.0.1","community":"c"}}`, "template"},
		{"wrong protocol", `{"name":"a","template":"latency-probe","snmp":{"address":"127.0.0.1","community":"c"}}`, "template"},
		// Only building the collector finds this: neither the device nor
		// the template names a probe kind.
		{"probe without kind", `{"name":"a","template":"latency-probe","probe":{"target":"127.0.0.1:22"}}`, "probe"},
		{"bad v3", `{"name":"a","template":"net-snmp-host","snmp":{"address":"h","version":"3","username":"u","security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"ROT13","priv_password":"12345678"}}`, "snmp.priv_protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(tc.json), &raw); err != nil {
				t.Fatal(err)
			}
			_, err := checkDevice(cfg, set, raw)
			got := ""
			if err != nil {
				got = strings.Join(fieldPaths(err), ",")
			}
			if got != tc.path {
				t.Errorf("paths %q, want %q (%v)", got, tc.path, err)
			}
		})
	}
}

// TestOneDiscoveryAtATime: a discovery while another runs is refused.
func TestOneDiscoveryAtATime(t *testing.T) {
	s := &service{}
	s.discovering.Store(true)
	if _, err := s.Discover(context.Background(), web.DiscoverRequest{Addresses: []string{"127.0.0.1"}}); !errors.Is(err, web.ErrBusy) {
		t.Errorf("second discovery: %v, want ErrBusy", err)
	}
}

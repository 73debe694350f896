package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
)

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "saguaro ") {
		t.Errorf("version: code %d out %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d err %q", code, errb.String())
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "devices:\n  - {name: a, template: net-snmp-host, snmp: {address: 127.0.0.1, community: c}}\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `devices:
  - {name: a, template: cisco-ios, snmp: {address: 127.0.0.1, community: c}}
  - {name: b, template: saguaro-self, snmp: {address: 127.0.0.1, community: c}}
  - {name: c, template: net-snmp-host, interval: 5s, snmp: {address: 127.0.0.1, community: c}}
`)
	var out, errb bytes.Buffer
	if code := run([]string{"check-config"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "embedded default config: ok") {
		t.Errorf("default: code %d out %q err %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"check-config", good}, &out, &errb); code != 0 {
		t.Errorf("good: code %d err %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"check-config", bad}, &out, &errb); code != 1 {
		t.Fatalf("bad: code %d", code)
	}
	// Field errors come first; template references are checked once the
	// file itself is valid.
	for _, want := range []string{bad, "devices[2].interval: must be between 10s"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("bad config output lacks %q:\n%s", want, errb.String())
		}
	}
	writeFile(t, bad, `devices:
  - {name: a, template: cisco-ios, snmp: {address: 127.0.0.1, community: c}}
  - {name: b, template: saguaro-self, snmp: {address: 127.0.0.1, community: c}}
`)
	errb.Reset()
	if code := run([]string{"check-config", bad}, &out, &errb); code != 1 {
		t.Fatalf("bad templates: code %d", code)
	}
	for _, want := range []string{
		`devices[0].template: no device template named "cisco-ios"`,
		`devices[1].template: template "saguaro-self" has no snmp section but the device is polled by snmp (it has: http)`,
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("bad template output lacks %q:\n%s", want, errb.String())
		}
	}
}

// check-config refuses what serve would refuse when it builds the
// collectors, such as a CA file that does not exist.
func TestCheckConfigBuildsCollectors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.yaml")
	writeFile(t, bad, `devices:
  - name: app
    template: saguaro-self
    http: {url: "https://app.example/metrics", tls: {ca_file: /nonexistent/ca.pem}}
`)
	var out, errb bytes.Buffer
	if code := run([]string{"check-config", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "/nonexistent/ca.pem") || !strings.Contains(errb.String(), bad) {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snmpGetCounter reads one counter with net-snmp's own snmpget, an
// independent client, so the test does not trust Saguaro's SNMP code.
func snmpGetCounter(t testing.TB, addr, oid string) uint64 {
	t.Helper()
	out, err := exec.Command("snmpget", "-v2c", "-c", "public", "-On", "-Oqv", "-t", "2", addr, oid).CombinedOutput()
	if err != nil {
		t.Fatalf("snmpget %s: %v: %s", oid, err, out)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("snmpget %s: %q: %v", oid, out, err)
	}
	return n
}

func freeClosedPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return port
}

type apiGraph struct {
	ID, Title, Device, Template string
	Vars                        map[string]string
}

// TestEndToEnd runs the service against a real net-snmp agent: it polls
// through the real poller into a real data directory and serves PNG and
// CSV through the HTTP API. A dead device and a failing HTTP target run
// beside it and must not disturb it.
func TestEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("snmpget"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("snmpget missing: apt-get install snmp")
		}
		t.Skip("snmpget missing")
	}
	agent := snmpdtest.Start(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer failing.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "saguaro.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
log_level: warn
poller: {interval: 10s, timeout: 8s}
storage: {step: 10s}
devices:
  - name: lab
    template: net-snmp-host
    snmp: {address: %q, community: public}
  - name: dead
    template: net-snmp-host
    snmp: {address: "127.0.0.1:%d", community: public, timeout: 500ms, retries: 0}
  - name: broken-app
    template: saguaro-self
    http: {url: %q}
  - name: self
    template: saguaro-self
    http: {url: "http://{listen}/metrics"}
`, filepath.Join(dir, "data"), agent.Addr, freeClosedPort(t), failing.URL))

	const loOctets = ".1.3.6.1.2.1.31.1.1.1.6.1" // ifHCInOctets of ifIndex 1 (lo)
	c0, t0 := snmpGetCounter(t, agent.Addr, loOctets), time.Now()

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- serve(ctx, serveOptions{ConfigFile: cfgPath, Stderr: &logs, Ready: func(a string) { ready <- a }})
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended early: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve not ready in 20 s")
	}
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s")
		}
	}()

	// The first start made an admin with a password in the data
	// directory; everything but /healthz needs credentials now.
	dataDir := filepath.Join(dir, "data")
	pwFile := filepath.Join(dataDir, "initial-admin-password")
	if fi, err := os.Stat(pwFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("initial admin password file: %v %v", fi, err)
	}
	pw, _ := os.ReadFile(pwFile)
	if res, err := http.Get(base + "/api/v1/graphs"); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API without credentials: %v %v", res.StatusCode, err)
	}
	// Basic with the initial password works for scripts; a token made by
	// `saguaro user token` is what the rest of the test uses.
	req, _ := http.NewRequest("GET", base+"/api/v1/graphs", nil)
	req.SetBasicAuth("admin", strings.TrimSpace(string(pw)))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("API with Basic: %v %v", res.StatusCode, err)
	}
	var tokOut, tokErr bytes.Buffer
	if code := run([]string{"user", "token", "admin", "--name", "e2e", "--data", dataDir}, &tokOut, &tokErr); code != 0 {
		t.Fatalf("user token: %d %s", code, tokErr.String())
	}
	e2eToken = strings.TrimSpace(tokOut.String())
	defer func() { e2eToken = "" }()

	// Wait (bounded) until the lo traffic graph has a known rate.
	var lo apiGraph
	var rows [][]string
	deadline := time.Now().Add(150 * time.Second) // typically 30-45 s; generous for a loaded CI machine
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		lo = findGraph(t, base, "lab", "interface_traffic", "lo")
		if lo.ID == "" {
			continue
		}
		rows = getCSV(t, base+"/api/v1/graphs/"+lo.ID+".csv?start=-5m&end=now&width=300")
		if lastKnown(rows, 1) >= 0 {
			break
		}
	}
	c1, t1 := snmpGetCounter(t, agent.Addr, loOctets), time.Now()
	t.Logf("first known lo rate after %v", t1.Sub(t0).Round(time.Second))
	if lo.ID == "" {
		t.Fatalf("no interface_traffic graph for lab/lo after 150 s; logs:\n%s", logs.String())
	}
	i := lastKnown(rows, 1)
	if i < 0 {
		t.Fatalf("no known inbound value after 150 s: %v\nlogs:\n%s", rows, logs.String())
	}
	bits, err := strconv.ParseFloat(rows[i][1], 64)
	if err != nil {
		t.Fatalf("row %v: %v", rows[i], err)
	}
	// The stored rate is a rate over part of [t0, t1]: positive (the
	// polls themselves cross lo) and no more than all octets counted in
	// [t0, t1] could give over one 10 s step.
	delta := float64(c1 - c0)
	if bits <= 0 || bits/8*10 > delta*1.0001 {
		t.Errorf("lo inbound %.1f bit/s inconsistent with snmpget: %d octets in %v", bits, c1-c0, t1.Sub(t0))
	}

	// The same graph as PNG, at the requested size.
	resp := get(t, base+"/api/v1/graphs/"+lo.ID+".png?start=-1h&width=640&height=260")
	img, err := png.Decode(bytes.NewReader(resp))
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 260 {
		t.Errorf("png is %dx%d, want 640x260", b.Dx(), b.Dy())
	}

	// The dead device and the failing HTTP target are polled and fail;
	// the live device succeeds.
	metrics := string(get(t, base+"/metrics"))
	for _, want := range []string{
		`saguaro_poll_success{device="lab",target="lab/snmp"} 1`,
		`saguaro_poll_success{device="dead",target="dead/snmp"} 0`,
		`saguaro_poll_success{device="broken-app",target="broken-app/http"} 0`,
		// The self-scrape reaches /metrics from this machine without credentials.
		`saguaro_poll_success{device="self",target="self/http"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Bad parameters are refused with a message naming the parameter.
	for _, tc := range []struct{ url, field string }{
		{"/api/v1/graphs/" + lo.ID + ".png?width=abc", "width"},
		{"/api/v1/graphs/" + lo.ID + ".png?height=9000", "height"},
		{"/api/v1/graphs/" + lo.ID + ".csv?start=yesterday", "start"},
		{"/api/v1/graphs/" + lo.ID + ".csv?start=now&end=-1d", "start"},
		{"/api/v1/graphs/" + lo.ID + ".gif", "format"},
	} {
		res, err := authGet(base + tc.url)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error, Field string }
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || body.Field != tc.field || body.Error == "" {
			t.Errorf("%s: status %d body %+v, want 400 naming %s", tc.url, res.StatusCode, body, tc.field)
		}
	}
	if res, err := authGet(base + "/api/v1/graphs/nope.png"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown graph: %v %v", res.StatusCode, err)
	}
	home := string(get(t, base+"/"))
	for _, want := range []string{"lab", "dead", "/api/v1/graphs/" + lo.ID + ".png"} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %q", want)
		}
	}

	// Reload: an invalid file is refused and the running devices stay;
	// a valid one removes the dead device and keeps the rest.
	cfgText, _ := os.ReadFile(cfgPath)
	writeFile(t, cfgPath, strings.Replace(string(cfgText), "template: net-snmp-host", "template: no-such-template", 1))
	if code, body := post(t, base+"/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, `no device template named \"no-such-template\"`) {
		t.Errorf("bad reload: %d %s", code, body)
	}
	if home := string(get(t, base+"/")); !strings.Contains(home, "device-dead") {
		t.Error("refused reload dropped a device")
	}
	i0 := strings.Index(string(cfgText), "  - name: dead")
	i1 := strings.Index(string(cfgText), "  - name: broken-app")
	writeFile(t, cfgPath, string(cfgText[:i0])+string(cfgText[i1:]))
	if code, body := post(t, base+"/-/reload"); code != http.StatusOK {
		t.Errorf("reload: %d %s", code, body)
	}
	home = string(get(t, base+"/"))
	if strings.Contains(home, "device-dead") || !strings.Contains(home, "device-lab") {
		t.Error("reload did not remove the dead device or lost the lab device")
	}
	// The token never reaches the log; the initial password is printed
	// once, at the first start, and nowhere else.
	if l := logs.String(); strings.Contains(l, e2eToken) || strings.Count(l, strings.TrimSpace(string(pw))) != 1 {
		t.Errorf("a credential appears in the log (token: %v, password %d times)", strings.Contains(l, e2eToken), strings.Count(l, strings.TrimSpace(string(pw))))
	}
}

// e2eToken is the API token the end-to-end helpers send.
var e2eToken string

func authGet(url string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	return http.DefaultClient.Do(req)
}

func post(t testing.TB, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t testing.TB, url string) []byte {
	t.Helper()
	res, err := authGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return b
}

func findGraph(t testing.TB, base, device, template, ifName string) apiGraph {
	var list struct{ Graphs []apiGraph }
	if err := json.Unmarshal(get(t, base+"/api/v1/graphs"), &list); err != nil {
		t.Fatal(err)
	}
	for _, g := range list.Graphs {
		if g.Device == device && g.Template == template && g.Vars["ifName"] == ifName {
			return g
		}
	}
	return apiGraph{}
}

// getCSV returns the data rows of a CSV export (comment lines and the
// column header dropped).
func getCSV(t testing.TB, url string) [][]string {
	var lines []string
	for _, l := range strings.Split(string(get(t, url)), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	r := csv.NewReader(strings.NewReader(strings.Join(lines[1:], "\n")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

// lastKnown returns the index of the last row whose column col holds a
// number, or -1.
func lastKnown(rows [][]string, col int) int {
	for i := len(rows) - 1; i >= 0; i-- {
		if col < len(rows[i]) {
			if v, err := strconv.ParseFloat(rows[i][col], 64); err == nil && !math.IsNaN(v) {
				return i
			}
		}
	}
	return -1
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSitesServed: sites of file and API devices reach the web side
// through service.Devices: the device list, its site filter and a
// viewer limited by `saguaro user scope` to a tree.
func TestSitesServed(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "saguaro.yaml")
	dataDir := filepath.Join(dir, "data")
	writeFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
poller: {interval: 10s, timeout: 8s}
storage: {step: 10s}
devices:
  - name: self
    template: saguaro-self
    site: lab/rack1
    http: {url: "http://{listen}/metrics"}
  - name: loose
    template: saguaro-self
    http: {url: "http://127.0.0.1:1/metrics"}
`, dataDir))
	srv := startServe(t, cfgPath)
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append(args, "--data", dataDir), &out, &errb); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	e2eToken = cli("user", "token", "admin", "--name", "sites")
	defer func() { e2eToken = "" }()

	if code, body := call(t, "POST", srv.base+"/api/v1/devices", `{"name":"api1","template":"saguaro-self","site":"lab/rack2","http":{"url":"http://127.0.0.1:1/metrics"}}`); code != 201 && code != 200 {
		t.Fatalf("add api1: %d %s", code, body)
	}
	if code, body := call(t, "POST", srv.base+"/api/v1/devices", `{"name":"api2","template":"saguaro-self","site":"lab//x","http":{"url":"http://127.0.0.1:1/metrics"}}`); code != 400 || !strings.Contains(body, `"field":"site"`) {
		t.Errorf("bad site: %d %s, want 400 on site", code, body)
	}
	list := func(token, query string) []string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.base+"/api/v1/devices"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r struct{ Devices []struct{ Name, Site string } }
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != 200 {
			t.Fatalf("devices%s: %d %v", query, res.StatusCode, err)
		}
		var out []string
		for _, d := range r.Devices {
			out = append(out, d.Name+"@"+d.Site)
		}
		return out
	}
	if got := list(e2eToken, ""); !slices.Equal(got, []string{"self@lab/rack1", "loose@", "api1@lab/rack2"}) {
		t.Errorf("devices: %q", got)
	}
	if got := list(e2eToken, "?site=lab"); !slices.Equal(got, []string{"self@lab/rack1", "api1@lab/rack2"}) {
		t.Errorf("devices site=lab: %q", got)
	}
	if _, body := call(t, "GET", srv.base+"/api/v1/devices/api1", ""); !strings.Contains(body, `"site":"lab/rack2"`) {
		t.Errorf("api1 lacks its site: %s", body)
	}

	// A viewer limited to one rack sees that rack's device alone.
	cli("user", "add", "vera")
	cli("user", "scope", "vera", "--tree", "lab/rack2")
	vera := cli("user", "token", "vera")
	if got := list(vera, ""); !slices.Equal(got, []string{"api1@lab/rack2"}) {
		t.Errorf("devices of vera (lab/rack2): %q", got)
	}
	cli("user", "scope", "vera", "--tree", "lab")
	if got := list(vera, ""); !slices.Equal(got, []string{"self@lab/rack1", "api1@lab/rack2"}) {
		t.Errorf("devices of vera (lab): %q", got)
	}
}

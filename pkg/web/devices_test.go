package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
)

// memEditor keeps API devices in memory, validated as the service does
// (decode, defaults, ValidateDevice), beside one configuration-file
// device "file1". The service's own tests cover the real store.
type memEditor struct {
	mu       sync.Mutex
	cfg      *config.Config
	raw      map[string]map[string]any
	order    []string
	discover []Discovered
	lastReq  DiscoverRequest
	busy     bool
}

func newMemEditor(t testing.TB) *memEditor {
	cfg, err := config.Parse([]byte("devices: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &memEditor{cfg: cfg, raw: map[string]map[string]any{}}
}

func (m *memEditor) Devices() []DeviceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []DeviceStatus{{Name: "file1", Template: "t", Source: "config"}}
	for _, n := range m.order {
		site, _ := m.raw[n]["site"].(string)
		out = append(out, DeviceStatus{Name: n, Template: m.raw[n]["template"].(string), Source: "api", Site: site})
	}
	return out
}

func (m *memEditor) check(raw map[string]any) (config.Device, error) {
	d, err := config.DecodeDevice(raw)
	if err != nil {
		return d, err
	}
	m.cfg.DeviceDefaults(&d)
	return d, m.cfg.ValidateDevice(d)
}

func (m *memEditor) AddDevice(_ context.Context, raw map[string]any, _ string) (DeviceSettings, error) {
	d, err := m.check(raw)
	if err != nil {
		return DeviceSettings{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.raw[d.Name]; dup || d.Name == "file1" {
		return DeviceSettings{}, fmt.Errorf("device %q: %w", d.Name, ErrConflict)
	}
	m.raw[d.Name] = raw
	m.order = append(m.order, d.Name)
	return DeviceSettings{Name: d.Name, Source: "api", Settings: config.DeviceView(d)}, nil
}

func (m *memEditor) UpdateDevice(_ context.Context, name string, raw map[string]any, _ string) (DeviceSettings, error) {
	m.mu.Lock()
	old, ok := m.raw[name]
	m.mu.Unlock()
	if name == "file1" {
		return DeviceSettings{}, ErrConflict
	}
	if !ok {
		return DeviceSettings{}, ErrNotFound
	}
	config.KeepSecrets(raw, old)
	d, err := m.check(raw)
	if err != nil {
		return DeviceSettings{}, err
	}
	m.mu.Lock()
	m.raw[name] = raw
	m.mu.Unlock()
	return DeviceSettings{Name: d.Name, Source: "api", Settings: config.DeviceView(d)}, nil
}

func (m *memEditor) DeleteDevice(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.raw[name]; !ok {
		return ErrNotFound
	}
	delete(m.raw, name)
	for i, n := range m.order {
		if n == name {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	return nil
}

func (m *memEditor) Settings(name string) (DeviceSettings, bool) {
	m.mu.Lock()
	raw, ok := m.raw[name]
	m.mu.Unlock()
	if !ok {
		return DeviceSettings{}, false
	}
	d, _ := m.check(raw)
	return DeviceSettings{Name: name, Source: "api", Settings: config.DeviceView(d)}, true
}

func (m *memEditor) Discover(_ context.Context, req DiscoverRequest) ([]Discovered, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.busy {
		return nil, fmt.Errorf("another discovery: %w", ErrBusy)
	}
	m.lastReq = req
	return m.discover, nil
}

func newEditorEnv(t *testing.T) (*testEnv, *memEditor) {
	ed := newMemEditor(t)
	env := newTestEnvOpts(t, nil, ed, func(o *Options) { o.DeviceEditor = ed })
	return env, ed
}

const goodDevice = `{"name":"r1","template":"t","interval":"30s","snmp":{"address":"127.0.0.1:1161","community":"s3cret-community"}}`

func TestAPIDeviceWrites(t *testing.T) {
	env, _ := newEditorEnv(t)
	json := "Content-Type"
	ct := []string{json, "application/json"}
	// Viewers may not write; nothing changes.
	for _, tc := range []struct{ method, path string }{{"POST", "/api/v1/devices"}, {"PUT", "/api/v1/devices/r1"}, {"DELETE", "/api/v1/devices/r1"}, {"POST", "/api/v1/discover"}} {
		if code, _, body := env.do(t, tc.method, tc.path, auth.RoleViewer, strings.NewReader(goodDevice), ct...); code != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d %s", tc.method, tc.path, code, body)
		}
	}
	code, h, body := env.do(t, "POST", "/api/v1/devices", auth.RoleEditor, strings.NewReader(goodDevice), ct...)
	if code != http.StatusCreated || h.Get("Location") != "/api/v1/devices/r1" || strings.Contains(body, "s3cret") || !strings.Contains(body, `"community":"\u003csecret\u003e"`) {
		t.Fatalf("add: %d %q %s", code, h.Get("Location"), body)
	}
	// Listed, and shown with its settings but not its community.
	code, _, body = env.do(t, "GET", "/api/v1/devices/r1", auth.RoleViewer, nil)
	if code != 200 || strings.Contains(body, "s3cret") || !strings.Contains(body, `"source":"api"`) || !strings.Contains(body, `"interval":"30s"`) {
		t.Errorf("get: %d %s", code, body)
	}
	if _, _, body := env.do(t, "GET", "/api/v1/devices", auth.RoleViewer, nil); !strings.Contains(body, `"name":"r1"`) || !strings.Contains(body, `"source":"config"`) {
		t.Errorf("list: %s", body)
	}
	if _, _, body := env.do(t, "GET", "/device/r1", auth.RoleViewer, nil); !strings.Contains(body, "added through the API") || strings.Contains(body, "s3cret") {
		t.Errorf("device page: %s", body)
	}
	cases := []struct {
		name, method, path, body string
		code                     int
		field                    string
	}{
		{"same name again", "POST", "/api/v1/devices", goodDevice, 409, "name"},
		{"file device's name", "POST", "/api/v1/devices", strings.Replace(goodDevice, `"r1"`, `"file1"`, 1), 409, "name"},
		{"not JSON", "POST", "/api/v1/devices", `name: r1`, 400, "body"},
		{"two objects", "POST", "/api/v1/devices", goodDevice + goodDevice, 400, "body"},
		{"an array", "POST", "/api/v1/devices", `[1]`, 400, "body"},
		{"null", "POST", "/api/v1/devices", `null`, 400, "body"},
		{"no community", "POST", "/api/v1/devices", `{"name":"r2","template":"t","snmp":{"address":"127.0.0.1"}}`, 400, "snmp.community"},
		{"unknown key", "POST", "/api/v1/devices", `{"name":"r2","template":"t","colour":"red","snmp":{"address":"a","community":"c"}}`, 400, "colour"},
		{"bad interval", "POST", "/api/v1/devices", `{"name":"r2","template":"t","interval":"1s","snmp":{"address":"a","community":"c"}}`, 400, "interval"},
		{"bad name", "POST", "/api/v1/devices", `{"name":"../etc","template":"t","snmp":{"address":"a","community":"c"}}`, 400, "name"},
		{"rename by PUT", "PUT", "/api/v1/devices/r1", strings.Replace(goodDevice, `"r1"`, `"r9"`, 1), 400, "name"},
		{"PUT a file device", "PUT", "/api/v1/devices/file1", `{"template":"t","snmp":{"address":"a","community":"c"}}`, 409, "name"},
		{"PUT unknown", "PUT", "/api/v1/devices/nope", `{"template":"t","snmp":{"address":"a","community":"c"}}`, 404, ""},
		{"DELETE unknown", "DELETE", "/api/v1/devices/nope", ``, 404, ""},
	}
	for _, tc := range cases {
		code, _, body := env.do(t, tc.method, tc.path, auth.RoleEditor, strings.NewReader(tc.body), ct...)
		if code != tc.code || tc.field != "" && !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s, want %d with field %q", tc.name, code, body, tc.code, tc.field)
		}
	}
	// PUT with the masked community keeps the stored one; a changed
	// interval is taken.
	_, _, shown := env.do(t, "GET", "/api/v1/devices/r1", auth.RoleEditor, nil)
	var got struct{ Config map[string]any }
	if err := jsonUnmarshal(shown, &got); err != nil {
		t.Fatal(err)
	}
	got.Config["interval"] = "2m"
	b, _ := jsonMarshal(got.Config)
	if code, _, body := env.do(t, "PUT", "/api/v1/devices/r1", auth.RoleEditor, strings.NewReader(b), ct...); code != 200 || !strings.Contains(body, `"interval":"2m0s"`) {
		t.Errorf("put: %d %s", code, body)
	}
	if code, _, _ := env.do(t, "DELETE", "/api/v1/devices/r1", auth.RoleEditor, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _, _ := env.do(t, "GET", "/api/v1/devices/r1", auth.RoleViewer, nil); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
	// Oversized bodies stop at the limit.
	big := `{"name":"big","template":"t","x":"` + strings.Repeat("x", 2<<20) + `"}`
	if code, _, body := env.do(t, "POST", "/api/v1/devices", auth.RoleEditor, strings.NewReader(big), ct...); code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB device: %d %.100s", code, body)
	}
	// Secrets are not logged either.
	if strings.Contains(env.logs.String(), "s3cret") {
		t.Errorf("community in the log:\n%s", env.logs.String())
	}
}

// TestScopedEditorWrites: an editor limited to a tree adds, changes and
// deletes devices in it only; devices elsewhere do not exist for them,
// and discovery may propose but not add.
func TestScopedEditorWrites(t *testing.T) {
	env, ed := newEditorEnv(t)
	if err := env.store.SetScope("editor1", auth.Scope{Trees: []string{"emea"}}); err != nil {
		t.Fatal(err)
	}
	ct := []string{"Content-Type", "application/json"}
	dev := func(name, site string) string {
		d := map[string]any{"name": name, "template": "t", "snmp": map[string]any{"address": "127.0.0.1:1161", "community": "c"}}
		if site != "" {
			d["site"] = site
		}
		b, _ := json.Marshal(d)
		return string(b)
	}
	steps := []struct {
		what, method, path string
		role               auth.Role
		body               string
		code               int
		field              string
	}{
		{"add in scope", "POST", "/api/v1/devices", auth.RoleEditor, dev("r1", "emea/lon"), 201, ""},
		{"add in another site", "POST", "/api/v1/devices", auth.RoleEditor, dev("r2", "amer"), 403, "name"},
		{"add without a site", "POST", "/api/v1/devices", auth.RoleEditor, dev("r3", ""), 403, "name"},
		{"admin adds elsewhere", "POST", "/api/v1/devices", auth.RoleAdmin, dev("x1", "amer"), 201, ""},
		{"move out of scope", "PUT", "/api/v1/devices/r1", auth.RoleEditor, dev("r1", "amer/nyc"), 403, "site"},
		{"move within scope", "PUT", "/api/v1/devices/r1", auth.RoleEditor, dev("r1", "emea/par"), 200, ""},
		{"change a device elsewhere", "PUT", "/api/v1/devices/x1", auth.RoleEditor, dev("x1", "emea"), 404, ""},
		{"delete a device elsewhere", "DELETE", "/api/v1/devices/x1", auth.RoleEditor, "", 404, ""},
		{"discover and add", "POST", "/api/v1/discover", auth.RoleEditor, `{"addresses":["127.0.0.1"],"community":"c","apply":true}`, 403, "apply"},
		{"discover only", "POST", "/api/v1/discover", auth.RoleEditor, `{"addresses":["127.0.0.1"],"community":"c"}`, 200, ""},
		{"delete in scope", "DELETE", "/api/v1/devices/r1", auth.RoleEditor, "", 204, ""},
	}
	for _, st := range steps {
		code, _, body := env.do(t, st.method, st.path, st.role, strings.NewReader(st.body), ct...)
		if code != st.code || st.field != "" && !strings.Contains(body, `"field":"`+st.field+`"`) {
			t.Errorf("%s: %d %s, want %d with field %q", st.what, code, body, st.code, st.field)
		}
	}
	names := map[string]string{}
	for _, d := range ed.Devices() {
		names[d.Name] = d.Site
	}
	if _, ok := names["r2"]; ok || names["x1"] != "amer" || len(names) != 2 {
		t.Errorf("devices after the scoped editor's writes: %v, want file1 and x1 in amer", names)
	}
}

// TestAPIDeviceCSRF: a browser session must send the CSRF token to add a
// device; a token (Bearer) needs none.
func TestAPIDeviceCSRF(t *testing.T) {
	env, _ := newEditorEnv(t)
	c, csrf := login(t, env, "editor1")
	post := func(body string, hdr ...string) int {
		req, _ := http.NewRequest("POST", env.ts.URL+"/api/v1/devices", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(goodDevice); code != http.StatusForbidden {
		t.Errorf("cookie session without CSRF token: %d, want 403", code)
	}
	if code := post(goodDevice, "X-CSRF-Token", "forged"); code != http.StatusForbidden {
		t.Errorf("cookie session with a forged CSRF token: %d, want 403", code)
	}
	if code := post(goodDevice, "X-CSRF-Token", csrf); code != http.StatusCreated {
		t.Errorf("cookie session with the CSRF token: %d", code)
	}
}

func TestAPIDiscoverRequest(t *testing.T) {
	env, ed := newEditorEnv(t)
	ed.discover = []Discovered{{Address: "127.0.0.1:161", SysName: "lab", Template: "net-snmp-host",
		Device: map[string]any{"name": "lab", "snmp": map[string]any{"community": config.SecretMask}}}}
	ct := []string{"Content-Type", "application/json"}
	cases := []struct {
		body  string
		field string
	}{
		{`{}`, "addresses"},
		{`{"addresses":[""],"community":"c"}`, "addresses[0]"},
		{`{"addresses":["a/b"],"community":"c"}`, "addresses[0]"},
		{`{"addresses":["a"]}`, "community"},
		{`{"addresses":["a"],"version":"4","community":"c"}`, "version"},
		{`{"addresses":["a"],"version":"3"}`, "username"},
		{`{"addresses":["a"],"community":"c","typo":1}`, "body"},
		{`{"addresses":[` + strings.Repeat(`"a",`, 64) + `"a"],"community":"c"}`, "addresses"},
	}
	for _, tc := range cases {
		code, _, body := env.do(t, "POST", "/api/v1/discover", auth.RoleEditor, strings.NewReader(tc.body), ct...)
		if code != 400 || !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%.60s: %d %s, want 400 on %s", tc.body, code, body, tc.field)
		}
	}
	code, _, body := env.do(t, "POST", "/api/v1/discover", auth.RoleEditor, strings.NewReader(`{"addresses":[" 127.0.0.1 "],"community":"pub","apply":true}`), ct...)
	if code != 200 || !strings.Contains(body, `"template":"net-snmp-host"`) || strings.Contains(body, "pub\"") {
		t.Errorf("discover: %d %s", code, body)
	}
	ed.mu.Lock()
	ed.busy = true
	ed.mu.Unlock()
	if code, h, body := env.do(t, "POST", "/api/v1/discover", auth.RoleEditor, strings.NewReader(`{"addresses":["a"],"community":"c"}`), ct...); code != 429 || h.Get("Retry-After") == "" {
		t.Errorf("discovery while another runs: %d %s", code, body)
	}
	if r := ed.lastReq; len(r.Addresses) != 1 || r.Addresses[0] != "127.0.0.1" || r.Version != "2c" || !r.Apply {
		t.Errorf("request passed on: %+v", r)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
func jsonMarshal(v any) (string, error)   { b, err := json.Marshal(v); return string(b), err }

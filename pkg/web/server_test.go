package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// memQuerier serves one gauge series on the requested grid: a ramp with
// a gap of unknown rows in the middle.
type memQuerier struct{}

func (memQuerier) Select(_ context.Context, q metric.Query) ([]metric.Series, error) {
	step := q.Step
	if step <= 0 {
		step = time.Minute
	}
	start := q.From.Truncate(step).Add(step)
	n := int(q.To.Sub(start)/step) + 1
	vals := make([]float64, n)
	// A device named "nodata" has no value at all.
	empty := false
	for _, m := range q.Match {
		empty = empty || m.Name == metric.DeviceLabel && m.Matches("nodata")
	}
	for i := range vals {
		vals[i] = float64(i)
		if i > n/3 && i < n/2 || empty {
			vals[i] = math.NaN()
		}
	}
	return []metric.Series{{Labels: metric.New("__name__", "temp", "device", "dev1"), Start: start, Step: step, Values: vals}}, nil
}

func (memQuerier) LabelValues(context.Context, string, metric.Selector) ([]string, error) {
	return nil, nil
}

type fakeGraphs struct {
	tmpl *graphs.Template
}

func (f *fakeGraphs) List(context.Context) ([]graphs.Info, error) {
	return []graphs.Info{{ID: "dev1.temp", Title: "dev1 - temperature", Device: "dev1", Template: "temp", Vars: map[string]string{"device": "dev1"}}}, nil
}

func (f *fakeGraphs) Plan(ctx context.Context, id string, o graphs.Options) (*graphs.Plan, error) {
	if id != "dev1.temp" {
		return nil, fmt.Errorf("graph %s: %w", id, ErrNotFound)
	}
	return graphs.NewPlan(ctx, memQuerier{}, f.tmpl, map[string]string{"device": "dev1"}, o)
}

type fakeDevices struct{}

func (fakeDevices) Devices() []DeviceStatus {
	return []DeviceStatus{
		{Name: "dev1", Template: "t", Address: "snmp://127.0.0.1:161", LastPoll: time.Now(), Samples: 3},
		{Name: "dev2", Template: "t", Address: "snmp://127.0.0.2:161", Error: "request timeout"},
	}
}

// testEnv is a server with a user store holding one user per role, each
// with an API token.
type testEnv struct {
	srv    *Server
	ts     *httptest.Server
	store  *auth.Store
	tokens map[auth.Role]string
	logs   *bytes.Buffer
}

const testPassword = "correct horse battery"

func newTestEnv(t testing.TB, devices Devices) *testEnv { return newTestEnvWith(t, nil, devices) }

// newTestEnvWith serves g (nil: one temperature graph of dev1).
func newTestEnvWith(t testing.TB, g Graphs, devices Devices) *testEnv {
	t.Helper()
	return newTestEnvOpts(t, g, devices, nil)
}

// newTestEnvOpts is newTestEnvWith with a last say over the options.
func newTestEnvOpts(t testing.TB, g Graphs, devices Devices, edit func(*Options)) *testEnv {
	t.Helper()
	tmpl := &graphs.Template{
		Name: "temp", Title: "{device} - temperature", VerticalLabel: "°C",
		Defs:  []graphs.Def{{Name: "t", Metric: "temp", CF: "AVERAGE"}},
		Items: []graphs.Item{{Type: "LINE", Ref: "t", Color: "#FF0000", Width: 2, Legend: "Temperature"}},
	}
	if err := tmpl.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := auth.Open(filepath.Join(t.TempDir(), "state.db"), auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	env := &testEnv{store: store, tokens: map[auth.Role]string{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: env.logs}, nil))
	for _, r := range []auth.Role{auth.RoleViewer, auth.RoleEditor, auth.RoleAdmin} {
		if _, err := store.AddUser(string(r)+"1", r, testPassword); err != nil {
			t.Fatal(err)
		}
		tok, _, err := store.NewToken(string(r)+"1", "test", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		env.tokens[r] = tok
	}
	a, err := auth.NewAuthenticator(store, auth.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if devices == nil {
		devices = fakeDevices{}
	}
	if g == nil {
		g = &fakeGraphs{tmpl: tmpl}
	}
	o := Options{Graphs: g, Devices: devices, Templates: fakeTemplates{}, Version: "test",
		Auth: a, Users: store, Logger: log, Reload: func(context.Context) error { return nil }}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	env.srv = s
	env.ts = httptest.NewServer(s.Handler())
	t.Cleanup(env.ts.Close)
	return env
}

// lockedWriter lets the server's goroutines and the test share a buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do sends a request with a role's token ("" role: no credentials).
func (e *testEnv) do(t testing.TB, method, path string, role auth.Role, body io.Reader, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// adminToken is the token fetch uses; set by tests that share it.
var adminToken string

func fetch(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

type fakeTemplates struct{}

func (fakeTemplates) Templates(context.Context) TemplateStatus {
	return TemplateStatus{Templates: []TemplateInfo{
		{Kind: KindDevice, Name: "t", Source: "builtin:t.yaml", Graphs: []string{"temp"}, DataSources: []DataSource{{Metric: "temp", Type: "GAUGE", OID: ".1.3.6.1.4.1.2021.13.16.2.1.3"}}},
		{Kind: KindGraph, Name: "temp", Source: "builtin:t.yaml"},
	}}
}

func (f fakeTemplates) Template(ctx context.Context, kind, name string) (TemplateInfo, error) {
	for _, t := range f.Templates(ctx).Templates {
		if t.Kind == kind && t.Name == name {
			t.YAML = "graphs:\n  - name: temp\n    title: <script>alert(1)</script>\n"
			return t, nil
		}
	}
	return TemplateInfo{}, ErrNotFound
}

func (fakeTemplates) Validate(_ context.Context, y []byte) error {
	if strings.Contains(string(y), "bad") {
		return fmt.Errorf("template file upload: graphs[0].color: %q is not a colour", "bad")
	}
	return nil
}

func TestPagesAndExports(t *testing.T) {
	env := newTestEnv(t, nil)
	ts := env.ts
	adminToken = env.tokens[auth.RoleAdmin]
	code, _, body := fetch(t, ts.URL+"/healthz")
	if code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}

	code, _, body = fetch(t, ts.URL+"/api/v1/graphs")
	var list struct{ Graphs []graphJSON }
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Graphs) != 1 || list.Graphs[0].PNG != "/api/v1/graphs/dev1.temp.png" {
		t.Errorf("graph list: %d %s", code, body)
	}

	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/graphs/dev1.temp.png?start=-6h&width=500&height=200", nil)
	req.SetBasicAuth("viewer1", testPassword)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if err != nil || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %v %s", err, res.Header.Get("Content-Type"))
	}
	if b := img.Bounds(); b.Dx() != 500 || b.Dy() != 200 {
		t.Errorf("png size %v", b)
	}

	code, hdr, body := fetch(t, ts.URL+"/api/v1/graphs/dev1.temp.csv?start=1700000000&end=1700003600")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", code, hdr.Get("Content-Type"))
	}
	// Unknown rows are empty fields, never zero.
	if !strings.Contains(body, "time,Temperature\n") || !strings.Contains(body, "00,\n") || !strings.Contains(body, "# unknown rows: ") {
		t.Errorf("csv lacks the legend column or the unknown rows:\n%s", body)
	}

	code, _, body = fetch(t, ts.URL+"/")
	for _, want := range []string{"dev1 - temperature", "/api/v1/graphs/dev1.temp.png?", "request timeout", "dev2"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page (%d) lacks %q", code, want)
		}
	}
	code, _, body = fetch(t, ts.URL+"/?range=1w")
	if code != 200 || !strings.Contains(body, "start=-1w") {
		t.Errorf("home with range=1w: %d", code)
	}
	code, _, body = fetch(t, ts.URL+"/graph/dev1.temp")
	if code != 200 || strings.Count(body, "<img") != 5 {
		t.Errorf("graph page: %d, %d images", code, strings.Count(body, "<img"))
	}
	if code, _, _ = fetch(t, ts.URL+"/graph/nope"); code != 404 {
		t.Errorf("unknown graph page: %d", code)
	}
	if code, _, _ = fetch(t, ts.URL+"/assets/saguaro.css"); code != 200 {
		t.Errorf("css: %d", code)
	}
	if code, _, _ = fetch(t, ts.URL+"/metrics"); code != 200 {
		t.Errorf("metrics: %d", code)
	}
}

func TestBadParameters(t *testing.T) {
	env := newTestEnv(t, nil)
	ts := env.ts
	adminToken = env.tokens[auth.RoleAdmin]
	cases := []struct {
		path, field, msg string
		code             int
	}{
		{"/api/v1/graphs/dev1.temp.png?width=wide", "width", `"wide" is not a whole number`, 400},
		{"/api/v1/graphs/dev1.temp.png?width=10", "width", "out of range (120 to 4000)", 400},
		{"/api/v1/graphs/dev1.temp.png?height=2001", "height", "out of range (50 to 2000)", 400},
		{"/api/v1/graphs/dev1.temp.png?start=-3q", "start", "not a relative time", 400},
		{"/api/v1/graphs/dev1.temp.png?end=tomorrow", "end", "not a time", 400},
		{"/api/v1/graphs/dev1.temp.csv?start=now&end=-1h", "start", "must be before end", 400},
		{"/api/v1/graphs/dev1.temp.svgz", "format", "not a format", 400},
		{"/api/v1/graphs/dev1temp", "format", "add .png, .svg, .csv or .json", 400},
		{"/api/v1/graphs/other.png", "", "not found", 404},
		{"/api/v1/graphs/..%2f..%2fetc%2fpasswd.png", "", "not found", 404},
	}
	// Pages answer bad parameters with an HTML page naming the parameter.
	if code, _, body := fetch(t, ts.URL+"/?range=3d"); code != 400 || !strings.Contains(body, "range: &#34;3d&#34; is not a range") {
		t.Errorf("page with a bad range: %d %s", code, body)
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, _, body := fetch(t, ts.URL+tc.path)
			var e struct{ Error, Field string }
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body not JSON: %q", body)
			}
			if code != tc.code || e.Field != tc.field || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("got %d %+v, want %d field %q msg %q", code, e, tc.code, tc.field, tc.msg)
			}
		})
	}
}

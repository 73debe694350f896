package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// TestDeviceScope: a viewer limited to some devices sees only those, in
// pages and API alike; the others do not exist for them.
func TestDeviceScope(t *testing.T) {
	m := newManyGraphs(t, 3, 4)
	env := newTestEnvWith(t, m, manyDevices{m})
	if err := env.store.SetScope("viewer1", auth.Scope{Devices: []string{"rtr-00[12]"}}); err != nil {
		t.Fatal(err)
	}
	_, _, body := env.do(t, "GET", "/", auth.RoleViewer, nil)
	if strings.Contains(body, "rtr-000") || !strings.Contains(body, "rtr-001") || !strings.Contains(body, "8 of 8 graphs") {
		t.Errorf("home page of a scoped viewer shows other devices or the wrong count")
	}
	_, _, body = env.do(t, "GET", "/api/v1/graphs", auth.RoleViewer, nil)
	if strings.Contains(body, "rtr-000") || strings.Count(body, `"id"`) != 8 {
		t.Errorf("API graphs of a scoped viewer: %s", body)
	}
	for _, p := range []string{"/api/v1/graphs/rtr-000.cpu.eth0.png", "/graph/rtr-000.cpu.eth0", "/device/rtr-000", "/api/v1/devices/rtr-000", "/api/v1/graph?template=cpu&device=rtr-000"} {
		if code, _, _ := env.do(t, "GET", p, auth.RoleViewer, nil); code != 404 {
			t.Errorf("%s for a scoped viewer: %d, want 404", p, code)
		}
	}
	if code, _, _ := env.do(t, "GET", "/api/v1/graphs/rtr-001.cpu.eth0.png", auth.RoleViewer, nil); code != 200 {
		t.Errorf("graph in scope: %d", code)
	}
	// The editor is not limited.
	if code, _, _ := env.do(t, "GET", "/api/v1/graphs/rtr-000.cpu.eth0.png", auth.RoleEditor, nil); code != 200 {
		t.Errorf("unscoped editor: %d", code)
	}
}

// TestAnonymousViewer: with anonymous access on (wall displays), pages
// and exports work without credentials, but nothing that changes state
// or needs more than a viewer; a bad token is still refused.
func TestAnonymousViewer(t *testing.T) {
	env := newTestEnv(t, nil)
	a, err := auth.NewAuthenticator(env.store, auth.Options{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Graphs: env.srv.o.Graphs, Devices: env.srv.o.Devices, Auth: a, Users: env.store})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get := func(path string, hdr ...string) int {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, p := range []string{"/", "/graph/dev1.temp", "/api/v1/graphs", "/api/v1/graphs/dev1.temp.png"} {
		if c := get(p); c != 200 {
			t.Errorf("anonymous %s: %d", p, c)
		}
	}
	if c := get("/users"); c != http.StatusSeeOther {
		t.Errorf("anonymous /users: %d, want the login page", c)
	}
	if c := get("/api/v1/tokens"); c != http.StatusForbidden {
		t.Errorf("anonymous /api/v1/tokens: %d, want 403 (no account, no tokens)", c)
	}
	if c := get("/api/v1/graphs", "Authorization", "Bearer sag_bad"); c != 401 {
		t.Errorf("bad token with anonymous access on: %d, want 401", c)
	}
}

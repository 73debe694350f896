package web

import (
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

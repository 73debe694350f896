package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// benchPage serves one page with 10,000 graphs defined (500 devices of
// 20 graphs), authenticated by an API token as every request is.
func benchPage(b *testing.B, path string) {
	m := newManyGraphs(b, 500, 20)
	env := newTestEnvWith(b, m, manyDevices{m})
	h := env.srv.Handler()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+env.tokens[auth.RoleViewer])
	b.ReportAllocs()
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// The home page: the whole tree and the first 24 thumbnails.
func BenchmarkHome10k(b *testing.B) { benchPage(b, "/") }

// The tree opened at one device's group.
func BenchmarkTreeDevice10k(b *testing.B) {
	benchPage(b, "/?device=rtr-250&template=cpu&start=-1w")
}

// A text search over all 10,000 graphs.
func BenchmarkSearch10k(b *testing.B) { benchPage(b, "/?q=rtr-4+memory+eth3&page=2") }

// The API list of all graphs.
func BenchmarkAPIGraphs10k(b *testing.B) { benchPage(b, "/api/v1/graphs?per_page=100&template=disk") }

package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// benchPage serves one page with 10,000 graphs defined (500 devices of
// 20 graphs), authenticated by an API token as every request is.
func benchPage(b *testing.B, path string) {
	m := newManyGraphs(b, 500, 20)
	benchPageOf(b, m, manyDevices{m}, path)
}

// benchSites is benchPage with the 500 devices spread over 50 sites of
// two levels (5 regions of 10 sites), every tenth device without one.
func benchSites(b *testing.B, path string) {
	m := newManyGraphs(b, 500, 20)
	var sites []string
	for i := range 50 {
		sites = append(sites, fmt.Sprintf("region-%d/site-%02d", i%5, i))
	}
	sites = append(sites[:45], "", "", "", "", "")
	benchPageOf(b, m, sitedDevices{manyDevices{m}, sites}, path)
}

func benchPageOf(b *testing.B, m *manyGraphs, devs Devices, path string) {
	env := newTestEnvWith(b, m, devs)
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

// The home page with the tree of sites.
func BenchmarkHomeSites10k(b *testing.B) { benchSites(b, "/") }

// The grid of one region (90 devices, 1,800 graphs) with its branch open.
func BenchmarkSiteFilter10k(b *testing.B) { benchSites(b, "/?site=region-3") }

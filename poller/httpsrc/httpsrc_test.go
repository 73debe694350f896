package httpsrc

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
)

var _ poller.Collector = (*Collector)(nil)

const exposition = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="get",device="frontend"} 3
# TYPE temperature_celsius gauge
temperature_celsius{sensor="cpu \"0\"\n"} -4.5
# an untyped value, and a comment
queue_length 12 1700000000000
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.05
rpc_seconds{quantile="0.99"} 0.3
rpc_seconds_sum 17.5
rpc_seconds_count 250
# TYPE req_size_bytes histogram
req_size_bytes_bucket{le="100"} 3
req_size_bytes_bucket{le="+Inf"} 5
req_size_bytes_sum 420
req_size_bytes_count 5
# TYPE weird gauge
weird +Inf
`

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, body)
	}
}

func mustNew(t *testing.T, cfg Config) *Collector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func find(s []metric.Sample, name string, kv ...string) []metric.Sample {
	var out []metric.Sample
	for _, x := range s {
		if x.Labels.Get(metric.NameLabel) != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			ok = ok && x.Labels.Get(kv[i]) == kv[i+1]
		}
		if ok {
			out = append(out, x)
		}
	}
	return out
}

func TestScrapeExposition(t *testing.T) {
	u := serve(t, text(exposition))
	c := mustNew(t, Config{Device: "web1", URL: u, Labels: metric.New("env", "prod", "device", "ignored")})
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		kv    []string
		value float64
		ds    metric.DSType
	}{
		{"http_requests_total", []string{"code", "200", "method", "get", "exported_device", ""}, 1027, metric.DDerive},
		// The exposition's own device label is kept as exported_device.
		{"http_requests_total", []string{"code", "500", "exported_device", "frontend"}, 3, metric.DDerive},
		{"temperature_celsius", []string{"sensor", "cpu \"0\"\n"}, -4.5, metric.Gauge},
		{"queue_length", nil, 12, metric.Gauge},
		{"rpc_seconds_sum", nil, 17.5, metric.DDerive},
		{"rpc_seconds_count", nil, 250, metric.DDerive},
		{"req_size_bytes_sum", nil, 420, metric.DDerive},
		{"req_size_bytes_count", nil, 5, metric.DDerive},
	} {
		got := find(s, tc.name, tc.kv...)
		if len(got) != 1 {
			t.Errorf("%s %v: %d samples", tc.name, tc.kv, len(got))
			continue
		}
		x := got[0]
		if x.Value != tc.value || x.DS.Type != tc.ds || x.Labels.Get("device") != "web1" || x.Labels.Get("env") != "prod" {
			t.Errorf("%s = %v %v labels %v, want %v %v with device=web1 env=prod", tc.name, x.Value, x.DS.Type, x.Labels, tc.value, tc.ds)
		}
		if tc.ds == metric.DDerive && x.DS.Min != 0 {
			t.Errorf("%s: counter DS Min %v, want 0 so that resets read as unknown", tc.name, x.DS.Min)
		}
	}
	if w := find(s, "weird"); len(w) != 1 || !math.IsNaN(w[0].Value) {
		t.Errorf("+Inf gauge = %v, want unknown", w)
	}
	if n := len(find(s, "req_size_bytes_bucket")) + len(find(s, "rpc_seconds")); n != 0 {
		t.Errorf("%d bucket/quantile samples kept without being included", n)
	}
	if len(s) != 9 {
		t.Errorf("%d samples, want 9", len(s))
	}
}

func TestIncludeSelectsAndAdmitsBuckets(t *testing.T) {
	u := serve(t, text(exposition))
	c := mustNew(t, Config{Device: "web1", URL: u, Include: []string{"req_size_bytes_.*", "rpc_seconds"}})
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b := find(s, "req_size_bytes_bucket", "le", "+Inf"); len(b) != 1 || b[0].Value != 5 {
		t.Errorf("+Inf bucket %v", b)
	}
	if q := find(s, "rpc_seconds", "quantile", "0.99"); len(q) != 1 || q[0].Value != 0.3 || q[0].DS.Type != metric.Gauge {
		t.Errorf("0.99 quantile %v", q)
	}
	if len(find(s, "http_requests_total")) != 0 || len(find(s, "rpc_seconds_sum")) != 0 {
		t.Error("samples outside Include kept")
	}
	if len(s) != 6 {
		t.Errorf("%d samples, want sum, count and 2 buckets of req_size_bytes and 2 quantiles: %v", len(s), s)
	}
}

func TestScrapeClientGolangRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cnt := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobs_done_total", Help: "Jobs."}, []string{"queue"})
	reg.MustRegister(cnt)
	cnt.WithLabelValues("mail").Add(41)
	cnt.WithLabelValues("mail").Inc()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	c := mustNew(t, Config{Device: "self", URL: srv.URL})
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if x := find(s, "jobs_done_total", "queue", "mail"); len(x) != 1 || x[0].Value != 42 {
		t.Fatalf("jobs_done_total = %v", x)
	}
}

func TestBadTargetsGiveClearErrors(t *testing.T) {
	big := strings.Repeat("filler_metric_with_a_long_name 1\n", (11<<20)/33)
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		maxBody int64
		want    error
		text    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom inside", 500) }, 0, ErrStatus, "500 Internal Server Error"},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 0, ErrStatus, "404"},
		{"10 MB+ body with Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			fmt.Fprint(w, big)
		}, 0, ErrTooLarge, "Content-Length"},
		{"10 MB+ body chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 11; i++ {
				fmt.Fprint(w, big[:1<<20])
				w.(http.Flusher).Flush()
			}
		}, 0, ErrTooLarge, "more than 10485760 bytes"},
		{"small limit", text(exposition), 100, ErrTooLarge, "exceeds 100 bytes"},
		{"garbage", text("this is { not prometheus\n\x00\x01"), 0, ErrFormat, "line 1"},
		{"duplicate type line", text("# TYPE a counter\n# TYPE a gauge\na 1\n"), 0, ErrFormat, ""},
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		}, 0, ErrFormat, "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, tc.h)
			c := mustNew(t, Config{Device: "bad1", URL: u, MaxBody: tc.maxBody})
			s, err := c.Poll(t.Context(), time.Now())
			if !errors.Is(err, tc.want) || len(s) != 0 {
				t.Fatalf("%d samples, error %v, want %v", len(s), err, tc.want)
			}
			if !strings.Contains(err.Error(), "bad1") || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q lacks the device or %q", err, tc.text)
			}
		})
	}
}

func TestTimeoutAndRefusedConnection(t *testing.T) {
	u := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := mustNew(t, Config{Device: "slow", URL: u, Timeout: 200 * time.Millisecond})
	start := time.Now()
	if _, err := c.Poll(t.Context(), start); err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("poll took %v with a 200ms timeout", d)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	gone := srv.URL
	srv.Close()
	c = mustNew(t, Config{Device: "gone", URL: gone})
	if _, err := c.Poll(t.Context(), start); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("refused connection: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{URL: "ftp://x", Timeout: -1, MaxBody: -1, Include: []string{"("}})
	for _, want := range []string{"device", "url", "timeout", "max_body", "include[0]"} {
		if err == nil || !strings.Contains(err.Error(), want+":") {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
	c, err := New(Config{Device: "d", URL: "http://127.0.0.1:1/metrics"})
	if err != nil || c.cfg.MaxBody != DefaultMaxBody || c.cfg.Timeout != DefaultTimeout {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}

type recSink struct {
	mu sync.Mutex
	s  []metric.Sample
}

func (r *recSink) Append(_ context.Context, b []metric.Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = append(r.s, b...)
	return nil
}

// Failing HTTP targets record failed health and leave a good one alone.
func TestFailingTargetsUnderScheduler(t *testing.T) {
	good := serve(t, text(exposition))
	bad := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) })
	huge := serve(t, text(strings.Repeat("x 1\n", 300)))
	mk := func(name, u string, maxBody int64) poller.Target {
		return poller.Target{Name: name, Device: name, Interval: 500 * time.Millisecond,
			Collector: mustNew(t, Config{Device: name, URL: u, MaxBody: maxBody})}
	}
	sink := &recSink{}
	s := poller.New(sink, nil, nil)
	s.Set([]poller.Target{mk("good", good, 0), mk("bad", bad, 0), mk("huge", huge, 1000)})
	ctx, cancel := context.WithTimeout(t.Context(), 1600*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	succ := map[string][]float64{}
	for _, x := range sink.s {
		if x.Labels.Get(metric.NameLabel) == poller.SuccessMetric {
			succ[x.Labels.Get(poller.TargetLabel)] = append(succ[x.Labels.Get(poller.TargetLabel)], x.Value)
		}
	}
	for name, want := range map[string]float64{"good": 1, "bad": 0, "huge": 0} {
		if len(succ[name]) < 2 {
			t.Errorf("%s polled %d times", name, len(succ[name]))
		}
		for _, v := range succ[name] {
			if v != want {
				t.Errorf("%s success %v, want %v", name, v, want)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(exposition)
	f.Add("a 1\n")
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 0.5\n")
	f.Add("x{a=\"\\\"\"} NaN\n")
	include := []*regexp.Regexp{regexp.MustCompile("^.*$")}
	f.Fuzz(func(t *testing.T, in string) {
		for _, inc := range [][]*regexp.Regexp{nil, include} {
			s, err := Parse(strings.NewReader(in), inc, metric.New("device", "d"))
			if err != nil {
				continue
			}
			for _, x := range s {
				if x.Labels.Get("device") != "d" || x.Labels.Get(metric.NameLabel) == "" {
					t.Fatalf("sample %v lost its device or name", x.Labels)
				}
				if math.IsInf(x.Value, 0) {
					t.Fatalf("infinite value kept: %v", x)
				}
			}
		}
	})
}

func TestTLSOptions(t *testing.T) {
	srv := httptest.NewTLSServer(text("up 1\n"))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"system roots reject a test certificate", Config{}, false},
		{"CA file", Config{CAFile: ca}, true},
		{"insecure", Config{InsecureSkipVerify: true}, true},
		{"CA file, wrong server name", Config{CAFile: ca, ServerName: "other.example"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Device, tc.cfg.URL = "tls1", srv.URL+"/metrics"
			c := mustNew(t, tc.cfg)
			s, err := c.Poll(t.Context(), time.Now())
			if (err == nil) != tc.ok || tc.ok && len(s) != 1 {
				t.Fatalf("%d samples, error %v, want ok=%v", len(s), err, tc.ok)
			}
		})
	}
	for _, cfg := range []Config{{CAFile: "/nonexistent/ca.pem"}, {CertFile: ca}, {CAFile: "/etc/hostname"}} {
		cfg.Device, cfg.URL = "tls1", srv.URL
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: error %v", cfg, err)
		}
	}
}

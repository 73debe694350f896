package latency

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
)

var _ poller.Collector = (*Collector)(nil)

func stats(t *testing.T, s []metric.Sample) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, x := range s {
		k := x.Labels.Get(metric.NameLabel)
		if st := x.Labels.Get("stat"); st != "" {
			k += ":" + st
		}
		if x.Labels.Get("device") != "dev" {
			t.Errorf("sample %v without device", x.Labels)
		}
		out[k] = x.Value
	}
	return out
}

func poll(t *testing.T, cfg Config) map[string]float64 {
	t.Helper()
	cfg.Device = "dev"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return stats(t, s)
}

func checkOrdered(t *testing.T, st map[string]float64, keys ...string) {
	t.Helper()
	for i := 1; i < len(keys); i++ {
		if !(st[keys[i-1]] <= st[keys[i]]) {
			t.Errorf("%s %v > %s %v", keys[i-1], st[keys[i-1]], keys[i], st[keys[i]])
		}
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	st := poll(t, Config{Kind: TCP, Target: l.Addr().String(), Count: 5, Spacing: 10 * time.Millisecond, Percentiles: []float64{0.9}})
	if st[LossMetric] != 0 || st[RTTMetric+":min"] <= 0 || st[RTTMetric+":max"] > 0.5 {
		t.Fatalf("stats %v", st)
	}
	checkOrdered(t, st, RTTMetric+":min", RTTMetric+":median", RTTMetric+":p90", RTTMetric+":max")
	addr := l.Addr().String()
	l.Close()
	st = poll(t, Config{Kind: TCP, Target: addr, Count: 3, Spacing: 10 * time.Millisecond})
	if st[LossMetric] != 1 || !math.IsNaN(st[RTTMetric+":median"]) {
		t.Fatalf("closed port: %v", st)
	}
}

func TestHTTPMeasuresTheServer(t *testing.T) {
	const delay = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", 500) // an answer all the same
			return
		}
		time.Sleep(delay)
	}))
	defer srv.Close()
	st := poll(t, Config{Kind: HTTP, Target: srv.URL + "/", Count: 4, Spacing: 5 * time.Millisecond})
	if st[LossMetric] != 0 || st[RTTMetric+":min"] < delay.Seconds() {
		t.Fatalf("stats %v, want every probe at least %v", st, delay)
	}
	st = poll(t, Config{Kind: HTTP, Target: srv.URL + "/fail", Count: 2, Spacing: 5 * time.Millisecond})
	if st[LossMetric] != 0 {
		t.Fatalf("a 500 is an answer: %v", st)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	st = poll(t, Config{Kind: HTTP, Target: slow.URL, Count: 2, Spacing: 5 * time.Millisecond, Timeout: 100 * time.Millisecond})
	if st[LossMetric] != 1 {
		t.Fatalf("timed-out probes: %v", st)
	}
}

func TestICMPLoopback(t *testing.T) {
	c, err := New(Config{Device: "dev", Kind: ICMP, Target: "127.0.0.1", Count: 3, Spacing: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil && strings.Contains(err.Error(), "no ICMP socket") {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	st := stats(t, s)
	if st[LossMetric] != 0 || st[RTTMetric+":max"] > 0.5 {
		t.Fatalf("ping 127.0.0.1: %v", st)
	}
}

func TestDeadlineStopsSending(t *testing.T) {
	c, err := New(Config{Device: "dev", Kind: TCP, Target: "127.0.0.1:1", Count: 50, Spacing: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Poll(ctx, start); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("poll ran %v past a 100ms deadline", d)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := c.Poll(ctx, start); !errors.Is(err, context.Canceled) {
		t.Fatalf("no probe sent: %v", err)
	}
}

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want float64
	}{
		{ms(10), 0.5, 0.010}, {ms(10, 20), 0.5, 0.015}, {ms(10, 20, 30), 0.5, 0.020},
		{ms(10, 20, 30, 40, 50), 0.9, 0.046}, {ms(10, 20, 30), 0, 0.010}, {ms(10, 20, 30), 1, 0.030},
	} {
		if got := quantile(tc.in, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Device: "d", Kind: "udp", Target: "x"}, "kind:"},
		{Config{Device: "d", Kind: TCP, Target: "nohostport"}, "target:"},
		{Config{Device: "d", Kind: HTTP, Target: "ftp://x"}, "target:"},
		{Config{Device: "d", Kind: ICMP, Target: "h", Count: 1000}, "count:"},
		{Config{Device: "d", Kind: ICMP, Target: "h", Percentiles: []float64{1.5}}, "percentiles[0]:"},
		{Config{Kind: ICMP, Target: "h", Timeout: -1}, "timeout:"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

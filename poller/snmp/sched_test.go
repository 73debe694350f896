package snmp

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/poller"
)

var (
	_ poller.Collector    = (*Collector)(nil)
	_ poller.ErrorCounter = (*PollError)(nil)
)

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

func (r *recSink) health(name, target string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []float64
	for _, x := range r.s {
		if x.Labels.Get(metric.NameLabel) == name && x.Labels.Get(poller.TargetLabel) == target {
			out = append(out, x.Value)
		}
	}
	return out
}

// A dead device (closed port) and a silent one (never answers) fail their
// polls without touching the live device's.
func TestDeadDevicesDoNotDelayLiveOnes(t *testing.T) {
	a := snmpdtest.Start(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	silent := startFake(t, &fakeAgent{reply: func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil }})

	const iv = time.Second
	mk := func(name, addr string) poller.Target {
		cfg := defaultTemplate(name, addr)
		cfg.Timeout, cfg.Retries = 300*time.Millisecond, 0
		return poller.Target{Name: name + "/snmp", Device: name, Interval: iv, Timeout: 800 * time.Millisecond, Collector: mustNew(t, cfg)}
	}
	sink := &recSink{}
	s := poller.New(sink, nil, nil)
	s.Set([]poller.Target{mk("live", a.Addr), mk("dead", closed), mk("silent", silent.addr)})
	ctx, cancel := context.WithTimeout(t.Context(), 3500*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	live := sink.health(poller.SuccessMetric, "live/snmp")
	if len(live) < 3 {
		t.Fatalf("live device polled %d times in 3.5 s at 1 s", len(live))
	}
	for i, v := range live {
		if v != 1 {
			t.Errorf("live poll %d success = %v", i, v)
		}
	}
	for _, d := range sink.health(poller.DurationMetric, "live/snmp") {
		if d > 0.5 {
			t.Errorf("live poll took %v s", d)
		}
	}
	for _, dev := range []string{"dead/snmp", "silent/snmp"} {
		v := sink.health(poller.SuccessMetric, dev)
		if len(v) < 2 {
			t.Errorf("%s polled %d times", dev, len(v))
		}
		for _, x := range v {
			if x != 0 {
				t.Errorf("%s success = %v, want 0", dev, x)
			}
		}
	}
	for _, h := range s.Health() {
		if h.Skipped != 0 {
			t.Errorf("%s skipped %d ticks", h.Name, h.Skipped)
		}
		if (h.Name == "live/snmp") != (h.LastError == "") {
			t.Errorf("%s last error %q", h.Name, h.LastError)
		}
	}
}

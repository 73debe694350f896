package snmp

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAgent is SAGUARO_BENCH_AGENT (host:port of a running agent with
// community public, as bench/poller.sh passes) or a fresh snmpd.
func benchAgent(b *testing.B) string {
	if a := os.Getenv("SAGUARO_BENCH_AGENT"); a != "" {
		return a
	}
	return snmpdtest.Start(b).Addr
}

// BenchmarkPollDefaultTemplate polls the default device template (11
// scalars, 4 table columns) from one client, back to back.
func BenchmarkPollDefaultTemplate(b *testing.B) {
	c, err := New(defaultTemplate("bench", benchAgent(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	varbinds := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		s, err := c.Poll(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		varbinds += len(s)
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
	b.ReportMetric(float64(varbinds)/float64(b.N), "samples/poll")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/poll")
}

// BenchmarkPollParallel polls with one collector per goroutine, as the
// scheduler does for many devices (all against the one agent here).
func BenchmarkPollParallel(b *testing.B) {
	addr := benchAgent(b)
	var polls atomic.Int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		c, err := New(defaultTemplate("bench", addr))
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			if _, err := c.Poll(context.Background(), time.Now()); err != nil {
				b.Error(err)
				return
			}
			polls.Add(1)
		}
	})
	b.ReportMetric(float64(polls.Load())/b.Elapsed().Seconds(), "polls/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(polls.Load()), "cpu-us/poll")
}

// BenchmarkWalk walks one subtree (SAGUARO_BENCH_ROOT, default mib-2) with
// GETBULK at SAGUARO_BENCH_REPS repetitions (default 25): the figure to
// set beside net-snmp's snmpbulkwalk of the same subtree.
func BenchmarkWalk(b *testing.B) {
	root := os.Getenv("SAGUARO_BENCH_ROOT")
	if root == "" {
		root = ".1.3.6.1.2.1"
	}
	reps := 25
	if r, err := strconv.Atoi(os.Getenv("SAGUARO_BENCH_REPS")); err == nil && r > 0 {
		reps = r
	}
	cfg := defaultTemplate("bench", benchAgent(b))
	cfg.MaxRepetitions = reps
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	g := cfg.client(c.host, c.port)
	if err := g.Connect(); err != nil {
		b.Fatal(err)
	}
	defer g.Conn.Close()
	c.g = g
	var varbinds int
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		p := &poll{c: c, ctx: context.Background()}
		g.Context = p.ctx
		if errs := p.walkColumns([]string{root}, 0, func(int, string, gosnmp.SnmpPDU) { varbinds++ }); errs[0] != nil {
			b.Fatal(errs[0])
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(varbinds)/float64(b.N), "varbinds/walk")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(varbinds), "cpu-ns/varbind")
	b.ReportMetric(float64(varbinds)/b.Elapsed().Seconds(), "varbinds/s")
}

func BenchmarkConvert(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = convert(gosnmp.Counter64, uint64(123456789))
		_, _ = convert(gosnmp.OctetString, []byte("0.15"))
	}
}

// BenchmarkPollPastTheBound polls devices past the open-socket bound: each
// poll takes an idle client and gives it back, as most polls do when
// thousands of devices are configured.
func BenchmarkPollPastTheBound(b *testing.B) {
	addr := benchAgent(b)
	prev := SetMaxOpenSockets(0)
	defer SetMaxOpenSockets(prev)
	cs := make([]*Collector, 8)
	for i := range cs {
		c, err := New(defaultTemplate("bench"+strconv.Itoa(i), addr))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		if _, err := cs[i%len(cs)].Poll(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/poll")
}

package snmp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// The scale benchmark: many simulated devices polled by the scheduler as
// the service does, with a sink that counts and discards. The simulator
// runs in a child process (this test binary again, TestScaleSimulator), so
// that the CPU and memory figures are the poller's alone.
//
//	SCALE_DEVICES=20000 SCALE_INTERVAL=30s go test ./poller/snmp -run '^$' -bench Scale -benchtime 1x
//
// Environment (defaults keep `make bench` short): SCALE_DEVICES (500),
// SCALE_INTERVAL (10s), SCALE_CYCLES (2), SCALE_PER_PORT (100),
// SCALE_DEAD (0.1), SCALE_TIMEOUT (the poll timeout, 10s or 90 % of the
// interval, as the service's default), SCALE_TEMPLATE (net-snmp-host).

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDur(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v >= 0 {
		return v
	}
	return def
}

// TestScaleSimulator is the simulator process of BenchmarkScale. It does
// nothing unless SAGUARO_SCALE_SIM is set: then it serves the devices,
// prints one line per device ("name addr community ok|dead") and a line
// "ready", and serves until its standard input closes.
func TestScaleSimulator(t *testing.T) {
	if os.Getenv("SAGUARO_SCALE_SIM") == "" {
		t.Skip("the simulator process of BenchmarkScale")
	}
	w, err := snmpsim.LoadWalk("testdata/walks/net-snmp-host.walk")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := snmpsim.New(snmpsim.Options{
		Devices: envInt("SCALE_DEVICES", 500), Walks: []*snmpsim.Walk{w},
		PerPort: envInt("SCALE_PER_PORT", 100), Dead: envFloat("SCALE_DEAD", 0.1), Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	out := bufio.NewWriter(os.Stdout)
	for _, d := range sim.Devices() {
		state := "ok"
		if d.Dead {
			state = "dead"
		}
		fmt.Fprintf(out, "%s %s %s %s\n", d.Name, d.Addr, d.Community, state)
	}
	fmt.Fprintln(out, "ready")
	_ = out.Flush()
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes the pipe
	cancel()
	<-done
	st := sim.Stats()
	fmt.Fprintf(os.Stderr, "simulator: %d requests, %d varbinds served, %d dropped\n", st.Requests, st.Varbinds, st.Dropped)
}

type simDevice struct {
	name, addr, community string
	dead                  bool
}

// startSimProcess runs TestScaleSimulator in a child process and returns
// its devices and pid; the child ends with the benchmark.
func startSimProcess(b *testing.B, devices int) ([]simDevice, int) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestScaleSimulator$", "-test.v=false")
	cmd.Env = append(os.Environ(), "SAGUARO_SCALE_SIM=1", "SCALE_DEVICES="+strconv.Itoa(devices), "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
	})
	var devs []simDevice
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "ready" {
			ready = true
			break
		}
		if len(f) == 4 && strings.HasPrefix(f[0], "sim-") {
			devs = append(devs, simDevice{f[0], f[1], f[2], f[3] == "dead"})
		}
	}
	if !ready || len(devs) != devices {
		b.Fatalf("simulator process gave %d of %d devices (ready %v, %v)", len(devs), devices, ready, sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return devs, cmd.Process.Pid
}

// templateConfig builds a device's SNMP configuration from a built-in
// device template, as cmd/saguaro does for the service.
func templateConfig(tb testing.TB, tpl *templates.Device, name, addr, community string, interval, pollTimeout time.Duration) Config {
	tb.Helper()
	labels := metric.New(metric.DeviceLabel, name)
	hb := 2 * interval
	c := Config{
		Device: name, Address: addr, Version: "2c", Community: community,
		Timeout: min(2*time.Second, pollTimeout/2), Retries: 1, Labels: labels, UptimeCheck: true,
	}
	obj := func(o templates.Object) Object {
		return Object{OID: o.OID, Metric: o.Metric, DS: o.DS(hb), Labels: metric.FromMap(o.Labels)}
	}
	for _, o := range tpl.SNMP.Scalars {
		c.Scalars = append(c.Scalars, obj(o))
	}
	for _, t := range tpl.SNMP.Tables {
		st := Table{Name: t.Name, IndexLabel: t.IndexLabel, LabelColumns: map[string]string{},
			Identity: t.Identity, ReindexEvery: time.Duration(t.ReindexEvery)}
		for _, l := range t.Labels {
			st.LabelColumns[l.Name] = l.OID
		}
		for _, o := range t.Columns {
			st.Columns = append(st.Columns, obj(o))
		}
		c.Tables = append(c.Tables, st)
	}
	return c
}

// scaleSink counts each target's polls per cycle from the health samples
// of every batch, and the value samples, and drops everything.
type scaleSink struct {
	start    time.Time
	interval time.Duration
	idx      map[string]int // target name -> device index
	ok, fail [][]atomic.Int32
	values   []atomic.Int64 // value samples per cycle
}

func (s *scaleSink) Append(_ context.Context, batch []metric.Sample) error {
	for i := range batch {
		x := &batch[i]
		if x.Labels.Get(metric.NameLabel) != poller.SuccessMetric {
			continue
		}
		c := int(x.Time.Sub(s.start) / s.interval)
		d, ok := s.idx[x.Labels.Get(poller.TargetLabel)]
		if !ok || c < 0 || c >= len(s.values) {
			return nil
		}
		if x.Value == 1 {
			s.ok[c][d].Add(1)
		} else {
			s.fail[c][d].Add(1)
		}
		s.values[c].Add(int64(len(batch) - 5)) // less the health samples
	}
	return nil
}

// procStatus reads a field of /proc/self/status in kB.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func BenchmarkScale(b *testing.B) {
	n := envInt("SCALE_DEVICES", 500)
	iv := envDur("SCALE_INTERVAL", 10*time.Second)
	cycles := envInt("SCALE_CYCLES", 2)
	pollTimeout := envDur("SCALE_TIMEOUT", poller.EffectiveTimeout(iv, 10*time.Second))
	set, err := templates.Load()
	if err != nil {
		b.Fatal(err)
	}
	tname := os.Getenv("SCALE_TEMPLATE")
	if tname == "" {
		tname = "net-snmp-host"
	}
	tpl := set.Devices[tname]
	if tpl == nil || tpl.SNMP == nil {
		b.Fatalf("no SNMP device template %q", tname)
	}
	devs, simPid := startSimProcess(b, n)

	for b.Loop() {
		runtime.GC()
		heap0 := heapInuse()
		t0, cpu0 := time.Now(), cpuTime()
		sink := &scaleSink{interval: iv, idx: make(map[string]int, n), values: make([]atomic.Int64, cycles)}
		for range cycles {
			sink.ok = append(sink.ok, make([]atomic.Int32, n))
			sink.fail = append(sink.fail, make([]atomic.Int32, n))
		}
		targets := make([]poller.Target, 0, n)
		for i, d := range devs {
			c, err := New(templateConfig(b, tpl, d.name, d.addr, d.community, iv, pollTimeout))
			if err != nil {
				b.Fatal(err)
			}
			name := d.name + "/snmp"
			sink.idx[name] = i
			targets = append(targets, poller.Target{Name: name, Device: d.name, Labels: metric.New(metric.DeviceLabel, d.name),
				Interval: iv, Timeout: pollTimeout, Collector: c})
		}
		reg := prometheus.NewRegistry()
		s := poller.New(sink, reg, slog.New(slog.DiscardHandler))
		s.Set(targets)
		targets = nil
		build, buildCPU := time.Since(t0), cpuTime()-cpu0
		runtime.GC()
		heapBuilt := heapInuse() - heap0

		// Every target ticks once per interval: cycle k is the k-th
		// interval from the start. Polls of the last cycle may end up to
		// the poll timeout after it.
		// Cycles are counted from a moment after the start, so that every
		// loop has its first tick ahead of it.
		ctx, cancel := context.WithCancel(context.Background())
		sink.start = time.Now().Add(scaleWarmup)
		cpu1 := cpuTime()
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		peakHeap := uint64(0)
		maxGoroutines := 0
		end := sink.start.Add(time.Duration(cycles)*iv + pollTimeout + 500*time.Millisecond)
		var cycleCPU []time.Duration
		time.Sleep(scaleWarmup)
		lastCPU, next := cpuTime(), sink.start.Add(iv)
		for now := time.Now(); now.Before(end); now = time.Now() {
			time.Sleep(min(time.Second, end.Sub(now)))
			peakHeap = max(peakHeap, heapInuse())
			maxGoroutines = max(maxGoroutines, runtime.NumGoroutine())
			if !time.Now().Before(next) && len(cycleCPU) < cycles {
				c := cpuTime()
				cycleCPU = append(cycleCPU, c-lastCPU)
				lastCPU, next = c, next.Add(iv)
			}
		}
		// Scrape /metrics once, as Prometheus or the web UI would; its
		// own peak is reported apart.
		hwmPoll := procStatus("VmHWM")
		if f := os.Getenv("SCALE_HEAPPROFILE"); f != "" {
			writeHeapProfile(b, f) // what the polling holds, before the scrape
		}
		scrape0 := time.Now()
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		scrape := time.Since(scrape0)
		cancel()
		<-done
		runCPU := cpuTime() - cpu1 // includes the warm-up and the tail
		skipped := uint64(0)
		for _, h := range s.Health() {
			skipped += h.Skipped
		}
		runtime.GC()
		heapEnd := heapInuse()

		live := 0
		for _, d := range devs {
			if !d.dead {
				live++
			}
		}
		var worstPolled, liveFails, varbinds int64 = int64(live), 0, 0
		for c := range cycles {
			polled := int64(0)
			for i, d := range devs {
				if d.dead {
					continue
				}
				if sink.ok[c][i].Load()+sink.fail[c][i].Load() > 0 {
					polled++
				}
				liveFails += int64(sink.fail[c][i].Load())
			}
			worstPolled = min(worstPolled, polled)
			varbinds += sink.values[c].Load()
			b.Logf("cycle %d: %d of %d live devices polled, %d value samples, CPU %v", c+1, polled, live, sink.values[c].Load(), cycleCPU[min(c, len(cycleCPU)-1)])
		}
		series := 0
		for _, mf := range mfs {
			series += len(mf.GetMetric())
		}
		hwm := procStatus("VmHWM")
		b.Logf("%d devices (%d live), interval %v, poll timeout %v, %d cycles; built in %v (CPU %v, heap +%d MB); /metrics: %d series gathered in %v",
			n, live, iv, pollTimeout, cycles, build.Round(time.Millisecond), buildCPU.Round(time.Millisecond), heapBuilt>>20, series, scrape.Round(time.Millisecond))
		b.Logf("peak RSS %d MB while polling, %d MB after the /metrics scrape; RSS now %d MB, peak heap in use %d MB, heap in use after the run %d MB, max goroutines %d, simulator pid %d",
			hwmPoll>>10, hwm>>10, procStatus("VmRSS")>>10, peakHeap>>20, heapEnd>>20, maxGoroutines, simPid)
		b.ReportMetric(float64(n), "devices")
		b.ReportMetric(float64(worstPolled)/float64(live), "live-polled-share")
		b.ReportMetric(float64(live-int(worstPolled)), "live-missed")
		b.ReportMetric(float64(liveFails), "live-failures")
		b.ReportMetric(float64(skipped), "skipped")
		b.ReportMetric(runCPU.Seconds()/float64(cycles), "cpu-s/cycle")
		if varbinds > 0 {
			b.ReportMetric(float64(runCPU.Nanoseconds())/float64(varbinds), "cpu-ns/varbind")
		}
		// The last cycle alone: connections made, sizes of tables known.
		if last := sink.values[cycles-1].Load(); last > 0 && len(cycleCPU) == cycles {
			b.ReportMetric(float64(cycleCPU[cycles-1].Nanoseconds())/float64(last), "last-cpu-ns/varbind")
		}
		b.ReportMetric(float64(varbinds)/float64(cycles), "varbinds/cycle")
		b.ReportMetric(float64(hwmPoll)/1024, "peak-rss-MB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-scrape-MB")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(heapEnd)/(1<<20), "heap-end-MB")
		b.ReportMetric(float64(maxGoroutines), "goroutines")
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// scaleWarmup is the time the loops get to start before cycle 1.
const scaleWarmup = 2 * time.Second

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

package snmp

import (
	"bufio"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
)

// The OIDs of the default device template (net-snmp agent).
const (
	ifName        = ".1.3.6.1.2.1.31.1.1.1.1"
	ifHCInOctets  = ".1.3.6.1.2.1.31.1.1.1.6"
	ifHCOutOctets = ".1.3.6.1.2.1.31.1.1.1.10"
	ifDescr       = ".1.3.6.1.2.1.2.2.1.2"
	ifInOctets    = ".1.3.6.1.2.1.2.2.1.10"
	laLoad        = ".1.3.6.1.4.1.2021.10.1.3."
	ssCpuRawUser  = ".1.3.6.1.4.1.2021.11.50.0"
	ssCpuRawSys   = ".1.3.6.1.4.1.2021.11.52.0"
	ssCpuRawIdle  = ".1.3.6.1.4.1.2021.11.53.0"
	memTotalReal  = ".1.3.6.1.4.1.2021.4.5.0"
	memAvailReal  = ".1.3.6.1.4.1.2021.4.6.0"
	memBuffer     = ".1.3.6.1.4.1.2021.4.14.0"
	memCached     = ".1.3.6.1.4.1.2021.4.15.0"
)

var (
	gauge   = metric.Gauges(0)
	counter = metric.DS{Type: metric.Counter, Min: math.NaN(), Max: math.NaN()}
)

// defaultTemplate is what the service's default device template polls.
func defaultTemplate(dev, addr string) Config {
	return Config{
		Device: dev, Address: addr, Version: "2c", Community: snmpdtest.Community,
		Timeout: 2 * time.Second, Retries: 1,
		Scalars: []Object{
			{OID: SysUpTimeOID, Metric: "sys_uptime_ticks", DS: gauge},
			{OID: laLoad + "1", Metric: "load", DS: gauge, Labels: metric.New("period", "1m")},
			{OID: laLoad + "2", Metric: "load", DS: gauge, Labels: metric.New("period", "5m")},
			{OID: laLoad + "3", Metric: "load", DS: gauge, Labels: metric.New("period", "15m")},
			{OID: ssCpuRawUser, Metric: "cpu_ticks", DS: counter, Labels: metric.New("mode", "user")},
			{OID: ssCpuRawSys, Metric: "cpu_ticks", DS: counter, Labels: metric.New("mode", "system")},
			{OID: ssCpuRawIdle, Metric: "cpu_ticks", DS: counter, Labels: metric.New("mode", "idle")},
			{OID: memTotalReal, Metric: "mem_total_kb", DS: gauge},
			{OID: memAvailReal, Metric: "mem_avail_kb", DS: gauge},
			{OID: memBuffer, Metric: "mem_buffer_kb", DS: gauge},
			{OID: memCached, Metric: "mem_cached_kb", DS: gauge},
		},
		Tables: []Table{{
			Name: "interfaces", IndexLabel: "ifIndex",
			LabelColumns: map[string]string{"ifName": ifName, "ifDescr": ifDescr},
			Columns: []Object{
				{OID: ifHCInOctets, Metric: "if_in_octets", DS: counter},
				{OID: ifHCOutOctets, Metric: "if_out_octets", DS: counter},
			},
		}},
	}
}

// requireTool fails in CI and skips elsewhere when a net-snmp client is missing.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; install it with: apt-get install -y snmp", name)
	}
	t.Skipf("%s not found (apt-get install -y snmp); skipping outside CI", name)
	return ""
}

// netsnmpWalk walks root with net-snmp's own snmpbulkwalk: the oracle.
func netsnmpWalk(t *testing.T, addr, root string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, requireTool(t, "snmpbulkwalk"), "-v2c", "-c", snmpdtest.Community,
		"-On", "-Oq", "-OU", "-Oe", "-Ot", "-Cr50", "-t", "2", "-r", "1", addr, root).Output()
	if err != nil {
		t.Fatalf("snmpbulkwalk %s: %v", root, err)
	}
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		oid, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		res[strings.TrimPrefix(oid, root+".")] = strings.Trim(val, `"`)
	}
	return res
}

func byName(s []metric.Sample, name string) []metric.Sample {
	var out []metric.Sample
	for _, x := range s {
		if x.Labels.Get(metric.NameLabel) == name {
			out = append(out, x)
		}
	}
	return out
}

func one(t *testing.T, s []metric.Sample, name string, labels ...string) metric.Sample {
	t.Helper()
	var out []metric.Sample
	for _, x := range byName(s, name) {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && x.Labels.Get(labels[i]) == labels[i+1]
		}
		if ok {
			out = append(out, x)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d samples %s %v, want 1 (have %d samples)", len(out), name, labels, len(s))
	}
	return out[0]
}

func TestPollRealAgentDefaultTemplate(t *testing.T) {
	a := snmpdtest.Start(t)
	c, err := New(defaultTemplate("agent1", a.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	before := netsnmpWalk(t, a.Addr, ifHCInOctets)
	s1, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	after := netsnmpWalk(t, a.Addr, ifHCInOctets)
	names := netsnmpWalk(t, a.Addr, ifName)
	descrs := netsnmpWalk(t, a.Addr, ifDescr)
	if len(names) == 0 {
		t.Fatal("agent has no interfaces")
	}

	// Every interface the agent lists, with its name and description as labels.
	in := byName(s1, "if_in_octets")
	if len(in) != len(names) || len(byName(s1, "if_out_octets")) != len(names) {
		t.Fatalf("%d in / %d out samples for %d interfaces", len(in), len(byName(s1, "if_out_octets")), len(names))
	}
	for _, x := range in {
		idx := x.Labels.Get("ifIndex")
		if x.Labels.Get("ifName") != names[idx] || x.Labels.Get("ifDescr") != descrs[idx] || x.Labels.Get("device") != "agent1" {
			t.Errorf("labels %v, want ifName=%q ifDescr=%q device=agent1", x.Labels, names[idx], descrs[idx])
		}
		// Counter64 carried exactly, between net-snmp's own reads before and after.
		lo, _ := strconv.ParseUint(before[idx], 10, 64)
		hi, _ := strconv.ParseUint(after[idx], 10, 64)
		if !x.Exact || x.Count < lo || x.Count > hi || x.Value != float64(x.Count) {
			t.Errorf("ifIndex %s: count %d exact=%v value %v, want exact within [%d, %d]", idx, x.Count, x.Exact, x.Value, lo, hi)
		}
		if x.DS.Type != metric.Counter {
			t.Errorf("DS %v, want the template's COUNTER", x.DS.Type)
		}
	}

	// UCD load: a string on the wire, a number here, as net-snmp reads it.
	for i, period := range []string{"1m", "5m", "15m"} {
		x := one(t, s1, "load", "period", period)
		want := netsnmpWalk(t, a.Addr, laLoad+strconv.Itoa(i+1))
		var wv float64
		for _, v := range want {
			wv, _ = strconv.ParseFloat(v, 64)
		}
		if x.Value < 0 || math.Abs(x.Value-wv) > 0.5 {
			t.Errorf("load %s = %v, net-snmp reads %v", period, x.Value, wv)
		}
	}

	// Memory: memTotalReal is /proc/meminfo's MemTotal in kB.
	if mt := memTotalKB(t); one(t, s1, "mem_total_kb").Value != mt {
		t.Errorf("mem_total_kb %v, /proc/meminfo says %v", one(t, s1, "mem_total_kb").Value, mt)
	}
	for _, n := range []string{"mem_avail_kb", "mem_buffer_kb", "mem_cached_kb"} {
		if v := one(t, s1, n).Value; v < 0 || v > one(t, s1, "mem_total_kb").Value {
			t.Errorf("%s = %v outside [0, total]", n, v)
		}
	}
	for _, mode := range []string{"user", "system", "idle"} {
		if x := one(t, s1, "cpu_ticks", "mode", mode); !x.Exact {
			t.Errorf("cpu_ticks %s not exact: %+v", mode, x)
		}
	}

	// A second poll: counters never go down (net-snmp caches interface
	// counters for a few seconds, so they may also stay put).
	s2, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("second poll: %v", err)
	}
	prev := map[string]uint64{}
	for _, x := range append(byName(s1, "if_in_octets"), byName(s1, "cpu_ticks")...) {
		prev[x.Labels.String()] = x.Count
	}
	for _, x := range append(byName(s2, "if_in_octets"), byName(s2, "cpu_ticks")...) {
		p, ok := prev[x.Labels.String()]
		if !ok {
			t.Errorf("series %v only in the second poll", x.Labels)
		}
		if x.Count < p {
			t.Errorf("%v went down: %d -> %d", x.Labels, p, x.Count)
		}
	}
	if u1, u2 := one(t, s1, "sys_uptime_ticks").Value, one(t, s2, "sys_uptime_ticks").Value; u2 < u1 {
		t.Errorf("uptime went back: %v -> %v", u1, u2)
	}
}

func memTotalKB(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip("no /proc/meminfo")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

func TestSmallRequestsAndV1(t *testing.T) {
	a := snmpdtest.Start(t)
	for _, tc := range []struct {
		name    string
		version string
		maxOIDs int
		reps    int
	}{
		{"v2c one OID per GET, one repetition per GETBULK", "2c", 1, 1},
		{"v2c 3 OIDs per GET", "2c", 3, 2},
		{"v1 GET and GETNEXT", "1", 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultTemplate("agent1", a.Addr)
			cfg.Version, cfg.MaxOIDs, cfg.MaxRepetitions = tc.version, tc.maxOIDs, tc.reps
			if tc.version == "1" {
				// v1 has no Counter64: walk ifInOctets of ifTable instead.
				cfg.Tables[0].Columns = []Object{{OID: ifInOctets, Metric: "if_in_octets", DS: counter}}
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Poll(t.Context(), time.Now())
			if err != nil {
				t.Fatalf("poll: %v", err)
			}
			if n, want := len(byName(s, "if_in_octets")), len(netsnmpWalk(t, a.Addr, ifName)); n != want {
				t.Errorf("%d interface samples, want %d", n, want)
			}
			if n := len(s); n < len(cfg.Scalars) {
				t.Errorf("%d samples for %d scalars", n, len(cfg.Scalars))
			}
		})
	}
}

func TestMissingObjectsCostOnlyThemselves(t *testing.T) {
	a := snmpdtest.Start(t)
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			cfg := Config{Device: "agent1", Address: a.Addr, Version: version, Community: "public", MaxOIDs: 4,
				Scalars: []Object{
					{OID: SysUpTimeOID, Metric: "uptime", DS: gauge},
					{OID: ".1.3.6.1.4.1.99999.1.0", Metric: "nothing", DS: gauge}, // no such object
					{OID: memTotalReal, Metric: "mem_total_kb", DS: gauge},
					{OID: ".1.3.6.1.2.1.1.3.7", Metric: "nothing2", DS: gauge}, // no such instance
					{OID: memAvailReal, Metric: "mem_avail_kb", DS: gauge},
				}}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Poll(t.Context(), time.Now())
			if !errors.Is(err, ErrNoSuchObject) {
				t.Fatalf("error %v, want ErrNoSuchObject", err)
			}
			for _, want := range []string{"agent1", ".1.3.6.1.4.1.99999.1.0", ".1.3.6.1.2.1.1.3.7", "2 problem"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if len(s) != 3 {
				t.Fatalf("%d samples, want the 3 that exist: %v", len(s), s)
			}
			one(t, s, "mem_avail_kb")
		})
	}
}

func TestRebootMakesCountersUnknown(t *testing.T) {
	a := snmpdtest.Start(t)
	cfg := defaultTemplate("agent1", a.Addr)
	cfg.UptimeCheck = true
	cfg.Scalars = cfg.Scalars[1:] // the check itself reads sysUpTime.0
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	time.Sleep(1500 * time.Millisecond) // let the uptime grow so that a restart lowers it
	if _, err := c.Poll(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	a.Restart(t)
	s, err := c.Poll(t.Context(), t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.Reboots() != 1 {
		t.Fatalf("reboots = %d, want 1", c.Reboots())
	}
	for _, x := range append(byName(s, "if_in_octets"), byName(s, "cpu_ticks")...) {
		if !math.IsNaN(x.Value) || x.Exact {
			t.Errorf("counter %v across the reboot = %v (exact %v), want unknown", x.Labels, x.Value, x.Exact)
		}
	}
	if v := one(t, s, "mem_total_kb").Value; math.IsNaN(v) {
		t.Error("gauge blanked by the reboot")
	}
	s, err = c.Poll(t.Context(), t0.Add(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.Reboots() != 1 || math.IsNaN(byName(s, "if_in_octets")[0].Value) {
		t.Fatal("counters stayed unknown after the reboot poll")
	}
}

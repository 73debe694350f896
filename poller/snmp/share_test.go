package snmp

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
	"github.com/saguaro-monitoring/saguaro/templates"
)

func simWalk(t testing.TB) *snmpsim.Walk {
	t.Helper()
	w, err := snmpsim.LoadWalk("testdata/walks/net-snmp-host.walk")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func builtinTemplate(t testing.TB, name string) *templates.Device {
	t.Helper()
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := set.Devices[name]
	if d == nil || d.SNMP == nil {
		t.Fatalf("no built-in SNMP template %q", name)
	}
	return d
}

// Past the open-socket bound, clients go from one device's poll to the
// next device's: each poll must still go out with its own device's
// community (the simulator drops any other), and return its own device's
// samples, also after a poll of a dead device.
func TestIdleClientsServeOtherDevices(t *testing.T) {
	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 4, PerPort: 4, Walks: []*snmpsim.Walk{simWalk(t)}, Seed: 3})
	sim.SetDead(2, true)
	tpl := builtinTemplate(t, "net-snmp-host")
	prev := SetMaxOpenSockets(0)
	defer SetMaxOpenSockets(prev)
	var cs []*Collector
	for i := range 4 {
		d := sim.Device(i)
		cfg := templateConfig(t, tpl, d.Name, d.Addr, d.Community, 10*time.Second, 2*time.Second)
		cfg.Timeout, cfg.Retries = 300*time.Millisecond, 0
		cs = append(cs, mustNew(t, cfg))
	}
	want := 0
	for round := range 3 {
		for i, c := range cs {
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			s, err := c.Poll(ctx, time.Now())
			cancel()
			if i == 2 {
				if err == nil || len(s) != 0 {
					t.Fatalf("round %d: dead device gave %d samples, err %v", round, len(s), err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("round %d, device %d: %v", round, i, err)
			}
			if want == 0 {
				want = len(s)
			}
			if len(s) != want || want < 20 {
				t.Fatalf("round %d, device %d: %d samples, want %d (20 or more)", round, i, len(s), want)
			}
			for _, x := range s {
				if got := x.Labels.Get(metric.DeviceLabel); got != sim.Device(i).Name {
					t.Fatalf("round %d: sample %v of device %d has device %q", round, x.Labels, i, got)
				}
			}
			if c.g != nil {
				t.Fatalf("round %d: device %d kept its client past the bound", round, i)
			}
		}
	}
	if len(idleClients) == 0 {
		t.Fatal("no idle client left for the next poll")
	}
	if n := OpenSockets(); n != 0 {
		t.Fatalf("%d sockets open after the polls, want 0", n)
	}
}

// Devices with the same objects share one plan; each device's samples
// still carry its own labels. Other objects make another plan, and a plan
// no device uses any more is dropped.
func TestDevicesShareTheirPlan(t *testing.T) {
	tpl := builtinTemplate(t, "net-snmp-host")
	a := mustNew(t, templateConfig(t, tpl, "a", "127.0.0.1:1161", "x", time.Minute, 10*time.Second))
	b := mustNew(t, templateConfig(t, tpl, "b", "127.0.0.1:1162", "y", time.Minute, 10*time.Second))
	if a.plan != b.plan {
		t.Fatal("two devices of one template compiled two plans")
	}
	// Another heartbeat (from another interval) is another DS: another plan.
	c, err := New(templateConfig(t, tpl, "c", "127.0.0.1:1163", "z", 5*time.Minute, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.plan == a.plan {
		t.Fatal("different objects share a plan")
	}
	if a.cfg.Scalars != nil || a.cfg.Tables != nil {
		t.Fatal("the collector keeps its own copy of the objects")
	}
	// A bad object list is still rejected on a device of its own.
	bad := templateConfig(t, tpl, "d", "127.0.0.1:1164", "w", time.Minute, 10*time.Second)
	bad.Scalars[0].OID = "1.3.x"
	if _, err := New(bad); err == nil {
		t.Fatal("bad OID accepted")
	}
	key := planKey(func() *Config {
		cfg := templateConfig(t, tpl, "c", "127.0.0.1:1163", "z", 5*time.Minute, 10*time.Second)
		return &cfg
	}())
	if cachedPlan(key) != c.plan {
		t.Fatal("plan not cached under its key")
	}
	c = nil
	for i := 0; i < 20 && cachedPlan(key) != nil; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if cachedPlan(key) != nil {
		t.Fatal("a plan no collector uses is still cached")
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
}

func TestSampleLabelsPrecedence(t *testing.T) {
	row := metric.New("ifName", "eth0", "ifIndex", "2", "device", "row")
	obj := metric.New("mode", "user", "ifName", "obj")
	common := metric.New("device", "r1", "site", "x")
	got := sampleLabels(row, obj, common, "m")
	want := metric.New(metric.NameLabel, "m", "device", "r1", "ifIndex", "2", "ifName", "obj", "mode", "user", "site", "x")
	if !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// An empty value removes the label.
	got = sampleLabels(row, metric.Labels{{Name: "ifIndex", Value: ""}}, nil, "m")
	if got.Get("ifIndex") != "" || got.Get("ifName") != "eth0" || len(got) != 3 {
		t.Fatalf("got %v", got)
	}
}

// Once a poll has seen the size of every table, small tables are walked
// together: fewer requests, the same samples.
func TestSmallTablesWalkedTogether(t *testing.T) {
	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 1, Walks: []*snmpsim.Walk{simWalk(t)}, Seed: 5})
	d := sim.Device(0)
	tpl := builtinTemplate(t, "net-snmp-host")
	if len(tpl.SNMP.Tables) < 2 {
		t.Fatalf("template has %d tables, the test needs 2 or more", len(tpl.SNMP.Tables))
	}
	c := mustNew(t, templateConfig(t, tpl, d.Name, d.Addr, d.Community, time.Minute, 10*time.Second))
	var reqs []uint64
	var sets []map[string]bool
	for range 3 {
		r0 := sim.Stats().Requests
		s, err := c.Poll(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, sim.Stats().Requests-r0)
		set := map[string]bool{}
		for _, x := range s {
			set[x.Labels.String()] = true
		}
		sets = append(sets, set)
	}
	if c.tableGroup(0) != len(tpl.SNMP.Tables) {
		t.Errorf("tables grouped %d of %d", c.tableGroup(0), len(tpl.SNMP.Tables))
	}
	if reqs[1] >= reqs[0] || reqs[2] != reqs[1] {
		t.Errorf("requests per poll %v: want fewer after the first", reqs)
	}
	// Then the scalars' GETs (at most MaxOIDs each) and one GETBULK for
	// all the tables: MaxOIDs does not split a GETBULK's columns.
	gets := (len(tpl.SNMP.Scalars) + 1 + DefaultMaxOIDs - 1) / DefaultMaxOIDs // +1: sysUpTime.0
	if want := uint64(gets + 1); reqs[1] != want {
		t.Errorf("requests per poll %v: want %d after the first (%d GETs, one GETBULK)", reqs, want, gets)
	}
	for i := 1; i < len(sets); i++ {
		if len(sets[i]) != len(sets[0]) || len(sets[0]) < 20 {
			t.Fatalf("poll %d: %d series, first poll %d", i, len(sets[i]), len(sets[0]))
		}
		for k := range sets[0] {
			if !sets[i][k] {
				t.Errorf("poll %d lacks %s", i, k)
			}
		}
	}
	t.Logf("requests per poll: %v", reqs)
}

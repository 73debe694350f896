package snmpsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
)

// dynamicOIDs returns the OIDs whose values move with time.
func dynamicOIDs(w *Walk) map[string]kind {
	m := map[string]kind{}
	for _, e := range w.entries {
		if e.kind != kindStatic {
			m[oidString(e.oid)] = e.kind
		}
	}
	return m
}

func num(t testing.TB, v Value) uint64 {
	t.Helper()
	x, err := strconv.ParseUint(v.Text, 10, 64)
	if err != nil {
		t.Fatalf("%s = %s %q is not a number", v.OID, v.Type, v.Text)
	}
	return x
}

// TestNetSNMPClientsAgreeWithCapture walks simulated devices with
// net-snmp's snmpwalk (GETNEXT) and snmpbulkwalk -Cr50 (GETBULK), in both
// addressing modes, and compares with the capture: same OIDs in the same
// order up to endOfMibView, static values equal, counters and uptimes
// advanced by the time that passed.
func TestNetSNMPClientsAgreeWithCapture(t *testing.T) {
	w := loadCapture(t)
	want := w.Values()
	dyn := dynamicOIDs(w)
	if len(dyn) < 20 {
		t.Fatalf("capture has only %d counters; expected the interface counters", len(dyn))
	}
	for _, perPort := range []int{1, 3} {
		clk := newFakeClock()
		s := startSim(t, Options{Devices: 3, PerPort: perPort, Seed: 7, Now: clk.Now, Walks: []*Walk{w}})
		clk.Advance(time.Hour)
		for _, tool := range []string{"snmpwalk", "snmpbulkwalk"} {
			t.Run(fmt.Sprintf("%s/per-port-%d", tool, perPort), func(t *testing.T) {
				d := s.Device(2)
				args := []string{"-v2c", "-c", d.Community, "-On", "-t", "2", "-r", "1"}
				if tool == "snmpbulkwalk" {
					args = append(args, "-Cr50")
				}
				got := mustWalk(t, tool, append(args, d.Addr, ".1")...)
				if last := got[len(got)-1]; last.Type != "exception" || !strings.Contains(last.Text, "No more variables") {
					t.Errorf("walk does not end with endOfMibView: last line %+v", last)
				} else {
					got = got[:len(got)-1]
				}
				if len(got) != len(want) {
					t.Fatalf("%s returned %d OIDs, capture has %d", tool, len(got), len(want))
				}
				advanced := 0
				for i := range want {
					g, c := got[i], want[i]
					if g.OID != c.OID || g.Type != c.Type {
						t.Fatalf("position %d: got %s %s, capture %s %s", i, g.OID, g.Type, c.OID, c.Type)
					}
					if _, ok := dyn[c.OID]; !ok {
						if g.Text != c.Text {
							t.Errorf("%s: got %q, capture %q", c.OID, g.Text, c.Text)
						}
						continue
					}
					gv, cv := num(t, g), num(t, c)
					if gv < cv && g.Type != "Counter32" {
						t.Errorf("%s went backwards: %d < captured %d", c.OID, gv, cv)
					}
					if gv != cv {
						advanced++
					}
				}
				// Every non-zero counter and both uptimes advance.
				if advanced < 10 {
					t.Errorf("only %d of %d counters and uptimes advanced after an hour", advanced, len(dyn))
				}
			})
		}
	}
}

// TestSNMPv1SkipsCounter64 checks that a v1 walk omits Counter64 objects
// (RFC 3584) and ends with noSuchName, as net-snmp's agent does.
func TestSNMPv1SkipsCounter64(t *testing.T) {
	w := loadCapture(t)
	s := startSim(t, Options{Devices: 1, Walks: []*Walk{w}})
	d := s.Device(0)
	got := mustWalk(t, "snmpwalk", "-v1", "-c", d.Community, "-On", "-t", "2", d.Addr, ".1.3.6.1.2.1.31")
	n64 := 0
	for _, v := range w.Values() {
		if strings.HasPrefix(v.OID, ".1.3.6.1.2.1.31.") && v.Type != "Counter64" {
			n64++
		}
	}
	for _, v := range got {
		if v.Type == "Counter64" {
			t.Errorf("v1 walk returned Counter64 %s", v.OID)
		}
	}
	if len(got) != n64 {
		t.Errorf("v1 walk of ifXTable: %d values, want the %d that are not Counter64", len(got), n64)
	}
}

// TestGetExceptions checks noSuchObject, noSuchInstance and the v1 error.
func TestGetExceptions(t *testing.T) {
	s := startSim(t, Options{Devices: 1})
	d := s.Device(0)
	out, _, err := netsnmp(t, "snmpget", "-v2c", "-c", d.Community, "-On", "-t", "2", d.Addr,
		".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.3", ".1.3.6.1.2.1.2.2.1.10.99", ".1.3.6.1.9.9", ".1.3.6.1.4.1.2021.10.1.3.7")
	if err != nil {
		t.Fatalf("snmpget: %v\n%s", err, out)
	}
	for _, want := range []string{
		`.1.3.6.1.2.1.1.5.0 = STRING: "anchor-agent"`,
		".1.3.6.1.2.1.1.3 = No Such Instance",
		".1.3.6.1.2.1.2.2.1.10.99 = No Such Instance",
		".1.3.6.1.9.9 = No Such Object",
		".1.3.6.1.4.1.2021.10.1.3.7 = No Such Instance",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("snmpget output lacks %q:\n%s", want, out)
		}
	}
	out, errOut, err := netsnmp(t, "snmpget", "-v1", "-c", d.Community, "-On", "-t", "2", d.Addr,
		".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.3.5")
	if err == nil || !strings.Contains(out+errOut, "noSuchName") || !strings.Contains(out+errOut, ".1.3.6.1.2.1.1.3.5") {
		t.Errorf("v1 GET of a missing OID: want noSuchName naming .1.3.6.1.2.1.1.3.5, got err=%v\n%s%s", err, out, errOut)
	}
	// A wrong community gets no answer at all.
	_, _, err = netsnmp(t, "snmpget", "-v2c", "-c", "nope", "-t", "0.3", "-r", "0", d.Addr, ".1.3.6.1.2.1.1.3.0")
	if err == nil {
		t.Error("a wrong community was answered")
	}
}

// TestGetBulk checks non-repeaters, repetitions and endOfMibView names
// with snmpbulkget.
func TestGetBulk(t *testing.T) {
	w := loadCapture(t)
	s := startSim(t, Options{Devices: 1, Walks: []*Walk{w}})
	d := s.Device(0)
	all := w.Values()
	idx := func(oid string) int {
		i := slices.IndexFunc(all, func(v Value) bool { return v.OID == oid })
		if i < 0 {
			t.Fatalf("%s not in capture", oid)
		}
		return i
	}
	last := all[len(all)-1].OID
	got := mustWalk(t, "snmpbulkget", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cn1", "-Cr3", d.Addr,
		".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.2.2.1.2", last)
	var wantOIDs []string
	wantOIDs = append(wantOIDs, all[idx(".1.3.6.1.2.1.1.1.0")+1].OID) // non-repeater
	first := idx(".1.3.6.1.2.1.2.2.1.2.1")
	for r := 0; r < 3; r++ {
		wantOIDs = append(wantOIDs, all[first+r].OID, last) // last: endOfMibView, its own name
	}
	var gotOIDs []string
	for i, v := range got {
		gotOIDs = append(gotOIDs, v.OID)
		if i > 0 && i%2 == 0 && v.Type != "exception" {
			t.Errorf("repeater past the end: got %+v, want endOfMibView", v)
		}
	}
	if !slices.Equal(gotOIDs, wantOIDs) {
		t.Errorf("snmpbulkget OIDs:\n got %v\nwant %v", gotOIDs, wantOIDs)
	}

	// A repeater that runs off the end keeps the last name it reached; the
	// reply may stop there (RFC 3416 4.2.3) instead of repeating it.
	got = mustWalk(t, "snmpbulkget", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr4", d.Addr, all[len(all)-2].OID)
	if len(got) < 2 || len(got) > 4 || got[0].OID != last || got[0].Type == "exception" {
		t.Fatalf("bulk past the end: got %+v", got)
	}
	for _, v := range got[1:] {
		if v.OID != last || v.Type != "exception" {
			t.Errorf("bulk past the end: got %+v, want endOfMibView named %s", v, last)
		}
	}
}

// TestGetBulkFitsMaxMsgSize checks that a small maximum message size cuts
// GETBULK replies short without breaking a walk.
func TestGetBulkFitsMaxMsgSize(t *testing.T) {
	w := loadCapture(t)
	s := startSim(t, Options{Devices: 1, Walks: []*Walk{w}, MaxMsgSize: 600})
	big := startSim(t, Options{Devices: 1, Walks: []*Walk{w}})
	d := s.Device(0)
	mustWalk(t, "snmpbulkwalk", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr100", big.Device(0).Addr, ".1.3.6.1.2.1")
	got := mustWalk(t, "snmpbulkwalk", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr100", d.Addr, ".1.3.6.1.2.1")
	n := 0
	for _, v := range got {
		if v.Type != "exception" {
			n++
		}
	}
	wantN := 0
	for _, v := range w.Values() {
		if strings.HasPrefix(v.OID, ".1.3.6.1.2.1.") {
			wantN++
		}
	}
	if n != wantN {
		t.Errorf("bulk walk with 600-byte replies: %d values, want %d", n, wantN)
	}
	if small, large := s.Stats().Responses, big.Stats().Responses; small < 2*large {
		t.Errorf("%d replies of at most 600 bytes against %d of up to 64 KiB: replies were not cut", small, large)
	}
}

const (
	sysUpTime0   = ".1.3.6.1.2.1.1.3.0"
	hrSysUptime  = ".1.3.6.1.2.1.25.1.1.0"
	ifSpeed1     = ".1.3.6.1.2.1.2.2.1.5.1"
	ifInOctets4  = ".1.3.6.1.2.1.2.2.1.10.4"   // Counter32, eth0
	ifHCInOcts4  = ".1.3.6.1.2.1.31.1.1.1.6.4" // Counter64, eth0
	memTotalX    = ".1.3.6.1.4.1.2021.4.20.0"  // a gauge net-snmp types Counter64
	ifIndexCol   = ".1.3.6.1.2.1.2.2.1.1"
	ifDescrCol   = ".1.3.6.1.2.1.2.2.1.2"
	ifNameCol    = ".1.3.6.1.2.1.31.1.1.1.1"
	ifHCInOctCol = ".1.3.6.1.2.1.31.1.1.1.6"
)

func get(t testing.TB, d Device, oids ...string) map[string]Value {
	t.Helper()
	args := append([]string{"-v2c", "-c", d.Community, "-On", "-t", "2", d.Addr}, oids...)
	return byOID(mustWalk(t, "snmpget", args...))
}

// TestCounter32Wraps moves the clock in steps shorter than a wrap and
// checks that Counter32 advances by the same amount modulo 2^32 each step
// (a constant rate), wraps at least once, and that the Counter64 of the
// same interface never goes backwards.
func TestCounter32Wraps(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 1, Now: clk.Now, Seed: 3})
	d := s.Device(0)
	const step = 1000 * time.Second // eth0 counts well under 2^32 bytes per step
	var prev32, prev64, delta uint64
	wraps := 0
	for i := 0; i < 25; i++ {
		v := get(t, d, ifInOctets4, ifHCInOcts4, memTotalX)
		c32, c64 := num(t, v[ifInOctets4]), num(t, v[ifHCInOcts4])
		if c32 > 1<<32-1 {
			t.Fatalf("Counter32 %d exceeds 32 bits", c32)
		}
		if i > 0 {
			dd := (c32 - prev32) & (1<<32 - 1)
			if i > 1 && (dd > delta+1 || dd+1 < delta) {
				t.Errorf("step %d: Counter32 advanced %d, earlier steps %d", i, dd, delta)
			}
			delta = dd
			if c32 < prev32 {
				wraps++
			}
			if c64 <= prev64 {
				t.Errorf("step %d: Counter64 %d did not advance from %d", i, c64, prev64)
			}
		}
		if got := v[memTotalX]; got.Text != byOID(loadCapture(t).Values())[memTotalX].Text {
			t.Errorf("memTotalRealX (a gauge typed Counter64) changed to %s", got.Text)
		}
		prev32, prev64 = c32, c64
		clk.Advance(step)
	}
	if delta == 0 {
		t.Fatal("Counter32 did not advance")
	}
	if wraps == 0 {
		t.Errorf("Counter32 never wrapped in 25 steps of %d", delta)
	}
}

// TestReboot checks a manual reboot: sysUpTime and hrSystemUptime restart
// at zero, counters restart from zero at their rate, static values stay.
func TestReboot(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 2, Now: clk.Now})
	d := s.Device(1)
	clk.Advance(2 * time.Hour)
	before := get(t, d, sysUpTime0, hrSysUptime, ifHCInOcts4, ifSpeed1)
	s.Reboot(1)
	clk.Advance(10 * time.Second)
	after := get(t, d, sysUpTime0, hrSysUptime, ifHCInOcts4, ifSpeed1)
	if up := num(t, after[sysUpTime0]); up != 1000 {
		t.Errorf("sysUpTime 10 s after reboot = %d ticks, want 1000", up)
	}
	if up := num(t, after[hrSysUptime]); up != 1000 {
		t.Errorf("hrSystemUptime 10 s after reboot = %d ticks, want 1000", up)
	}
	b, a := num(t, before[ifHCInOcts4]), num(t, after[ifHCInOcts4])
	if a >= b || a == 0 {
		t.Errorf("ifHCInOctets after reboot %d, before %d: want a small restart from zero", a, b)
	}
	// The rate is unchanged: 10 s after the reboot is 1/720 of 2 h's growth.
	capt := num(t, byOID(loadCapture(t).Values())[ifHCInOcts4])
	if grow := float64(b-capt) / 720; float64(a) < grow*0.99-1 || float64(a) > grow*1.01+1 {
		t.Errorf("counter after reboot %d, want about %.0f (same rate)", a, grow)
	}
	if after[ifSpeed1].Text != before[ifSpeed1].Text {
		t.Errorf("ifSpeed changed across the reboot: %s -> %s", before[ifSpeed1].Text, after[ifSpeed1].Text)
	}
	// The other device did not reboot.
	other := get(t, s.Device(0), sysUpTime0)
	if up := num(t, other[sysUpTime0]); up < 2*3600*100 {
		t.Errorf("device 0 uptime %d ticks: it rebooted with device 1", up)
	}
}

// TestPeriodicReboots checks RebootEvery: uptime never exceeds the period
// after the first reboot, and each device reboots at its own phase.
func TestPeriodicReboots(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 4, PerPort: 4, Now: clk.Now, RebootEvery: time.Hour, Seed: 11})
	clk.Advance(3*time.Hour + 7*time.Minute)
	ups := map[uint64]bool{}
	for i := 0; i < 4; i++ {
		up := num(t, get(t, s.Device(i), sysUpTime0)[sysUpTime0])
		if up >= 3600*100 {
			t.Errorf("device %d: uptime %d ticks exceeds the one-hour reboot period", i, up)
		}
		ups[up] = true
	}
	if len(ups) < 3 {
		t.Errorf("devices share reboot phases: uptimes %v", ups)
	}
}

// TestDeadAndSlow checks the exact shares and the behaviour of dead
// (never answer) and slow (answer after SlowDelay) devices.
func TestDeadAndSlow(t *testing.T) {
	const delay = 400 * time.Millisecond
	s := startSim(t, Options{Devices: 10, PerPort: 5, Dead: 0.2, Slow: 0.3, SlowDelay: delay, Seed: 5})
	var dead, slow, ok []Device
	for _, d := range s.Devices() {
		switch {
		case d.Dead:
			dead = append(dead, d)
		case d.Slow:
			slow = append(slow, d)
		default:
			ok = append(ok, d)
		}
	}
	if len(dead) != 2 || len(slow) != 3 {
		t.Fatalf("%d dead and %d slow of 10, want 2 and 3", len(dead), len(slow))
	}
	try := func(d Device, timeout string) (time.Duration, error) {
		start := time.Now()
		_, _, err := netsnmp(t, "snmpget", "-v2c", "-c", d.Community, "-On", "-t", timeout, "-r", "0", d.Addr, sysUpTime0)
		return time.Since(start), err
	}
	if _, err := try(dead[0], "0.5"); err == nil {
		t.Errorf("dead device %s answered", dead[0].Name)
	}
	if _, err := try(slow[0], "0.1"); err == nil {
		t.Errorf("slow device %s answered within 100 ms", slow[0].Name)
	}
	if took, err := try(slow[1], "2"); err != nil || took < delay {
		t.Errorf("slow device %s: err=%v after %v, want an answer after at least %v", slow[1].Name, err, took, delay)
	}
	if took, err := try(ok[0], "2"); err != nil || took > delay {
		t.Errorf("live device %s: err=%v after %v", ok[0].Name, err, took)
	}
	if st := s.Stats(); st.Dropped < 1 {
		t.Errorf("stats count no dropped request: %+v", st)
	}
}

// TestRenumber checks that a renumbering device gives its interfaces new
// ifIndexes at a reboot while names, descriptions and counters stay with
// their interface.
func TestRenumber(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 1, Renumber: 1, Now: clk.Now})
	d := s.Device(0)
	if !d.Renumbered {
		t.Fatal("device not marked as renumbering")
	}
	type iface struct {
		index        string
		descr, name  string
		hcIn         uint64
		ifIndexValue string
	}
	read := func() map[string]iface { // by ifName
		got := mustWalk(t, "snmpbulkwalk", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr50", d.Addr, ".1.3.6.1.2.1")
		m := byOID(got)
		out := map[string]iface{}
		for _, v := range got {
			idx, ok := strings.CutPrefix(v.OID, ifNameCol+".")
			if !ok {
				continue
			}
			f := iface{index: idx, name: v.Text, descr: m[ifDescrCol+"."+idx].Text,
				ifIndexValue: m[ifIndexCol+"."+idx].Text, hcIn: num(t, m[ifHCInOctCol+"."+idx])}
			out[v.Text] = f
		}
		return out
	}
	clk.Advance(time.Hour)
	before := read()
	s.Reboot(0)
	clk.Advance(time.Hour)
	after := read()
	if len(before) != 4 || len(after) != 4 {
		t.Fatalf("interfaces before %d, after %d, want 4", len(before), len(after))
	}
	moved := 0
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			t.Errorf("interface %s vanished after the reboot", name)
			continue
		}
		if a.index != b.index {
			moved++
		}
		if a.descr != b.descr || a.descr != name {
			t.Errorf("%s: ifDescr %q before, %q after", name, b.descr, a.descr)
		}
		if a.ifIndexValue != a.index {
			t.Errorf("%s: ifIndex column %s at index %s", name, a.ifIndexValue, a.index)
		}
		// Same rate, restarted from zero: an hour after the reboot the
		// counter is its growth over the first hour (within rounding).
		capt := num(t, byOID(loadCapture(t).Values())[ifHCInOctCol+"."+b.index])
		if g := b.hcIn - capt; a.hcIn+2 < g || a.hcIn > g+2 {
			t.Errorf("%s: counter %d an hour after reboot, want %d (its own rate)", name, a.hcIn, g)
		}
	}
	if moved != 4 {
		t.Errorf("%d of 4 interfaces changed ifIndex, want all", moved)
	}
}

// TestCommunityRouting checks that devices sharing a port each answer to
// their own community only, with their own counter rates.
func TestCommunityRouting(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 6, PerPort: 3, Now: clk.Now, Seed: 9})
	clk.Advance(time.Hour)
	devs := s.Devices()
	if devs[0].Addr != devs[2].Addr || devs[2].Addr == devs[3].Addr {
		t.Fatalf("addresses %s %s %s: want 3 devices per port", devs[0].Addr, devs[2].Addr, devs[3].Addr)
	}
	seen := map[string]bool{}
	for _, d := range devs {
		v := get(t, d, ifHCInOcts4)[ifHCInOcts4].Text
		if seen[v] {
			t.Errorf("%s: counter %s equals another device's", d.Name, v)
		}
		seen[v] = true
	}
	// Device 3's community on device 0's port is not answered.
	_, _, err := netsnmp(t, "snmpget", "-v2c", "-c", devs[3].Community, "-t", "0.3", "-r", "0", devs[0].Addr, sysUpTime0)
	if err == nil {
		t.Error("a community of another port was answered")
	}
}

// TestReplayLiveAgent captures a walk from a real net-snmp agent, replays
// it, and walks the simulator with the same client: every OID, type and
// static value must come back as the agent gave it.
func TestReplayLiveAgent(t *testing.T) {
	agent := snmpdtest.Start(t)
	var capture strings.Builder
	for _, sub := range []string{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2", ".1.3.6.1.2.1.31.1.1", ".1.3.6.1.4.1.2021.10"} {
		out, errOut, err := netsnmp(t, "snmpwalk", "-v2c", "-c", snmpdtest.Community, "-On", "-t", "2", agent.Addr, sub)
		if err != nil {
			t.Fatalf("snmpwalk %s of snmpd: %v\n%s", sub, err, errOut)
		}
		capture.WriteString(out)
	}
	w, err := ParseWalk(strings.NewReader(capture.String()), "live")
	if err != nil {
		t.Fatalf("live capture does not parse: %v", err)
	}
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 1, Walks: []*Walk{w}, Now: clk.Now})
	d := s.Device(0)
	got := mustWalk(t, "snmpbulkwalk", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr25", d.Addr, ".1.3")
	want := w.Values()
	if len(got) != len(want)+1 {
		t.Fatalf("replay has %d lines, capture %d values (+ end of view)", len(got), len(want))
	}
	for i, c := range want {
		if got[i] != c {
			t.Errorf("replay %+v, captured %+v", got[i], c)
		}
	}
}

// TestDeviceListLoadsAsConfig checks the YAML device list against the
// service's own configuration loader.
func TestDeviceListLoadsAsConfig(t *testing.T) {
	s, err := New(Options{Devices: 5, PerPort: 2, Dead: 0.2, Walks: []*Walk{loadCapture(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\ndata_dir: " + t.TempDir() + "\n")
	if err := s.WriteDeviceList(&b, "net-snmp-host", false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "saguaro.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("device list rejected by config.Load: %v\n%s", err, b.String())
	}
	if len(cfg.Devices) != 4 {
		t.Fatalf("%d devices in the config, want the 4 live ones", len(cfg.Devices))
	}
	for _, d := range cfg.Devices {
		var want Device
		for _, sd := range s.Devices() {
			if sd.Name == d.Name {
				want = sd
			}
		}
		if want.Dead || d.Template != "net-snmp-host" || d.SNMP == nil || d.SNMP.Address != want.Addr ||
			d.SNMP.Community.Reveal() != want.Community || d.SNMP.Version != "2c" {
			t.Errorf("config device %+v does not match simulated %+v", d, want)
		}
	}
}

// TestCounterPairs checks that ifInOctets is the low 32 bits of
// ifHCInOctets at every moment, across wraps and reboots.
func TestCounterPairs(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Devices: 2, Now: clk.Now, Seed: 13})
	d := s.Device(1)
	pairs := [][2]string{{ifInOctets4, ifHCInOcts4}, {".1.3.6.1.2.1.2.2.1.16.4", ".1.3.6.1.2.1.31.1.1.1.10.4"},
		{".1.3.6.1.2.1.2.2.1.17.1", ".1.3.6.1.2.1.31.1.1.1.11.1"}}
	for step := 0; step < 4; step++ {
		var oids []string
		for _, p := range pairs {
			oids = append(oids, p[0], p[1])
		}
		v := get(t, d, oids...)
		for _, p := range pairs {
			lo, hi := num(t, v[p[0]]), num(t, v[p[1]])
			if lo != hi&(1<<32-1) {
				t.Errorf("step %d: %s = %d is not the low 32 bits of %s = %d", step, p[0], lo, p[1], hi)
			}
		}
		clk.Advance(7919 * time.Second)
		if step == 2 {
			s.Reboot(1)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	w := loadCapture(t)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no devices", Options{Walks: []*Walk{w}}, "devices 0"},
		{"no walks", Options{Devices: 1}, "no walks"},
		{"shares", Options{Devices: 1, Walks: []*Walk{w}, Dead: 0.7, Slow: 0.5}, "exceed 1"},
		{"share range", Options{Devices: 1, Walks: []*Walk{w}, Renumber: 2}, "renumber share 2 outside 0..1"},
		{"ports", Options{Devices: 100, Walks: []*Walk{w}, PortBase: 65500}, "run past port 65535"},
		{"message size", Options{Devices: 1, Walks: []*Walk{w}, MaxMsgSize: 100}, "max message size 100"},
		{"listen", Options{Devices: 1, Walks: []*Walk{w}, ListenIP: "localhost"}, `listen IP "localhost"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one containing %q wrapping ErrOptions", err, tc.want)
			}
		})
	}
}

// TestSetDead takes a device down and brings it back while serving.
func TestSetDead(t *testing.T) {
	s := startSim(t, Options{Devices: 2, PerPort: 2})
	d := s.Device(1)
	ask := func(timeout string) error {
		_, _, err := netsnmp(t, "snmpget", "-v2c", "-c", d.Community, "-On", "-t", timeout, "-r", "0", d.Addr, sysUpTime0)
		return err
	}
	if err := ask("2"); err != nil {
		t.Fatalf("live device: %v", err)
	}
	s.SetDead(1, true)
	if !s.Device(1).Dead {
		t.Error("Device does not report the device dead")
	}
	if err := ask("0.4"); err == nil {
		t.Error("device answered while dead")
	}
	if _, _, err := netsnmp(t, "snmpget", "-v2c", "-c", s.Device(0).Community, "-On", "-t", "1", s.Device(0).Addr, sysUpTime0); err != nil {
		t.Errorf("the other device on the port stopped answering: %v", err)
	}
	s.SetDead(1, false)
	if err := ask("2"); err != nil {
		t.Errorf("device did not come back: %v", err)
	}
}

// TestEveryCaptureReplays bulk-walks a device of each capture in
// testdata/walks: the same OIDs and types, static values equal.
func TestEveryCaptureReplays(t *testing.T) {
	files, err := filepath.Glob("../testdata/walks/*.walk")
	if err != nil || len(files) < 2 {
		t.Fatalf("captures: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w, err := LoadWalk(f)
			if err != nil {
				t.Fatal(err)
			}
			clk := newFakeClock()
			s := startSim(t, Options{Devices: 1, Walks: []*Walk{w}, Now: clk.Now})
			clk.Advance(time.Minute)
			d := s.Device(0)
			got := mustWalk(t, "snmpbulkwalk", "-v2c", "-c", d.Community, "-On", "-t", "2", "-Cr50", d.Addr, ".1.3")
			want, dyn := w.Values(), dynamicOIDs(w)
			if len(got) != len(want)+1 {
				t.Fatalf("%d lines, capture has %d values (+ end of view)", len(got), len(want))
			}
			for i, c := range want {
				g := got[i]
				if g.OID != c.OID || g.Type != c.Type {
					t.Fatalf("position %d: got %s %s, capture %s %s", i, g.OID, g.Type, c.OID, c.Type)
				}
				if _, ok := dyn[c.OID]; !ok && g.Text != c.Text {
					t.Errorf("%s: got %q, capture %q", c.OID, g.Text, c.Text)
				}
			}
		})
	}
}

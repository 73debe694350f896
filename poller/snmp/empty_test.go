package snmp

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
)

// Tables with rows in the simulator's capture of a net-snmp host.
var simFullTables = []Table{
	{Name: "interfaces", IndexLabel: "ifIndex", LabelColumns: map[string]string{"ifDescr": ifDescr},
		Columns: []Object{{OID: ifInOctets, Metric: "if_in_octets", DS: counter}, {OID: ".1.3.6.1.2.1.2.2.1.16", Metric: "if_out_octets", DS: counter}}},
	{Name: "load", IndexLabel: "laIndex", LabelColumns: map[string]string{"laNames": ".1.3.6.1.4.1.2021.10.1.2"},
		Columns: []Object{{OID: ".1.3.6.1.4.1.2021.10.1.5", Metric: "load_int", DS: gauge}}},
}

// Tables the capture has no rows of, in three parts of the MIB; the first
// has more columns than one GETBULK at 25 repetitions asks for (4).
var simEmptyTables = []Table{
	{Name: "storage", IndexLabel: "hrStorageIndex",
		LabelColumns: map[string]string{"descr": ".1.3.6.1.2.1.25.2.3.1.3", "type": ".1.3.6.1.2.1.25.2.3.1.2"},
		Columns: []Object{
			{OID: ".1.3.6.1.2.1.25.2.3.1.4", Metric: "storage_units", DS: gauge},
			{OID: ".1.3.6.1.2.1.25.2.3.1.5", Metric: "storage_size", DS: gauge},
			{OID: ".1.3.6.1.2.1.25.2.3.1.6", Metric: "storage_used", DS: gauge},
			{OID: ".1.3.6.1.2.1.25.2.3.1.7", Metric: "storage_failures", DS: counter},
		}},
	{Name: "routes", IndexLabel: "dest", Columns: []Object{
		{OID: ".1.3.6.1.2.1.4.21.1.7", Metric: "route_next_hop", DS: gauge},
		{OID: ".1.3.6.1.2.1.4.21.1.8", Metric: "route_type", DS: gauge},
	}},
	{Name: "disks", IndexLabel: "dskIndex", LabelColumns: map[string]string{"path": ".1.3.6.1.4.1.2021.9.1.2"},
		Columns: []Object{
			{OID: ".1.3.6.1.4.1.2021.9.1.6", Metric: "disk_total", DS: gauge},
			{OID: ".1.3.6.1.4.1.2021.9.1.7", Metric: "disk_avail", DS: gauge},
		}},
}

// pollRequests polls c n times and returns the requests each poll cost
// (requests() counts the agent's) and the series of every poll.
func pollRequests(t *testing.T, c *Collector, n int, requests func() uint64) ([]uint64, []map[string]bool) {
	t.Helper()
	var reqs []uint64
	var sets []map[string]bool
	for range n {
		r0 := requests()
		s, err := c.Poll(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, requests()-r0)
		set := map[string]bool{}
		for _, x := range s {
			set[x.Labels.String()] = true
		}
		sets = append(sets, set)
	}
	return reqs, sets
}

// An empty table costs at most the one request that finds it empty: on the
// first poll, which walks each table by itself, one request each; later,
// walked with the other tables, nothing beyond their requests. One empty
// table alone costs one request per poll however many columns it has.
func TestEmptyTablesCostNoExtraRequests(t *testing.T) {
	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 1, Walks: []*snmpsim.Walk{simWalk(t)}, Seed: 5})
	d := sim.Device(0)
	requests := func() uint64 { return sim.Stats().Requests }
	config := func(tables ...Table) Config {
		return Config{Device: "d", Address: d.Addr, Version: "2c", Community: d.Community, Timeout: 2 * time.Second,
			MaxOIDs: 10, MaxRepetitions: 25, Tables: tables}
	}
	const polls = 4
	full, fullSets := pollRequests(t, mustNew(t, config(simFullTables...)), polls, requests)
	if len(fullSets[0]) < 10 {
		t.Fatalf("%d series from the tables with rows: the capture changed?", len(fullSets[0]))
	}
	e := simEmptyTables
	for _, tc := range []struct {
		name   string
		tables []Table
	}{
		{"empty after", []Table{simFullTables[0], simFullTables[1], e[0], e[1], e[2]}},
		{"empty between", []Table{e[0], simFullTables[0], e[1], simFullTables[1], e[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sets := pollRequests(t, mustNew(t, config(tc.tables...)), polls, requests)
			t.Logf("requests per poll: %v; without the empty tables %v", got, full)
			if got[0] > full[0]+uint64(len(e)) {
				t.Errorf("first poll: %d requests, want at most %d (the tables with rows) + %d (one per empty table)", got[0], full[0], len(e))
			}
			for i := 1; i < polls; i++ {
				if got[i] != full[i] {
					t.Errorf("poll %d: %d requests, want %d as without the empty tables", i+1, got[i], full[i])
				}
				if len(sets[i]) != len(fullSets[i]) {
					t.Errorf("poll %d: %d series, want %d", i+1, len(sets[i]), len(fullSets[i]))
				}
				for k := range fullSets[i] {
					if !sets[i][k] {
						t.Errorf("poll %d lacks %s", i+1, k)
					}
				}
			}
		})
	}
	t.Run("alone", func(t *testing.T) {
		got, sets := pollRequests(t, mustNew(t, config(e[0])), polls, requests)
		for i, n := range got {
			if n != 1 || len(sets[i]) != 0 {
				t.Errorf("poll %d: %d requests, %d series; want 1 and 0", i+1, n, len(sets[i]))
			}
		}
	})
}

// The same against net-snmp's agent, whose UCD tables of processes, disks
// and extension commands are empty without configuration. The agent
// counts the packets it receives (snmpInPkts); reading it costs one.
func TestEmptyTablesOfRealAgent(t *testing.T) {
	a := snmpdtest.Start(t)
	const snmpInPkts = ".1.3.6.1.2.1.11.1.0"
	counter := mustNew(t, Config{Device: "counter", Address: a.Addr, Version: "2c", Community: snmpdtest.Community,
		Timeout: 2 * time.Second, Scalars: []Object{{OID: snmpInPkts, Metric: "pkts", DS: counter}}})
	requests := func() uint64 {
		s, err := counter.Poll(t.Context(), time.Now())
		if err != nil || len(s) != 1 {
			t.Fatalf("snmpInPkts: %v %v", s, err)
		}
		return s[0].Count
	}
	ucdEmpty := []Table{
		{Name: "processes", IndexLabel: "prIndex", LabelColumns: map[string]string{"prNames": ".1.3.6.1.4.1.2021.2.1.2"},
			Columns: []Object{{OID: ".1.3.6.1.4.1.2021.2.1.5", Metric: "pr_count", DS: gauge}, {OID: ".1.3.6.1.4.1.2021.2.1.100", Metric: "pr_error", DS: gauge}}},
		{Name: "extensions", IndexLabel: "extIndex", LabelColumns: map[string]string{"extNames": ".1.3.6.1.4.1.2021.8.1.2"},
			Columns: []Object{{OID: ".1.3.6.1.4.1.2021.8.1.100", Metric: "ext_result", DS: gauge}}},
		{Name: "disks", IndexLabel: "dskIndex", LabelColumns: map[string]string{"dskPath": ".1.3.6.1.4.1.2021.9.1.2", "dskDevice": ".1.3.6.1.4.1.2021.9.1.3"},
			Columns: []Object{
				{OID: ".1.3.6.1.4.1.2021.9.1.6", Metric: "disk_total", DS: gauge},
				{OID: ".1.3.6.1.4.1.2021.9.1.7", Metric: "disk_avail", DS: gauge},
				{OID: ".1.3.6.1.4.1.2021.9.1.8", Metric: "disk_used", DS: gauge},
			}},
	}
	interfaces := defaultTemplate("agent", a.Addr).Tables
	config := func(tables ...Table) Config {
		return Config{Device: "agent", Address: a.Addr, Version: "2c", Community: snmpdtest.Community,
			Timeout: 2 * time.Second, Retries: 0, MaxOIDs: 10, MaxRepetitions: 25, Tables: tables}
	}
	const polls = 3
	// Each figure includes the one request that reads the counter.
	full, fullSets := pollRequests(t, mustNew(t, config(interfaces...)), polls, requests)
	withEmpty, sets := pollRequests(t, mustNew(t, config(append(append([]Table{}, ucdEmpty...), interfaces...)...)), polls, requests)
	alone, aloneSets := pollRequests(t, mustNew(t, config(ucdEmpty[2])), polls, requests)
	t.Logf("requests per poll (+1 reading the counter): interfaces %v, with the empty UCD tables %v, the disk table alone %v", full, withEmpty, alone)
	if withEmpty[0] > full[0]+uint64(len(ucdEmpty)) {
		t.Errorf("first poll: %d requests, want at most %d + %d (one per empty table)", withEmpty[0], full[0], len(ucdEmpty))
	}
	for i := 1; i < polls; i++ {
		if withEmpty[i] != full[i] {
			t.Errorf("poll %d: %d requests with the empty tables, %d without", i+1, withEmpty[i], full[i])
		}
		if len(sets[i]) != len(fullSets[i]) || len(sets[i]) == 0 {
			t.Errorf("poll %d: %d series with the empty tables, %d without", i+1, len(sets[i]), len(fullSets[i]))
		}
	}
	for i, n := range alone {
		if n != 2 || len(aloneSets[i]) != 0 {
			t.Errorf("disk table alone, poll %d: %d requests (+1), %d series; want 1 request, no series", i+1, n, len(aloneSets[i]))
		}
	}
}

// A table that was empty and gains rows is walked whole at the next poll,
// and a column with no rows does not stop the columns after it, however
// few columns go into one request.
func TestTableThatFillsIsWalked(t *testing.T) {
	const base = ".1.3.6.1.4.1.9999.3.1."
	var filled atomic.Bool
	mib := func() table {
		tb := table{{Name: ".1.3.6.1.4.1.9999.1.0", Type: gosnmp.Integer, Value: 1}}
		if filled.Load() {
			for _, col := range []int{3, 5} { // columns 2 and 4 stay empty
				for r := 1; r <= 7; r++ {
					tb = append(tb, gosnmp.SnmpPDU{Name: base + strconv.Itoa(col) + "." + strconv.Itoa(r), Type: gosnmp.Gauge32, Value: uint32(col*100 + r)})
				}
			}
		}
		return append(tb, gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.9999.4.0", Type: gosnmp.Integer, Value: 2})
	}
	for _, tc := range []struct {
		version string
		maxOIDs int
	}{{"2c", 1}, {"2c", 2}, {"2c", 10}, {"1", 2}} {
		t.Run("v"+tc.version+" maxOIDs "+strconv.Itoa(tc.maxOIDs), func(t *testing.T) {
			filled.Store(false)
			fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return mib().serve(req) }})
			cfg := fakeConfig(fa.addr)
			cfg.Version, cfg.MaxOIDs, cfg.MaxRepetitions = tc.version, tc.maxOIDs, 5
			cfg.Tables = []Table{{Name: "t", IndexLabel: "i", Columns: []Object{
				{OID: base + "2", Metric: "c2", DS: gauge}, {OID: base + "3", Metric: "c3", DS: gauge},
				{OID: base + "4", Metric: "c4", DS: gauge}, {OID: base + "5", Metric: "c5", DS: gauge},
			}}}
			c := mustNew(t, cfg)
			var reqsOf [4]int64
			for poll := range 4 {
				if poll == 2 {
					filled.Store(true)
				}
				r0 := fa.requests.Load()
				s, err := c.Poll(t.Context(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				reqs := fa.requests.Load() - r0
				reqsOf[poll] = reqs
				want := 0
				if filled.Load() {
					want = 7
				}
				for _, col := range []string{"c3", "c5"} {
					got := byName(s, col)
					if len(got) != want {
						t.Errorf("poll %d: %d samples of %s, want %d", poll+1, len(got), col, want)
					}
					for _, x := range got {
						r, _ := strconv.Atoi(x.Labels.Get("i"))
						if n, _ := strconv.Atoi(col[1:]); x.Value != float64(n*100+r) {
							t.Errorf("poll %d: %s = %v", poll+1, x.Labels, x.Value)
						}
					}
				}
				if n := len(byName(s, "c2")) + len(byName(s, "c4")); n != 0 {
					t.Errorf("poll %d: %d samples of the empty columns", poll+1, n)
				}
				if poll == 1 && reqs != 1 {
					t.Errorf("poll 2 of the empty table: %d requests, want 1", reqs)
				}
				t.Logf("poll %d: %d requests, %d samples", poll+1, reqs, len(s))
			}
			// Finding the rows costs the probe and at most one more round
			// beyond a walk that expects them.
			if reqsOf[2] > reqsOf[3]+2 {
				t.Errorf("the poll that found rows cost %d requests, the next %d", reqsOf[2], reqsOf[3])
			}
		})
	}
}

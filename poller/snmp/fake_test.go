package snmp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// fakeAgent is a UDP server on loopback whose answers a test scripts:
// reply returns the response to a decoded request (nil drops it), raw
// returns bytes to send back as they are (for garbage).
type fakeAgent struct {
	addr     string
	conn     net.PacketConn
	reply    func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket
	raw      func(req []byte) []byte
	requests atomic.Int64
	peer     atomic.Value // string: the address the last request came from
	wg       sync.WaitGroup
}

func startFake(t *testing.T, fa *fakeAgent) *fakeAgent {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fa.conn, fa.addr = c, c.LocalAddr().String()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	fa.wg.Add(1)
	go func() {
		defer fa.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			fa.requests.Add(1)
			fa.peer.Store(from.String())
			var out []byte
			if fa.raw != nil {
				out = fa.raw(buf[:n])
			} else {
				req, err := dec.SnmpDecodePacket(buf[:n])
				if err != nil {
					continue
				}
				resp := fa.reply(req)
				if resp == nil {
					continue
				}
				resp.Version, resp.Community, resp.PDUType, resp.RequestID = req.Version, req.Community, gosnmp.GetResponse, req.RequestID
				if out, err = resp.MarshalMsg(); err != nil {
					t.Errorf("fake agent: marshal: %v", err)
					continue
				}
			}
			if out != nil {
				_, _ = c.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close(); fa.wg.Wait() })
	return fa
}

// table is a tiny MIB: sorted OIDs and their varbinds.
type table []gosnmp.SnmpPDU

func (tb table) get(oid string) gosnmp.SnmpPDU {
	for _, v := range tb {
		if v.Name == oid {
			return v
		}
	}
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.NoSuchObject}
}

func (tb table) next(oid string, n int) []gosnmp.SnmpPDU {
	var out []gosnmp.SnmpPDU
	for _, v := range tb {
		if oidCompare(v.Name, oid) > 0 {
			out = append(out, v)
			if len(out) == n {
				return out
			}
		}
	}
	return append(out, gosnmp.SnmpPDU{Name: oid, Type: gosnmp.EndOfMibView})
}

// serve answers GET and GETBULK from the table.
func (tb table) serve(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
	resp := &gosnmp.SnmpPacket{}
	switch req.PDUType {
	case gosnmp.GetRequest:
		for _, v := range req.Variables {
			resp.Variables = append(resp.Variables, tb.get(v.Name))
		}
	case gosnmp.GetBulkRequest, gosnmp.GetNextRequest:
		n := int(req.MaxRepetitions)
		if req.PDUType == gosnmp.GetNextRequest {
			n = 1
		}
		// Interleaved, as an agent answers: row r of column i at r*cols+i.
		cols := make([][]gosnmp.SnmpPDU, len(req.Variables))
		for i, v := range req.Variables {
			cols[i] = tb.next(v.Name, n)
			for len(cols[i]) < n {
				cols[i] = append(cols[i], cols[i][len(cols[i])-1])
			}
		}
		for r := 0; r < n; r++ {
			for i := range cols {
				resp.Variables = append(resp.Variables, cols[i][r])
			}
		}
	}
	return resp
}

var fakeMIB = table{
	{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(12345)},
	{Name: ".1.3.6.1.2.1.2.2.1.10.1", Type: gosnmp.Counter32, Value: uint32(4000000000)},
	{Name: ".1.3.6.1.2.1.2.2.1.10.2", Type: gosnmp.Counter32, Value: uint32(7)},
	{Name: ".1.3.6.1.2.1.31.1.1.1.1.1", Type: gosnmp.OctetString, Value: "lo"},
	{Name: ".1.3.6.1.2.1.31.1.1.1.1.2", Type: gosnmp.OctetString, Value: "eth0"},
	{Name: ".1.3.6.1.2.1.31.1.1.1.6.1", Type: gosnmp.Counter64, Value: uint64(1<<63 + 12345)},
	{Name: ".1.3.6.1.2.1.31.1.1.1.6.2", Type: gosnmp.Counter64, Value: uint64(9007199254740993)}, // 2^53+1
	{Name: ".1.3.6.1.4.1.2021.10.1.3.1", Type: gosnmp.OctetString, Value: "0.15"},
	{Name: ".1.3.6.1.4.1.2021.10.1.3.2", Type: gosnmp.OctetString, Value: "abc"},
	{Name: ".1.3.6.1.4.1.2021.10.1.3.3", Type: gosnmp.IPAddress, Value: "10.0.0.1"},
	{Name: ".1.3.6.1.4.1.2021.4.5.0", Type: gosnmp.Integer, Value: -5},
	{Name: ".1.3.6.1.4.1.2021.4.6.0", Type: gosnmp.Gauge32, Value: uint32(4294967295)},
}

func fakeConfig(addr string, scalars ...string) Config {
	cfg := Config{Device: "fake1", Address: addr, Version: "2c", Community: "public",
		Timeout: 300 * time.Millisecond, Retries: 0, MaxOIDs: 2, MaxRepetitions: 10}
	for _, o := range scalars {
		cfg.Scalars = append(cfg.Scalars, Object{OID: o, Metric: "v", DS: gauge, Labels: metric.New("oid", o)})
	}
	return cfg
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

func TestValuesFromTheWire(t *testing.T) {
	fa := startFake(t, &fakeAgent{reply: fakeMIB.serve})
	cfg := fakeConfig(fa.addr, ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.4.1.2021.10.1.3.1", ".1.3.6.1.4.1.2021.10.1.3.2",
		".1.3.6.1.4.1.2021.10.1.3.3", ".1.3.6.1.4.1.2021.4.5.0", ".1.3.6.1.4.1.2021.4.6.0")
	cfg.Tables = []Table{{Name: "if", IndexLabel: "ifIndex", LabelColumns: map[string]string{"ifName": ".1.3.6.1.2.1.31.1.1.1.1"},
		Columns: []Object{
			{OID: ".1.3.6.1.2.1.31.1.1.1.6", Metric: "hc", DS: counter},
			{OID: ".1.3.6.1.2.1.2.2.1.10", Metric: "c32", DS: counter},
		}}}
	c := mustNew(t, cfg)
	s, err := c.Poll(t.Context(), time.Now())
	var pe *PollError
	if !errors.As(err, &pe) || pe.Problems != 2 || !errors.Is(err, ErrNotNumeric) {
		t.Fatalf("error %v, want 2 problems (the string and the IP address)", err)
	}
	for _, want := range []string{"fake1", ".1.3.6.1.4.1.2021.10.1.3.2", `"abc"`, ".1.3.6.1.4.1.2021.10.1.3.3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	vals := map[string]float64{}
	for _, x := range byName(s, "v") {
		vals[x.Labels.Get("oid")] = x.Value
	}
	for oid, want := range map[string]float64{".1.3.6.1.2.1.1.3.0": 12345, ".1.3.6.1.4.1.2021.10.1.3.1": 0.15,
		".1.3.6.1.4.1.2021.4.5.0": -5, ".1.3.6.1.4.1.2021.4.6.0": 4294967295} {
		if got, ok := vals[oid]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", oid, got, ok, want)
		}
	}
	hc1 := one(t, s, "hc", "ifName", "lo")
	hc2 := one(t, s, "hc", "ifName", "eth0")
	if hc1.Count != 1<<63+12345 || !hc1.Exact || hc2.Count != 9007199254740993 || hc2.Labels.Get("ifIndex") != "2" {
		t.Errorf("Counter64 not exact: %+v %+v", hc1, hc2)
	}
	if c32 := one(t, s, "c32", "ifIndex", "1"); c32.Count != 4000000000 || c32.Labels.Get("ifName") != "lo" {
		t.Errorf("Counter32 %+v", c32)
	}
}

func TestTimedOutRequestCostsOnlyItself(t *testing.T) {
	const dead = ".1.3.6.1.4.1.2021.10.1.3.1"
	fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		for _, v := range req.Variables {
			if v.Name == dead {
				return nil // this request never gets an answer
			}
		}
		return fakeMIB.serve(req)
	}})
	// MaxOIDs 2: requests {uptime, dead}, {memTotal, memAvail}, {gauge}.
	c := mustNew(t, fakeConfig(fa.addr, ".1.3.6.1.2.1.1.3.0", dead, ".1.3.6.1.4.1.2021.4.5.0",
		".1.3.6.1.4.1.2021.4.6.0", ".1.3.6.1.2.1.2.2.1.10.2"))
	start := time.Now()
	s, err := c.Poll(t.Context(), start)
	var pe *PollError
	if !errors.As(err, &pe) || !pe.Timeouts() || pe.Problems != 1 {
		t.Fatalf("error %v, want one timeout", err)
	}
	if len(s) != 3 {
		t.Fatalf("%d samples, want the 3 of the answered requests", len(s))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("poll took %v", d)
	}
	// The poll's own deadline stops what is left, and says so.
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	_, err = c.Poll(ctx, time.Now())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("error %v, want deadline and unsent requests", err)
	}
}

func TestTooBigSplitsRequests(t *testing.T) {
	var biggest atomic.Int64
	fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		if req.PDUType == gosnmp.GetRequest && len(req.Variables) > 1 || req.MaxRepetitions > 3 {
			return &gosnmp.SnmpPacket{Error: gosnmp.TooBig, Variables: req.Variables}
		}
		if n := int64(len(req.Variables)); n > biggest.Load() {
			biggest.Store(n)
		}
		return fakeMIB.serve(req)
	}})
	cfg := fakeConfig(fa.addr, ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.4.1.2021.4.5.0", ".1.3.6.1.4.1.2021.4.6.0")
	cfg.MaxOIDs = 3
	cfg.Tables = []Table{{Name: "if", IndexLabel: "ifIndex", Columns: []Object{{OID: ".1.3.6.1.2.1.31.1.1.1.6", Metric: "hc", DS: counter}}}}
	c := mustNew(t, cfg)
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if len(byName(s, "v")) != 3 || len(byName(s, "hc")) != 2 {
		t.Fatalf("samples %v", s)
	}
}

func TestBadAgentsGiveErrorsNotPanics(t *testing.T) {
	cases := map[string]func([]byte) []byte{
		"random bytes":   func([]byte) []byte { return []byte("\x30\x82\xff\xff garbage that is not BER at all") },
		"empty sequence": func([]byte) []byte { return []byte{0x30, 0x00} },
		"truncated echo": func(b []byte) []byte { return b[:len(b)/2] },
		"huge length":    func([]byte) []byte { return []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01} },
		"wrong request id": func(b []byte) []byte {
			dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
			req, err := dec.SnmpDecodePacket(b)
			if err != nil {
				return nil
			}
			out, _ := (&gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse,
				RequestID: req.RequestID + 1, Variables: fakeMIB[:1]}).MarshalMsg()
			return out
		},
		"non-increasing walk": nil, // below
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			fa := &fakeAgent{raw: raw}
			if raw == nil {
				fa.reply = func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
					v := req.Variables[0]
					if v.Name == ".1.3.6.1.2.1.31.1.1.1.6" {
						v.Name += ".5"
					}
					return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{{Name: v.Name, Type: gosnmp.Counter64, Value: uint64(1)}}}
				}
			}
			startFake(t, fa)
			cfg := fakeConfig(fa.addr, ".1.3.6.1.2.1.1.3.0")
			cfg.Tables = []Table{{Name: "if", Columns: []Object{{OID: ".1.3.6.1.2.1.31.1.1.1.6", Metric: "hc", DS: counter}}}}
			c := mustNew(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := c.Poll(ctx, time.Now())
			if err == nil || !strings.Contains(err.Error(), "fake1") {
				t.Fatalf("error %v, want one naming the device", err)
			}
			if raw == nil && !strings.Contains(err.Error(), "do not increase") {
				t.Errorf("error %v, want the walk's order check", err)
			}
			if fa.requests.Load() == 0 {
				t.Error("agent never asked")
			}
		})
	}
}

func TestClosedPortFailsFast(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	cfg := defaultTemplate("gone", addr)
	cfg.Timeout, cfg.Retries = 200*time.Millisecond, 1
	c := mustNew(t, cfg)
	s, err := c.Poll(t.Context(), time.Now())
	if err == nil || len(s) != 0 || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("poll of a closed port: %d samples, error %v", len(s), err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cfg := Config{Device: "d", Address: "h:0", Version: "4", Timeout: -1, MaxOIDs: 200,
		Scalars: []Object{{OID: "1.3.x", Metric: "bad name"}},
		Tables:  []Table{{Name: "t", IndexLabel: "1x", LabelColumns: map[string]string{"n": ".1.3.6.1.99999999999"}}}}
	_, err := New(cfg)
	for _, want := range []string{`bad port "0"`, `version: `, `"4"`, "timeout", "max_oids", `scalars[0].oid`,
		`scalars[0].metric`, `tables[0].index_label`, `tables[0].columns`, `tables[0].label_columns.n`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrConfig) {
		t.Error("not ErrConfig")
	}
	v3 := Config{Device: "d", Address: "h", Version: "3", SecurityLevel: "authPriv", Username: "u",
		AuthProtocol: "SHA", AuthPassword: "short", PrivProtocol: "ROT13", PrivPassword: "longenough",
		Scalars: []Object{{OID: SysUpTimeOID, Metric: "up"}}}
	_, err = New(v3)
	for _, want := range []string{"auth_password", "priv_protocol", `"ROT13"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("v3 error %v lacks %q", err, want)
		}
	}
	ok := Config{Device: "d", Address: "h", Version: "2c", Community: "c", Scalars: []Object{{OID: "1.3.6.1.2.1.1.3.0", Metric: "up"}}}
	c, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != 161 || c.cfg.Timeout != DefaultTimeout || c.cfg.MaxOIDs != 10 || c.cfg.MaxRepetitions != 25 || c.plan.scalars[0].obj.OID != SysUpTimeOID {
		t.Errorf("defaults not applied: %+v", c.cfg)
	}
}

func TestRebootedTellsWrapsFromReboots(t *testing.T) {
	const minute = time.Minute
	for _, tc := range []struct {
		name      string
		prev, cur uint32
		elapsed   time.Duration
		want      bool
	}{
		{"normal", 1000, 7000, minute, false},
		{"reboot", 500000, 300, minute, true},
		{"32-bit wrap after 497 days", math.MaxUint32 - 3000, 3000, minute, false},
		{"reboot just before the wrap", math.MaxUint32 - 3000, 90000000, minute, true},
		{"unchanged", 5, 5, minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebooted(tc.prev, tc.cur, tc.elapsed); got != tc.want {
				t.Errorf("rebooted(%d, %d, %v) = %v, want %v", tc.prev, tc.cur, tc.elapsed, got, tc.want)
			}
		})
	}
}

func TestOIDCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{".1.3.6.1", ".1.3.6.1", 0}, {".1.3.6.1", ".1.3.6.1.0", -1}, {".1.3.6.2", ".1.3.6.10", -1},
		{".1.3.6.10.1", ".1.3.6.9.99", 1}, {"1.3", ".1.3", 0},
		{".1.3.6.1.2.1.2.2.1.10.2", ".1.3.6.1.2.1.2.2.1.10.10", -1}, {".1.3.6.1.2.1.2.2.1.16.1", ".1.3.6.1.2.1.2.2.1.10.9", 1},
		{".1.3.61", ".1.3.6.1", 1}, {".1.3.6", ".1.3.61", -1}, {".1.3.6.1", ".1.3.6", 1}, {".1.3.25.2", ".1.3.3.1", 1},
		{".1.3.6.0", ".1.3.6.0.0", -1}, {".1.3.4294967295", ".1.3.4294967294.7", 1},
	} {
		if got := oidCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("oidCompare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// A sparse table longer than one GETBULK, walked with fewer OIDs per
// request than it has columns: every row of every column arrives once.
func TestMultiColumnWalkOfSparseTable(t *testing.T) {
	var mib table
	const rows = 23
	for col := 1; col <= 3; col++ {
		for r := 1; r <= rows; r++ {
			if col == 2 && r%5 == 0 {
				continue // column 2 lacks every fifth row
			}
			name := ".1.3.6.1.4.1.9999.1.1." + strconv.Itoa(col) + "." + strconv.Itoa(r)
			if col == 1 {
				mib = append(mib, gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: "row" + strconv.Itoa(r)})
			} else {
				mib = append(mib, gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter64, Value: uint64(col*1000 + r)})
			}
		}
	}
	mib = append(mib, gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.9999.2.0", Type: gosnmp.Integer, Value: 1})
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			var reqs atomic.Int64
			fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
				reqs.Add(1)
				return mib.serve(req)
			}})
			cfg := fakeConfig(fa.addr)
			cfg.Version, cfg.MaxOIDs, cfg.MaxRepetitions = version, 2, 4
			cfg.Tables = []Table{{Name: "t", IndexLabel: "idx", LabelColumns: map[string]string{"name": ".1.3.6.1.4.1.9999.1.1.1"},
				Columns: []Object{
					{OID: ".1.3.6.1.4.1.9999.1.1.2", Metric: "b", DS: counter},
					{OID: ".1.3.6.1.4.1.9999.1.1.3", Metric: "c", DS: counter},
				}}}
			c := mustNew(t, cfg)
			for poll := 0; poll < 2; poll++ {
				s, err := c.Poll(t.Context(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if n := len(byName(s, "b")); n != rows-rows/5 {
					t.Errorf("%d samples of b, want %d", n, rows-rows/5)
				}
				if n := len(byName(s, "c")); n != rows {
					t.Errorf("%d samples of c, want %d", n, rows)
				}
				for _, x := range s {
					r, _ := strconv.Atoi(x.Labels.Get("idx"))
					col := map[string]int{"b": 2, "c": 3}[x.Labels.Get(metric.NameLabel)]
					if x.Count != uint64(col*1000+r) || x.Labels.Get("name") != "row"+strconv.Itoa(r) {
						t.Errorf("sample %v = %d", x.Labels, x.Count)
					}
				}
			}
			t.Logf("%d requests for two polls", reqs.Load())
		})
	}
}

// ifIndex renumbering (a reboot, a hot-swapped card) keeps the series of
// rows identified by ifName; duplicate or missing names fall back to ifIndex.
func TestIdentitySurvivesRenumbering(t *testing.T) {
	mk := func(rows map[int]string) table {
		var mib table
		for _, col := range []int{1, 6} {
			for idx := 1; idx <= 9; idx++ {
				name, ok := rows[idx]
				if !ok {
					continue
				}
				oid := ".1.3.6.1.2.1.31.1.1.1." + strconv.Itoa(col) + "." + strconv.Itoa(idx)
				if col == 1 {
					if name != "" {
						mib = append(mib, gosnmp.SnmpPDU{Name: oid, Type: gosnmp.OctetString, Value: name})
					}
				} else {
					mib = append(mib, gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Counter64, Value: uint64(idx)})
				}
			}
		}
		return mib
	}
	var mib atomic.Pointer[table]
	before := mk(map[int]string{1: "lo", 2: "eth0", 3: "eth1", 4: "dup", 5: "dup", 6: ""})
	after := mk(map[int]string{1: "lo", 7: "eth0", 8: "eth1", 4: "dup", 5: "dup", 6: ""})
	mib.Store(&before)
	fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return mib.Load().serve(req) }})
	cfg := fakeConfig(fa.addr)
	cfg.Tables = []Table{{Name: "if", IndexLabel: "ifIndex", Identity: []string{"ifName"},
		LabelColumns: map[string]string{"ifName": ".1.3.6.1.2.1.31.1.1.1.1"},
		Columns:      []Object{{OID: ".1.3.6.1.2.1.31.1.1.1.6", Metric: "in", DS: counter}}}}
	c := mustNew(t, cfg)
	series := func() map[string]bool {
		s, err := c.Poll(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, x := range s {
			out[x.Labels.String()] = true
		}
		return out
	}
	s1 := series()
	mib.Store(&after)
	s2 := series()
	for _, want := range []string{`in{device="fake1", ifName="lo"}`, `in{device="fake1", ifName="eth0"}`, `in{device="fake1", ifName="eth1"}`,
		`in{device="fake1", ifIndex="4", ifName="dup"}`, `in{device="fake1", ifIndex="6"}`} {
		if !s1[want] || !s2[want] {
			t.Errorf("series %s: before %v, after %v", want, s1[want], s2[want])
		}
	}
	if len(s1) != 6 || len(s2) != 6 {
		t.Errorf("series before %v after %v", s1, s2)
	}
}

func TestIdentityMustNameALabelColumn(t *testing.T) {
	cfg := fakeConfig("127.0.0.1:1", SysUpTimeOID)
	cfg.Tables = []Table{{Name: "if", IndexLabel: "ifIndex", Identity: []string{"ifAlias"},
		LabelColumns: map[string]string{"ifName": ".1.3.6.1.2.1.31.1.1.1.1"},
		Columns:      []Object{{OID: ".1.3.6.1.2.1.31.1.1.1.6", Metric: "in", DS: counter}}}}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), `tables[0].identity[0]`) {
		t.Fatalf("error %v", err)
	}
}

// Past the socket bound, v1/v2c collectors hold no socket between polls.
func TestSocketsClosedPastTheBound(t *testing.T) {
	fa := startFake(t, &fakeAgent{reply: fakeMIB.serve})
	c1 := mustNew(t, fakeConfig(fa.addr, SysUpTimeOID))
	c2 := mustNew(t, fakeConfig(fa.addr, SysUpTimeOID))
	base := OpenSockets()
	prev := SetMaxOpenSockets(base + 1)
	defer SetMaxOpenSockets(prev)
	for i := 0; i < 3; i++ {
		for _, c := range []*Collector{c1, c2} {
			if _, err := c.Poll(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// The second collector drops its client too, and with it gosnmp's
		// 64 KiB receive buffer.
		if c1.g == nil || c1.g.Conn == nil || c2.g != nil || OpenSockets() != base+1 {
			t.Fatalf("round %d: first open %v, second client kept %v, %d open", i, c1.g != nil && c1.g.Conn != nil, c2.g != nil, OpenSockets())
		}
	}
	c1.Close()
	if OpenSockets() != base {
		t.Fatalf("%d open after Close, want %d", OpenSockets(), base)
	}
}

// With ReindexEvery, label columns are read once, and again when rows
// change, the device reboots, or the period ends.
func TestReindexReadsLabelsOnlyWhenNeeded(t *testing.T) {
	const nameCol, inCol = ".1.3.6.1.2.1.31.1.1.1.1", ".1.3.6.1.2.1.31.1.1.1.6"
	type state struct {
		uptime uint32
		rows   map[int]string
	}
	var st atomic.Pointer[state]
	st.Store(&state{uptime: 100000, rows: map[int]string{1: "lo", 2: "eth0"}})
	var labelReads atomic.Int32
	fa := startFake(t, &fakeAgent{reply: func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		cur := st.Load()
		mib := table{{Name: SysUpTimeOID, Type: gosnmp.TimeTicks, Value: cur.uptime}}
		for _, col := range []string{nameCol, inCol} {
			for idx := 1; idx <= 9; idx++ {
				if name, ok := cur.rows[idx]; ok {
					if col == nameCol {
						mib = append(mib, gosnmp.SnmpPDU{Name: col + "." + strconv.Itoa(idx), Type: gosnmp.OctetString, Value: name})
					} else {
						mib = append(mib, gosnmp.SnmpPDU{Name: col + "." + strconv.Itoa(idx), Type: gosnmp.Counter64, Value: uint64(idx * 10)})
					}
				}
			}
		}
		for _, v := range req.Variables {
			if strings.HasPrefix(v.Name, nameCol) {
				labelReads.Add(1)
				break
			}
		}
		return mib.serve(req)
	}})
	cfg := fakeConfig(fa.addr)
	cfg.UptimeCheck = true
	cfg.Tables = []Table{{Name: "if", IndexLabel: "ifIndex", Identity: []string{"ifName"}, ReindexEvery: time.Hour,
		LabelColumns: map[string]string{"ifName": nameCol},
		Columns:      []Object{{OID: inCol, Metric: "in", DS: counter}}}}
	c := mustNew(t, cfg)
	t0 := time.Now()
	poll := func(at time.Time, wantReads int32, wantNames ...string) {
		t.Helper()
		labelReads.Store(0)
		s, err := c.Poll(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range s {
			names = append(names, x.Labels.Get("ifName"))
		}
		if got := labelReads.Load(); (got > 0) != (wantReads > 0) {
			t.Errorf("poll at +%v: %d requests read ifName, want reads=%v", at.Sub(t0), got, wantReads > 0)
		}
		if fmt.Sprint(names) != fmt.Sprint(wantNames) {
			t.Errorf("poll at +%v: names %v, want %v", at.Sub(t0), names, wantNames)
		}
	}
	poll(t0, 1, "lo", "eth0")                  // first poll reads the labels
	poll(t0.Add(time.Minute), 0, "lo", "eth0") // cached
	st.Store(&state{uptime: 106000, rows: map[int]string{1: "lo", 2: "eth0", 3: "eth1"}})
	poll(t0.Add(2*time.Minute), 1, "lo", "eth0", "eth1") // a new row: read again
	poll(t0.Add(3*time.Minute), 0, "lo", "eth0", "eth1")
	st.Store(&state{uptime: 50, rows: map[int]string{1: "lo", 2: "eth1", 3: "eth0"}}) // reboot, renamed rows
	poll(t0.Add(4*time.Minute), 1, "lo", "eth1", "eth0")
	st.Store(&state{uptime: 6050, rows: map[int]string{1: "lo", 2: "wan", 3: "eth0"}}) // renamed, same rows
	poll(t0.Add(5*time.Minute), 0, "lo", "eth1", "eth0")                               // not seen until...
	poll(t0.Add(65*time.Minute), 1, "lo", "wan", "eth0")                               // ...the period ends
}

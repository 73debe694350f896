package snmpsim

import (
	"bytes"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// newTestHandler builds a Sim without serving it and returns a handler
// and the socket of device 0.
func newTestHandler(t testing.TB, opts Options) (*handler, *socket) {
	t.Helper()
	if len(opts.Walks) == 0 {
		opts.Walks = []*Walk{loadCapture(t)}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return newHandler(s), s.socks[0]
}

// encodeRequest builds a request with gosnmp's encoder: an independent
// implementation of the wire format.
func encodeRequest(t testing.TB, v gosnmp.SnmpVersion, pdu gosnmp.PDUType, community string, reqID uint32, nonRep uint8, maxRep uint32, oids ...string) []byte {
	t.Helper()
	p := &gosnmp.SnmpPacket{Version: v, Community: community, PDUType: pdu, RequestID: reqID,
		NonRepeaters: nonRep, MaxRepetitions: maxRep}
	for _, o := range oids {
		p.Variables = append(p.Variables, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
	}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeReply(t testing.TB, b []byte) *gosnmp.SnmpPacket {
	t.Helper()
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	p, err := g.SnmpDecodePacket(bytes.Clone(b))
	if err != nil {
		t.Fatalf("gosnmp cannot decode the reply: %v (% x)", err, b)
	}
	return p
}

// TestHandlerDecodedByGosnmp checks replies with gosnmp's decoder: request
// ids of every size, value types, counters, exceptions.
func TestHandlerDecodedByGosnmp(t *testing.T) {
	w := loadCapture(t)
	h, sk := newTestHandler(t, Options{Devices: 1, Walks: []*Walk{w}})
	capt := byOID(w.Values())
	oids := []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.2.0", sysUpTime0, ".1.3.6.1.2.1.2.2.1.6.2",
		ifSpeed1, ifInOctets4, ifHCInOcts4, ".1.3.6.1.4.1.2021.10.1.6.1", ".1.3.6.1.4.1.2021.4.5.0", ".1.3.6.1.9"}
	for _, id := range []uint32{0, 1, 127, 128, 0x7fff, 0x8000, 0x7fffffff} {
		resp, _, nvb, st := h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, "public", id, 0, 0, oids...), sk)
		if st != statusReply || nvb != len(oids) {
			t.Fatalf("request id %d: status %d, %d varbinds", id, st, nvb)
		}
		p := decodeReply(t, resp)
		if p.RequestID != id || p.PDUType != gosnmp.GetResponse || p.Error != 0 || p.Community != "public" {
			t.Fatalf("request id %d: reply id %d type %v error %v community %q", id, p.RequestID, p.PDUType, p.Error, p.Community)
		}
		if len(p.Variables) != len(oids) {
			t.Fatalf("%d varbinds, want %d", len(p.Variables), len(oids))
		}
		wantTypes := []gosnmp.Asn1BER{gosnmp.OctetString, gosnmp.ObjectIdentifier, gosnmp.TimeTicks, gosnmp.OctetString,
			gosnmp.Gauge32, gosnmp.Counter32, gosnmp.Counter64, gosnmp.OpaqueFloat, gosnmp.Integer, gosnmp.NoSuchObject}
		for i, v := range p.Variables {
			if v.Name != oids[i] || v.Type != wantTypes[i] {
				t.Errorf("varbind %d: %s type %v, want %s %v", i, v.Name, v.Type, oids[i], wantTypes[i])
			}
		}
		if got := string(p.Variables[0].Value.([]byte)); got != capt[oids[0]].Text {
			t.Errorf("sysDescr %q, capture %q", got, capt[oids[0]].Text)
		}
		if got := p.Variables[1].Value.(string); got != capt[oids[1]].Text {
			t.Errorf("sysObjectID %q, capture %q", got, capt[oids[1]].Text)
		}
		want, err := strconv.ParseFloat(strings.TrimPrefix(capt[oids[7]].Text, "Float: "), 32)
		if err != nil {
			t.Fatalf("capture's laLoadFloat.1 %q: %v", capt[oids[7]].Text, err)
		}
		if f, ok := p.Variables[7].Value.(float32); !ok || math.Abs(float64(f)-want) > 1e-5 {
			t.Errorf("laLoadFloat.1 = %v (%T), want %v", p.Variables[7].Value, p.Variables[7].Value, want)
		}
	}
}

// TestHandlerBulkLimit checks that GETBULK replies never exceed
// MaxMsgSize and still make progress, and that a GET too big for it gets
// tooBig.
func TestHandlerBulkLimit(t *testing.T) {
	for _, max := range []int{484, 1000, 1472, 8192} {
		h, sk := newTestHandler(t, Options{Devices: 1, MaxMsgSize: max})
		resp, _, nvb, st := h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 77, 0, 1000, ".1.3"), sk)
		if st != statusReply || len(resp) > max || nvb == 0 {
			t.Fatalf("max %d: status %d, %d bytes, %d varbinds", max, st, len(resp), nvb)
		}
		p := decodeReply(t, resp)
		if len(p.Variables) != nvb || p.Error != 0 {
			t.Errorf("max %d: %d varbinds decoded, %d counted, error %v", max, len(p.Variables), nvb, p.Error)
		}
	}
	h, sk := newTestHandler(t, Options{Devices: 1, MaxMsgSize: 484})
	var oids []string
	for i := 0; i < 30; i++ {
		oids = append(oids, ".1.3.6.1.2.1.1.9.1.3.1") // 30 long strings
	}
	resp, _, _, _ := h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, "public", 5, 0, 0, oids...), sk)
	if p := decodeReply(t, resp); p.Error != gosnmp.TooBig || len(p.Variables) != 0 || len(resp) > 484 {
		t.Errorf("oversized GET: error %v, %d varbinds, %d bytes; want tooBig, none", p.Error, len(p.Variables), len(resp))
	}
}

// TestHandlerRejects checks what gets no reply or an error reply.
func TestHandlerRejects(t *testing.T) {
	h, sk := newTestHandler(t, Options{Devices: 2, PerPort: 2, Dead: 0.5, Seed: 1})
	var live, dead string
	for _, d := range sk.sim.Devices() {
		if d.Dead {
			dead = d.Community
		} else {
			live = d.Community
		}
	}
	good := encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, live, 1, 0, 0, sysUpTime0)
	cases := []struct {
		name string
		pkt  []byte
		want status
	}{
		{"live device", good, statusReply},
		{"dead device", encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, dead, 1, 0, 0, sysUpTime0), statusDrop},
		{"unknown community", encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, "public", 1, 0, 0, sysUpTime0), statusDrop},
		{"v1 getbulk", encodeRequest(t, gosnmp.Version1, gosnmp.GetBulkRequest, live, 1, 0, 5, sysUpTime0), statusBad},
		{"empty", nil, statusBad},
		{"truncated", good[:len(good)-3], statusBad},
		{"garbage", []byte("GET / HTTP/1.0\r\n\r\n"), statusBad},
		{"huge request id", hugeRequestID(t, good), statusBad},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, st := h.handle(tc.pkt, sk); st != tc.want {
				t.Errorf("status %d, want %d", st, tc.want)
			}
		})
	}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: live, PDUType: gosnmp.SetRequest, RequestID: 9,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "x"}}}
	set, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _, st := h.handle(set, sk)
	if st != statusReply {
		t.Fatalf("SET: status %d", st)
	}
	if r := decodeReply(t, resp); r.Error != gosnmp.NoAccess || r.ErrorIndex != 1 || len(r.Variables) != 1 {
		t.Errorf("SET: error %v index %d, %d varbinds; want noAccess at 1", r.Error, r.ErrorIndex, len(r.Variables))
	}
}

// TestBERIntegers round-trips integer encodings at their size boundaries.
func TestBERIntegers(t *testing.T) {
	for _, x := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, 32767, -32768, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b := appendInt(nil, tagInteger, x)
		tag, v, rest, err := readTLV(b)
		if err != nil || tag != tagInteger || len(rest) != 0 {
			t.Fatalf("%d: % x does not read back", x, b)
		}
		if got, err := readInt(v); err != nil || got != x {
			t.Errorf("%d: read back %d (% x)", x, got, b)
		}
		if len(v) > 1 && ((v[0] == 0 && v[1]&0x80 == 0) || (v[0] == 0xff && v[1]&0x80 != 0)) {
			t.Errorf("%d: % x is not minimal", x, b)
		}
	}
	for _, x := range []uint64{0, 127, 128, 255, 256, math.MaxUint32, 1 << 32, math.MaxUint64} {
		b := appendUint(nil, tagCounter64, x)
		_, v, _, _ := readTLV(b)
		var got uint64
		for _, c := range v {
			got = got<<8 | uint64(c)
		}
		if got != x || v[0]&0x80 != 0 || (len(v) > 1 && v[0] == 0 && v[1]&0x80 == 0) {
			t.Errorf("%d: % x", x, b)
		}
	}
	for _, oid := range []string{".1.3.6.1.2.1.1.3.0", ".0.0", ".2.999.4294967295", ".1.3.6.1.4.1.2021.128.16384"} {
		arcs, err := parseOID(oid)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _, _ := readTLV(appendOIDTLV(nil, arcs))
		back, err := decodeOID(nil, body)
		if err != nil || oidString(back) != oid {
			t.Errorf("%s: read back %s (%v)", oid, oidString(back), err)
		}
	}
}

// FuzzHandle feeds arbitrary datagrams to the request decoder: it must
// never panic, and any reply must be a packet gosnmp can decode.
func FuzzHandle(f *testing.F) {
	f.Add(encodeRequest(f, gosnmp.Version2c, gosnmp.GetRequest, "public", 1, 0, 0, sysUpTime0, ".1.3.6.1.9"))
	f.Add(encodeRequest(f, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 2, 1, 20, ".1.3", ".1.3.6.1.2.1.2"))
	f.Add(encodeRequest(f, gosnmp.Version1, gosnmp.GetNextRequest, "public", 3, 0, 0, ".1.3.6.1.4.1.2021.11.67.0"))
	h, sk := newTestHandler(f, Options{Devices: 1})
	check := newHandler(h.sim)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		resp, _, _, st := h.handle(pkt, sk)
		if st != statusReply {
			return
		}
		if len(resp) > MaxUDPPayload {
			t.Fatalf("reply of %d bytes", len(resp))
		}
		r, ok := check.parse(resp)
		if !ok || r.pdu != pduResponse {
			t.Fatalf("reply to % x does not parse: % x", pkt, resp)
		}
		if r.a != 0 {
			return // error replies echo the request's varbinds, whatever they hold
		}
		g := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
		if _, err := g.SnmpDecodePacket(bytes.Clone(resp)); err != nil {
			t.Fatalf("reply to % x does not decode: %v", pkt, err)
		}
	})
}

// ---- benchmarks ----

// benchRequests are a poller's typical requests against the capture.
func benchRequests(b *testing.B) map[string][]byte {
	get10 := []string{sysUpTime0, ".1.3.6.1.2.1.2.2.1.10.1", ".1.3.6.1.2.1.2.2.1.16.1", ".1.3.6.1.2.1.2.2.1.10.2",
		".1.3.6.1.2.1.2.2.1.16.2", ".1.3.6.1.2.1.31.1.1.1.6.1", ".1.3.6.1.2.1.31.1.1.1.10.1",
		".1.3.6.1.2.1.31.1.1.1.6.2", ".1.3.6.1.2.1.31.1.1.1.10.2", ".1.3.6.1.2.1.1.5.0"}
	return map[string][]byte{
		"get10":     encodeRequest(b, gosnmp.Version2c, gosnmp.GetRequest, "public", 12345, 0, 0, get10...),
		"getnext1":  encodeRequest(b, gosnmp.Version2c, gosnmp.GetNextRequest, "public", 12345, 0, 0, ".1.3.6.1.2.1.2.2.1.10"),
		"bulk50":    encodeRequest(b, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 12345, 0, 50, ".1.3.6.1.2.1.2.2"),
		"bulk25x2":  encodeRequest(b, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 12345, 0, 25, ifHCInOctCol, ".1.3.6.1.2.1.31.1.1.1.10"),
		"bulkwhole": encodeRequest(b, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 12345, 0, 300, ".1.3"),
	}
}

// BenchmarkHandle measures decoding a request and encoding its reply, the
// simulator's whole per-request work short of the socket calls.
func BenchmarkHandle(b *testing.B) {
	h, sk := newTestHandler(b, Options{Devices: 1})
	for _, name := range []string{"get10", "getnext1", "bulk50", "bulk25x2", "bulkwhole"} {
		req := benchRequests(b)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			vbs, ops := 0, 0
			cpu0 := cpuTime()
			for b.Loop() {
				_, _, n, st := h.handle(req, sk)
				if st != statusReply {
					b.Fatal("no reply")
				}
				vbs += n
				ops++
			}
			// CPU time, unlike wall time, holds up on a shared machine.
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(ops), "cpu-ns/op")
			b.ReportMetric(float64(vbs)/cpu.Seconds(), "varbinds/cpu-s")
		})
	}
}

// BenchmarkGosnmpDecode is the cost of decoding the same requests with
// gosnmp, for comparison with BenchmarkHandle (which also answers them).
func BenchmarkGosnmpDecode(b *testing.B) {
	for _, name := range []string{"get10", "bulk50"} {
		req := benchRequests(b)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			g := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
			buf := make([]byte, len(req))
			for b.Loop() {
				copy(buf, req)
				if _, err := g.SnmpDecodePacket(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUDP measures requests per second over loopback: 8 clients,
// each with its own socket, send GETs of 10 OIDs to devices spread over 4
// ports of 250 devices each, one request in flight per client.
func BenchmarkUDP(b *testing.B) {
	for _, name := range []string{"get10", "bulk50"} {
		b.Run(name, func(b *testing.B) {
			s := startSim(b, Options{Devices: 1000, PerPort: 250})
			devs := s.Devices()
			const clients = 8
			reqs := make([][]byte, len(devs))
			for i, d := range devs {
				switch name {
				case "get10":
					reqs[i] = encodeRequest(b, gosnmp.Version2c, gosnmp.GetRequest, d.Community, uint32(i), 0, 0,
						sysUpTime0, ifInOctets4, ifHCInOcts4, ifSpeed1, ".1.3.6.1.2.1.2.2.1.10.1",
						".1.3.6.1.2.1.2.2.1.16.1", ".1.3.6.1.2.1.31.1.1.1.6.1", ".1.3.6.1.2.1.31.1.1.1.10.1",
						".1.3.6.1.2.1.31.1.1.1.6.2", ".1.3.6.1.2.1.1.5.0")
				default:
					reqs[i] = encodeRequest(b, gosnmp.Version2c, gosnmp.GetBulkRequest, d.Community, uint32(i), 0, 50, ".1.3.6.1.2.1.2.2")
				}
			}
			b.ReportAllocs()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var timeouts int
			next := make(chan int, 1024)
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					conns := map[string]*net.UDPConn{}
					defer func() {
						for _, c := range conns {
							c.Close()
						}
					}()
					buf := make([]byte, 65536)
					for i := range next {
						d := devs[i%len(devs)]
						c := conns[d.Addr]
						if c == nil {
							ra, _ := net.ResolveUDPAddr("udp", d.Addr)
							var err error
							if c, err = net.DialUDP("udp", nil, ra); err != nil {
								b.Error(err)
								return
							}
							conns[d.Addr] = c
						}
						_, _ = c.Write(reqs[i%len(reqs)])
						_ = c.SetReadDeadline(time.Now().Add(time.Second))
						if _, err := c.Read(buf); err != nil {
							mu.Lock()
							timeouts++
							mu.Unlock()
						}
					}
				}()
			}
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				next <- i
				i++
			}
			close(next)
			wg.Wait()
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "requests/s")
			// Clients and simulator share the process: this is both sides.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(i), "cpu-ns/req")
			if timeouts > 0 {
				b.ReportMetric(float64(timeouts), "timeouts")
			}
		})
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hugeRequestID rewrites a request's request-id as a 600-byte INTEGER,
// more than the room the reply header is built in.
func hugeRequestID(t *testing.T, req []byte) []byte {
	t.Helper()
	_, msg, _, _ := readTLV(req)
	_, _, afterVer, _ := readTLV(msg)
	_, _, afterComm, _ := readTLV(afterVer)
	pduTag, pdu, _, _ := readTLV(afterComm)
	_, _, afterID, _ := readTLV(pdu)
	id := append([]byte{tagInteger, 0x82, 0x02, 0x58}, make([]byte, 600)...)
	newPDU := appendLen([]byte{pduTag}, len(id)+len(afterID))
	newPDU = append(append(newPDU, id...), afterID...)
	head := msg[:len(msg)-len(afterComm)]
	out := appendLen([]byte{tagSequence}, len(head)+len(newPDU))
	return append(append(out, head...), newPDU...)
}

// TestHandlerMaxVarbinds checks a device limited to 5 varbinds per
// request: a GET of 6 gets tooBig, of 5 an answer, and GETBULK replies
// stop at 5.
func TestHandlerMaxVarbinds(t *testing.T) {
	h, sk := newTestHandler(t, Options{Devices: 1, MaxVarbinds: 5})
	oids := []string{sysUpTime0, ifSpeed1, ifInOctets4, ifHCInOcts4, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.6.0"}
	resp, _, _, _ := h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, "public", 1, 0, 0, oids...), sk)
	if p := decodeReply(t, resp); p.Error != gosnmp.TooBig || len(p.Variables) != 0 {
		t.Errorf("GET of 6: error %v with %d varbinds, want tooBig", p.Error, len(p.Variables))
	}
	resp, _, _, _ = h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetRequest, "public", 2, 0, 0, oids[:5]...), sk)
	if p := decodeReply(t, resp); p.Error != 0 || len(p.Variables) != 5 {
		t.Errorf("GET of 5: error %v with %d varbinds", p.Error, len(p.Variables))
	}
	resp, _, nvb, _ := h.handle(encodeRequest(t, gosnmp.Version2c, gosnmp.GetBulkRequest, "public", 3, 1, 50, ".1.3", ".1.3.6.1.2.1.2"), sk)
	if p := decodeReply(t, resp); p.Error != 0 || len(p.Variables) != 5 || nvb != 5 {
		t.Errorf("GETBULK: error %v with %d varbinds (%d counted), want 5", p.Error, len(p.Variables), nvb)
	}
}

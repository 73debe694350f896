package snmp

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// emptyIdleClients closes the idle clients earlier polls left, so that
// the next poll past the bound takes the client this test leaves.
func emptyIdleClients(tb testing.TB) {
	tb.Helper()
	for {
		select {
		case g := <-idleClients:
			if g.Conn != nil {
				g.Conn.Close()
			}
		default:
			return
		}
	}
}

// pastTheBound makes every poll of the test give its client back.
func pastTheBound(t *testing.T) {
	emptyIdleClients(t)
	prev := SetMaxOpenSockets(0)
	t.Cleanup(func() { SetMaxOpenSockets(prev); emptyIdleClients(t) })
}

// Past the bound a poll takes an idle client with its socket and points
// the socket at its own device: the next device's poll goes out from the
// same local port, and what the previous device sends afterwards does not
// reach it. Here the previous device answers too late, with request ID 0,
// which gosnmp takes for an answer to any request.
func TestIdleSocketServesTheNextDeviceOnly(t *testing.T) {
	pastTheBound(t)
	var answered atomic.Bool
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	late := startFake(t, &fakeAgent{raw: func(b []byte) []byte {
		req, err := dec.SnmpDecodePacket(b)
		if err != nil {
			return nil
		}
		resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: 0,
			Variables: []gosnmp.SnmpPDU{{Name: SysUpTimeOID, Type: gosnmp.TimeTicks, Value: uint32(999)}}}
		out, err := resp.MarshalMsg()
		if err != nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond) // past the poll's timeout
		answered.Store(true)
		return out
	}})
	good := startFake(t, &fakeAgent{reply: fakeMIB.serve})

	cfgA := fakeConfig(late.addr, SysUpTimeOID)
	cfgA.Device, cfgA.Timeout = "late", 100*time.Millisecond
	a := mustNew(t, cfgA)
	if _, err := a.Poll(t.Context(), time.Now()); err == nil {
		t.Fatal("poll of the late device did not time out")
	}
	for i := 0; i < 100 && !answered.Load(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the late answer is queued on the idle socket now
	if !answered.Load() {
		t.Fatal("the late device never answered")
	}

	b := mustNew(t, fakeConfig(good.addr, SysUpTimeOID))
	s, err := b.Poll(t.Context(), time.Now())
	if err != nil || len(s) != 1 {
		t.Fatalf("poll of the next device: %v, %v", s, err)
	}
	if s[0].Value != 12345 {
		t.Fatalf("next device's sysUpTime %v, want 12345 (999 is the late answer of the device before)", s[0].Value)
	}
	if pa, pb := late.peer.Load(), good.peer.Load(); pa != pb {
		t.Errorf("requests came from %v and %v: the idle socket was not reused", pa, pb)
	}
	if n := OpenSockets(); n != 0 {
		t.Errorf("%d collectors hold a socket after their polls, want 0", n)
	}
}

// A closed port answers with ICMP port unreachable, which the kernel keeps
// as a pending error of the socket: the next device's poll through that
// socket must not fail with it.
func TestIdleSocketForgetsTheLastDevicesError(t *testing.T) {
	pastTheBound(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	good := startFake(t, &fakeAgent{reply: fakeMIB.serve})
	cfg := fakeConfig(closed, SysUpTimeOID)
	cfg.Device = "gone"
	if _, err := mustNew(t, cfg).Poll(t.Context(), time.Now()); err == nil {
		t.Fatal("poll of a closed port succeeded")
	}
	// Leave an error pending on the idle socket: one more datagram to the
	// closed port, and time for the ICMP answer.
	var g *gosnmp.GoSNMP
	select {
	case g = <-idleClients:
	default:
		t.Fatal("no idle client after the poll")
	}
	if g.Conn == nil {
		t.Fatal("the idle client has no socket")
	}
	if _, err := g.Conn.Write([]byte{0x30, 0x00}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	idleClients <- g

	b := mustNew(t, fakeConfig(good.addr, SysUpTimeOID))
	for i := range 2 {
		s, err := b.Poll(t.Context(), time.Now())
		if err != nil || len(s) != 1 || s[0].Value != 12345 {
			t.Fatalf("poll %d of the next device: %v, %v", i+1, s, err)
		}
	}
}

// An error of a socket the poll took over names the poll's own device.
func TestIdleSocketErrorsNameTheDevice(t *testing.T) {
	pastTheBound(t)
	good := startFake(t, &fakeAgent{reply: fakeMIB.serve})
	if _, err := mustNew(t, fakeConfig(good.addr, SysUpTimeOID)).Poll(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	cfg := fakeConfig(closed, SysUpTimeOID)
	cfg.Device = "gone"
	_, err = mustNew(t, cfg).Poll(t.Context(), time.Now())
	if err == nil || !strings.Contains(err.Error(), closed) || strings.Contains(err.Error(), good.addr) {
		t.Fatalf("error %v: want one naming %s and not %s", err, closed, good.addr)
	}
}

package snmp

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
)

const (
	ifNameCol     = ".1.3.6.1.2.1.31.1.1.1.1"
	hrStorDescCol = ".1.3.6.1.2.1.25.2.3.1.3"
	noSuchCol     = ".1.3.6.1.4.1.99999.1.1.1"
	loadScalar    = ".1.3.6.1.4.1.2021.10.1.3.1"
	noSuchScalar  = ".1.3.6.1.4.1.99999.1.0"
)

func discoverReq() DiscoverRequest {
	return DiscoverRequest{
		Scalars: []string{loadScalar, noSuchScalar, "1.3.6.1.4.1.2021.4.5.0"},
		Columns: []string{ifNameCol, hrStorDescCol, noSuchCol},
	}
}

func rowValues(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Value)
	}
	return out
}

func TestDiscoverNetSNMP(t *testing.T) {
	a := snmpdtest.Start(t)
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := Discover(ctx, Config{Address: a.Addr, Version: version, Community: snmpdtest.Community, Timeout: 2 * time.Second}, discoverReq())
			if err != nil {
				t.Fatalf("%v\nagent log:\n%s", err, a.Log())
			}
			if d.SysName != "saguaro-test-agent" || !strings.HasPrefix(d.SysObjectID, ".1.3.6.1.4.1.8072.") || Vendor(d.SysObjectID) != "net-snmp" {
				t.Errorf("system: name %q oid %q", d.SysName, d.SysObjectID)
			}
			if !strings.Contains(d.SysDescr, "Linux") || d.SysUpTime <= 0 {
				t.Errorf("sysDescr %q uptime %v", d.SysDescr, d.SysUpTime)
			}
			if !d.Scalars[loadScalar] || !d.Scalars[".1.3.6.1.4.1.2021.4.5.0"] || d.Scalars[noSuchScalar] {
				t.Errorf("scalars %v", d.Scalars)
			}
			ifs := rowValues(d.Columns[ifNameCol])
			if !slices.Contains(ifs, "lo") {
				t.Errorf("ifName rows %v", ifs)
			}
			// Interfaces match the host's own: net-snmp reads the kernel's.
			host, _ := net.Interfaces()
			if len(ifs) != len(host) {
				t.Errorf("agent has %d interfaces %v, host %d", len(ifs), ifs, len(host))
			}
			if st := rowValues(d.Columns[hrStorDescCol]); !slices.Contains(st, "/") || !slices.Contains(st, "Physical memory") {
				t.Errorf("hrStorage rows %v", st)
			}
			if rows := d.Columns[noSuchCol]; len(rows) != 0 {
				t.Errorf("missing column has rows %v", rows)
			}
			if len(d.Problems) != 0 {
				t.Errorf("problems: %v", d.Problems)
			}
		})
	}
	t.Run("wrong community", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := Discover(ctx, Config{Address: a.Addr, Version: "2c", Community: "nope", Timeout: 300 * time.Millisecond}, discoverReq())
		if !errors.Is(err, ErrNoAnswer) {
			t.Fatalf("want ErrNoAnswer, got %v", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v", el)
		}
	})
}

// The simulator replays a net-snmp capture; discovery sees its rows.
func TestDiscoverSimulator(t *testing.T) {
	f, err := os.Open("testdata/walks/net-snmp-host-resources.walk")
	if err != nil {
		t.Fatal(err)
	}
	w, err := snmpsim.ParseWalk(f, "host-resources")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 2, Walks: []*snmpsim.Walk{w}, Seed: 1, MaxVarbinds: 8})
	dev := sim.Device(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Discover(ctx, Config{Address: dev.Addr, Version: "2c", Community: dev.Community, Timeout: time.Second, MaxRepetitions: 50}, discoverReq())
	if err != nil {
		t.Fatal(err)
	}
	st := rowValues(d.Columns[hrStorDescCol])
	if !slices.Contains(st, "/") || !slices.Contains(st, "Swap space") {
		t.Errorf("hrStorage rows %v", st)
	}
	if len(d.Problems) != 0 {
		t.Errorf("problems: %v", d.Problems)
	}
	sim.SetDead(1, true)
	if _, err := Discover(ctx, Config{Address: dev.Addr, Version: "2c", Community: dev.Community, Timeout: 200 * time.Millisecond}, discoverReq()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("dead device: %v", err)
	}
}

func TestVendor(t *testing.T) {
	for oid, want := range map[string]string{
		".1.3.6.1.4.1.8072.3.2.10": "net-snmp",
		"1.3.6.1.4.1.9.1.1208":     "Cisco",
		".1.3.6.1.4.1.424242.1":    "",
		".1.3.6.1.2.1.1":           "",
		"":                         "",
	} {
		if got := Vendor(oid); got != want {
			t.Errorf("Vendor(%q) = %q, want %q", oid, got, want)
		}
	}
}

func TestDiscoverV3(t *testing.T) {
	a := snmpdtest.Start(t, v3Conf()...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := Config{Address: a.Addr, Version: "3", SecurityLevel: "authPriv", Username: "sha256aes192",
		AuthProtocol: "SHA256", AuthPassword: v3AuthPass, PrivProtocol: "AES192", PrivPassword: v3PrivPass, Timeout: 2 * time.Second}
	d, err := Discover(ctx, cfg, discoverReq())
	if err != nil {
		t.Fatalf("%v\nagent log:\n%s", err, a.Log())
	}
	if d.SysName != "saguaro-test-agent" || !slices.Contains(rowValues(d.Columns[ifNameCol]), "lo") {
		t.Errorf("v3 discovery: %+v", d)
	}
	cfg.PrivPassword = "wrong-pass-789"
	cfg.Timeout = 300 * time.Millisecond
	if _, err := Discover(ctx, cfg, discoverReq()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("wrong privacy pass phrase: %v", err)
	}
}

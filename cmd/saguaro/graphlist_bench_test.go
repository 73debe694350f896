package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/storage"
)

// benchService starts a service (storage, scheduler not running) on a
// configuration file of n net-snmp-host devices named r00000..., each at
// its own agent address.
func benchService(b *testing.B, n int) *service {
	b.Helper()
	dir := b.TempDir()
	var cfg strings.Builder
	cfg.WriteString("devices:\n")
	for d := range n {
		fmt.Fprintf(&cfg, "  - {name: r%05d, template: net-snmp-host, snmp: {address: \"127.0.0.%d:%d\", community: c}}\n", d, 1+d%250, 1024+d)
	}
	file := filepath.Join(dir, "saguaro.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	c, set, err := loadAll(file)
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(storage.DefaultOptions(filepath.Join(dir, "data")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	sched := poller.New(nil, nil, nil)
	b.Cleanup(func() { sched.Set(nil) })
	svc := &service{file: file, listen: c.Listen, dataDir: c.DataDir, db: db, sched: sched, log: newLogger(io.Discard, "error")}
	if err := svc.apply(c, set); err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkGraphList lists the graphs of 2,000 net-snmp-host devices
// with 4 interfaces and 2 file systems each (18 graphs a device): "make"
// builds the list from the catalogue, as after a change of configuration
// or of the series; "cached" is every other page and image.
func BenchmarkGraphList(b *testing.B) {
	const devices = 2000
	svc := benchService(b, devices)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	ds := metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()}
	for d := range devices {
		var batch []metric.Sample
		dev := fmt.Sprintf("r%05d", d)
		for _, ifn := range []string{"lo", "eth0", "eth1", "eth2"} {
			for _, m := range []string{"if_in_octets", "if_out_octets", "if_in_errors", "if_out_errors", "if_in_discards", "if_out_discards"} {
				batch = append(batch, metric.Sample{Labels: metric.New(metric.NameLabel, m, metric.DeviceLabel, dev, "ifName", ifn),
					DS: ds, Time: at, Value: 1, Count: 1, Exact: true})
			}
		}
		for _, fs := range []string{"/", "/var"} {
			for _, m := range []string{"hr_storage_unit_bytes", "hr_storage_size_units", "hr_storage_used_units"} {
				batch = append(batch, metric.Sample{Labels: metric.New(metric.NameLabel, m, metric.DeviceLabel, dev, "hrStorageDescr", fs),
					DS: metric.Gauges(2 * time.Minute), Time: at, Value: 1})
			}
		}
		if err := svc.db.Append(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"make", "cached"} {
		b.Run(mode, func(b *testing.B) {
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				if mode == "make" {
					svc.graphList.Store(nil)
				}
				list, err := svc.List(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				n = len(list)
			}
			b.ReportMetric(float64(n), "graphs")
		})
	}
}

// BenchmarkApply20k applies a configuration of 20,000 net-snmp-host
// devices to a running service again, as a device added through the API
// does (apply) and as a reload does (the file and templates read again):
// unchanged devices keep their targets and collectors.
func BenchmarkApply20k(b *testing.B) {
	svc := benchService(b, 20000)
	b.Run("apply", func(b *testing.B) {
		// As a device added or changed through the API: the file and
		// templates as loaded, every device as before.
		st := svc.state.Load()
		b.ReportAllocs()
		for b.Loop() {
			if err := svc.apply(st.file, st.set); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := svc.Reload(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAPIDeviceChange adds and deletes one device through the
// service, as POST and DELETE /api/v1/devices do, beside 20,000 devices
// stored before through the API.
func BenchmarkAPIDeviceChange(b *testing.B) {
	svc := benchService(b, 0)
	users, err := auth.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { users.Close() })
	for d := range 20000 {
		cfg := fmt.Sprintf(`{"name":"api%05d","template":"net-snmp-host","snmp":{"address":"127.0.1.%d:%d","community":"c"}}`, d, 1+d%250, 1024+d)
		if err := users.AddDevice(fmt.Sprintf("api%05d", d), []byte(cfg), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	svc.users = users
	st := svc.state.Load()
	if err := svc.apply(st.file, st.set); err != nil {
		b.Fatal(err)
	}
	if n := len(svc.state.Load().cfg.Devices); n != 20000 {
		b.Fatalf("%d devices merged, want 20000", n)
	}
	dev := map[string]any{"name": "extra", "template": "net-snmp-host", "snmp": map[string]any{"address": "127.0.2.1:161", "community": "c"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.AddDevice(b.Context(), dev, "bench"); err != nil {
			b.Fatal(err)
		}
		if err := svc.DeleteDevice(b.Context(), "extra"); err != nil {
			b.Fatal(err)
		}
	}
}

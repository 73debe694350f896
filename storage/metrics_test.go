package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsRegistered opens a store with a registry: every archive's
// engine metrics and storage's own register without clashes, and they
// report what was appended.
func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := DefaultOptions(t.TempDir())
	o.Registerer = reg
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustAppend(t, db, gauge("g", "d", base, 1), gauge("g", "d", base.Add(time.Minute), 2))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "saguaro_storage_") && len(mf.GetMetric()) > 0 {
			m := mf.GetMetric()[0]
			found[mf.GetName()] = strings.TrimSpace(m.String())
		}
	}
	if !strings.Contains(found["saguaro_storage_samples_appended_total"], "value:2") {
		t.Fatalf("samples appended: %q", found["saguaro_storage_samples_appended_total"])
	}
	if !strings.Contains(found["saguaro_storage_series"], "value:1") {
		t.Fatalf("series: %q", found["saguaro_storage_series"])
	}
	archives := 0
	for _, mf := range mfs {
		if mf.GetName() == "prometheus_tsdb_head_series" {
			archives = len(mf.GetMetric())
		}
	}
	if archives != 5 {
		t.Fatalf("tsdb head series metric for %d archives, want 5", archives)
	}
}

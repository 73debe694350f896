package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage"
)

// Configured tiers replace the defaults, and the engine opens with them.
func TestStorageOptionsFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("data_dir: " + dir + "\nstorage:\n  step: 30s\n  raw_retention: 7d\n  tiers:\n    - {step: 30s, retention: 2d, xff: 0.5}\n    - {step: 10m, retention: 1y, xff: 0.5, cfs: [AVERAGE, MIN, MAX]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := storageOptions(cfg)
	if len(o.Tiers) != 2 || o.Tiers[1].Step != 10*time.Minute || o.Step != 30*time.Second || o.RawRetention != 7*24*time.Hour {
		t.Fatalf("options %+v", o)
	}
	if cfs := o.Tiers[1].CFs; len(cfs) != 3 || cfs[1] != metric.Min || o.Tiers[0].CFs != nil {
		t.Fatalf("tier CFs %v and %v", o.Tiers[0].CFs, cfs)
	}
	o.Dir = filepath.Join(dir, "db")
	db, err := storage.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Without tiers in the file the defaults stay.
	cfg, err = config.Parse([]byte("data_dir: " + dir + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(storageOptions(cfg).Tiers), len(storage.DefaultOptions(dir).Tiers); got != want {
		t.Errorf("default tiers: %d, want %d", got, want)
	}
}

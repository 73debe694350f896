package storage

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

func TestZZHeap(t *testing.T) {
	if os.Getenv("HEAPPROF") == "" {
		t.Skip()
	}
	runtime.MemProfileRate = 512
	db, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f := newBenchFleet(benchDevices, benchPerDevice)
	f.ingest(t, db, 0, 2, 2)
	runtime.GC()
	fh, _ := os.Create(os.Getenv("HEAPPROF"))
	pprof.WriteHeapProfile(fh)
	fh.Close()
	db.Close()
}

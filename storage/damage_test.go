package storage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// TestDamagedBlock truncates the index of a raw block: Open says so, moves
// the block aside, and everything else keeps working.
func TestDamagedBlock(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	// More than one and a half blocks, so that the head has one to write.
	const polls = 2 * chunkRows
	for k := 0; k <= polls; k++ {
		mustAppend(t, db, gauge("g", "d", base.Add(time.Duration(k)*time.Minute), float64(k%10)))
	}
	// Write the raw head out as a block.
	if err := db.raw.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(db.raw.Blocks()) == 0 {
		t.Fatal("no raw block after compaction")
	}
	block := db.raw.Blocks()[0].Dir()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(block, "index")
	fi, err := os.Stat(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(idx, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	o := DefaultOptions(dir)
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db, err = Open(o)
	if err != nil {
		t.Fatalf("open with a damaged block: %v", err)
	}
	defer db.Close()
	moved := filepath.Join(dir, "damaged", "raw", filepath.Base(block))
	if _, err := os.Stat(moved); err != nil {
		t.Fatalf("damaged block not moved aside: %v", err)
	}
	if !strings.Contains(logs.String(), "storage_blocks_quarantined") || !strings.Contains(logs.String(), filepath.Base(block)) {
		t.Fatalf("log does not name the block:\n%s", logs.String())
	}
	// The tiers are intact and new data is accepted.
	s := selectOne(t, db, "g", base, base.Add(polls*time.Minute), time.Minute, metric.Average)
	if len(s.Values) != polls || s.Values[9] != 0 || s.Values[11] != 2 {
		t.Fatalf("tier after damage: %d rows, %v", len(s.Values), s.Values[:13])
	}
	mustAppend(t, db, gauge("g", "d", base.Add((polls+1)*time.Minute), 1))
}

// TestTornJournal cuts the journal in the middle of its last record, as a
// crash during a write does: the batch is lost, everything before it is
// there.
func TestTornJournal(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 10; k++ {
		mustAppend(t, db, counter("c", "d", base.Add(time.Duration(k)*time.Minute), uint64(k)*600))
	}
	seg := filepath.Join(db.journalDir(), segmentName(db.jnl.seg))
	// Simulate the crash: copy the state as it is now, without Close.
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cseg := filepath.Join(crashed, strings.TrimPrefix(seg, dir))
	fi, err := os.Stat(cseg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cseg, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	// Remove the TSDB copies' lock files left by the live copy.
	for _, a := range []string{"raw", "tier-60s", "tier-300s", "tier-3600s", "tier-86400s"} {
		os.Remove(filepath.Join(crashed, a, "lock"))
	}
	db2, err := Open(DefaultOptions(crashed))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	// The rows of the first eight polls survive either way; the ninth
	// reading's state is lost with the torn record, so the next reading
	// continues from the eighth.
	mustAppend(t, db2, counter("c", "d", base.Add(10*time.Minute), 10*600))
	s := selectOne(t, db2, "c", base, base.Add(10*time.Minute), time.Minute, metric.Average)
	for i, v := range s.Values {
		if v != 10 {
			t.Fatalf("row %d: %v, want 10 (%v)", i, v, s.Values)
		}
	}
}

// TestJournalBounded checks that a long journal triggers a checkpoint
// before the interval, which drops the segments it covers.
func TestJournalBounded(t *testing.T) {
	old := maxJournalBytes
	maxJournalBytes = 4 << 10
	defer func() { maxJournalBytes = old }()
	db := openTest(t, t.TempDir())
	for k := 0; k < 400; k++ {
		mustAppend(t, db, counter("c", "d", base.Add(time.Duration(k)*time.Minute), uint64(k)*60))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		segs, err := journalSegments(db.journalDir())
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, n := range segs {
			fi, err := os.Stat(filepath.Join(db.journalDir(), segmentName(n)))
			if err == nil {
				total += fi.Size()
			}
		}
		if total <= 2*maxJournalBytes && segs[0] > 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal not cut: %d bytes in segments %v", total, segs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDiskFull points the journal at /dev/full: Append fails with a clear
// error and stores nothing of the batch; once there is room again, appends
// continue where they were.
func TestDiskFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	db := openTest(t, t.TempDir())
	for k := 0; k < 5; k++ {
		mustAppend(t, db, counter("c", "d", base.Add(time.Duration(k)*time.Minute), uint64(k)*600))
	}
	db.jmu.Lock()
	good := db.jnl.f
	db.jnl.f = full
	db.jmu.Unlock()
	err = db.Append(context.Background(), []metric.Sample{counter("c", "d", base.Add(5*time.Minute), 5*600)})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "journal") {
		t.Fatalf("append on a full disk: %v", err)
	}
	db.jmu.Lock()
	db.jnl.f = good
	db.jmu.Unlock()
	full.Close()
	// The failed poll is not stored; the next one is, and its rate spans
	// the gap.
	mustAppend(t, db, counter("c", "d", base.Add(6*time.Minute), 6*600))
	s := selectOne(t, db, "c", base, base.Add(6*time.Minute), time.Minute, metric.Average)
	for i, v := range s.Values {
		if v != 10 {
			t.Fatalf("row %d: %v, want 10 (%v)", i, v, s.Values)
		}
	}
	raw, err := db.Raw(context.Background(), nil, base, base.Add(time.Hour))
	if err != nil || len(raw) != 1 || len(raw[0].Values) != 5 {
		t.Fatalf("raw after a full disk: %v, %v", raw, err)
	}
}

package storage

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage/rrd"
)

// checkpointFile is the snapshot of every series' state. Replay starts at
// journal segment Seg.
type checkpointFile struct {
	Format int
	Seg    uint64
	Step   int64
	Tiers  []Tier
	// StoredCFs are the consolidation functions each tier kept a
	// consolidator for, in checkpointSeries.RRA order. Checkpoints written
	// before tiers had CFs lack it (see legacyCFs).
	StoredCFs [][]metric.CF
	LastPDP   int64
	Series    []checkpointSeries
}

type checkpointSeries struct {
	Labels metric.Labels
	DS     metric.DS
	// RRD state, empty before the first reading: the DS and one
	// consolidator per tier (in Tiers order) and CF, as rrd marshals them.
	State []byte
	RRA   [][][]byte
}

func (db *DB) journalDir() string { return filepath.Join(db.opts.Dir, "state", "journal") }
func (db *DB) checkpointPath() string {
	return filepath.Join(db.opts.Dir, "state", "checkpoint")
}

// checkpoint snapshots the state, starts a new journal segment and, once
// the snapshot is on disk, removes the segments it covers.
func (db *DB) checkpoint() error {
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	db.inflight.Lock()
	if db.closed.Load() {
		db.inflight.Unlock()
		return nil
	}
	next := db.jnl.seg + 1
	ck := db.snapshot(next)
	db.jmu.Lock()
	err := db.jnl.startSegment(next)
	db.jmu.Unlock()
	db.inflight.Unlock()
	if err != nil {
		return fmt.Errorf("storage checkpoint: %w", err)
	}
	return db.writeCheckpoint(ck)
}

// snapshot copies the state. The caller holds inflight exclusively.
func (db *DB) snapshot(seg uint64) *checkpointFile {
	ck := &checkpointFile{
		Format: formatVersion, Seg: seg, Step: db.step, Tiers: db.opts.Tiers,
		LastPDP: db.lastPDP.Load(), Series: make([]checkpointSeries, 0, db.nseries.Load()),
	}
	for _, t := range db.tiers {
		ck.StoredCFs = append(ck.StoredCFs, t.cfs)
	}
	db.eachState(func(s *seriesState) {
		cs := checkpointSeries{Labels: s.labels, DS: s.ds}
		if sr := s.rrd; sr != nil {
			cs.State, _ = sr.ds.MarshalBinary()
			cs.RRA = make([][][]byte, len(db.tiers))
			for i, t := range db.tiers {
				cs.RRA[i] = make([][]byte, len(t.cfs))
				for k := range t.cfs {
					cs.RRA[i][k], _ = sr.rra[t.slot0-1+k].MarshalBinary()
				}
			}
		}
		ck.Series = append(ck.Series, cs)
	})
	return ck
}

func (db *DB) writeCheckpoint(ck *checkpointFile) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(ck); err != nil {
		return fmt.Errorf("storage checkpoint: encode: %w", err)
	}
	if err := writeFileAtomic(db.checkpointPath(), buf.Bytes()); err != nil {
		return fmt.Errorf("storage checkpoint: %w", err)
	}
	segs, err := journalSegments(db.journalDir())
	if err != nil {
		return fmt.Errorf("storage checkpoint: list journal: %w", err)
	}
	for _, n := range segs {
		if n < ck.Seg {
			if err := os.Remove(filepath.Join(db.journalDir(), segmentName(n))); err != nil {
				return fmt.Errorf("storage checkpoint: remove old journal segment: %w", err)
			}
		}
	}
	db.m.checkpoints.Inc()
	return nil
}

// recover loads the last checkpoint and replays the journal after it.
func (db *DB) recover() error {
	if err := os.MkdirAll(db.journalDir(), 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	ck, err := readCheckpoint(db.checkpointPath())
	if err != nil {
		return err
	}
	if err := db.loadCheckpoint(ck); err != nil {
		return err
	}
	segs, err := journalSegments(db.journalDir())
	if err != nil {
		return fmt.Errorf("list journal: %w", err)
	}
	next := ck.Seg
	replayed := 0
	for i, n := range segs {
		if n < ck.Seg {
			continue
		}
		cnt, err := db.replaySegment(n)
		replayed += cnt
		switch {
		case errors.Is(err, errTorn) && i == len(segs)-1:
			// A crash mid-write: the batch was never acknowledged.
			db.log.Info("storage_journal_torn_tail", "segment", segmentName(n), "err", err)
		case err != nil:
			db.log.Error("storage_journal_segment_damaged", "segment", segmentName(n), "err", err)
		}
		next = n + 1
	}
	if next == 0 {
		next = 1
	}
	if replayed > 0 {
		db.log.Info("storage_journal_replayed", "samples", replayed)
	}
	if db.lastPDP.Load() == 0 {
		if t := db.raw.Head().MaxTime(); t > 0 && t != math.MinInt64 {
			sec := t / 1000
			db.lastPDP.Store(sec - sec%db.step)
		}
	}
	db.jnl = journal{dir: db.journalDir()}
	if err := db.jnl.startSegment(next); err != nil {
		return err
	}
	return db.writeCheckpoint(db.snapshot(next))
}

func readCheckpoint(p string) (*checkpointFile, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &checkpointFile{Format: formatVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var ck checkpointFile
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&ck); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: damaged (%v); move it away to start the series state afresh from the journal", p, err)
	}
	if ck.Format > formatVersion {
		return nil, fmt.Errorf("%w: checkpoint %s has format %d", ErrNewerFormat, p, ck.Format)
	}
	return &ck, nil
}

// loadCheckpoint installs the checkpoint's series. State that does not fit
// the current step starts afresh; a tier that is new or changed starts with
// the next PDP.
func (db *DB) loadCheckpoint(ck *checkpointFile) error {
	db.lastPDP.Store(ck.LastPDP)
	sameStep := ck.Step == 0 || ck.Step == db.step
	if !sameStep {
		db.log.Warn("storage_step_changed", "old_seconds", ck.Step, "new_seconds", db.step)
	}
	for _, cs := range ck.Series {
		s := db.newSeries(cs.Labels, cs.DS)
		if len(cs.State) == 0 || !sameStep {
			continue
		}
		sr := &seriesRRD{ds: new(rrd.DS)}
		if err := sr.ds.UnmarshalBinary(cs.State); err != nil {
			return fmt.Errorf("read checkpoint: series %s: %w", s.labels, err)
		}
		fresh, err := newSeriesRRD(s.ds, db.opts.Step, db.tiers, sr.ds.LastUpdate())
		if err != nil {
			return fmt.Errorf("read checkpoint: series %s: %w", s.labels, err)
		}
		sr.rra = fresh.rra
		for _, t := range db.tiers {
			for k, ot := range ck.Tiers {
				if ot.Step != t.Step || ot.XFF != t.XFF || k >= len(cs.RRA) {
					continue
				}
				old := legacyCFs(ot, ck.Step)
				if k < len(ck.StoredCFs) {
					old = ck.StoredCFs[k]
				}
				if len(old) != len(cs.RRA[k]) {
					continue
				}
				// A consolidation function the tier kept before carries
				// on; one added since starts with the next PDP.
				for c, cf := range t.cfs {
					j := slices.Index(old, cf)
					if j < 0 {
						continue
					}
					if err := sr.rra[t.slot0-1+c].UnmarshalBinary(cs.RRA[k][j]); err != nil {
						return fmt.Errorf("read checkpoint: series %s: %w", s.labels, err)
					}
				}
			}
		}
		s.rrd = sr
	}
	return nil
}

// legacyCFs are the consolidators a checkpoint written before tiers had
// CFs kept for tier t: all four, or AVERAGE alone at one PDP per row.
func legacyCFs(t Tier, step int64) []metric.CF {
	if step > 0 && int64(t.Step/time.Second) == step {
		return []metric.CF{metric.Average}
	}
	return []metric.CF{metric.Average, metric.Min, metric.Max, metric.Last}
}

// replaySegment runs every batch of a journal segment through the state
// machines and stores what they produce.
func (db *DB) replaySegment(n uint64) (int, error) {
	ids := map[uint64]*seriesState{}
	count, replayed := 0, 0
	var outs []out
	flush := func() {
		outs = db.takeScratch(1<<shardCount-1, outs[:0])
		if err := db.commit(context.Background(), outs); err != nil {
			db.log.Warn("storage_replay_store_failed", "err", err)
		}
	}
	_, err := readSegment(filepath.Join(db.journalDir(), segmentName(n)), func(p []byte) error {
		defs, samples, err := decodeBatch(p)
		if err != nil {
			return err
		}
		for _, d := range defs {
			s := db.lookup(d.labels)
			if s == nil {
				s = db.newSeries(d.labels, d.ds)
			}
			s.ds = d.ds
			ids[d.id] = s
		}
		for _, js := range samples {
			s := ids[js.id]
			if s == nil {
				return fmt.Errorf("sample of undefined series %d", js.id)
			}
			if s.rrd != nil && js.nano/1e3 <= s.rrd.ds.LastUpdate().UnixNano()/1e3 {
				continue // already in the checkpoint
			}
			db.apply(s, timeFromNano(js.nano), js.r)
			count++
		}
		if replayed++; replayed%1024 == 0 {
			flush()
		}
		return nil
	})
	flush()
	return count, err
}

// writeFileAtomic writes a file so that a crash leaves either the old or
// the new content.
func writeFileAtomic(p string, b []byte) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

func timeFromNano(n int64) time.Time { return time.Unix(0, n) }

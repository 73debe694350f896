package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage/rrd"
)

// maxFuture is how far ahead of the clock a reading may be.
const maxFuture = time.Hour

// maxReportedErrors bounds how many per-sample errors one Append returns.
const maxReportedErrors = 10

// out is one value of series s bound for one slot (archive and
// consolidation function, see DB.slots).
type out struct {
	s    *seriesState
	slot int32
	t    int64 // milliseconds
	v    float64
}

// Append stores one batch of readings. Readings of counting types become
// rates as rrdtool computes them; every reading updates the raw archive and
// every tier. When Append returns nil the whole batch is durable: it is in
// the state journal and in the TSDBs' write-ahead logs and survives a crash
// of the process.
//
// A bad sample (no labels, no __name__, an unknown DS type, a time not after
// the series' previous reading) is rejected with an error naming the series;
// the rest of the batch is stored all the same.
func (db *DB) Append(ctx context.Context, batch []metric.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	db.inflight.RLock()
	defer db.inflight.RUnlock()
	bufs := batchBufs.Get().(*batchBuf)
	defer batchBufs.Put(bufs)
	outs, bad, err := db.ingest(batch, bufs)
	if err != nil {
		return err
	}
	cerr := db.commit(ctx, outs)
	// Let the pooled slice not keep series alive.
	clear(outs)
	bufs.outs = outs[:0]
	db.m.appendSeconds.Observe(time.Since(start).Seconds())
	return errors.Join(append(bad, cerr)...)
}

type accepted struct {
	s *seriesState
	t time.Time
	r rrd.Reading
}

// batchBuf holds the per-batch slices, reused across Appends: at a poll
// of 100 data sources they are ~15 KB, and allocating them per batch was a
// third of ingest's garbage.
type batchBuf struct {
	acc  []accepted
	outs []out
	idx  []uint8 // shard of each sample
}

var batchBufs = sync.Pool{New: func() any { return new(batchBuf) }}

// ingest checks a batch, writes the good samples to the journal and runs
// them through the DS state machines. It returns the values to store, the
// errors of rejected samples, and a fatal error if nothing was stored.
func (db *DB) ingest(batch []metric.Sample, bufs *batchBuf) ([]out, []error, error) {
	if db.closed.Load() {
		return nil, nil, ErrClosed
	}
	// Lock the shards of the batch in ascending order. Holding them from
	// the check to the state update keeps each series' readings in the
	// journal in the order they were applied.
	var mask uint32
	idx := bufs.idx[:0]
	for i := range batch {
		k := shardIndex(batch[i].Labels)
		idx = append(idx, uint8(k))
		mask |= 1 << k
	}
	bufs.idx = idx
	for i, sh := range db.shards {
		if mask&(1<<i) != 0 {
			sh.mu.Lock()
			defer sh.mu.Unlock()
		}
	}
	var bad []error
	nbad := 0
	reject := func(err error) {
		nbad++
		if len(bad) < maxReportedErrors {
			bad = append(bad, err)
		}
	}
	acc := bufs.acc[:0]
	defer func() {
		clear(acc)
		bufs.acc = acc[:0]
	}()
	now := time.Now()
	for i := range batch {
		smp := &batch[i]
		s, err := db.check(smp, db.shards[idx[i]], now)
		if err != nil {
			reject(fmt.Errorf("%w %d of %d: %w", ErrBadSample, i+1, len(batch), err))
			continue
		}
		acc = append(acc, accepted{s: s, t: smp.Time, r: rrd.ReadingOf(*smp)})
	}
	for _, a := range acc {
		a.s.pending = 0
	}
	if nbad > len(bad) {
		bad = append(bad, fmt.Errorf("%d more bad samples in this batch", nbad-len(bad)))
	}
	db.m.rejected.Add(float64(nbad))
	if len(acc) == 0 {
		return nil, bad, nil
	}
	if err := db.journalBatch(acc); err != nil {
		db.m.appendErrors.Inc()
		return nil, nil, fmt.Errorf("storage append: %w", err)
	}
	for _, a := range acc {
		db.apply(a.s, a.t, a.r)
	}
	outs := db.takeScratch(mask, bufs.outs[:0])
	db.m.samples.Add(float64(len(acc)))
	return outs, bad, nil
}

// check validates one sample and finds or creates its series in sh, the
// shard of its device. The caller holds sh's lock.
func (db *DB) check(smp *metric.Sample, sh *shard, now time.Time) (*seriesState, error) {
	ls := smp.Labels
	if len(ls) == 0 {
		return nil, errors.New("series has no labels")
	}
	if !slices.IsSortedFunc(ls, func(a, b metric.Label) int { return strings.Compare(a.Name, b.Name) }) {
		ls = ls.Copy()
		slices.SortFunc(ls, func(a, b metric.Label) int { return strings.Compare(a.Name, b.Name) })
	}
	for i, l := range ls {
		switch {
		case l.Name == "":
			return nil, fmt.Errorf("series %s: label with an empty name", ls)
		case l.Value == "":
			return nil, fmt.Errorf("series %s: label %s has an empty value", ls, l.Name)
		case l.Name == cfLabel:
			return nil, fmt.Errorf("series %s: label %s is reserved", ls, cfLabel)
		case i > 0 && ls[i-1].Name == l.Name:
			return nil, fmt.Errorf("series %s: label %s appears twice", ls, l.Name)
		}
	}
	if ls.Get(metric.NameLabel) == "" {
		return nil, fmt.Errorf("series %s: no %s label", ls, metric.NameLabel)
	}
	if smp.DS.Type > metric.DDerive {
		return nil, fmt.Errorf("series %s: unknown data source type %v", ls, smp.DS.Type)
	}
	if smp.DS.Heartbeat < 0 {
		return nil, fmt.Errorf("series %s: negative heartbeat %v", ls, smp.DS.Heartbeat)
	}
	if smp.Time.Unix() <= 0 {
		return nil, fmt.Errorf("series %s: time %v is not after 1970", ls, smp.Time)
	}
	if smp.Time.After(now.Add(maxFuture)) {
		// One reading from a wrong clock would make the archives treat
		// everything else as history beyond their retention.
		return nil, fmt.Errorf("series %s: time %s is more than %v in the future", ls, smp.Time.UTC().Format(time.RFC3339), maxFuture)
	}
	ds := effectiveDS(smp.DS, db.opts.Step)
	h := labelsHash(ls)
	s := sh.lookup(h, ls)
	if s == nil || !sameDS(s.ds, ds) {
		// Let the RRD arithmetic judge a new or changed data source.
		if _, err := rrd.NewDS(ds, db.opts.Step, smp.Time); err != nil {
			return nil, fmt.Errorf("series %s: %w", ls, err)
		}
	}
	if s == nil {
		s = db.newSeries(ls, ds)
	}
	nano := smp.Time.UnixNano()
	last := s.pending
	if s.rrd != nil {
		last = max(last, s.rrd.ds.LastUpdate().UnixNano())
	}
	// Time resolution is a microsecond, as in rrdtool.
	if last != 0 && nano/1e3 <= last/1e3 {
		return nil, fmt.Errorf("series %s: time %s is not after its previous reading at %s",
			ls, smp.Time.UTC().Format(time.RFC3339Nano), time.Unix(0, last).UTC().Format(time.RFC3339Nano))
	}
	if !sameDS(s.ds, ds) {
		// A changed DS (type, heartbeat or limits) applies from now on, as
		// after rrdtool tune; the journal needs the new definition.
		s.ds = ds
		s.jseg = 0
	}
	s.pending = nano
	return s, nil
}

func sameDS(a, b metric.DS) bool {
	eq := func(x, y float64) bool { return x == y || (isNaN(x) && isNaN(y)) }
	return a.Type == b.Type && a.Heartbeat == b.Heartbeat && eq(a.Min, b.Min) && eq(a.Max, b.Max)
}

var encBufs = sync.Pool{New: func() any { return new([]byte) }}

// journalBatch writes the accepted samples as one journal record. The
// caller holds the locks of their shards and inflight (shared), so the
// segment cannot change.
func (db *DB) journalBatch(acc []accepted) error {
	bp := encBufs.Get().(*[]byte)
	defer encBufs.Put(bp)
	b := append((*bp)[:0], make([]byte, 8)...)
	var defs []*seriesState
	for _, a := range acc {
		if a.s.jseg != db.jnl.seg && !slices.Contains(defs, a.s) {
			defs = append(defs, a.s)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(defs)))
	for _, s := range defs {
		b = appendDef(b, jDef{id: s.jid, labels: s.labels, ds: s.ds})
	}
	base := acc[0].t.UnixNano()
	b = binary.AppendVarint(b, base)
	b = binary.AppendUvarint(b, uint64(len(acc)))
	for _, a := range acc {
		b = appendSample(b, base, jSample{id: a.s.jid, nano: a.t.UnixNano(), r: a.r})
	}
	*bp = b
	db.jmu.Lock()
	err := db.jnl.write(b)
	long := db.jnl.size > maxJournalBytes
	db.jmu.Unlock()
	if err != nil {
		return err
	}
	if long {
		select {
		case db.ckptc <- struct{}{}:
		default: // one is pending already
		}
	}
	db.m.journalBytes.Add(float64(len(b)))
	for _, s := range defs {
		s.jseg = db.jnl.seg
	}
	return nil
}

// apply runs one accepted reading through the series' DS and its tiers;
// the values to store go to its shard's scratch. The caller holds the
// shard's lock.
func (db *DB) apply(s *seriesState, t time.Time, r rrd.Reading) {
	if s.rrd != nil && !sameDS(s.rrd.ds.Spec(), s.ds) {
		// The data source was changed: carry on from the last update with
		// the new definition; the open slot is lost, as with a new file.
		if d, err := rrd.NewDS(s.ds, db.opts.Step, s.rrd.ds.LastUpdate()); err == nil {
			s.rrd.ds = d
		}
	}
	first := s.rrd == nil
	if first {
		start := firstStart(t)
		if s.ds.Type == metric.Absolute {
			// An absolute reading counts events since an unknown moment.
			start = t
		}
		sr, err := newSeriesRRD(s.ds, db.opts.Step, db.tiers, start)
		if err != nil {
			// check() validated the DS; this cannot happen.
			db.log.Error("storage_series_state_failed", "series", s.labels.String(), "err", err)
			return
		}
		s.rrd = sr
	}
	ms := t.UnixMilli()
	storeMax(&db.maxMs, ms)
	sh := s.sh
	if first && s.ds.Type == metric.Absolute {
		// Events since an unknown moment: no rate, and nothing for the
		// DS, which starts here.
		return
	}
	prev := s.rrd.ds.LastUpdate()
	sh.cur = s
	err := s.rrd.ds.Update(t, r, sh.emitPDP)
	sh.cur = nil
	if err != nil {
		db.log.Error("storage_update_failed", "series", s.labels.String(), "err", err)
		return
	}
	if v := rawValue(s.rrd.ds, s.ds, r, t.Sub(prev)); !isNaN(v) {
		sh.scratch = append(sh.scratch, out{s: s, slot: 0, t: ms, v: v})
	}
}

// commit appends the values to their TSDBs and commits them.
func (db *DB) commit(ctx context.Context, outs []out) error {
	if len(outs) == 0 {
		return nil
	}
	n := len(db.tiers) + 1
	// Appends and compaction of an archive exclude each other (see
	// compact); locks are taken in archive order, compaction takes one.
	for i := range n {
		db.compactMu[i].RLock()
	}
	defer func() {
		for i := range n {
			db.compactMu[i].RUnlock()
		}
	}()
	apps := make([]storage.Appender, n)
	var errs []error
	nerr, expired := 0, 0
	newest := db.maxMs.Load()
	for _, o := range outs {
		sl := db.slots[o.slot]
		if o.t < newest-db.retentionMs(sl.archive) {
			// Backfilled history older than the archive keeps: the TSDB
			// would drop it at the next compaction anyway.
			expired++
			continue
		}
		app := apps[sl.archive]
		if app == nil {
			app = db.archive(sl.archive).Appender(ctx)
			apps[sl.archive] = app
		}
		lset := o.s.lsets[sl.lset]
		refp := &o.s.refs[o.slot]
		ref := storage.SeriesRef(refp.Load())
		var err error
		if ref == 0 {
			// tsdb's in-memory postings repair the order of series IDs
			// created concurrently in place, under the feet of running
			// queries; creating one series at a time per archive keeps
			// the IDs in order.
			db.createMu[sl.archive].Lock()
			ref, err = app.Append(0, lset, o.t, o.v)
			db.createMu[sl.archive].Unlock()
		} else {
			ref, err = app.Append(ref, lset, o.t, o.v)
		}
		if err != nil {
			nerr++
			if len(errs) < maxReportedErrors {
				errs = append(errs, fmt.Errorf("store %s at %s in %s archive: %w", lset,
					time.UnixMilli(o.t).UTC().Format(time.RFC3339), db.archiveName(sl.archive), err))
			}
			continue
		}
		refp.Store(uint64(ref))
	}
	for i, app := range apps {
		if app == nil {
			continue
		}
		if err := app.Commit(); err != nil {
			errs = append(errs, fmt.Errorf("commit %s archive: %w", db.archiveName(i), err))
		}
	}
	if nerr > maxReportedErrors {
		errs = append(errs, fmt.Errorf("%d more values not stored", nerr-maxReportedErrors))
	}
	db.m.rows.Add(float64(len(outs) - nerr - expired))
	if len(errs) > 0 {
		db.m.appendErrors.Inc()
	}
	return errors.Join(errs...)
}

func (db *DB) archive(i int) interface {
	Appender(context.Context) storage.Appender
} {
	if i == 0 {
		return db.raw
	}
	return db.tiers[i-1].db
}

func (db *DB) retentionMs(i int) int64 {
	if i == 0 {
		return db.opts.RawRetention.Milliseconds()
	}
	return db.tiers[i-1].Retention.Milliseconds()
}

func (db *DB) archiveName(i int) string {
	if i == 0 {
		return "raw"
	}
	return db.tiers[i-1].name
}

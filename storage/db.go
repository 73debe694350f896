package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Sentinel errors.
var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("storage: closed")
	// ErrNewerFormat is returned by Open for a data directory written by a
	// newer version of Saguaro.
	ErrNewerFormat = errors.New("storage: data directory has a newer format")
	// ErrBadSample wraps every rejected sample's error.
	ErrBadSample = errors.New("bad sample")
)

// A DB is closed like a file.
var _ io.Closer = (*DB)(nil)

// formatVersion is the version of the data directory layout.
const formatVersion = 1

// cfLabel holds the consolidation function of a tier series. It is
// reserved (double underscore) so that it cannot clash with a label a
// device template chooses.
const cfLabel = "__cf__"

// DB is Saguaro's time-series store: raw polled values and RRD-style
// consolidation tiers, each in its own prometheus/tsdb database. It is safe
// for concurrent use.
type DB struct {
	opts  Options
	log   *slog.Logger
	step  int64 // PDP step in seconds
	raw   *tsdb.DB
	tiers []*tier
	slots []slot
	// lsetCFs are the consolidation functions stored by some tier, in the
	// order of seriesState.lsets[1:].
	lsetCFs []metric.CF

	// inflight is held shared by every Append for its whole duration and
	// exclusively by a checkpoint, so that a checkpoint sees every batch
	// either fully stored or not at all.
	inflight sync.RWMutex
	ckptMu   sync.Mutex // one checkpoint at a time

	// The series state is sharded by device, so that batches of
	// different devices (one poll each) are checked and computed in
	// parallel.
	shards  [shardCount]*shard
	nseries atomic.Int64
	catver  atomic.Uint64 // changes whenever a series is added or forgotten
	nextID  atomic.Uint64

	// jmu serialises journal writes. The segment changes only while
	// inflight is held exclusively.
	jmu sync.Mutex
	jnl journal

	createMu []sync.Mutex // per archive, see commit
	// compactMu, per archive, keeps appends and compaction apart: commits
	// hold it shared, compaction exclusively (see compact).
	compactMu []sync.RWMutex

	closing atomic.Bool
	closed  atomic.Bool  // set while inflight is held exclusively
	lastPDP atomic.Int64 // end (seconds) of the newest completed PDP
	maxMs   atomic.Int64 // newest time stamp written to any archive

	stop  chan struct{}
	done  chan struct{}
	ckptc chan struct{} // asks for an early checkpoint: the journal is long
	m     *dbMetrics
}

// maxJournalBytes is the journal length that triggers a checkpoint before
// the interval is up, so that replay after a crash stays short at any
// ingest rate.
var maxJournalBytes int64 = 256 << 20

const shardCount = 16

// shard holds the state of the series of some devices.
type shard struct {
	mu      sync.Mutex
	series  map[uint64]*seriesState // by label hash; collisions chained
	scratch []out                   // values produced by apply, taken by ingest
	// byDevice lists the series of each device (all in this shard): the
	// catalogue's questions are mostly about one device, and answering
	// them by scanning every series made listing the graphs of D devices
	// cost D x (all series).
	byDevice map[string][]*seriesState

	// The RRD state machines report PDPs and rows through callbacks. One
	// pair per shard (not per series) saves memory: apply runs under the
	// shard's lock and says which series and consolidator it is feeding.
	cur     *seriesState
	curSlot int
	emitPDP func(end time.Time, v float64)
	emitRow func(end time.Time, v float64)
}

// shardIndex picks a series' shard by its device (by its name when it has
// none), so that one poll's batch usually locks one shard.
func shardIndex(ls metric.Labels) int {
	v := ls.Get(metric.DeviceLabel)
	if v == "" {
		v = ls.Get(metric.NameLabel)
	}
	return int(maphash.String(hashSeed, v) % shardCount)
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// tier is one consolidation archive.
type tier struct {
	Tier
	name   string
	stepS  int64 // seconds
	pdpCnt int64
	cfs    []metric.CF // stored consolidation functions
	slot0  int         // slot of cfs[0] (see slot)
	db     *tsdb.DB
}

// has says whether the tier can answer for cf: it stores it, or it has
// one PDP per row, where every function gives the PDP.
func (t *tier) has(cf metric.CF) bool {
	return t.pdpCnt == 1 || slices.Contains(t.cfs, cf)
}

// stored is the consolidation function under which the tier keeps the
// rows cf asks for.
func (t *tier) stored(cf metric.CF) metric.CF {
	if t.pdpCnt == 1 {
		return t.cfs[0]
	}
	return cf
}

// slot is one stored (archive, consolidation function) of every series:
// slot 0 is the raw archive, then each tier's CFs in order. A series keeps
// its tsdb references and consolidators in slot order.
type slot struct {
	archive int // 0 raw, i+1 tier i
	lset    int // index into seriesState.lsets
}

// seriesState is everything storage keeps in memory about one series.
// Per series it allocates this struct, its label sets, its references and
// its RRD state; nothing per archive.
type seriesState struct {
	sh     *shard
	hash   uint64
	next   *seriesState // another series with the same hash
	labels metric.Labels
	ds     metric.DS

	rrd *seriesRRD // nil until the first reading

	jid     uint64 // id in the journal
	jseg    uint64 // journal segment that holds its definition; 0 none
	pending int64  // time (ns) of its last sample in the batch being checked

	// lsets are the series' label sets in the TSDBs: [0] the raw one, then
	// one per stored consolidation function (DB.lsetCFs), shared by every
	// tier that stores it. refs speed up appends, one per slot.
	lsets []labels.Labels
	refs  []atomic.Uint64
}

// Open opens or creates the store in o.Dir, replaying the state journal
// left by a crash.
func Open(o Options) (*DB, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := checkFormat(o.Dir); err != nil {
		return nil, err
	}
	db := &DB{
		opts:  o,
		log:   o.Logger,
		step:  int64(o.Step / time.Second),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		ckptc: make(chan struct{}, 1),
	}
	for i := range db.shards {
		sh := &shard{series: map[uint64]*seriesState{}, byDevice: map[string][]*seriesState{}}
		sh.emitRow = func(end time.Time, v float64) {
			if !isNaN(v) {
				sh.scratch = append(sh.scratch, out{s: sh.cur, slot: int32(sh.curSlot), t: end.Unix() * 1000, v: v})
			}
		}
		sh.emitPDP = func(end time.Time, v float64) {
			storeMax(&db.lastPDP, end.Unix())
			ras := sh.cur.rrd.rra
			for k := range ras {
				sh.curSlot = k + 1
				_ = ras[k].Add(end, v, sh.emitRow)
			}
		}
		db.shards[i] = sh
	}
	db.createMu = make([]sync.Mutex, len(o.Tiers)+1)
	db.compactMu = make([]sync.RWMutex, len(o.Tiers)+1)
	db.m = newDBMetrics(db, o.Registerer)
	ok := false
	defer func() {
		if !ok {
			db.closeTSDBs()
		}
	}()
	db.raw, err = openTSDB(filepath.Join(o.Dir, "raw"), "raw", o.RawRetention, o.Step, o)
	if err != nil {
		return nil, err
	}
	for _, t := range o.Tiers {
		tr := &tier{
			Tier:   t,
			name:   tierName(t.Step),
			stepS:  int64(t.Step / time.Second),
			pdpCnt: int64(t.Step / o.Step),
			cfs:    slices.Clone(t.CFs),
		}
		if tr.pdpCnt == 1 {
			// One PDP per row: every consolidation function gives the PDP,
			// stored once, as AVERAGE.
			tr.cfs = []metric.CF{metric.Average}
		}
		if len(db.slots) == 0 {
			db.slots = append(db.slots, slot{archive: 0, lset: 0})
		}
		tr.slot0 = len(db.slots)
		for _, cf := range tr.cfs {
			k := slices.Index(db.lsetCFs, cf)
			if k < 0 {
				k = len(db.lsetCFs)
				db.lsetCFs = append(db.lsetCFs, cf)
			}
			db.slots = append(db.slots, slot{archive: len(db.tiers) + 1, lset: k + 1})
		}
		tr.db, err = openTSDB(filepath.Join(o.Dir, tr.name), tr.name, t.Retention, t.Step, o)
		if err != nil {
			return nil, err
		}
		db.tiers = append(db.tiers, tr)
	}
	if err := db.recover(); err != nil {
		return nil, err
	}
	ok = true
	go db.background()
	return db, nil
}

func tierName(step time.Duration) string {
	return fmt.Sprintf("tier-%ds", int64(step/time.Second))
}

// checkFormat refuses a data directory written by a newer Saguaro and
// stamps a new one.
func checkFormat(dir string) error {
	p := filepath.Join(dir, "FORMAT")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		b, _ = json.Marshal(map[string]int{"format": formatVersion})
		if err := writeFileAtomic(p, b); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	var f struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("read %s: not a Saguaro format file: %w", p, err)
	}
	if f.Format > formatVersion {
		return fmt.Errorf("%w: %s says format %d, this version reads up to %d; use a newer Saguaro", ErrNewerFormat, p, f.Format, formatVersion)
	}
	return nil
}

// chunkRows is the number of steps in the raw archive's shortest block and
// the number of values in its full chunks.
const chunkRows = 480

// archiveRows is the number of values in an archive's full chunk. tsdb
// cuts a chunk at SamplesPerChunk values or at the block's end, whichever
// comes first, and each chunk costs ~30 bytes of header, checksum and
// index: the raw archive's chunks of chunkRows values make that overhead a
// quarter of tsdb's default (120), which is most of what an idle series
// costs (BenchmarkDiskKinds: idle 0.58 -> 0.38 B/value, device-like mix
// 2.16 -> 2.00). The tiers keep 120: longer open chunks in the heads cost
// memory (see docs/storage.md).
func archiveRows(name string) int {
	if name == "raw" {
		return chunkRows
	}
	return 120
}

// blockRange is the length of an archive's shortest blocks: its chunks'
// worth of steps, in whole 2 hours, 2 hours to 31 days.
func blockRange(name string, step time.Duration) time.Duration {
	d := clampDur(time.Duration(archiveRows(name))*step, 2*time.Hour, 31*day)
	return d.Truncate(2 * time.Hour)
}

func openTSDB(dir, name string, retention, step time.Duration, o Options) (*tsdb.DB, error) {
	to := tsdb.DefaultOptions()
	to.RetentionDuration = retention.Milliseconds()
	// Isolation makes a query see whole commits only; a graph does not
	// need that, and tracking it costs about an eighth of ingest CPU.
	to.IsolationDisabled = true
	// tsdb's default series hash of 16,384 stripes costs ~4 MB per archive
	// before the first series and is sized for millions of series per
	// database; a quarter is plenty for Saguaro's tens of thousands.
	to.StripeSize = 4096
	// Backfill and crash replay write behind the head: accept anything
	// within the retention.
	to.OutOfOrderTimeWindow = retention.Milliseconds()
	to.SamplesPerChunk = archiveRows(name)
	minBlock := blockRange(name, step)
	maxBlock := clampDur(retention/10, minBlock, 31*day)
	maxBlock = maxBlock.Truncate(minBlock)
	to.MinBlockDuration = minBlock.Milliseconds()
	to.MaxBlockDuration = maxBlock.Milliseconds()
	var reg prometheus.Registerer
	if o.Registerer != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"archive": name}, o.Registerer)
	}
	log := o.Logger.With("archive", name)
	db, err := openArchive(dir, log, reg, to)
	if err != nil {
		// A damaged block must not take the whole archive down: move it
		// aside, say so, and open the rest.
		moved, qerr := quarantineBlocks(dir, log)
		if qerr != nil || len(moved) == 0 {
			return nil, fmt.Errorf("open %s archive in %s: %w", name, dir, err)
		}
		log.Error("storage_blocks_quarantined", "blocks", strings.Join(moved, ", "), "err", err)
		if db, err = openArchive(dir, log, reg, to); err != nil {
			return nil, fmt.Errorf("open %s archive in %s after moving damaged blocks to %s: %w", name, dir, strings.Join(moved, ", "), err)
		}
	}
	return db, nil
}

// openArchive opens one tsdb with its automatic compaction off: DB.compact
// runs it, apart from appends.
func openArchive(dir string, log *slog.Logger, reg prometheus.Registerer, to *tsdb.Options) (*tsdb.DB, error) {
	db, err := tsdb.Open(dir, log, reg, to, nil)
	if err != nil {
		return nil, err
	}
	db.DisableCompactions()
	return db, nil
}

// quarantineBlocks moves every block of dir that does not open into
// <data dir>/damaged/<archive>/ and returns where they went.
func quarantineBlocks(dir string, log *slog.Logger) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		bdir := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(bdir, "meta.json")); err != nil {
			continue // not a block
		}
		b, err := tsdb.OpenBlock(log, bdir, nil, nil)
		if err == nil {
			b.Close()
			continue
		}
		dst := filepath.Join(filepath.Dir(dir), "damaged", filepath.Base(dir), e.Name())
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return moved, err
		}
		if err := os.Rename(bdir, dst); err != nil {
			return moved, err
		}
		moved = append(moved, dst)
	}
	return moved, nil
}

func clampDur(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}

// Close writes a checkpoint and closes the store. Acknowledged samples are
// durable before Close; Close makes the next Open fast.
func (db *DB) Close() error {
	if !db.closing.CompareAndSwap(false, true) {
		return nil
	}
	close(db.stop)
	<-db.done
	err := db.checkpoint()
	db.inflight.Lock()
	db.closed.Store(true)
	if jerr := db.jnl.close(); jerr != nil && err == nil {
		err = fmt.Errorf("close journal: %w", jerr)
	}
	db.inflight.Unlock()
	if cerr := db.closeTSDBs(); cerr != nil && err == nil {
		err = cerr
	}
	db.m.unregister()
	return err
}

func (db *DB) closeTSDBs() error {
	var errs []error
	if db.raw != nil {
		if err := db.raw.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raw archive: %w", err))
		}
	}
	for _, t := range db.tiers {
		if t.db != nil {
			if err := t.db.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s archive: %w", t.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// compact runs each archive's compaction with appends to it held off.
// tsdb's own background compaction runs beside appends; when writes land
// behind the head (a backfill) while the out-of-order head is being
// written into blocks, the oldest out-of-order chunks of a series were
// lost in tests with concurrent importers (TestBackfillConcurrentImport).
// tsdb's automatic compaction is therefore off and done here, exclusively.
func (db *DB) compact() {
	for i, a := range db.archives() {
		db.compactMu[i].Lock()
		err := a.Compact(context.Background())
		db.compactMu[i].Unlock()
		if err != nil {
			db.log.Error("storage_compaction_failed", "archive", db.archiveName(i), "err", err)
		}
		select {
		case <-db.stop:
			return
		default:
		}
	}
	if n := db.expire(); n > 0 {
		db.log.Info("storage_series_expired", "series", n)
	}
}

// expire forgets the series whose newest reading is older than every
// archive keeps data, counted back from the newest time stamp written
// (the clock tsdb's retention runs on): the catalogue then lists what
// can still be read. It returns how many it forgot.
func (db *DB) expire() int {
	keep := db.opts.RawRetention
	for _, t := range db.opts.Tiers {
		keep = max(keep, t.Retention)
	}
	newest := db.maxMs.Load()
	if newest == 0 {
		return 0
	}
	cut := time.UnixMilli(newest).Add(-keep)
	db.inflight.RLock()
	defer db.inflight.RUnlock()
	if db.closed.Load() {
		return 0
	}
	n := 0
	for _, sh := range db.shards {
		sh.mu.Lock()
		var old []*seriesState
		for _, s := range sh.series {
			for ; s != nil; s = s.next {
				if s.rrd != nil && s.rrd.ds.LastUpdate().Before(cut) && s.pending < cut.UnixNano() {
					old = append(old, s)
				}
			}
		}
		for _, s := range old {
			db.removeSeries(s)
		}
		sh.mu.Unlock()
		n += len(old)
	}
	return n
}

// background writes checkpoints at the configured interval.
func (db *DB) background() {
	defer close(db.done)
	tk := time.NewTicker(db.opts.CheckpointInterval)
	defer tk.Stop()
	ctk := time.NewTicker(db.opts.CompactInterval)
	defer ctk.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-ctk.C:
			db.compact()
		case <-db.ckptc:
			if err := db.checkpoint(); err != nil {
				db.log.Error("storage_checkpoint_failed", "err", err)
			}
		case <-tk.C:
			if err := db.checkpoint(); err != nil {
				db.log.Error("storage_checkpoint_failed", "err", err)
			}
		}
	}
}

// seriesKey is a canonical string of a sorted label set, for ordering.
func seriesKey(ls metric.Labels) string {
	n := 0
	for _, l := range ls {
		n += len(l.Name) + len(l.Value) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range ls {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xfe)
	}
	return b.String()
}

var hashSeed = maphash.MakeSeed()

// labelsHash hashes a sorted label set without allocating.
func labelsHash(ls metric.Labels) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	for _, l := range ls {
		h.WriteString(l.Name)
		h.WriteByte(0xff)
		h.WriteString(l.Value)
		h.WriteByte(0xfe)
	}
	return h.Sum64()
}

// lookup finds a series by its sorted labels. The caller holds sh.mu.
func (sh *shard) lookup(h uint64, ls metric.Labels) *seriesState {
	for s := sh.series[h]; s != nil; s = s.next {
		if s.labels.Equal(ls) {
			return s
		}
	}
	return nil
}

// lookup finds a series by its sorted labels without locking (while
// recovering).
func (db *DB) lookup(ls metric.Labels) *seriesState {
	return db.shards[shardIndex(ls)].lookup(labelsHash(ls), ls)
}

// removeSeries forgets a series. The caller holds s.sh.mu.
func (db *DB) removeSeries(s *seriesState) {
	sh := s.sh
	p := sh.series[s.hash]
	if p == s {
		if s.next == nil {
			delete(sh.series, s.hash)
		} else {
			sh.series[s.hash] = s.next
		}
	} else {
		for ; p != nil && p.next != s; p = p.next {
		}
		if p != nil {
			p.next = s.next
		}
	}
	db.catver.Add(1)
	dev := s.labels.Get(metric.DeviceLabel)
	if list := sh.byDevice[dev]; len(list) <= 1 {
		delete(sh.byDevice, dev)
	} else if i := slices.Index(list, s); i >= 0 {
		list[i] = list[len(list)-1]
		list[len(list)-1] = nil
		sh.byDevice[dev] = list[:len(list)-1]
	}
	db.m.series.Set(float64(db.nseries.Add(-1)))
}

// eachState calls fn for every series, holding each shard's lock in turn.
func (db *DB) eachState(fn func(*seriesState)) {
	for _, sh := range db.shards {
		sh.mu.Lock()
		for _, s := range sh.series {
			for ; s != nil; s = s.next {
				fn(s)
			}
		}
		sh.mu.Unlock()
	}
}

// newSeries builds the in-memory state of a series with no reading yet.
// The caller holds the lock of the series' shard.
func (db *DB) newSeries(ls metric.Labels, ds metric.DS) *seriesState {
	sh := db.shards[shardIndex(ls)]
	h := labelsHash(ls)
	s := &seriesState{sh: sh, hash: h, ds: ds, jid: db.nextID.Add(1)}
	s.lsets = make([]labels.Labels, 1+len(db.lsetCFs))
	s.lsets[0] = toPromLabels(ls, "")
	// The catalogue's labels point into the raw label set's bytes.
	s.labels = fromPromLabels(s.lsets[0])
	for k, cf := range db.lsetCFs {
		s.lsets[k+1] = toPromLabels(ls, cf.String())
	}
	s.refs = make([]atomic.Uint64, len(db.slots))
	s.next = sh.series[h]
	sh.series[h] = s
	dev := s.labels.Get(metric.DeviceLabel)
	sh.byDevice[dev] = append(sh.byDevice[dev], s)
	db.catver.Add(1)
	db.m.series.Set(float64(db.nseries.Add(1)))
	return s
}

// takeScratch moves the values the shards in mask produced into one slice.
func (db *DB) takeScratch(mask uint32, outs []out) []out {
	for i, sh := range db.shards {
		if mask&(1<<i) != 0 && len(sh.scratch) > 0 {
			outs = append(outs, sh.scratch...)
			clear(sh.scratch)
			sh.scratch = sh.scratch[:0]
		}
	}
	return outs
}

// toPromLabels copies labels for the TSDB, adding the cf label when cf is
// not empty.
func toPromLabels(ls metric.Labels, cf string) labels.Labels {
	// The builder copies the strings into the label set's own bytes.
	b := labels.NewScratchBuilder(len(ls) + 1)
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	if cf != "" {
		b.Add(cfLabel, cf)
	}
	b.Sort()
	return b.Labels()
}

// fromPromLabels converts back, dropping the cf label.
func fromPromLabels(ls labels.Labels) metric.Labels {
	out := make(metric.Labels, 0, ls.Len())
	ls.Range(func(l labels.Label) {
		if l.Name != cfLabel {
			out = append(out, metric.Label{Name: l.Name, Value: l.Value})
		}
	})
	return out
}

func isNaN(v float64) bool { return math.IsNaN(v) }

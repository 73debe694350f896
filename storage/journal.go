package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage/rrd"
)

// The state journal makes the per-series DS state (last reading, partial
// PDP, partial rows of every tier) survive a crash. Every accepted batch of
// readings is written to it before its rows go to the TSDBs and before
// Append returns; a checkpoint (checkpoint.go) periodically snapshots the
// state and drops older segments. On open the readings after the
// checkpoint are replayed through the same arithmetic, which rebuilds the
// state and re-appends the rows they produced; rows already in the TSDBs are
// identical and are stored once.
//
// A segment is a sequence of records: 4 bytes length, 4 bytes CRC-32C of the
// payload, payload. A payload is one batch: the series definitions it
// needs that this segment has not seen yet, then the samples.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const maxRecord = 256 << 20

type journal struct {
	dir  string
	seg  uint64
	f    *os.File
	size int64
}

func segmentName(n uint64) string { return fmt.Sprintf("%010d", n) }

// journalSegments lists the segment numbers in dir, ascending.
func journalSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, e := range ents {
		n, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || e.IsDir() {
			continue
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	return segs, nil
}

// startSegment closes the current segment and starts segment n.
func (j *journal) startSegment(n uint64) error {
	if j.f != nil {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync journal segment: %w", err)
		}
		if err := j.f.Close(); err != nil {
			return fmt.Errorf("close journal segment: %w", err)
		}
		j.f = nil
	}
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(n)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create journal segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	j.f, j.seg, j.size = f, n, 0
	return nil
}

// write appends one record with a single write call, so that a killed
// process leaves at most a torn last record.
func (j *journal) write(rec []byte) error {
	if len(rec) < 8 {
		return errors.New("journal record too short")
	}
	if j.f == nil {
		return errors.New("journal is not open")
	}
	payload := rec[8:]
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(payload, castagnoli))
	n, err := j.f.Write(rec)
	if err != nil {
		// Cut a partial record off again: records after it would be
		// unreadable (a disk that was full may have room again later).
		if n > 0 {
			if terr := j.f.Truncate(j.size); terr != nil {
				j.f.Close()
				j.f = nil // every later append fails until a restart
				return fmt.Errorf("write journal segment %s: %w (and cutting the partial record failed: %v)", segmentName(j.seg), err, terr)
			}
			if _, serr := j.f.Seek(j.size, io.SeekStart); serr != nil {
				j.f.Close()
				j.f = nil
				return fmt.Errorf("write journal segment %s: %w (and seeking back failed: %v)", segmentName(j.seg), err, serr)
			}
		}
		return fmt.Errorf("write journal segment %s: %w", segmentName(j.seg), err)
	}
	j.size += int64(n)
	return nil
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}

// errTorn marks a record cut short by a crash.
var errTorn = errors.New("torn record")

// readSegment calls fn for every record of a segment. It returns the offset
// after the last good record; on a torn or corrupt record it stops there and
// returns errTorn (wrapped) together with that offset.
func readSegment(path string, fn func(payload []byte) error) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var off int64
	for int(off) < len(data) {
		rest := data[off:]
		if len(rest) < 8 {
			return off, fmt.Errorf("%w: %d header bytes at offset %d", errTorn, len(rest), off)
		}
		n := binary.LittleEndian.Uint32(rest[0:4])
		if n > maxRecord || int(n) > len(rest)-8 {
			return off, fmt.Errorf("%w: record of %d bytes at offset %d exceeds the file", errTorn, n, off)
		}
		payload := rest[8 : 8+n]
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(rest[4:8]) {
			return off, fmt.Errorf("%w: checksum mismatch at offset %d", errTorn, off)
		}
		if err := fn(payload); err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		off += 8 + int64(n)
	}
	return off, nil
}

// Encoding of a batch payload.

type jDef struct {
	id     uint64
	labels metric.Labels
	ds     metric.DS
}

type jSample struct {
	id   uint64
	nano int64
	r    rrd.Reading
}

const flagExact = 1

func appendDef(b []byte, d jDef) []byte {
	b = binary.AppendUvarint(b, d.id)
	b = append(b, byte(d.ds.Type))
	b = binary.AppendVarint(b, int64(d.ds.Heartbeat))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d.ds.Min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d.ds.Max))
	b = binary.AppendUvarint(b, uint64(len(d.labels)))
	for _, l := range d.labels {
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		b = binary.AppendUvarint(b, uint64(len(l.Value)))
		b = append(b, l.Value...)
	}
	return b
}

func appendSample(b []byte, base int64, s jSample) []byte {
	b = binary.AppendUvarint(b, s.id)
	b = binary.AppendVarint(b, s.nano-base)
	var fl byte
	if s.r.Exact {
		fl |= flagExact
	}
	b = append(b, fl)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.r.Value))
	if s.r.Exact {
		b = binary.AppendUvarint(b, s.r.Count)
	}
	return b
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || uint64(len(d.b)) < n {
		d.err = io.ErrUnexpectedEOF
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// decodeBatch decodes a payload written by DB.journalBatch.
func decodeBatch(p []byte) (defs []jDef, samples []jSample, err error) {
	d := &decoder{b: p}
	nd := d.uvarint()
	for i := uint64(0); i < nd && d.err == nil; i++ {
		var df jDef
		df.id = d.uvarint()
		df.ds.Type = metric.DSType(d.byte1())
		df.ds.Heartbeat = time.Duration(d.varint())
		df.ds.Min = math.Float64frombits(d.u64())
		df.ds.Max = math.Float64frombits(d.u64())
		nl := d.uvarint()
		if nl > uint64(len(d.b)) {
			return nil, nil, fmt.Errorf("decode journal batch: %d labels in %d bytes", nl, len(d.b))
		}
		df.labels = make(metric.Labels, 0, nl)
		for k := uint64(0); k < nl && d.err == nil; k++ {
			df.labels = append(df.labels, metric.Label{Name: d.str(), Value: d.str()})
		}
		defs = append(defs, df)
	}
	base := d.varint()
	ns := d.uvarint()
	if ns > uint64(len(d.b)) {
		return nil, nil, fmt.Errorf("decode journal batch: %d samples in %d bytes", ns, len(d.b))
	}
	samples = make([]jSample, 0, ns)
	for i := uint64(0); i < ns && d.err == nil; i++ {
		var s jSample
		s.id = d.uvarint()
		s.nano = base + d.varint()
		fl := d.byte1()
		s.r.Value = math.Float64frombits(d.u64())
		if fl&flagExact != 0 {
			s.r.Exact = true
			s.r.Count = d.uvarint()
		}
		samples = append(samples, s)
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("decode journal batch: %w", d.err)
	}
	return defs, samples, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

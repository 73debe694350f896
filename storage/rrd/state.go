package rrd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Serialised states are fixed-size big-endian records that start with a
// kind byte and a version byte, so that a reader can refuse what it does
// not understand instead of resuming from garbage.
const (
	kindDS       = 'D'
	kindRRA      = 'R'
	stateVersion = 1

	dsStateLen  = 2 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 1 + 8 + 8
	rraStateLen = 2 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 8
)

// ErrState is wrapped by errors from UnmarshalBinary for data that is not
// a valid state of this version.
var ErrState = errors.New("invalid rrd state")

var be = binary.BigEndian

// AppendBinary appends the complete state of the data source, definition
// included, to b.
func (d *DS) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, kindDS, stateVersion, byte(d.typ))
	b = be.AppendUint64(b, uint64(d.step))
	b = be.AppendUint64(b, d.hb)
	b = be.AppendUint64(b, math.Float64bits(d.min))
	b = be.AppendUint64(b, math.Float64bits(d.max))
	b = be.AppendUint64(b, uint64(d.lastSec))
	b = be.AppendUint64(b, uint64(d.lastUsec))
	b = be.AppendUint64(b, math.Float64bits(d.last.Value))
	b = be.AppendUint64(b, d.last.Count)
	var flags byte
	if d.last.Exact {
		flags |= 1
	}
	if d.lastOK {
		flags |= 2
	}
	b = append(b, flags)
	b = be.AppendUint64(b, math.Float64bits(d.pdpVal))
	b = be.AppendUint64(b, d.unknSec)
	return b, nil
}

// MarshalBinary returns the complete state of the data source.
func (d *DS) MarshalBinary() ([]byte, error) { return d.AppendBinary(make([]byte, 0, dsStateLen)) }

// UnmarshalBinary restores a state written by MarshalBinary.
func (d *DS) UnmarshalBinary(b []byte) error {
	if err := checkHeader(b, kindDS, dsStateLen, "data source"); err != nil {
		return err
	}
	r := reader{b: b[2:]}
	n := DS{
		typ:      metric.DSType(r.byte()),
		step:     int64(r.u64()),
		hb:       r.u64(),
		min:      r.f64(),
		max:      r.f64(),
		lastSec:  int64(r.u64()),
		lastUsec: int64(r.u64()),
	}
	n.last.Value = r.f64()
	n.last.Count = r.u64()
	flags := r.byte()
	n.last.Exact = flags&1 != 0
	n.lastOK = flags&2 != 0
	n.pdpVal = r.f64()
	n.unknSec = r.u64()
	n.rate = math.NaN()
	switch {
	case n.typ > metric.DDerive:
		return fmt.Errorf("data source type %d: %w", n.typ, ErrState)
	case n.step < 1 || n.step > 1<<40:
		return fmt.Errorf("step %d: %w", n.step, ErrState)
	case n.hb < 1 || n.hb > 1<<40:
		return fmt.Errorf("heartbeat %d: %w", n.hb, ErrState)
	case n.lastUsec < 0 || n.lastUsec >= 1e6:
		return fmt.Errorf("microseconds %d: %w", n.lastUsec, ErrState)
	case n.lastSec < -1<<50 || n.lastSec > 1<<50:
		return fmt.Errorf("last update %d: %w", n.lastSec, ErrState)
	case n.unknSec > uint64(n.step):
		return fmt.Errorf("unknown seconds %d beyond step %d: %w", n.unknSec, n.step, ErrState)
	case flags > 3:
		return fmt.Errorf("flags %#x: %w", flags, ErrState)
	}
	*d = n
	return nil
}

// AppendBinary appends the complete state of the consolidator, definition
// included, to b.
func (r *RRA) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, kindRRA, stateVersion, byte(r.cf))
	b = be.AppendUint64(b, math.Float64bits(r.xff))
	b = be.AppendUint64(b, uint64(r.steps))
	b = be.AppendUint64(b, uint64(r.step))
	b = be.AppendUint64(b, uint64(r.next))
	b = be.AppendUint64(b, math.Float64bits(r.cdpVal))
	b = be.AppendUint64(b, r.unkn)
	b = be.AppendUint64(b, math.Float64bits(r.primary))
	return b, nil
}

// MarshalBinary returns the complete state of the consolidator.
func (r *RRA) MarshalBinary() ([]byte, error) { return r.AppendBinary(make([]byte, 0, rraStateLen)) }

// UnmarshalBinary restores a state written by MarshalBinary.
func (r *RRA) UnmarshalBinary(b []byte) error {
	if err := checkHeader(b, kindRRA, rraStateLen, "consolidator"); err != nil {
		return err
	}
	rd := reader{b: b[2:]}
	n := RRA{
		cf:      metric.CF(rd.byte()),
		xff:     rd.f64(),
		steps:   int64(rd.u64()),
		step:    int64(rd.u64()),
		next:    int64(rd.u64()),
		cdpVal:  rd.f64(),
		unkn:    rd.u64(),
		primary: rd.f64(),
	}
	switch {
	case n.cf > metric.Last:
		return fmt.Errorf("consolidation function %d: %w", n.cf, ErrState)
	case !(n.xff >= 0 && n.xff < 1):
		return fmt.Errorf("xff %g: %w", n.xff, ErrState)
	case n.steps < 1 || n.steps > 1<<30:
		return fmt.Errorf("steps per row %d: %w", n.steps, ErrState)
	case n.step < 1 || n.step > 1<<40:
		return fmt.Errorf("step %d: %w", n.step, ErrState)
	case mod(n.next, n.step) != 0 || n.next < -1<<50 || n.next > 1<<50:
		return fmt.Errorf("next pdp %d: %w", n.next, ErrState)
	case n.unkn > uint64(n.steps):
		return fmt.Errorf("unknown pdps %d beyond %d per row: %w", n.unkn, n.steps, ErrState)
	}
	*r = n
	return nil
}

func checkHeader(b []byte, kind byte, size int, what string) error {
	if len(b) < 2 || b[0] != kind {
		return fmt.Errorf("not a %s state: %w", what, ErrState)
	}
	if b[1] != stateVersion {
		return fmt.Errorf("%s state version %d, this build reads %d: %w", what, b[1], stateVersion, ErrState)
	}
	if len(b) != size {
		return fmt.Errorf("%s state of %d bytes, want %d: %w", what, len(b), size, ErrState)
	}
	return nil
}

type reader struct{ b []byte }

func (r *reader) byte() byte {
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u64() uint64 {
	v := be.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

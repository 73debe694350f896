package rrd

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// ErrNotAfter is returned for an update whose time is not later than the
// previous update of the same data source (rrdtool: "minimum one second
// step"). The state is left unchanged.
var ErrNotAfter = errors.New("update time not after the last update")

// Reading is one polled value as a data source consumes it.
//
// Value NaN (with Exact false) is an unknown reading. Integer counters
// carry their reading exactly in Count with Exact set; the sign is then
// that of Value (only DERIVE readings may be negative), so a 64-bit
// counter's difference is computed in integers as rrdtool does on the
// decimal strings it is given.
type Reading struct {
	Value float64
	Count uint64
	Exact bool
}

// ReadingOf takes the reading out of a polled sample.
func ReadingOf(s metric.Sample) Reading {
	return Reading{Value: s.Value, Count: s.Count, Exact: s.Exact}
}

// Unknown is the reading of a poll that gave no value ("U" in rrdtool).
func Unknown() Reading { return Reading{Value: math.NaN()} }

// Float is a plain floating-point reading.
func Float(v float64) Reading { return Reading{Value: v} }

// Int is an exact non-negative integer reading, as a counter delivers it.
func Int(n uint64) Reading { return Reading{Value: float64(n), Count: n, Exact: true} }

func (r Reading) known() bool { return r.Exact || !math.IsNaN(r.Value) }

// neg reports the sign rrdtool sees in the reading's text.
func (r Reading) neg() bool { return math.Signbit(r.Value) }

// float is the reading as a float64, for types that do not difference
// integers.
func (r Reading) float() float64 {
	if r.Exact {
		f := float64(r.Count)
		if r.neg() {
			return -f
		}
		return f
	}
	return r.Value
}

// DS is the state of one data source: it turns readings into rates,
// weights them by time into step slots and emits each completed primary
// data point (PDP), exactly as rrdtool 1.7's update does.
//
// A DS is not safe for concurrent use.
type DS struct {
	typ      metric.DSType
	step     int64  // seconds
	hb       uint64 // heartbeat, seconds
	min, max float64

	lastSec  int64 // time of the last update, seconds and microseconds
	lastUsec int64
	last     Reading // previous reading (for differencing types)
	lastOK   bool    // last holds a known reading
	pdpVal   float64 // rate*seconds gathered in the open slot (NaN: none)
	unknSec  uint64  // unknown seconds gathered in the open slot
	rate     float64 // rate of the interval ended by the last update

	// splitFirst is set while Update emits when its first PDP closes a
	// slot that was open before the update and rrdtool processed it
	// apart from the rest (see Update). The in-memory RRD needs it to
	// place rows exactly as rrdtool does after long gaps.
	splitFirst bool
}

// NewDS returns a data source that starts at start (rrdtool create's
// --start: the first update must be later). step and the heartbeat must be
// whole seconds of at least one second.
func NewDS(spec metric.DS, step time.Duration, start time.Time) (*DS, error) {
	if err := checkSeconds("step", step); err != nil {
		return nil, err
	}
	if err := checkSeconds("heartbeat", spec.Heartbeat); err != nil {
		return nil, err
	}
	if spec.Type > metric.DDerive {
		return nil, fmt.Errorf("unknown data source type %v", spec.Type)
	}
	if spec.Min >= spec.Max {
		return nil, fmt.Errorf("data source min %g must be less than max %g", spec.Min, spec.Max)
	}
	d := &DS{
		typ:      spec.Type,
		step:     int64(step / time.Second),
		hb:       uint64(spec.Heartbeat / time.Second),
		min:      spec.Min,
		max:      spec.Max,
		lastSec:  start.Unix(),
		lastUsec: int64(start.Nanosecond() / 1000),
		pdpVal:   math.NaN(),
		rate:     math.NaN(),
	}
	// Seconds of the first slot before the start are unknown.
	d.unknSec = uint64(mod(d.lastSec, d.step))
	return d, nil
}

func checkSeconds(what string, d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return fmt.Errorf("%s %v: want a whole number of seconds, at least 1s", what, d)
	}
	return nil
}

// Spec returns the data source definition the state was built with.
func (d *DS) Spec() metric.DS {
	return metric.DS{Type: d.typ, Heartbeat: time.Duration(d.hb) * time.Second, Min: d.min, Max: d.max}
}

// Step returns the width of a PDP slot.
func (d *DS) Step() time.Duration { return time.Duration(d.step) * time.Second }

// LastUpdate returns the time of the last accepted update (or the start).
func (d *DS) LastUpdate() time.Time {
	return time.Unix(d.lastSec, d.lastUsec*1000)
}

// Rate returns the rate of the interval ended by the last accepted
// update, before any time-weighting into slots: the reading itself for a
// GAUGE, else the difference (or the reading, for ABSOLUTE) per second;
// NaN when unknown (unknown reading, nothing to difference, a gap beyond
// the heartbeat, outside min/max). It is NaN after UnmarshalBinary until
// the next update.
func (d *DS) Rate() float64 { return d.rate }

// Update feeds one reading taken at t. For every step slot the update
// completes, emit is called in time order with the slot's end (a multiple
// of the step since the epoch) and its value, NaN when unknown. An update
// not later than the previous one returns an error wrapping ErrNotAfter
// and changes nothing.
func (d *DS) Update(t time.Time, r Reading, emit func(end time.Time, v float64)) error {
	sec, usec := t.Unix(), int64(t.Nanosecond()/1000)
	if sec < d.lastSec || (sec == d.lastSec && usec <= d.lastUsec) {
		return fmt.Errorf("update at %d.%06d, last update at %d.%06d: %w", sec, usec, d.lastSec, d.lastUsec, ErrNotAfter)
	}
	interval := float64(sec-d.lastSec) + float64(usec-d.lastUsec)/1e6

	pdpNew := d.accumulate(r, interval)

	// Slots: the one holding the last update and the one holding this one.
	procSt := d.lastSec - mod(d.lastSec, d.step)
	occuAge := mod(sec, d.step)
	occuSt := sec - occuAge
	var preInt, postInt float64
	if occuSt > procSt {
		preInt = float64(occuSt-d.lastSec) - float64(d.lastUsec)/1e6
		postInt = float64(occuAge) + float64(usec)/1e6
	} else {
		preInt = interval
	}
	elapsed := (occuSt - procSt) / d.step

	d.lastSec, d.lastUsec = sec, usec
	if elapsed == 0 {
		// Still inside the same slot.
		if math.IsNaN(pdpNew) {
			d.unknSec += uint64(math.Floor(interval))
		} else if math.IsNaN(d.pdpVal) {
			d.pdpVal = pdpNew
		} else {
			d.pdpVal += pdpNew
		}
		return nil
	}

	end := procSt + d.step
	d.splitFirst = false
	if elapsed > 1 {
		// rrdtool closes the slot that was open before the update on
		// its own, giving it its time share of the new value, and then
		// treats the rest as whole slots. The heartbeat is then tested
		// against that share only, not the whole interval.
		if open := int64(uint64(preInt) % uint64(d.step)); open > 0 {
			openNew := math.NaN()
			if !math.IsNaN(pdpNew) && interval > 0 {
				openNew = pdpNew * float64(open) / interval
				pdpNew -= openNew
			}
			v := d.closeSlots(float64(open), float64(open), 0, 1, openNew)
			d.splitFirst = true
			if emit != nil {
				emit(time.Unix(end, 0), v)
			}
			end += d.step
			interval -= float64(open)
			preInt -= float64(open)
			elapsed--
		}
	}
	v := d.closeSlots(interval, preInt, postInt, elapsed, pdpNew)
	if emit != nil {
		for i := int64(0); i < elapsed; i++ {
			emit(time.Unix(end, 0), v)
			end += d.step
		}
	}
	d.splitFirst = false
	return nil
}

// accumulate turns the reading into rate*seconds for the interval since
// the last update (NaN: unknown) and remembers it for the next difference.
func (d *DS) accumulate(r Reading, interval float64) float64 {
	if float64(d.hb) < interval {
		// Too old to difference against.
		d.lastOK = false
	}
	pdpNew := math.NaN()
	if r.known() && float64(d.hb) >= interval {
		rate := math.NaN()
		switch d.typ {
		case metric.Counter, metric.Derive:
			if d.lastOK {
				pdpNew = intDiff(r, d.last)
				if d.typ == metric.Counter {
					// rrdtool adds 2^32-1, not 2^32, and then
					// 2^64-2^32, in float64.
					if pdpNew < 0 {
						pdpNew += 4294967295.0
					}
					if pdpNew < 0 {
						pdpNew += 18446744069414584320.0
					}
				}
				rate = pdpNew / interval
			}
		case metric.Absolute:
			pdpNew = r.float()
			rate = pdpNew / interval
		case metric.Gauge:
			v := r.float()
			pdpNew = v * interval
			rate = v
		case metric.DCounter, metric.DDerive:
			if d.lastOK {
				nv, ov := r.float(), d.last.float()
				if d.typ == metric.DCounter && ((nv > 0 && ov > nv) || (nv < 0 && nv > ov)) {
					// A change of direction is a reset.
					break
				}
				pdpNew = nv - ov
				rate = pdpNew / interval
			}
		}
		if !math.IsNaN(rate) && ((!math.IsNaN(d.max) && rate > d.max) || (!math.IsNaN(d.min) && rate < d.min)) {
			pdpNew = math.NaN()
		}
		if math.IsNaN(pdpNew) {
			rate = math.NaN()
		}
		d.rate = rate
	} else {
		d.rate = math.NaN()
	}
	d.last, d.lastOK = r, r.known()
	return pdpNew
}

// closeSlots closes elapsed slots with the part preInt of the interval
// that falls before the last slot boundary, and carries postInt over into
// the newly opened slot. It returns the value of the closed slots.
func (d *DS) closeSlots(interval, preInt, postInt float64, elapsed int64, pdpNew float64) float64 {
	preUnknown := 0.0
	if math.IsNaN(pdpNew) {
		preUnknown = preInt
	} else {
		if math.IsNaN(d.pdpVal) {
			d.pdpVal = 0
		}
		d.pdpVal += pdpNew / interval * preInt
	}
	v := math.NaN()
	// Only the unknown seconds gathered before this update count towards
	// "more than half unknown"; the unknown tail of this update does not.
	if !(interval > float64(d.hb)) && !(float64(d.step)/2.0 < float64(d.unknSec)) {
		v = d.pdpVal / (float64(elapsed*d.step-int64(d.unknSec)) - preUnknown)
	}
	if math.IsNaN(pdpNew) {
		d.unknSec = uint64(math.Floor(postInt))
		d.pdpVal = math.NaN()
	} else {
		d.unknSec = 0
		d.pdpVal = pdpNew / interval * postInt
	}
	return v
}

// intDiff is rrdtool's difference of two integer readings: exact when both
// are exact, NaN when their signs differ, and converted to float64 the way
// rrdtool parses the decimal result.
func intDiff(a, b Reading) float64 {
	an, bn := a.neg(), b.neg()
	if an != bn {
		return math.NaN()
	}
	if !a.Exact || !b.Exact {
		return a.float() - b.float()
	}
	var f float64
	if a.Count >= b.Count {
		f = digitsToFloat(a.Count - b.Count)
	} else {
		f = -digitsToFloat(b.Count - a.Count)
	}
	if an {
		f = -f
	}
	return f
}

// digitsToFloat converts n as rrdtool's own strtod does: digit by digit,
// multiplying by ten in float64. That differs from exact rounding above
// 2^53.
func digitsToFloat(n uint64) float64 {
	if n < 1<<53 {
		return float64(n)
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte(n % 10)
		n /= 10
	}
	f := 0.0
	for _, c := range buf[i:] {
		f = f*10 + float64(c)
	}
	return f
}

// mod is the non-negative remainder, so that slots stay aligned for times
// before the epoch as well.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

package rrd

import (
	"fmt"
	"math"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// RRA consolidates consecutive PDPs of one data source into rows of steps
// PDPs each, as an rrdtool round-robin archive does: a row ends at a
// multiple of step*steps since the epoch, and it is unknown when more than
// xff of its PDPs are unknown.
//
// An RRA is not safe for concurrent use.
type RRA struct {
	cf    metric.CF
	xff   float64
	steps int64 // PDPs per row
	step  int64 // PDP step, seconds

	next   int64   // end of the next PDP expected; 0 before the first
	cdpVal float64 // running consolidation of the open row
	unkn   uint64  // unknown PDPs in the open row

	// primary is the value of the first row the last addRun completed;
	// the in-memory RRD needs it to mimic rrdtool's capped bulk writes.
	primary float64
}

// NewRRA returns a consolidator of PDPs of width step into rows of steps
// PDPs with consolidation function cf and x-files factor xff (0 <= xff < 1).
func NewRRA(cf metric.CF, xff float64, steps int, step time.Duration) (*RRA, error) {
	if err := checkSeconds("step", step); err != nil {
		return nil, err
	}
	if cf > metric.Last {
		return nil, fmt.Errorf("unknown consolidation function %v", cf)
	}
	if !(xff >= 0 && xff < 1) {
		return nil, fmt.Errorf("xff %g: want 0 <= xff < 1", xff)
	}
	if steps < 1 {
		return nil, fmt.Errorf("steps per row %d: want at least 1", steps)
	}
	return &RRA{cf: cf, xff: xff, steps: int64(steps), step: int64(step / time.Second), cdpVal: math.NaN()}, nil
}

// CF returns the consolidation function.
func (r *RRA) CF() metric.CF { return r.cf }

// XFF returns the x-files factor.
func (r *RRA) XFF() float64 { return r.xff }

// Steps returns the number of PDPs per row.
func (r *RRA) Steps() int { return int(r.steps) }

// RowStep returns the time a row covers.
func (r *RRA) RowStep() time.Duration { return time.Duration(r.step*r.steps) * time.Second }

// Add feeds the PDP of the slot ending at end. PDPs must come in time
// order; PDPs skipped since the previous call count as unknown. The first
// PDP's slot may lie anywhere in a row: the PDPs of that row before it
// count as unknown, as in a freshly created rrdtool file. Every completed
// row is passed to emit with its end time. An end that is not a multiple of
// the step or not after the previous PDP is an error.
func (r *RRA) Add(end time.Time, v float64, emit func(end time.Time, v float64)) error {
	e := end.Unix()
	if end.Nanosecond() != 0 || mod(e, r.step) != 0 {
		return fmt.Errorf("pdp end %v is not a multiple of the step %ds", end, r.step)
	}
	if r.next == 0 {
		r.start(e)
	}
	if e < r.next {
		return fmt.Errorf("pdp end %d, expected %d or later: %w", e, r.next, ErrNotAfter)
	}
	if e > r.next {
		r.addRun((e-r.next)/r.step, math.NaN(), emit)
	}
	r.addRun(1, v, emit)
	return nil
}

// start positions an empty consolidator so that the slot ending at e is
// the next PDP; the PDPs of its row before that slot are unknown.
func (r *RRA) start(e int64) {
	r.next = e
	r.unkn = uint64(mod(e-r.step, r.step*r.steps) / r.step)
}

// addRun adds n consecutive PDPs of the same value v starting at r.next,
// with rrdtool's arithmetic for a bulk update.
func (r *RRA) addRun(n int64, v float64, emit func(end time.Time, v float64)) {
	first := r.next
	r.next += n * r.step
	procCnt := (first - r.step) / r.step
	need := r.steps - mod(procCnt, r.steps) // PDPs that complete the open row
	if need > n {
		if math.IsNaN(v) {
			r.unkn += uint64(n)
		} else {
			r.cdpVal = r.accumulate(r.cdpVal, v, n)
		}
		return
	}
	rows := (n-need)/r.steps + 1
	fill := v
	if math.IsNaN(v) {
		r.unkn += uint64(need)
	}
	primary := math.NaN()
	if !(float64(r.unkn) > float64(r.steps)*r.xff) {
		primary = r.complete(v, need)
	}
	r.cdpVal = r.carry(v, (n-need)%r.steps)
	if math.IsNaN(v) {
		r.unkn = uint64((n - need) % r.steps)
	} else {
		r.unkn = 0
	}
	r.primary = primary
	if emit == nil {
		return
	}
	rowEnd := first + (need-1)*r.step
	emit(time.Unix(rowEnd, 0), primary)
	for i := int64(1); i < rows; i++ {
		rowEnd += r.steps * r.step
		emit(time.Unix(rowEnd, 0), fill)
	}
}

// complete returns the value of the open row once need more PDPs of value
// v have been added.
func (r *RRA) complete(v float64, need int64) float64 {
	switch r.cf {
	case metric.Average:
		cum, cur := ifNaN(r.cdpVal, 0), ifNaN(v, 0)
		return (cum + cur*float64(need)) / float64(r.steps-int64(r.unkn))
	case metric.Max:
		cum, cur := ifNaN(r.cdpVal, math.Inf(-1)), ifNaN(v, math.Inf(-1))
		if cur > cum {
			return cur
		}
		return cum
	case metric.Min:
		cum, cur := ifNaN(r.cdpVal, math.Inf(1)), ifNaN(v, math.Inf(1))
		if cur < cum {
			return cur
		}
		return cum
	default:
		return v
	}
}

// carry returns the running value of a new row that already holds into
// PDPs of value v.
func (r *RRA) carry(v float64, into int64) float64 {
	if into == 0 || math.IsNaN(v) {
		switch r.cf {
		case metric.Max:
			return math.Inf(-1)
		case metric.Min:
			return math.Inf(1)
		case metric.Average:
			return 0
		default:
			return math.NaN()
		}
	}
	if r.cf == metric.Average {
		return v * float64(into)
	}
	return v
}

// accumulate folds n PDPs of known value v into the running value cum.
func (r *RRA) accumulate(cum, v float64, n int64) float64 {
	if math.IsNaN(cum) {
		if r.cf == metric.Average {
			return v * float64(n)
		}
		return v
	}
	switch r.cf {
	case metric.Average:
		return cum + v*float64(n)
	case metric.Min:
		if v < cum {
			return v
		}
		return cum
	case metric.Max:
		if v > cum {
			return v
		}
		return cum
	default:
		return v
	}
}

func ifNaN(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}

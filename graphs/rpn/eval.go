package rpn

import (
	"math"
	"slices"
	"time"
)

// Env is what a program reads: the series of the variables, all on one
// regular grid, and that grid. Row i is stamped Start+i*Step (Unix seconds),
// the end of the interval it covers.
type Env struct {
	Vars  [][]float64
	Start int64
	Step  int64
	Now   time.Time
	Loc   *time.Location // for LTIME and NEW*; nil means UTC
}

// Eval computes the program for every row into out, whose length sets the
// number of rows. A variable shorter than out reads as unknown past its end.
func (p *Program) Eval(env *Env, out []float64) {
	loc := env.Loc
	if loc == nil {
		loc = time.UTC
	}
	vecs := make([][]float64, len(p.vecs))
	for i, vs := range p.vecs {
		vecs[i] = vector(vs, env, len(out))
	}
	stack := make([]float64, p.maxDepth+1)
	tmp := make([]float64, 0, p.maxDepth+1)
	now := float64(env.Now.Unix())
	for row := range out {
		t := env.Start + int64(row)*env.Step
		sp := 0 // stack pointer: number of values on the stack
		for _, in := range p.code {
			switch in.op {
			case opConst:
				stack[sp] = in.v
				sp++
			case opVar:
				stack[sp] = at(env.Vars, in.ref, row)
				sp++
			case opPrevVar:
				stack[sp] = at(env.Vars, in.ref, row-1)
				sp++
			case opVec:
				stack[sp] = vecs[in.ref][row]
				sp++
			case opTime:
				stack[sp] = float64(t)
				sp++
			case opLTime:
				_, off := time.Unix(t, 0).In(loc).Zone()
				stack[sp] = float64(t + int64(off))
				sp++
			case opNow:
				stack[sp] = now
				sp++
			case opStepWidth:
				stack[sp] = float64(env.Step)
				sp++
			case opCount:
				stack[sp] = float64(row + 1)
				sp++
			case opPrev:
				if row == 0 {
					stack[sp] = math.NaN()
				} else {
					stack[sp] = out[row-1]
				}
				sp++
			case opNewDay, opNewWeek, opNewMonth, opNewYear:
				stack[sp] = b2f(newPeriod(in.op, t, env.Step, loc))
				sp++
			case opDup:
				stack[sp] = stack[sp-1]
				sp++
			case opPop:
				sp--
			case opExc:
				stack[sp-1], stack[sp-2] = stack[sp-2], stack[sp-1]
			case opIf:
				c, a, b := stack[sp-3], stack[sp-2], stack[sp-1]
				sp -= 2
				if math.IsNaN(c) || c == 0 {
					stack[sp-1] = b
				} else {
					stack[sp-1] = a
				}
			case opLimit:
				v, lo, hi := stack[sp-3], stack[sp-2], stack[sp-1]
				sp -= 2
				if math.IsNaN(v) || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(v, 0) || v < lo || v > hi {
					stack[sp-1] = math.NaN()
				} else {
					stack[sp-1] = v
				}
			case opSort, opRev, opAvg, opMedian, opStdev, opSMin, opSMax:
				vals := stack[sp-in.n : sp]
				sp -= in.n
				switch in.op {
				case opSort:
					slices.SortFunc(vals, cmpNaNFirst)
					sp += in.n
				case opRev:
					slices.Reverse(vals)
					sp += in.n
				default:
					stack[sp] = reduce(in.op, vals, &tmp)
					sp++
				}
			case opPercent:
				pc := stack[sp-1]
				vals := stack[sp-1-in.n : sp-1]
				sp -= in.n
				stack[sp-1] = nearestRank(vals, pc)
			case opCopy:
				copy(stack[sp:], stack[sp-in.n:sp])
				sp += in.n
			case opIndex:
				stack[sp] = stack[sp-in.n]
				sp++
			case opRoll:
				roll(stack[sp-in.n:sp], in.ref)
			default:
				if in.op >= opUN && in.op <= opRad2Deg {
					stack[sp-1] = unary(in.op, stack[sp-1])
				} else {
					stack[sp-2] = binary(in.op, stack[sp-2], stack[sp-1])
					sp--
				}
			}
		}
		out[row] = stack[0]
	}
}

func at(vars [][]float64, ref, row int) float64 {
	if ref < 0 || ref >= len(vars) || row < 0 || row >= len(vars[ref]) {
		return math.NaN()
	}
	return vars[ref][row]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func binary(o op, a, b float64) float64 {
	switch o {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b // IEEE: x/0 is ±Inf, 0/0 NaN, as rrdtool
	case opMod:
		return math.Mod(a, b) // fmod: sign of the dividend, x%0 NaN
	case opAtan2:
		return math.Atan2(a, b)
	case opPow:
		return math.Pow(a, b)
	case opMinNaN:
		if math.IsNaN(a) {
			return b
		}
		if math.IsNaN(b) {
			return a
		}
		return math.Min(a, b)
	case opMaxNaN:
		if math.IsNaN(a) {
			return b
		}
		if math.IsNaN(b) {
			return a
		}
		return math.Max(a, b)
	case opAddNaN:
		if math.IsNaN(a) {
			return b
		}
		if math.IsNaN(b) {
			return a
		}
		return a + b
	}
	// The rest yield unknown when either side is unknown.
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	switch o {
	case opLT:
		return b2f(a < b)
	case opLE:
		return b2f(a <= b)
	case opGT:
		return b2f(a > b)
	case opGE:
		return b2f(a >= b)
	case opEQ:
		return b2f(a == b)
	case opNE:
		return b2f(a != b)
	case opMin:
		return math.Min(a, b)
	case opMax:
		return math.Max(a, b)
	}
	return math.NaN()
}

func unary(o op, a float64) float64 {
	switch o {
	case opUN:
		return b2f(math.IsNaN(a))
	case opIsInf:
		return b2f(math.IsInf(a, 0))
	case opSin:
		return math.Sin(a)
	case opCos:
		return math.Cos(a)
	case opLog:
		return math.Log(a)
	case opExp:
		return math.Exp(a)
	case opSqrt:
		return math.Sqrt(a)
	case opAtan:
		return math.Atan(a)
	case opFloor:
		return math.Floor(a)
	case opCeil:
		return math.Ceil(a)
	case opAbs:
		return math.Abs(a)
	case opDeg2Rad:
		return a * math.Pi / 180
	case opRad2Deg:
		return a * 180 / math.Pi
	}
	return math.NaN()
}

// cmpNaNFirst orders unknowns before every number, so a sort is total.
func cmpNaNFirst(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return -1
	case bn:
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reduce folds n stack values to one, ignoring unknowns as rrdtool does;
// with no known value the result is unknown.
func reduce(o op, vals []float64, tmp *[]float64) float64 {
	known := (*tmp)[:0]
	for _, v := range vals {
		if !math.IsNaN(v) {
			known = append(known, v)
		}
	}
	*tmp = known
	n := len(known)
	if n == 0 {
		return math.NaN()
	}
	switch o {
	case opAvg:
		s := 0.0
		for _, v := range known {
			s += v
		}
		return s / float64(n)
	case opSMin:
		return slices.Min(known)
	case opSMax:
		return slices.Max(known)
	case opMedian:
		slices.Sort(known)
		if n%2 == 1 {
			return known[n/2]
		}
		return (known[n/2-1] + known[n/2]) / 2
	case opStdev:
		if n < 2 {
			return 0
		}
		s := 0.0
		for _, v := range known {
			s += v
		}
		mean := s / float64(n)
		ss := 0.0
		for _, v := range known {
			ss += (v - mean) * (v - mean)
		}
		return math.Sqrt(ss / float64(n-1)) // sample deviation, as rrdtool
	}
	return math.NaN()
}

// roll rotates vals by m places towards the top of the stack.
func roll(vals []float64, m int) {
	n := len(vals)
	if n == 0 {
		return
	}
	m %= n
	if m < 0 {
		m += n
	}
	if m == 0 {
		return
	}
	slices.Reverse(vals)
	slices.Reverse(vals[:m])
	slices.Reverse(vals[m:])
}

// newPeriod reports whether the row ending at t is the first of a new day,
// week (Monday), month or year in loc: the period of t-step differs.
func newPeriod(o op, t, step int64, loc *time.Location) bool {
	a := time.Unix(t-step, 0).In(loc)
	b := time.Unix(t, 0).In(loc)
	switch o {
	case opNewDay:
		return a.YearDay() != b.YearDay() || a.Year() != b.Year()
	case opNewWeek:
		ay, aw := a.ISOWeek()
		by, bw := b.ISOWeek()
		return ay != by || aw != bw
	case opNewMonth:
		return a.Month() != b.Month() || a.Year() != b.Year()
	}
	return a.Year() != b.Year()
}

// vector computes a whole-series operator such as TREND for rows 0..n-1.
func vector(vs vecSpec, env *Env, n int) []float64 {
	out := make([]float64, n)
	step := env.Step
	if step <= 0 {
		step = 1
	}
	if vs.kind >= vecPredict {
		predict(vs, env, step, out)
		return out
	}
	// A window covers this many rows, the current one included; rows whose
	// window reaches before the first row are unknown, as in rrdtool (a
	// caller that wants them known evaluates over earlier rows too, see
	// Lookback).
	w := max(int(math.Ceil(vs.window/float64(step)-1e-9)), 1)
	var sum float64
	var known int
	for i := 0; i < n; i++ {
		if v := at(env.Vars, vs.ref, i); !math.IsNaN(v) {
			sum += v
			known++
		}
		if j := i - w; j >= 0 {
			if v := at(env.Vars, vs.ref, j); !math.IsNaN(v) {
				sum -= v
				known--
			}
		}
		switch {
		case i+1 < w || known == 0:
			out[i] = math.NaN()
		case vs.kind == vecTrend && known < w:
			out[i] = math.NaN() // TREND: an unknown in the window makes it unknown
		default:
			out[i] = sum / float64(known)
		}
	}
	return out
}

// nearestRank is the p-th percentile of vals by the nearest-rank method,
// unknowns sorting first as rrdtool's PERCENT does: the value of rank
// ceil(p/100*n). p at or below 0 gives the smallest value, an unknown p
// an unknown result.
func nearestRank(vals []float64, p float64) float64 {
	if math.IsNaN(p) || len(vals) == 0 {
		return math.NaN()
	}
	slices.SortFunc(vals, cmpNaNFirst)
	r := int(math.Ceil(p / 100 * float64(len(vals))))
	return vals[min(max(r, 1), len(vals))-1]
}

// predict computes PREDICT, PREDICTSIGMA and PREDICTPERC as rrdtool
// documents them: the value at t pools, over every shift s, the known
// values in (t-s-window, t-s], and gives their mean, standard deviation or
// percentile. A positive percentile interpolates between the two nearest
// ranks, a negative one takes the closest rank. Means and deviations come
// from prefix sums, so a long window costs nothing per row; a percentile
// pools at most maxPool values a row (a window wider than that keeps its
// most recent rows).
func predict(vs vecSpec, env *Env, step int64, out []float64) {
	w := max(int(math.Ceil(vs.window/float64(step)-1e-9)), 1)
	shifts := make([]int, len(vs.shifts))
	for i, s := range vs.shifts {
		shifts[i] = int(math.Round(s / float64(step)))
	}
	var x []float64
	if vs.ref >= 0 && vs.ref < len(env.Vars) {
		x = env.Vars[vs.ref]
	}
	if vs.kind == vecPredictPerc {
		w = min(w, max(maxPool/len(shifts), 1))
		var pool []float64
		for i := range out {
			pool = pool[:0]
			for _, sh := range shifts {
				for j := max(i-sh-w+1, 0); j <= i-sh && j < len(x); j++ {
					if isNum(x[j]) {
						pool = append(pool, x[j])
					}
				}
			}
			out[i] = poolValue(vs, pool)
		}
		return
	}
	// cnt, sum and sq hold the known values' count, sum and sum of squares
	// of x[:j].
	cnt := make([]int, len(x)+1)
	sum := make([]float64, len(x)+1)
	sq := make([]float64, len(x)+1)
	for j, v := range x {
		cnt[j+1], sum[j+1], sq[j+1] = cnt[j], sum[j], sq[j]
		if isNum(v) {
			cnt[j+1]++
			sum[j+1] += v
			sq[j+1] += v * v
		}
	}
	for i := range out {
		n, s, q := 0, 0.0, 0.0
		for _, sh := range shifts {
			lo, hi := max(i-sh-w+1, 0), min(i-sh+1, len(x)) // rows [lo, hi)
			if lo >= hi {
				continue
			}
			n += cnt[hi] - cnt[lo]
			s += sum[hi] - sum[lo]
			q += sq[hi] - sq[lo]
		}
		switch {
		case n == 0:
			out[i] = math.NaN()
		case vs.kind == vecPredictSigma:
			if n < 2 {
				out[i] = math.NaN()
				break
			}
			mean := s / float64(n)
			out[i] = math.Sqrt(math.Max(q/float64(n)-mean*mean, 0) * float64(n) / float64(n-1))
		default:
			out[i] = s / float64(n)
		}
	}
}

// maxPool bounds the values a PREDICTPERC row sorts.
const maxPool = 1 << 16

func isNum(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func poolValue(vs vecSpec, pool []float64) float64 {
	n := len(pool)
	if n == 0 {
		return math.NaN()
	}
	switch vs.kind {
	case vecPredictSigma:
		if n < 2 {
			return math.NaN()
		}
		var sum, sum2 float64
		for _, v := range pool {
			sum += v
			sum2 += v * v
		}
		mean := sum / float64(n)
		return math.Sqrt(math.Max(sum2/float64(n)-mean*mean, 0) * float64(n) / float64(n-1))
	case vecPredictPerc:
		slices.Sort(pool)
		p := vs.perc
		if p < 0 {
			r := int(math.Round(-p / 100 * float64(n)))
			return pool[min(max(r, 1), n)-1]
		}
		pos := p / 100 * float64(n) // 1-based rank
		lo := int(math.Floor(pos))
		if lo < 1 {
			return pool[0]
		}
		if lo >= n {
			return pool[n-1]
		}
		f := pos - float64(lo)
		return pool[lo-1] + f*(pool[lo]-pool[lo-1])
	}
	var sum float64
	for _, v := range pool {
		sum += v
	}
	return sum / float64(n)
}

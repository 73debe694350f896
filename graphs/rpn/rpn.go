package rpn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Error is a compile error of one expression. Pos is the 1-based position
// of the offending token, 0 when the error concerns the whole expression.
type Error struct {
	Pos   int
	Token string
	Msg   string
}

func (e *Error) Error() string {
	if e.Pos == 0 {
		return "rpn: " + e.Msg
	}
	return fmt.Sprintf("rpn token %d %q: %s", e.Pos, e.Token, e.Msg)
}

type op uint8

const (
	opConst op = iota
	opVar
	opPrevVar
	opVec // a precomputed whole-series result (TREND and friends)

	// binary
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opLT
	opLE
	opGT
	opGE
	opEQ
	opNE
	opMin
	opMax
	opMinNaN
	opMaxNaN
	opAddNaN
	opAtan2
	opPow

	// unary
	opUN
	opIsInf
	opSin
	opCos
	opLog
	opExp
	opSqrt
	opAtan
	opFloor
	opCeil
	opAbs
	opDeg2Rad
	opRad2Deg

	// ternary
	opIf
	opLimit

	// stack
	opDup
	opPop
	opExc
	opDepth

	// nullary, from the row
	opTime
	opLTime
	opNow
	opStepWidth
	opCount
	opPrev
	opNewDay
	opNewWeek
	opNewMonth
	opNewYear

	// with a literal count of stack values below it
	opSort
	opRev
	opAvg
	opMedian
	opStdev
	opSMin
	opSMax
	opCopy
	opIndex
	opRoll
	opPercent
)

// arity: values popped and pushed by fixed-arity operators.
type arity struct{ pop, push int }

var ops = map[string]struct {
	op op
	a  arity
}{
	"+": {opAdd, arity{2, 1}}, "-": {opSub, arity{2, 1}}, "*": {opMul, arity{2, 1}},
	"/": {opDiv, arity{2, 1}}, "%": {opMod, arity{2, 1}},
	"LT": {opLT, arity{2, 1}}, "LE": {opLE, arity{2, 1}}, "GT": {opGT, arity{2, 1}},
	"GE": {opGE, arity{2, 1}}, "EQ": {opEQ, arity{2, 1}}, "NE": {opNE, arity{2, 1}},
	"MIN": {opMin, arity{2, 1}}, "MAX": {opMax, arity{2, 1}},
	"MINNAN": {opMinNaN, arity{2, 1}}, "MAXNAN": {opMaxNaN, arity{2, 1}},
	"ADDNAN": {opAddNaN, arity{2, 1}}, "ATAN2": {opAtan2, arity{2, 1}}, "POW": {opPow, arity{2, 1}},
	"UN": {opUN, arity{1, 1}}, "ISINF": {opIsInf, arity{1, 1}},
	"SIN": {opSin, arity{1, 1}}, "COS": {opCos, arity{1, 1}}, "LOG": {opLog, arity{1, 1}},
	"EXP": {opExp, arity{1, 1}}, "SQRT": {opSqrt, arity{1, 1}}, "ATAN": {opAtan, arity{1, 1}},
	"FLOOR": {opFloor, arity{1, 1}}, "CEIL": {opCeil, arity{1, 1}}, "ABS": {opAbs, arity{1, 1}},
	"DEG2RAD": {opDeg2Rad, arity{1, 1}}, "RAD2DEG": {opRad2Deg, arity{1, 1}},
	"IF": {opIf, arity{3, 1}}, "LIMIT": {opLimit, arity{3, 1}},
	"DUP": {opDup, arity{1, 2}}, "POP": {opPop, arity{1, 0}}, "EXC": {opExc, arity{2, 2}},
	"DEPTH": {opDepth, arity{0, 1}},
	"TIME":  {opTime, arity{0, 1}}, "LTIME": {opLTime, arity{0, 1}}, "NOW": {opNow, arity{0, 1}},
	"STEPWIDTH": {opStepWidth, arity{0, 1}}, "COUNT": {opCount, arity{0, 1}},
	"PREV":   {opPrev, arity{0, 1}},
	"NEWDAY": {opNewDay, arity{0, 1}}, "NEWWEEK": {opNewWeek, arity{0, 1}},
	"NEWMONTH": {opNewMonth, arity{0, 1}}, "NEWYEAR": {opNewYear, arity{0, 1}},
}

// counted are the operators that take a literal count n of values below it.
var counted = map[string]op{
	"SORT": opSort, "REV": opRev, "AVG": opAvg, "MEDIAN": opMedian, "STDEV": opStdev,
	"SMIN": opSMin, "SMAX": opSMax, "COPY": opCopy, "INDEX": opIndex, "ROLL": opRoll,
	"PERCENT": opPercent,
}

// vector operators work on a whole series: VAR,window,OP.
var vectorOps = map[string]vecKind{"TREND": vecTrend, "TRENDNAN": vecTrendNaN}

type vecKind uint8

const (
	vecTrend vecKind = iota
	vecTrendNaN
	vecPredict
	vecPredictSigma
	vecPredictPerc
)

var predictOps = map[string]vecKind{"PREDICT": vecPredict, "PREDICTSIGMA": vecPredictSigma, "PREDICTPERC": vecPredictPerc}

type vecSpec struct {
	kind   vecKind
	ref    int
	window float64   // seconds
	shifts []float64 // PREDICT*: seconds back
	perc   float64   // PREDICTPERC
}

type instr struct {
	op  op
	v   float64
	ref int // variable or vector index; count n for counted ops; m for ROLL
	n   int
}

// Program is a compiled expression. It is immutable and safe for concurrent
// use.
type Program struct {
	src      string
	code     []instr
	vecs     []vecSpec
	maxDepth int
	refs     []int
}

// String returns the source expression.
func (p *Program) String() string { return p.src }

// Lookback is how far before a row the program reads (TREND windows), in
// seconds: rows closer than that to the first one are unknown.
func (p *Program) Lookback() float64 {
	lb := 0.0
	for _, v := range p.vecs {
		back := 0.0
		for _, sh := range v.shifts {
			back = max(back, sh)
		}
		lb = max(lb, v.window+back)
	}
	return lb
}

// Refs returns the indexes of the variables the program reads.
func (p *Program) Refs() []int { return p.refs }

// maxCount bounds literal counts so a hostile expression cannot ask for a
// huge stack.
const maxCount = 1024

// Compile parses and checks expr. lookup resolves a variable name to the
// index of its series in Env.Vars; names are tried before operators, as in
// rrdtool, but a name that spells an operator is rejected by the caller's
// naming rules, not here.
func Compile(expr string, lookup func(name string) (int, bool)) (*Program, error) {
	p := &Program{src: expr}
	if strings.TrimSpace(expr) == "" {
		return nil, &Error{Msg: "empty expression"}
	}
	toks := strings.Split(expr, ",")
	depth := 0
	seen := map[int]bool{}
	addRef := func(i int) {
		if !seen[i] {
			seen[i] = true
			p.refs = append(p.refs, i)
		}
	}
	for i, raw := range toks {
		pos := i + 1
		tok := strings.TrimSpace(raw)
		bad := func(format string, a ...any) error {
			return &Error{Pos: pos, Token: tok, Msg: fmt.Sprintf(format, a...)}
		}
		need := func(n int) error {
			if depth < n {
				return bad("stack underflow (needs %d values, has %d)", n, depth)
			}
			return nil
		}
		switch {
		case tok == "":
			return nil, bad("empty token")
		case isNumber(tok):
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, bad("bad number")
			}
			p.code = append(p.code, instr{op: opConst, v: v})
			depth++
		case tok == "UNKN":
			p.code = append(p.code, instr{op: opConst, v: math.NaN()})
			depth++
		case tok == "INF":
			p.code = append(p.code, instr{op: opConst, v: math.Inf(1)})
			depth++
		case tok == "NEGINF":
			p.code = append(p.code, instr{op: opConst, v: math.Inf(-1)})
			depth++
		case strings.HasPrefix(tok, "PREV(") && strings.HasSuffix(tok, ")"):
			name := tok[len("PREV(") : len(tok)-1]
			idx, ok := lookup(name)
			if !ok {
				return nil, bad("unknown variable %q", name)
			}
			addRef(idx)
			p.code = append(p.code, instr{op: opPrevVar, ref: idx})
			depth++
		default:
			if idx, ok := lookup(tok); ok {
				addRef(idx)
				p.code = append(p.code, instr{op: opVar, ref: idx})
				depth++
				break
			}
			if o, ok := ops[tok]; ok {
				if err := need(o.a.pop); err != nil {
					return nil, err
				}
				p.code = append(p.code, instr{op: o.op})
				depth += o.a.push - o.a.pop
				if o.op == opDepth {
					// DEPTH's value is the static depth before it.
					p.code[len(p.code)-1] = instr{op: opConst, v: float64(depth - 1)}
				}
				break
			}
			if o, ok := counted[tok]; ok {
				var m int
				if o == opRoll {
					// n,m,ROLL: m (the rotation, may be negative) is on top.
					l := len(p.code)
					if l == 0 || p.code[l-1].op != opConst || p.code[l-1].v != math.Trunc(p.code[l-1].v) || math.Abs(p.code[l-1].v) > maxCount {
						return nil, bad("needs a literal integer rotation before it")
					}
					m = int(p.code[l-1].v)
					p.code = p.code[:l-1]
					depth--
				}
				n, err := literalCount(p.code, bad)
				if err != nil {
					return nil, err
				}
				p.code = p.code[:len(p.code)-1]
				depth--
				in := instr{op: o, n: n}
				switch o {
				case opRoll:
					in.ref = m
					if err := need(n); err != nil {
						return nil, err
					}
				case opIndex:
					if n < 1 {
						return nil, bad("index must be at least 1")
					}
					if err := need(n); err != nil {
						return nil, err
					}
					depth++
				case opCopy:
					if err := need(n); err != nil {
						return nil, err
					}
					depth += n
				case opSort, opRev:
					if err := need(n); err != nil {
						return nil, err
					}
				case opPercent: // v1..vn,p,n,PERCENT
					if n < 1 {
						return nil, bad("count must be at least 1")
					}
					if err := need(n + 1); err != nil {
						return nil, err
					}
					depth -= n
				default: // AVG, MEDIAN, STDEV, SMIN, SMAX: n values -> 1
					if n < 1 {
						return nil, bad("count must be at least 1")
					}
					if err := need(n); err != nil {
						return nil, err
					}
					depth += 1 - n
				}
				p.code = append(p.code, in)
				break
			}
			if k, ok := predictOps[tok]; ok {
				spec, used, err := predictSpec(p.code, k, bad)
				if err != nil {
					return nil, err
				}
				p.vecs = append(p.vecs, spec)
				p.code = append(p.code[:len(p.code)-used], instr{op: opVec, ref: len(p.vecs) - 1})
				depth += 1 - used
				break
			}
			if k, ok := vectorOps[tok]; ok {
				// VAR,window,OP: both must be literal tokens right before.
				l := len(p.code)
				if l < 2 || p.code[l-1].op != opConst || p.code[l-2].op != opVar {
					return nil, bad("needs a variable and a window in seconds before it (x,1800,%s)", tok)
				}
				w := p.code[l-1].v
				if !(w > 0) || math.IsInf(w, 0) {
					return nil, bad("window must be a positive number of seconds")
				}
				p.vecs = append(p.vecs, vecSpec{kind: k, ref: p.code[l-2].ref, window: w})
				p.code = append(p.code[:l-2], instr{op: opVec, ref: len(p.vecs) - 1})
				depth--
				break
			}
			return nil, bad("unknown operator or variable")
		}
		if depth > p.maxDepth {
			p.maxDepth = depth
		}
	}
	if depth != 1 {
		return nil, &Error{Msg: fmt.Sprintf("%q leaves %d values on the stack (want exactly 1)", expr, depth)}
	}
	return p, nil
}

// literalCount reads the count operand of a counted operator, which must be
// a non-negative integer literal right before it, so the stack depth is
// known when the template is loaded.
func literalCount(code []instr, bad func(string, ...any) error) (int, error) {
	if len(code) == 0 || code[len(code)-1].op != opConst {
		return 0, bad("needs a literal count before it")
	}
	v := code[len(code)-1].v
	if v != math.Trunc(v) || v < 0 || v > maxCount {
		return 0, bad("count %v must be an integer from 0 to %d", v, maxCount)
	}
	return int(v), nil
}

func isNumber(tok string) bool {
	c := tok[0]
	if c == '-' || c == '+' || c == '.' {
		if len(tok) == 1 {
			return false
		}
		c = tok[1]
		if c == '.' && len(tok) > 2 {
			c = tok[2]
		}
	}
	return c >= '0' && c <= '9'
}

// predictSpec reads the literal arguments of PREDICT, PREDICTSIGMA and
// PREDICTPERC before them: shift_n,...,shift_1,n,window[,percentile],x or,
// with a negative n, multiplier,-n,window[,percentile],x for the shifts
// multiplier*1..multiplier*|n|. It returns how many instructions they took.
func predictSpec(code []instr, k vecKind, bad func(string, ...any) error) (vecSpec, int, error) {
	usage := "needs literal shifts, a count, a window in seconds%s and a variable before it (86400,604800,2,1800,x,%s)"
	name := map[vecKind]string{vecPredict: "PREDICT", vecPredictSigma: "PREDICTSIGMA", vecPredictPerc: "PREDICTPERC"}[k]
	pct := ""
	if k == vecPredictPerc {
		pct = ", a percentile"
	}
	fail := func() (vecSpec, int, error) { return vecSpec{}, 0, bad(usage, pct, name) }
	i := len(code) - 1
	if i < 0 || code[i].op != opVar {
		return fail()
	}
	spec := vecSpec{kind: k, ref: code[i].ref}
	lit := func() (float64, bool) {
		i--
		if i < 0 || code[i].op != opConst || math.IsNaN(code[i].v) || math.IsInf(code[i].v, 0) {
			return 0, false
		}
		return code[i].v, true
	}
	if k == vecPredictPerc {
		v, ok := lit()
		if !ok || v < -100 || v > 100 {
			return vecSpec{}, 0, bad("percentile must be a literal from -100 to 100")
		}
		spec.perc = v
	}
	w, ok := lit()
	if !ok {
		return fail()
	}
	if w <= 0 {
		return vecSpec{}, 0, bad("window must be a positive number of seconds")
	}
	spec.window = w
	n, ok := lit()
	if !ok || n != math.Trunc(n) || n == 0 || math.Abs(n) > 64 {
		return vecSpec{}, 0, bad("shift count must be a literal integer from 1 to 64 (negative: multiples of one shift)")
	}
	if n < 0 {
		m, ok := lit()
		if !ok || m <= 0 {
			return fail()
		}
		for j := 1; j <= int(-n); j++ {
			spec.shifts = append(spec.shifts, m*float64(j))
		}
	} else {
		for j := 0; j < int(n); j++ {
			sh, ok := lit()
			if !ok || sh < 0 {
				return vecSpec{}, 0, bad("shifts must be literal numbers of seconds, not negative")
			}
			spec.shifts = append(spec.shifts, sh)
		}
	}
	const maxBack = 10 * 365 * 86400
	for _, sh := range spec.shifts {
		if sh+spec.window > maxBack {
			return vecSpec{}, 0, bad("shift and window reach back more than 10 years")
		}
	}
	return spec, len(code) - i, nil
}

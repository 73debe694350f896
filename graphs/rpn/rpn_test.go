package rpn

import (
	"math"
	"strings"
	"testing"
	"time"
)

var nan = math.NaN()
var inf = math.Inf(1)

// vars a and b for the tests: a is 5 on every row, b is 0, u is unknown.
func lookup(name string) (int, bool) {
	switch name {
	case "a":
		return 0, true
	case "b":
		return 1, true
	case "u":
		return 2, true
	case "s":
		return 3, true
	}
	return 0, false
}

func evalOne(t testing.TB, expr string) float64 {
	t.Helper()
	p, err := Compile(expr, lookup)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	env := &Env{Vars: [][]float64{{5, 5}, {0, 0}, {nan, nan}, {1, 3}}, Start: 86400*3 - 60, Step: 60}
	out := make([]float64, 2)
	p.Eval(env, out)
	return out[1]
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr string
		want float64
	}{
		{"a,8,*", 40},
		{"a,2,-", 3},
		{"a,2,/", 2.5},
		{"a,b,/", inf},
		{"a,-1,*,b,/", -inf},
		{"b,b,/", nan},
		{"a,b,%", nan},
		{"-5,3,%,a,POP", -2},
		{"5,-3,%,a,POP", 2},
		{"a,INF,%", 5},
		{"INF,2,%,a,POP", nan},
		{"u,1,+", nan},
		{"INF,NEGINF,+,a,POP", nan},
		{"a,3,LT", 0},
		{"a,5,LE", 1},
		{"a,3,GT", 1},
		{"a,6,GE", 0},
		{"a,5,EQ", 1},
		{"a,5,NE", 0},
		{"u,1,LT", nan},
		{"INF,1,LT,a,POP", 0},
		{"INF,INF,EQ,a,POP", 1},
		{"a,1,2,IF", 1},
		{"b,1,2,IF", 2},
		{"u,1,2,IF", 2},
		{"INF,1,2,IF,a,POP", 1},
		{"u,UN", 1},
		{"a,UN", 0},
		{"INF,ISINF,a,POP", 1},
		{"NEGINF,ISINF,a,POP", 1},
		{"u,ISINF", 0},
		{"a,u,MIN", nan},
		{"a,u,MAX", nan},
		{"a,u,MINNAN", 5},
		{"u,a,MAXNAN", 5},
		{"u,u,MAXNAN", nan},
		{"a,b,MIN", 0},
		{"a,b,MAX", 5},
		{"a,u,ADDNAN", 5},
		{"u,u,ADDNAN", nan},
		{"a,a,ADDNAN", 10},
		{"a,0,10,LIMIT", 5},
		{"a,6,10,LIMIT", nan},
		{"a,u,10,LIMIT", nan},
		{"a,0,INF,LIMIT", 5},
		{"INF,0,INF,LIMIT,a,POP", nan},
		{"UNKN,a,POP", nan},
		{"INF,a,POP", inf},
		{"NEGINF,a,POP", -inf},
		{"a,DUP,*", 25},
		{"a,b,POP", 5},
		{"a,2,EXC,-", -3},
		{"TIME", 86400 * 3},
		{"STEPWIDTH", 60},
		{"COUNT", 2},
		{"PREV,UN", 0}, // row 0 is unknown, row 1 reads it
		{"s,PREV(s),-", 2},
		{"NEWDAY", 1},
		{"NEWMONTH", 0},
		{"1,2,3,4,4,AVG,a,POP", 2.5},
		{"1,u,3,3,AVG", 2},
		{"1,5,3,3,MEDIAN", 3},
		{"1,2,3,4,4,MEDIAN", 2.5},
		{"1,u,2,3,MEDIAN", 1.5},
		{"1,2,3,4,4,STDEV,a,POP", 1.2909944487358056},
		{"3,1,2,3,SORT,POP,POP", 1},
		{"3,1,2,3,REV,POP,POP", 2},
		{"1,2,3,3,SMIN,a,POP", 1},
		{"1,2,3,3,SMAX,a,POP", 3},
		{"1,2,3,2,COPY,+,+,+,+,a,POP", 11},
		{"1,2,3,2,INDEX,+,+,+,a,POP", 8},
		{"5,2,POW,a,POP", 25},
		{"2,3,ATAN2,a,POP", math.Atan2(2, 3)},
		{"a,1,2,DEPTH,+,+,+", 11},
		{" a , 1 , + ", 6},
		{"s,120,TRENDNAN", 2},
		{"s,90,TRENDNAN", 2},    // a window of 1.5 rows covers 2
		{"s,180,TRENDNAN", nan}, // reaches before the first row
		{"a,1e3,*", 5000},
		{"1,2,3,4,95,4,PERCENT,a,POP", 4},
		{"1,2,3,4,50,4,PERCENT,a,POP", 2},
		{"4,3,2,1,75,4,PERCENT,a,POP", 3},
		{"1,u,3,4,50,4,PERCENT", 1}, // unknowns sort first
		{"1,2,u,2,PERCENT", nan},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			if got := evalOne(t, tc.expr); !same(got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "rpn: empty expression"},
		{"a,FOO,+", `rpn token 2 "FOO": unknown operator or variable`},
		{"a,+", `rpn token 2 "+": stack underflow (needs 2 values, has 1)`},
		{"a,b", `rpn: "a,b" leaves 2 values on the stack (want exactly 1)`},
		{"a,POP", `leaves 0 values`},
		{"a,,+", `rpn token 2 "": empty token`},
		{"2,3,IF", `rpn token 3 "IF": stack underflow (needs 3 values, has 2)`},
		{"a,b,a,SORT", `rpn token 4 "SORT": needs a literal count`},
		{"a,1.5,AVG", `count 1.5 must be an integer`},
		{"a,3,AVG", `rpn token 3 "AVG": stack underflow`},
		{"a,0,AVG", `count must be at least 1`},
		{"a,95,2,PERCENT", `rpn token 4 "PERCENT": stack underflow (needs 3 values, has 2)`},
		{"1,1800,TREND", `needs a variable and a window`},
		{"a,0,TREND", `window must be a positive number`},
		{"PREV(zz)", `rpn token 1 "PREV(zz)": unknown variable "zz"`},
		{"1.2.3", `rpn token 1 "1.2.3": bad number`},
		{"-", `rpn token 1 "-": stack underflow`},
		{"a,b,+,NaN", `unknown operator or variable`},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr, lookup)
			if err == nil {
				t.Fatalf("Compile(%q) succeeded, want error %q", tc.expr, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile(%q) = %q, want it to contain %q", tc.expr, err, tc.want)
			}
		})
	}
}

func TestEvalShortVarsAndPrev(t *testing.T) {
	p, err := Compile("PREV,UN,a,PREV,IF", lookup) // running copy of the first a
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 4)
	p.Eval(&Env{Vars: [][]float64{{7}}, Step: 1}, out)
	for i, v := range out {
		if v != 7 {
			t.Errorf("row %d = %v, want 7 (carried by PREV)", i, v)
		}
	}
}

func TestTrend(t *testing.T) {
	p, err := Compile("s,180,TREND", lookup)
	if err != nil {
		t.Fatal(err)
	}
	s := []float64{1, 2, 3, nan, 5, 6, 7}
	out := make([]float64, len(s))
	p.Eval(&Env{Vars: [][]float64{nil, nil, nil, s}, Step: 60}, out)
	// Rows whose window starts before the data are unknown, as in rrdtool.
	want := []float64{nan, nan, 2, nan, nan, nan, 6}
	for i := range want {
		if !same(out[i], want[i]) {
			t.Errorf("row %d = %v, want %v (all %v)", i, out[i], want[i], out)
		}
	}
}

func TestNewPeriodsInZone(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	p, err := Compile("NEWDAY", lookup)
	if err != nil {
		t.Fatal(err)
	}
	// Rows every hour from 21:00 UTC: the local day changes at 23:00 UTC.
	start := time.Date(2026, 1, 1, 21, 0, 0, 0, time.UTC).Unix()
	out := make([]float64, 4)
	p.Eval(&Env{Start: start, Step: 3600, Loc: loc}, out)
	want := []float64{0, 0, 1, 0}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("row %d = %v, want %v", i, out[i], want[i])
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"a,8,*", "a,b,+,2,/", "1,2,3,3,SORT,POP,POP", "s,600,TREND", "PREV(a),UN",
		"a,0,10,LIMIT", "1,2,3,3,1,ROLL,+,+", "86400,-3,1800,s,PREDICT", "60,120,2,300,90,s,PREDICTPERC", "a,1,2,IF", ",,,", "-", "1e400", "a,99999,AVG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr, lookup)
		if err != nil {
			if p != nil {
				t.Fatal("program returned with an error")
			}
			return
		}
		// A compiled program must evaluate without panicking.
		out := make([]float64, 3)
		p.Eval(&Env{Vars: [][]float64{{1, 2, 3}, {0, nan, -1}, {nan}, {inf, 2, 3}}, Start: 1e9, Step: 60}, out)
	})
}

func TestPredict(t *testing.T) {
	// Hourly rows of a daily pattern: value = hour of day, plus 100 on day 2.
	n := 72
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i % 24)
		if i >= 24 && i < 48 {
			x[i] += 100
		}
	}
	x[30] = nan
	lookup := func(name string) (int, bool) { return 0, name == "x" }
	eval := func(expr string) []float64 {
		t.Helper()
		p, err := Compile(expr, lookup)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		out := make([]float64, n)
		p.Eval(&Env{Vars: [][]float64{x}, Step: 3600}, out)
		return out
	}
	// Mean of the same hour one and two days back: row 50 (hour 2, day 3)
	// pools row 26 (102) and row 2 (2).
	if got := eval("86400,172800,2,3600,x,PREDICT")[50]; got != 52 {
		t.Errorf("PREDICT = %v, want 52", got)
	}
	// The same with a multiplier and a negative count.
	if got := eval("86400,-2,3600,x,PREDICT")[50]; got != 52 {
		t.Errorf("PREDICT with -2 = %v, want 52", got)
	}
	// A 3-hour window one day back at row 56 (hour 8): rows 30..32, one unknown.
	if got := eval("86400,1,10800,x,PREDICT")[56]; got != (107.0+108)/2 {
		t.Errorf("PREDICT window = %v, want 107.5", got)
	}
	if got := eval("86400,172800,2,3600,x,PREDICTSIGMA")[50]; math.Abs(got-math.Sqrt(5000)) > 1e-9 {
		t.Errorf("PREDICTSIGMA = %v, want %v", got, math.Sqrt(5000))
	}
	if got := eval("86400,172800,2,3600,50,x,PREDICTPERC")[50]; got != 2 {
		t.Errorf("PREDICTPERC 50 = %v, want 2 (rank 1 of 2)", got)
	}
	if got := eval("86400,172800,2,3600,75,x,PREDICTPERC")[50]; got != 52 {
		t.Errorf("PREDICTPERC 75 = %v, want 52 (half way)", got)
	}
	if got := eval("86400,172800,2,3600,-100,x,PREDICTPERC")[50]; got != 102 {
		t.Errorf("PREDICTPERC -100 = %v, want 102", got)
	}
	// Before the data: unknown.
	if got := eval("86400,1,3600,x,PREDICT")[5]; !math.IsNaN(got) {
		t.Errorf("PREDICT before data = %v", got)
	}
	p, _ := Compile("86400,172800,2,1800,x,PREDICT", lookup)
	if got := p.Lookback(); got != 172800+1800 {
		t.Errorf("lookback %v", got)
	}
	for expr, want := range map[string]string{
		"86400,2,1800,x,PREDICT":         `shifts must be literal`,
		"86400,1,1800,PREDICT":           `needs literal shifts`,
		"86400,1,0,x,PREDICT":            `window must be a positive`,
		"86400,1,1800,200,x,PREDICTPERC": `percentile must be a literal from -100 to 100`,
		"86400,0,1800,x,PREDICT":         `shift count must be`,
		"1e9,1,1800,x,PREDICT":           `more than 10 years`,
	} {
		if _, err := Compile(expr, lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want %q", expr, err, want)
		}
	}
}

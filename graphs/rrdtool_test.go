package graphs

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs/rpn"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// needRRDtool returns the rrdtool binary, failing under CI when it is
// missing (make test installs it) and skipping otherwise.
func needRRDtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("rrdtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("rrdtool not found: install it (apt-get install rrdtool; make test does this)")
		}
		t.Skip("rrdtool not installed")
	}
	return p
}

// oracleRRD creates an RRD with two gauges, a and b, on a 60 s step: 200
// rows of small integers (so rrdtool's 10-digit output is exact), zeros,
// negatives and unknowns.
func oracleRRD(t *testing.T, bin string) (file string, start, end int64) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "o.rrd")
	t0 := int64(1767225600 - 200*60) // rows end on multiples of 60
	run(t, bin, "create", file, "--start", strconv.FormatInt(t0-60, 10), "--step", "60",
		"DS:a:GAUGE:120:U:U", "DS:b:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:400")
	args := []string{"update", file}
	for i := int64(0); i < 200; i++ {
		a, b := strconv.Itoa(int(i%17)-5), strconv.Itoa(int(i%7)-3)
		if i%13 == 5 {
			a = "U"
		}
		if i%11 == 3 {
			b = "U"
		}
		args = append(args, fmt.Sprintf("%d:%s:%s", t0+60*i, a, b))
	}
	run(t, bin, args...)
	return file, t0, t0 + 199*60
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rrdtool %s: %v\n%s", strings.Join(args[:2], " "), err, out)
	}
	return string(out)
}

type xportDoc struct {
	Rows []struct {
		T int64    `xml:"t"`
		V []string `xml:"v"`
	} `xml:"data>row"`
}

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("rrdtool printed %q: %v", s, err)
	}
	return v
}

// closeTo compares with rrdtool's 10 significant printed digits.
func closeTo(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestRPNAgainstRRDtool evaluates CDEF expressions with rrdtool xport and
// with package rpn over the same rows.
func TestRPNAgainstRRDtool(t *testing.T) {
	bin := needRRDtool(t)
	file, start, end := oracleRRD(t, bin)
	exprs := []string{
		"a,b,+", "a,b,-", "a,b,*", "a,b,/", "a,b,%", "b,0,/", "a,0,/,ISINF", "a,b,LT", "a,b,LE", "a,b,GT",
		"a,b,GE", "a,b,EQ", "a,b,NE", "a,b,MIN", "a,b,MAX", "a,b,MINNAN", "a,b,MAXNAN", "a,b,ADDNAN",
		"a,UN", "b,1,2,IF", "a,-2,3,LIMIT", "a,DUP,*", "a,b,EXC,-", "a,b,POP", "a,UNKN,+", "a,INF,+",
		"a,NEGINF,MAX", "TIME,a,POP", "STEPWIDTH,a,POP", "COUNT,a,POP", "PREV,UN,a,PREV,1,+,IF",
		"a,PREV(a),-", "a,b,3,4,4,AVG", "a,b,3,4,50,4,PERCENT", "a,b,1,2,90,4,PERCENT", "a,b,3,4,4,MEDIAN", "a,b,3,4,4,STDEV", "a,b,1,3,SMIN", "a,b,1,3,SMAX",
		"a,b,2,SORT,-", "a,b,2,REV,-", "a,b,1,2,COPY,+,+,+,+", "a,b,1,2,INDEX,+,+,+", "a,SQRT", "a,ABS,LOG",
		"a,EXP", "a,FLOOR", "a,2,/,CEIL", "a,SIN", "a,COS", "a,ATAN", "a,b,ATAN2", "a,2,POW",
		"a,RAD2DEG", "a,300,TRENDNAN", "a,90,TREND", "b,200,TREND", "NEWDAY,a,POP", "a,b,UN,+",
	}
	args := []string{"xport", "--showtime", "--start", strconv.FormatInt(start-60, 10), "--end", strconv.FormatInt(end, 10),
		"--step", "60", "DEF:a=" + file + ":a:AVERAGE", "DEF:b=" + file + ":b:AVERAGE", "XPORT:a", "XPORT:b"}
	for i, e := range exprs {
		args = append(args, fmt.Sprintf("CDEF:x%d=%s", i, e), fmt.Sprintf("XPORT:x%d", i))
	}
	var doc xportDoc
	if err := decodeXport(run(t, bin, args...), &doc); err != nil {
		t.Fatal(err)
	}
	n := len(doc.Rows)
	if n < 190 {
		t.Fatalf("rrdtool gave %d rows", n)
	}
	col := func(j int) []float64 {
		out := make([]float64, n)
		for i, r := range doc.Rows {
			out[i] = parseNum(t, r.V[j])
		}
		return out
	}
	a, b := col(0), col(1)
	env := &rpn.Env{Vars: [][]float64{a, b}, Start: doc.Rows[0].T, Step: 60}
	lookup := func(name string) (int, bool) {
		switch name {
		case "a":
			return 0, true
		case "b":
			return 1, true
		}
		return 0, false
	}
	for i, e := range exprs {
		prog, err := rpn.Compile(e, lookup)
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		got := make([]float64, n)
		prog.Eval(env, got)
		want := col(2 + i)
		bad := 0
		for r := range got {
			if !closeTo(got[r], want[r]) {
				if bad < 3 {
					t.Errorf("%s row %d (a=%v b=%v): got %v, rrdtool %v", e, r, a[r], b[r], got[r], want[r])
				}
				bad++
			}
		}
	}
}

// TestVDefAgainstRRDtool compares VDEF results with rrdtool graph PRINT.
func TestVDefAgainstRRDtool(t *testing.T) {
	bin := needRRDtool(t)
	file, start, end := oracleRRD(t, bin)
	funcs := []string{"MAXIMUM", "MINIMUM", "AVERAGE", "STDEV", "LAST", "FIRST", "TOTAL", "95,PERCENT",
		"50,PERCENT", "5,PERCENTNAN", "50,PERCENTNAN", "LSLSLOPE", "LSLINT", "LSLCORREL"}
	rng := []string{"--start", strconv.FormatInt(start-60, 10), "--end", strconv.FormatInt(end, 10), "--step", "60"}
	gargs := append([]string{"graph", "/dev/null", "-w", "400"}, rng...)
	gargs = append(gargs, "DEF:a="+file+":a:AVERAGE")
	for i, f := range funcs {
		gargs = append(gargs, fmt.Sprintf("VDEF:v%d=a,%s", i, f), fmt.Sprintf("PRINT:v%d:%%.12le", i))
	}
	lines := strings.Split(strings.TrimSpace(run(t, bin, gargs...)), "\n")[1:] // first line: image size
	var doc xportDoc
	xargs := append(append([]string{"xport", "--showtime"}, rng...), "DEF:a="+file+":a:AVERAGE", "XPORT:a")
	if err := decodeXport(run(t, bin, xargs...), &doc); err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, len(doc.Rows))
	for i, r := range doc.Rows {
		vals[i] = parseNum(t, r.V[0])
	}
	for i, f := range funcs {
		name, arg := f, 0.0
		if k := strings.IndexByte(f, ','); k > 0 {
			name = f[k+1:]
			arg, _ = strconv.ParseFloat(f[:k], 64)
		}
		fn, err := parseVDefFunc(name, arg)
		if err != nil {
			t.Fatal(err)
		}
		got := fn.apply(vals, doc.Rows[0].T, 60).Value
		want := parseNum(t, lines[i])
		if !closeTo(got, want) {
			t.Errorf("VDEF %s: got %v, rrdtool %v", f, got, want)
		}
	}
}

// TestCSVAgainstRRDtoolXport checks the export against rrdtool xport of the
// same data at the same step: the plan (DEF + CDEF on one grid) must give
// rrdtool's numbers.
func TestCSVAgainstRRDtoolXport(t *testing.T) {
	bin := needRRDtool(t)
	file, start, end := oracleRRD(t, bin)
	var doc xportDoc
	out := run(t, bin, "xport", "--showtime", "--start", strconv.FormatInt(start-60, 10), "--end", strconv.FormatInt(end, 10),
		"--step", "60", "DEF:a="+file+":a:AVERAGE", "DEF:b="+file+":b:AVERAGE", "CDEF:s=a,b,+,8,*", "XPORT:a", "XPORT:s")
	if err := decodeXport(out, &doc); err != nil {
		t.Fatal(err)
	}
	// Serve a and b from a fake storage holding rrdtool's own rows.
	q := &fakeQuerier{}
	a, b := make([]float64, len(doc.Rows)), make([]float64, len(doc.Rows))
	for i, r := range doc.Rows {
		a[i] = parseNum(t, r.V[0])
		s := parseNum(t, r.V[1])
		b[i] = s/8 - a[i] // recover b where both are known; unknown otherwise
	}
	first := time.Unix(doc.Rows[0].T, 0)
	q.add(labelsFor("a"), first, time.Minute, a)
	q.add(labelsFor("b"), first, time.Minute, b)
	tm := Template{Name: "x", Title: "x", Defs: []Def{{Name: "a", Metric: "a"}, {Name: "b", Metric: "b"}},
		CDefs: []CDef{{Name: "s", RPN: "a,b,+,8,*"}},
		Items: []Item{{Type: "LINE", Ref: "a", Color: "#000000"}, {Type: "LINE", Ref: "s", Color: "#000000"}}}
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	// Wide enough for one row per minute.
	w := len(doc.Rows) + leftMarginEstimate + rightMargin + 10
	p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "d"},
		Options{From: first.Add(-time.Minute), To: time.Unix(doc.Rows[len(doc.Rows)-1].T, 0), Width: w, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step != time.Minute {
		t.Fatalf("plan step %v, want 1m", p.Step)
	}
	for i, r := range doc.Rows {
		if p.Time(i).Unix() != r.T {
			t.Fatalf("row %d at %d, rrdtool %d", i, p.Time(i).Unix(), r.T)
		}
		if got, want := p.Series[1].Values[i], parseNum(t, r.V[1]); !closeTo(got, want) {
			t.Errorf("row %d: s = %v, rrdtool %v", i, got, want)
		}
	}
}

func labelsFor(name string) metric.Labels {
	return metric.New(metric.NameLabel, name, metric.DeviceLabel, "d")
}

// decodeXport reads rrdtool's XML, which declares ISO-8859-1 but holds
// only ASCII here.
func decodeXport(s string, doc *xportDoc) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d.Decode(doc)
}

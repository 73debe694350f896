package rrd

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A conformance case is a text file, one directive per line, # comments:
//
//	create --step 60 DS:x:COUNTER:120:0:U RRA:AVERAGE:0.5:1:1440
//	update 1700000000:100 1700000060:250 1700000125:U
//	fetch AVERAGE --start 1700000000 --end 1700003600
//
// create and update take rrdtool's own arguments (without the file name);
// there may be several update and fetch lines, applied in order. Without
// --start, create starts ten steps before the first update.
type rrdCase struct {
	file   string
	create []string
	ops    []caseOp
}

type caseOp struct {
	line  int
	verb  string // update or fetch
	args  []string
	input string
}

func parseCase(file, src string) (*rrdCase, error) {
	c := &rrdCase{file: file}
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "create":
			if c.create != nil {
				return nil, fmt.Errorf("%s:%d: second create", file, n)
			}
			if len(f) == 1 {
				return nil, fmt.Errorf("%s:%d: create without arguments", file, n)
			}
			c.create = f[1:]
		case "update", "fetch":
			if c.create == nil {
				return nil, fmt.Errorf("%s:%d: %s before create", file, n, f[0])
			}
			if len(f) == 1 {
				return nil, fmt.Errorf("%s:%d: %s without arguments", file, n, f[0])
			}
			c.ops = append(c.ops, caseOp{line: n, verb: f[0], args: f[1:], input: strings.TrimSpace(line)})
		default:
			return nil, fmt.Errorf("%s:%d: unknown directive %q (want create, update or fetch)", file, n, f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if c.create == nil {
		return nil, fmt.Errorf("%s: no create line", file)
	}
	if err := c.addStart(); err != nil {
		return nil, err
	}
	return c, nil
}

// addStart adds --start ten steps before the first update when create has
// none, so that rrdtool (whose default is now-10s) accepts the updates.
func (c *rrdCase) addStart() error {
	step := int64(300)
	for i, a := range c.create {
		opt, val, has := splitOpt(a)
		switch opt {
		case "--start", "-b":
			return nil
		case "--step", "-s":
			if !has && i+1 < len(c.create) {
				val = c.create[i+1]
			}
			if n, err := parseDuration(val, 1); err == nil {
				step = n
			}
		}
	}
	for _, op := range c.ops {
		if op.verb != "update" {
			continue
		}
		ts, _, _ := strings.Cut(op.args[0], ":")
		sec, _, err := parseTime(ts)
		if err != nil {
			return fmt.Errorf("%s:%d: first update: %w", c.file, op.line, err)
		}
		c.create = append([]string{"--start", strconv.FormatInt(sec-10*step, 10)}, c.create...)
		return nil
	}
	return fmt.Errorf("%s: create has no --start and there is no update to derive it from", c.file)
}

// fetchResult is one fetch answer: row time stamps and values per row.
type fetchResult struct {
	times []int64
	vals  [][]float64
}

// compareFetch returns a message for every row where got differs from
// want: a different time stamp, unknown against known, or values further
// apart than 1e-9 relative.
func compareFetch(want, got fetchResult) []string {
	var out []string
	if len(want.times) != len(got.times) {
		out = append(out, fmt.Sprintf("rrdtool returned %d rows, engine %d", len(want.times), len(got.times)))
	}
	for i := 0; i < len(want.times) && i < len(got.times); i++ {
		if want.times[i] != got.times[i] {
			out = append(out, fmt.Sprintf("row %d: rrdtool time %d, engine time %d", i, want.times[i], got.times[i]))
			continue
		}
		w, g := want.vals[i], got.vals[i]
		if len(w) != len(g) {
			out = append(out, fmt.Sprintf("row %d: rrdtool %d values, engine %d", want.times[i], len(w), len(g)))
			continue
		}
		for j := range w {
			if !sameValue(w[j], g[j]) {
				out = append(out, fmt.Sprintf("row %d ds %d: rrdtool %s, engine %s", want.times[i], j, fmtVal(w[j]), fmtVal(g[j])))
			}
		}
	}
	return out
}

func sameValue(w, g float64) bool {
	if math.IsNaN(w) || math.IsNaN(g) {
		return math.IsNaN(w) && math.IsNaN(g)
	}
	if w == g {
		return true
	}
	return math.Abs(w-g) <= 1e-9*math.Max(math.Abs(w), math.Abs(g))
}

func fmtVal(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// rrdtoolRun runs the case through the real rrdtool and calls check for
// every update (its error) and every fetch (its rows).
type oracle struct {
	bin, file string
}

func (o oracle) run(args ...string) (string, error) {
	cmd := exec.Command(o.bin, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("rrdtool %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (o oracle) fetch(args []string) (fetchResult, error) {
	out, err := o.run(append([]string{"fetch", o.file}, args...)...)
	if err != nil {
		return fetchResult{}, err
	}
	return parseFetchOutput(out)
}

// parseFetchOutput reads rrdtool fetch's text: a header of names, a blank
// line, then "time: v v ..." rows.
func parseFetchOutput(out string) (fetchResult, error) {
	var r fetchResult
	for _, line := range strings.Split(out, "\n") {
		ts, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		t, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if err != nil {
			return r, fmt.Errorf("fetch output line %q: %v", line, err)
		}
		var row []float64
		for _, f := range strings.Fields(rest) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				if strings.Contains(strings.ToLower(f), "nan") {
					v = math.NaN()
				} else {
					return r, fmt.Errorf("fetch output line %q: %v", line, err)
				}
			}
			row = append(row, v)
		}
		r.times = append(r.times, t)
		r.vals = append(r.vals, row)
	}
	return r, nil
}

func engineResult(f *Fetched) fetchResult {
	var r fetchResult
	for i, row := range f.Values {
		r.times = append(r.times, f.Time(i).Unix())
		r.vals = append(r.vals, row)
	}
	return r
}

// caseStats counts what a case compared, so that a case that compares
// nothing cannot pass unnoticed.
type caseStats struct {
	rows, known, errors int
}

// runCase runs one case on both sides and returns every disagreement.
func runCase(t testing.TB, bin string, c *rrdCase) ([]string, caseStats) {
	var st caseStats
	o := oracle{bin: bin, file: filepath.Join(t.TempDir(), "case.rrd")}
	var problems []string
	report := func(op string, line int, msg string) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", c.file, line, op, msg))
	}
	_, oerr := o.run(append([]string{"create", o.file}, c.create...)...)
	eng, eerr := Create(c.create...)
	if oerr != nil || eerr != nil {
		if (oerr == nil) != (eerr == nil) {
			report("create "+strings.Join(c.create, " "), 0, fmt.Sprintf("rrdtool error %v, engine error %v", oerr, eerr))
		}
		st.errors++
		return problems, st
	}
	for _, op := range c.ops {
		switch op.verb {
		case "update":
			_, oerr := o.run(append([]string{"update", o.file}, op.args...)...)
			eerr := eng.Update(op.args...)
			if (oerr == nil) != (eerr == nil) {
				report(short(op.input), op.line, fmt.Sprintf("rrdtool error %v, engine error %v", oerr, eerr))
			}
			if oerr != nil {
				st.errors++
			}
		case "fetch":
			want, oerr := o.fetch(op.args)
			got, eerr := eng.Fetch(op.args...)
			if (oerr == nil) != (eerr == nil) {
				report(op.input, op.line, fmt.Sprintf("rrdtool error %v, engine error %v", oerr, eerr))
				continue
			}
			if oerr != nil {
				st.errors++
				continue
			}
			for _, m := range compareFetch(want, engineResult(got)) {
				report(op.input, op.line, m)
			}
			for _, row := range want.vals {
				st.rows++
				for _, v := range row {
					if !math.IsNaN(v) {
						st.known++
					}
				}
			}
		}
	}
	return problems, st
}

func short(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func rrdtoolBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("rrdtool")
	if err != nil {
		t.Fatalf("rrdtool binary not found (%v): install it (apt-get install rrdtool, or make deps); the conformance test compares against it", err)
	}
	return bin
}

func caseFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "rrd", "*.case"))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("RRD_CASES"); dir != "" {
		more, err := filepath.Glob(filepath.Join(dir, "*.case"))
		if err != nil {
			t.Fatalf("RRD_CASES=%s: %v", dir, err)
		}
		if len(more) == 0 {
			t.Fatalf("RRD_CASES=%s: no *.case files", dir)
		}
		files = append(files, more...)
	}
	sort.Strings(files)
	return files
}

func TestRRDConformance(t *testing.T) {
	bin := rrdtoolBinary(t)
	files := caseFiles(t)
	if len(files) == 0 {
		t.Fatal("no conformance cases found")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".case"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCase(file, string(src))
			if err != nil {
				t.Fatal(err)
			}
			problems, st := runCase(t, bin, c)
			t.Logf("%d rows, %d known values compared; %d commands failed on both sides", st.rows, st.known, st.errors)
			if st.known == 0 {
				t.Errorf("%s compares no known value: the case proves nothing", file)
			}
			const max = 20
			for i, p := range problems {
				if i == max {
					t.Errorf("... and %d more", len(problems)-max)
					break
				}
				t.Error(p)
			}
		})
	}
}

// TestRRDConformanceHarnessFails proves the comparison can fail: a wrong
// value, a wrong unknown and a wrong time stamp are each reported, and a
// case whose engine answer is tampered with produces a mismatch.
func TestRRDConformanceHarnessFails(t *testing.T) {
	want := fetchResult{times: []int64{60, 120, 180}, vals: [][]float64{{1}, {math.NaN()}, {3}}}
	tests := []struct {
		name string
		got  fetchResult
		msg  string
	}{
		{"value", fetchResult{times: []int64{60, 120, 180}, vals: [][]float64{{1}, {math.NaN()}, {3.0000001}}}, "row 180 ds 0: rrdtool 3, engine 3.0000001"},
		{"unknown", fetchResult{times: []int64{60, 120, 180}, vals: [][]float64{{1}, {0}, {3}}}, "row 120 ds 0: rrdtool NaN, engine 0"},
		{"known", fetchResult{times: []int64{60, 120, 180}, vals: [][]float64{{math.NaN()}, {math.NaN()}, {3}}}, "row 60 ds 0"},
		{"time", fetchResult{times: []int64{60, 121, 180}, vals: [][]float64{{1}, {math.NaN()}, {3}}}, "row 1: rrdtool time 120, engine time 121"},
		{"rows", fetchResult{times: []int64{60, 120}, vals: [][]float64{{1}, {math.NaN()}}}, "rrdtool returned 3 rows, engine 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := compareFetch(want, tc.got)
			if len(m) == 0 || !strings.Contains(strings.Join(m, "\n"), tc.msg) {
				t.Fatalf("mismatch not reported as %q: %q", tc.msg, m)
			}
		})
	}
	if m := compareFetch(want, want); len(m) != 0 {
		t.Fatalf("identical results reported as different: %q", m)
	}
	// Within tolerance is equal.
	near := fetchResult{times: want.times, vals: [][]float64{{1 + 1e-12}, {math.NaN()}, {3}}}
	if m := compareFetch(want, near); len(m) != 0 {
		t.Fatalf("values within 1e-9 relative reported as different: %q", m)
	}

	// End to end: real rrdtool against an engine answer with one value
	// changed must disagree on exactly that row.
	bin := rrdtoolBinary(t)
	c, err := parseCase("inline", "create --step 60 DS:x:GAUGE:120:U:U RRA:AVERAGE:0.5:1:100\nupdate 1700000000:1 1700000060:2 1700000120:3\n")
	if err != nil {
		t.Fatal(err)
	}
	o := oracle{bin: bin, file: filepath.Join(t.TempDir(), "x.rrd")}
	if _, err := o.run(append([]string{"create", o.file}, c.create...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := o.run(append([]string{"update", o.file}, c.ops[0].args...)...); err != nil {
		t.Fatal(err)
	}
	eng, err := Create(c.create...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Update(c.ops[0].args...); err != nil {
		t.Fatal(err)
	}
	args := []string{"AVERAGE", "--start", "1699999800", "--end", "1700000200"}
	wantRows, err := o.fetch(args)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Fetch(args...)
	if err != nil {
		t.Fatal(err)
	}
	gotRows := engineResult(got)
	if m := compareFetch(wantRows, gotRows); len(m) != 0 {
		t.Fatalf("engine disagrees before tampering: %q", m)
	}
	for i, row := range gotRows.vals {
		if !math.IsNaN(row[0]) {
			row[0] += 1
			if m := compareFetch(wantRows, gotRows); len(m) != 1 || !strings.Contains(m[0], strconv.FormatInt(gotRows.times[i], 10)) {
				t.Fatalf("tampered row %d not reported: %q", gotRows.times[i], m)
			}
			return
		}
	}
	t.Fatal("no known row to tamper with")
}

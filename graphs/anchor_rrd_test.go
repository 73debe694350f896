package graphs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// rrdAnchorTemplate is the graph bench/render.sh draws with rrdtool: AREA,
// two STACKs and a LINE of width 2, GPRINT LAST/AVERAGE/MAX for each, and
// the 95th percentile of the total as an HRULE.
func rrdAnchorTemplate() Template {
	t := Template{Name: "anchor", Title: "anchor 4 series", VerticalLabel: "bits per second", LowerLimit: f64(0)}
	legends := map[string]string{"a": "Inbound   ", "b": "Outbound  ", "c": "Errors    ", "d": "Limit     "}
	colors := map[string]string{"a": "#00CF00", "b": "#002A97", "c": "#FFD660", "d": "#FF0000"}
	for _, s := range []string{"a", "b", "c", "d"} {
		t.Defs = append(t.Defs, Def{Name: s, Metric: "m_" + s, CF: "AVERAGE"}, Def{Name: s + "max", Metric: "m_" + s, CF: "MAX"})
		t.VDefs = append(t.VDefs, VDef{Name: s + "l", Ref: s, Func: "LAST"}, VDef{Name: s + "v", Ref: s, Func: "AVERAGE"},
			VDef{Name: s + "x", Ref: s + "max", Func: "MAXIMUM"})
	}
	t.CDefs = []CDef{{Name: "tot", RPN: "a,b,+,c,+"}}
	t.VDefs = append(t.VDefs, VDef{Name: "p95", Ref: "tot", Func: "PERCENT", Arg: 95})
	for _, s := range []string{"a", "b", "c", "d"} {
		it := Item{Type: "STACK", Ref: s, Color: colors[s], Legend: legends[s]}
		switch s {
		case "a":
			it.Type = "AREA"
		case "d":
			it.Type, it.Width = "LINE", 2
		}
		t.Items = append(t.Items, it,
			Item{Type: "GPRINT", Ref: s + "l", Format: "Cur:%8.2lf%s"},
			Item{Type: "GPRINT", Ref: s + "v", Format: "Avg:%8.2lf%s"},
			Item{Type: "GPRINT", Ref: s + "x", Format: "Max:%8.2lf%s\\n"})
	}
	t.Items = append(t.Items, Item{Type: "HRULE", Ref: "p95", Color: "#FF00FF", Legend: "95th pct of total "},
		Item{Type: "GPRINT", Ref: "p95", Format: "%8.2lf%s\\n"})
	return t
}

// loadFetch reads `rrdtool fetch` text output: a header of DS names, then
// "time: v v v" lines.
func loadFetch(tb testing.TB, path string) (names []string, start time.Time, step time.Duration, cols [][]float64) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var times []int64
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k := strings.IndexByte(line, ':')
		if k < 0 {
			names = strings.Fields(line)
			cols = make([][]float64, len(names))
			continue
		}
		ts, err := strconv.ParseInt(line[:k], 10, 64)
		if err != nil {
			tb.Fatalf("%s: %q", path, line)
		}
		times = append(times, ts)
		for i, fv := range strings.Fields(line[k+1:]) {
			v, err := strconv.ParseFloat(strings.TrimPrefix(fv, "-nan"), 64)
			if err != nil || strings.Contains(fv, "nan") {
				v = math.NaN()
			}
			cols[i] = append(cols[i], v)
		}
	}
	if len(times) < 2 {
		tb.Fatalf("%s: no rows", path)
	}
	return names, time.Unix(times[0], 0), time.Duration(times[1]-times[0]) * time.Second, cols
}

// TestRRDAnchorRender is driven by bench/render.sh: it loads the RRAs the
// script fetched from its RRD into a fake storage, renders the anchor graph
// for 1 day and 1 year, prints timings, and compares the plan's values with
// `rrdtool xport` of the same RRD at the plan's step.
func TestRRDAnchorRender(t *testing.T) {
	dir := os.Getenv("SAGUARO_RRDBENCH_DIR")
	if dir == "" {
		t.Skip("run by bench/render.sh (SAGUARO_RRDBENCH_DIR)")
	}
	runs, _ := strconv.Atoi(os.Getenv("SAGUARO_RRDBENCH_RUNS"))
	runs = max(runs, 1)
	end, _ := strconv.ParseInt(os.Getenv("SAGUARO_RRDBENCH_END"), 10, 64)
	q := &fakeQuerier{}
	for _, cf := range []metric.CF{metric.Average, metric.Max} {
		byName := map[string]*fakeSeries{}
		for _, res := range []int{60, 300, 1800, 7200} {
			names, start, step, cols := loadFetch(t, filepath.Join(dir, fmt.Sprintf("fetch-%s-%d.txt", cf, res)))
			for i, n := range names {
				s := byName[n]
				if s == nil {
					c := cf
					s = &fakeSeries{labels: metric.New(metric.NameLabel, "m_"+n, metric.DeviceLabel, "anchor"), cf: &c}
					byName[n] = s
				}
				s.tiers = append(s.tiers, metric.Series{Labels: s.labels, Start: start, Step: step, Values: cols[i]})
			}
		}
		for _, n := range []string{"a", "b", "c", "d"} {
			q.series = append(q.series, *byName[n])
		}
	}
	tm := rrdAnchorTemplate()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"device": "anchor"}
	for _, rng := range []struct {
		name string
		span time.Duration
	}{{"1d", 24 * time.Hour}, {"1y", 365 * 24 * time.Hour}} {
		o := Options{From: time.Unix(end, 0).Add(-rng.span), To: time.Unix(end, 0), Width: 800, Height: 300}
		var ms, cpu []float64
		var p *Plan
		var buf bytes.Buffer
		for i := 0; i < runs; i++ {
			buf.Reset()
			t0, c0 := time.Now(), cpuTime()
			var err error
			if p, err = NewPlan(context.Background(), q, &tm, vars, o); err != nil {
				t.Fatal(err)
			}
			if err := p.PNG(&buf); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, float64(time.Since(t0))/float64(time.Millisecond))
			cpu = append(cpu, float64(cpuTime()-c0)/float64(time.Millisecond))
		}
		slices.Sort(ms)
		slices.Sort(cpu)
		fmt.Printf("saguaro graph %s: median=%.2f min=%.2f max=%.2f n=%d ms | cpu median %.2f ms | step %v, %d rows, %d bytes\n",
			rng.name, ms[len(ms)/2], ms[0], ms[len(ms)-1], len(ms), cpu[len(cpu)/2], p.Step, p.Rows, buf.Len())
		if err := os.WriteFile(filepath.Join(dir, "saguaro-"+rng.name+".png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var csv bytes.Buffer
		if err := p.CSV(&csv); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "saguaro-"+rng.name+".csv"), csv.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		compareXport(t, dir, p, rng.name)
	}
	// 20 renders of the 1-year graph in flight at once.
	lat, wall, peak := renderConcurrently(t, q, &tm, "anchor", time.Unix(end, 0), 20, max(runs/2, 5))
	reportConcurrent("saguaro 20 concurrent 1y renders", lat, wall, peak)
}

// compareXport checks the plan's series against rrdtool xport of the RRD at
// the plan's step and range, to 1e-9 relative.
func compareXport(t *testing.T, dir string, p *Plan, name string) {
	bin := needRRDtool(t)
	rrd := filepath.Join(dir, "g.rrd")
	step := int64(p.Step / time.Second)
	args := []string{"xport", "--showtime", "--start", strconv.FormatInt(p.Start.Unix()-step, 10),
		"--end", strconv.FormatInt(p.End().Unix(), 10), "--step", strconv.FormatInt(step, 10), "--maxrows", "100000"}
	for _, s := range []string{"a", "b", "c", "d"} {
		args = append(args, "DEF:"+s+"="+rrd+":"+s+":AVERAGE", "XPORT:"+s)
	}
	var doc xportDoc
	if err := decodeXport(run(t, bin, args...), &doc); err != nil {
		t.Fatal(err)
	}
	idx := map[int64]int{}
	for i := 0; i < p.Rows; i++ {
		idx[p.Time(i).Unix()] = i
	}
	compared, maxRel := 0, 0.0
	for _, r := range doc.Rows {
		i, ok := idx[r.T]
		if !ok {
			continue
		}
		for j, s := range p.Series {
			want := parseNum(t, r.V[j])
			got := s.Values[i]
			if !closeTo(got, want) {
				t.Errorf("%s %s at %d: saguaro %v, rrdtool xport %v", name, s.Name, r.T, got, want)
				return
			}
			if !math.IsNaN(want) && want != 0 {
				maxRel = math.Max(maxRel, math.Abs(got-want)/math.Abs(want))
			}
			compared++
		}
	}
	if compared < p.Rows*3 {
		t.Errorf("%s: compared only %d values of %d rows with xport (%d rows from rrdtool)", name, compared, p.Rows, len(doc.Rows))
	}
	fmt.Printf("saguaro %s values vs rrdtool xport --step %d: %d values equal, max relative difference %.2g\n", name, step, compared, maxRel)
}

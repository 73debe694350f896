package graphs

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// simpleData: one gauge on a 60 s grid over 2 hours ending at benchEnd,
// value i on row i, with rows 40..59 unknown.
func simpleData() *fakeQuerier {
	const n = 120
	start := benchEnd.Add(-n * time.Minute).Add(time.Minute)
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = float64(i)
		if i >= 40 && i < 60 {
			vals[i] = math.NaN()
		}
	}
	q := &fakeQuerier{}
	q.add(metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth0"), start, time.Minute, vals)
	return q
}

func simpleTemplate() Template {
	return Template{
		Name: "simple", Title: "{device} {ifName}", Per: []string{"ifName"},
		Defs:  []Def{{Name: "g", Metric: "g"}},
		CDefs: []CDef{{Name: "g8", RPN: "g,8,*"}},
		Items: []Item{{Type: "AREA", Ref: "g8", Color: "#00CF00", Legend: "g times 8"}},
	}
}

func simplePlan(t *testing.T, q Querier, w int) *Plan {
	t.Helper()
	tm := simpleTemplate()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1", "ifName": "eth0"},
		Options{From: benchEnd.Add(-2 * time.Hour), To: benchEnd, Width: w, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanValuesAndQuery(t *testing.T) {
	q := simpleData()
	// 120 px of plot area for 2 h: one row per minute, the storage step.
	p := simplePlan(t, q, 120+plotWidthEstimate(0)+leftMarginEstimate+rightMargin-10)
	if p.Step != time.Minute || p.Rows != 120 {
		t.Fatalf("step %v rows %d, want 1m and 120", p.Step, p.Rows)
	}
	if !p.Start.Equal(benchEnd.Add(-119 * time.Minute)) {
		t.Errorf("start %v", p.Start)
	}
	sel := q.selects[0].Match
	want := metric.New(metric.NameLabel, "g", metric.DeviceLabel, "router1", "ifName", "eth0")
	if !sel.Matches(want) || len(sel) != 3 {
		t.Errorf("selector %v", sel)
	}
	vals := p.Series[0].Values
	for i, v := range vals {
		switch {
		case i >= 40 && i < 60:
			if !math.IsNaN(v) {
				t.Errorf("row %d = %v, want unknown", i, v)
			}
		case v != float64(i*8):
			t.Errorf("row %d = %v, want %d", i, v, i*8)
		}
	}
	s := p.Series[0]
	if s.Current != 119*8 || s.Maximum != 119*8 {
		t.Errorf("current %v max %v", s.Current, s.Maximum)
	}
	// Mean of 0..39 and 60..119, times 8.
	if want := float64((39*40/2+(60+119)*60/2)*8) / 100; math.Abs(s.Average-want) > 1e-9 {
		t.Errorf("average %v, want %v", s.Average, want)
	}
}

func TestPlanConsolidatesToPixels(t *testing.T) {
	q := simpleData()
	// About 30 px of plot area: 4 storage rows per grid row.
	p := simplePlan(t, q, 30+leftMarginEstimate+rightMargin)
	if p.Step != 4*time.Minute {
		t.Fatalf("step %v, want 4m", p.Step)
	}
	if p.Rows != 30 {
		t.Fatalf("rows %d, want 30", p.Rows)
	}
	// Row k ends at a multiple of 4 minutes and averages the known source
	// rows stamped in its interval.
	src := map[int64]float64{}
	first := benchEnd.Add(-119 * time.Minute).Unix()
	for i := 0; i < 120; i++ {
		if i < 40 || i >= 60 {
			src[first+int64(i)*60] = float64(i * 8)
		}
	}
	for k := 0; k < p.Rows; k++ {
		end := p.Time(k).Unix()
		if end%240 != 0 {
			t.Fatalf("row %d ends at %d, not on the 4-minute grid", k, end)
		}
		var sum float64
		n := 0
		for ts := end - 180; ts <= end; ts += 60 {
			if v, ok := src[ts]; ok {
				sum += v
				n++
			}
		}
		got := p.Series[0].Values[k]
		if n == 0 {
			if !math.IsNaN(got) {
				t.Errorf("row %d = %v, want unknown", k, got)
			}
			continue
		}
		if math.Abs(got-sum/float64(n)) > 1e-9 {
			t.Errorf("row %d = %v, want %v", k, got, sum/float64(n))
		}
	}
}

func TestCSVEqualsPlan(t *testing.T) {
	tm := anchorTemplate()
	tm.CDefs = []CDef{{Name: "tot", RPN: "a,b,+,c,+"}}
	tm.VDefs = []VDef{{Name: "p95", Ref: "tot", Func: "PERCENT", Arg: 95}}
	p := newTestPlan(t, anchorData(t), tm, 24*time.Hour, 800, 300)
	var buf bytes.Buffer
	if err := p.CSV(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	var header []string
	var body strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(line, "# ") {
			header = append(header, strings.TrimSpace(line))
		} else {
			body.WriteString(line)
		}
	}
	wantHeader := []string{
		"# title: router1 - anchor 4 series",
		"# step: " + strconv.Itoa(int(p.Step.Seconds())),
		"# start: " + p.Start.Format(time.RFC3339),
		"# end: " + p.End().Format(time.RFC3339),
		"# rows: " + strconv.Itoa(p.Rows),
	}
	for i, w := range wantHeader {
		if header[i] != w {
			t.Errorf("header line %d = %q, want %q", i, header[i], w)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "time,Inbound,Outbound,Errors,Limit" {
		t.Errorf("columns %q", recs[0])
	}
	if len(recs)-1 != p.Rows {
		t.Fatalf("%d data rows, want %d", len(recs)-1, p.Rows)
	}
	unknownRows := 0
	for i, rec := range recs[1:] {
		if rec[0] != strconv.FormatInt(p.Time(i).Unix(), 10) {
			t.Fatalf("row %d time %s, want %d", i, rec[0], p.Time(i).Unix())
		}
		all := true
		for j, s := range p.Series {
			want := s.Values[i]
			if math.IsNaN(want) {
				if rec[j+1] != "" {
					t.Errorf("row %d col %d = %q, want empty", i, j, rec[j+1])
				}
				continue
			}
			all = false
			got, err := strconv.ParseFloat(rec[j+1], 64)
			if err != nil || got != want {
				t.Errorf("row %d col %d = %q, want %v", i, j, rec[j+1], want)
			}
		}
		if all {
			unknownRows++
		}
	}
	if hasKnown(p.Series[0].Values) == false || !strings.Contains(body.String(), ",,,") {
		t.Error("the anchor data's gap gave no empty fields")
	}
	if !strings.Contains(text, "# p95 PERCENT(tot): "+strconv.FormatFloat(p.VDefs["p95"].Value, 'g', -1, 64)+" (over "+strconv.Itoa(int(p.Step.Seconds()))+"s rows)\n") {
		t.Errorf("no p95 line in the header")
	}
	if header[5] != "# unknown rows: "+strconv.Itoa(unknownRows) {
		t.Errorf("header %q, want %d unknown rows", header[5], unknownRows)
	}
}

func decodePNG(t *testing.T, p *Plan) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := p.PNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPNGLeavesGapsUnknown(t *testing.T) {
	q := simpleData()
	p := simplePlan(t, q, 800)
	img := decodePNG(t, p)
	writeLook(t, "gap.png", mustPNG(t, p))
	// Find the plot area's columns from the series colour: count columns
	// holding green in the bottom row band of the plot.
	green := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return g > 0xa000 && r < 0x4000 && b < 0x4000
	}
	b := img.Bounds()
	var cols []bool
	y := -1
	// The lowest image row with any green is just above the x axis.
	for yy := b.Max.Y - 1; yy >= 0 && y < 0; yy-- {
		for x := 0; x < b.Max.X; x++ {
			if green(img.At(x, yy)) {
				y = yy
				break
			}
		}
	}
	if y < 0 {
		t.Fatal("no series drawn")
	}
	for x := 0; x < b.Max.X; x++ {
		cols = append(cols, green(img.At(x, y)))
	}
	// Expect green, then a gap of about 20/120 of the width, then green.
	first, last := -1, -1
	for x, g := range cols {
		if g {
			if first < 0 {
				first = x
			}
			last = x
		}
	}
	gap := 0
	for x := first; x <= last; x++ {
		if !cols[x] {
			gap++
		}
	}
	width := last - first + 1
	if want := float64(width) * 20 / 120; math.Abs(float64(gap)-want) > 4 {
		t.Errorf("gap of %d px in %d px of data, want about %.0f (unknown drawn as zero?)", gap, width, want)
	}
}

func mustPNG(t *testing.T, p *Plan) []byte {
	var buf bytes.Buffer
	if err := p.PNG(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEmptyData(t *testing.T) {
	q := &fakeQuerier{}
	for _, size := range [][2]int{{800, 300}, {120, 50}, {4000, 2000}} {
		tm := anchorTemplate()
		p := newTestPlan(t, q, tm, 24*time.Hour, size[0], size[1])
		img := decodePNG(t, p)
		if img.Bounds().Dx() != size[0] || img.Bounds().Dy() != size[1] {
			t.Errorf("size %v", img.Bounds())
		}
		if p.Rows == 0 || !math.IsNaN(p.Series[0].Current) {
			t.Errorf("rows %d current %v", p.Rows, p.Series[0].Current)
		}
		if size[0] == 800 {
			writeLook(t, "empty.png", mustPNG(t, p))
			var buf bytes.Buffer
			if err := p.CSV(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "# unknown rows: "+strconv.Itoa(p.Rows)) {
				t.Errorf("csv header: %s", buf.String()[:200])
			}
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	q := simpleData()
	tm := simpleTemplate()
	vars := map[string]string{"device": "router1", "ifName": "eth0"}
	tests := []struct {
		o    Options
		want string
	}{
		{Options{From: benchEnd, To: benchEnd, Width: 800, Height: 300}, "must be before end"},
		{Options{To: benchEnd, Width: 800, Height: 300}, "must be before end"},
		{Options{From: benchEnd.Add(-time.Hour), To: benchEnd, Width: 119, Height: 300}, "width 119 out of range 120..4000"},
		{Options{From: benchEnd.Add(-time.Hour), To: benchEnd, Width: 800, Height: 2001}, "height 2001 out of range 50..2000"},
		{Options{From: benchEnd.Add(-time.Hour), To: benchEnd, Width: 800, Height: 300, Theme: "pink"}, `theme "pink"`},
	}
	for _, tc := range tests {
		_, err := NewPlan(context.Background(), q, &tm, vars, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrOptions) {
			t.Errorf("NewPlan(%+v) error %v, want %q wrapping ErrOptions", tc.o, err, tc.want)
		}
	}
	ok := Options{From: benchEnd.Add(-time.Hour), To: benchEnd, Width: 800, Height: 300}
	if _, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1"}, ok); err == nil ||
		!strings.Contains(err.Error(), `no value for label "ifName"`) {
		t.Errorf("missing per label: %v", err)
	}
	q.err = errors.New("disk on fire")
	if _, err := NewPlan(context.Background(), q, &tm, vars, ok); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("storage error: %v", err)
	}
	bad := tm
	bad.Items = nil
	if _, err := NewPlan(context.Background(), q, &bad, vars, ok); err == nil || !strings.Contains(err.Error(), "no items") {
		t.Errorf("invalid template: %v", err)
	}
}

// TestPlanLookback: a TREND cdef reads history before the range, so its
// first drawn rows are known and average the storage rows before them.
func TestPlanLookback(t *testing.T) {
	q := simpleData()
	tm := simpleTemplate()
	tm.CDefs = append(tm.CDefs, CDef{Name: "avg10", RPN: "g,600,TREND"})
	tm.Items = append(tm.Items, Item{Type: "LINE", Ref: "avg10", Color: "#000000"})
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	w := 30 + leftMarginEstimate + rightMargin // one row per minute for the last half hour
	p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1", "ifName": "eth0"},
		Options{From: benchEnd.Add(-30 * time.Minute), To: benchEnd, Width: w, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 30 || p.Step != time.Minute || !p.Start.Equal(benchEnd.Add(-29*time.Minute)) {
		t.Fatalf("rows %d step %v start %v", p.Rows, p.Step, p.Start)
	}
	if got := q.selects[0].From; !got.Equal(benchEnd.Add(-40 * time.Minute)) {
		t.Errorf("queried from %v, want 10 minutes of history more", got)
	}
	// Row 0 is source row 90 (value 90); its window holds rows 81..90.
	if got, want := p.Series[1].Values[0], (81.0+90)/2; got != want {
		t.Errorf("first trend row %v, want %v", got, want)
	}
	if got := p.Series[0].Values[0]; got != 90*8 {
		t.Errorf("first row %v, want 720", got)
	}
}

func TestLogScale(t *testing.T) {
	p := newTestPlan(t, anchorData(t), logTemplate(), 7*24*time.Hour, 800, 300)
	if p.YMin <= 0 || math.Log10(p.YMin) != math.Floor(math.Log10(p.YMin)) || math.Log10(p.YMax) != math.Floor(math.Log10(p.YMax)) {
		t.Errorf("log range %v..%v, want whole decades above zero", p.YMin, p.YMax)
	}
	ticks := (&logTicker{}).Ticks(p.YMin, p.YMax)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if len(labels) < 2 || labels[0] != formatSI(p.YMin, 1000, 0, "") {
		t.Errorf("labels %q for %v..%v", labels, p.YMin, p.YMax)
	}
	img := decodePNG(t, p)
	if img.Bounds().Dx() != 800 {
		t.Error("size")
	}
	bad := logTemplate()
	bad.LowerLimit = f64(0)
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "logarithmic: limits must be above zero") {
		t.Errorf("log with lower limit 0: %v", err)
	}
}

func TestExtremeRanges(t *testing.T) {
	q := anchorData(t)
	tm := everyDrawType()
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{From: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Width: 4000, Height: 2000},
		{From: benchEnd.Add(-time.Second), To: benchEnd, Width: 120, Height: 50},
		{From: benchEnd.Add(-90 * time.Second), To: benchEnd, Width: 1000, Height: 400},
		{From: benchEnd.Add(-24 * time.Hour), To: benchEnd, Width: 4000, Height: 2000, Theme: "dark"},
	} {
		start := time.Now()
		p, err := NewPlan(context.Background(), q, &tm, map[string]string{"device": "router1"}, o)
		if err != nil {
			t.Fatal(err)
		}
		if p.Rows > 10*o.Width {
			t.Errorf("%v..%v: %d rows for %d pixels", o.From, o.To, p.Rows, o.Width)
		}
		img := decodePNG(t, p)
		if img.Bounds().Dx() != o.Width || img.Bounds().Dy() != o.Height {
			t.Errorf("size %v", img.Bounds())
		}
		writeLook(t, fmt.Sprintf("extreme-%dx%d-%s.png", o.Width, o.Height, o.To.Sub(o.From)), mustPNG(t, p))
		for _, f := range []func(io.Writer) error{p.CSV, p.JSON, p.SVG} {
			if err := f(io.Discard); err != nil {
				t.Error(err)
			}
		}
		if d := time.Since(start); d > 30*time.Second { // a bound against runaway loops, not a benchmark
			t.Errorf("%v..%v took %v", o.From, o.To, d)
		}
	}
}

// TestRawVDef: a raw 95th percentile is taken over storage's finest rows,
// not over the plotted averages, which flatten peaks.
func TestRawVDef(t *testing.T) {
	q := anchorData(t)
	tm := anchorTemplate()
	tm.VDefs = []VDef{
		{Name: "p95", Ref: "a", Func: "PERCENT", Arg: 95},
		{Name: "p95raw", Ref: "a", Func: "PERCENT", Arg: 95, Raw: true},
		{Name: "maxraw", Ref: "c", Func: "MAXIMUM", Raw: true},
	}
	tm.Items = append(tm.Items, Item{Type: "HRULE", Ref: "p95raw", Color: "#FF00FF", Legend: "95th (raw)"})
	p := newTestPlan(t, q, tm, 30*24*time.Hour, 800, 300)
	raw, plotted := p.VDefs["p95raw"], p.VDefs["p95"]
	if raw.Step != 5*time.Minute || plotted.Step != p.Step || p.Step <= raw.Step {
		t.Fatalf("raw over %v, plotted over %v (plan step %v)", raw.Step, plotted.Step, p.Step)
	}
	// The same percentile straight from the stored 5-minute rows.
	ss, _ := q.Select(context.Background(), metric.Query{Match: metric.Selector{metric.Eq(metric.NameLabel, "m_a")},
		From: benchEnd.Add(-30 * 24 * time.Hour), To: benchEnd})
	want := percentile(ss[0].Values[:len(ss[0].Values)-1], 95, false)
	if math.Abs(raw.Value-want) > 1e-6*want {
		t.Errorf("raw p95 %v, want %v from the stored rows", raw.Value, want)
	}
	if !(raw.Value > plotted.Value) {
		t.Errorf("raw p95 %v should exceed the p95 of averages %v", raw.Value, plotted.Value)
	}
	// The rare 3e6 spikes of c survive only in raw rows.
	if m := p.VDefs["maxraw"].Value; m < 3e6 {
		t.Errorf("raw maximum %v, want a spike above 3e6", m)
	}
}

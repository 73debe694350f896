package graphs

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/plot/cmpimg"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// everyDrawType uses every item type, cdefs, vdefs and GPRINT legends.
func everyDrawType() Template {
	t := anchorTemplate()
	t.Name = "every_type"
	t.CDefs = []CDef{
		{Name: "tot", RPN: "a,b,+,c,+"},
		{Name: "spike", RPN: "c,1e6,GT"},
		{Name: "smooth", RPN: "tot,7200,TRENDNAN"},
	}
	t.VDefs = []VDef{
		{Name: "p95", Ref: "tot", Func: "PERCENT", Arg: 95},
		{Name: "amax", Ref: "a", Func: "MAXIMUM"},
		{Name: "alast", Ref: "a", Func: "LAST"},
		{Name: "aavg", Ref: "a", Func: "AVERAGE"},
	}
	t.Items = []Item{
		{Type: "AREA", Ref: "a", Color: "#00CF00", Legend: "Inbound"},
		{Type: "GPRINT", Ref: "alast", Format: "Cur:%8.2lf%s"},
		{Type: "GPRINT", Ref: "aavg", Format: "Avg:%8.2lf%s"},
		{Type: "GPRINT", Ref: "amax", Format: "Max:%8.2lf%s\\n"},
		{Type: "STACK", Ref: "b", Color: "#002A9780", Legend: "Outbound (alpha)"},
		{Type: "LINE", Ref: "d", Color: "#FF0000", Width: 2, Legend: "Limit"},
		{Type: "LINE", Ref: "smooth", Color: "#000000", Width: 1, Dashes: []float64{4, 2}, Legend: "2 h trend"},
		{Type: "TICK", Ref: "spike", Color: "#FF8800", Legend: "Error spikes"},
		{Type: "HRULE", Ref: "p95", Color: "#FF00FF", Legend: "95th percentile"},
		{Type: "GPRINT", Ref: "p95", Format: "%8.2lf%s\\n"},
		{Type: "VRULE", Ref: "amax", Color: "#0088FF", Legend: "Peak inbound"},
		{Type: "COMMENT", Legend: "Data: synthetic\\n"},
	}
	return t
}

func TestGolden(t *testing.T) {
	q := anchorData(t)
	for _, tc := range []struct {
		name  string
		tmpl  Template
		span  time.Duration
		theme string
		q     Querier
		w, h  int
	}{
		{"thumb-120x50", anchorTemplate(), 24 * time.Hour, "", nil, 120, 50},
		{"small-300x150", everyDrawType(), 24 * time.Hour, "", nil, 300, 150},
		{"anchor-1d", anchorTemplate(), 24 * time.Hour, "", nil, 0, 0},
		{"anchor-1y", anchorTemplate(), 365 * 24 * time.Hour, "", nil, 0, 0},
		{"every-type-1d", everyDrawType(), 24 * time.Hour, "", nil, 0, 0},
		{"every-type-1w-dark", everyDrawType(), 7 * 24 * time.Hour, "dark", nil, 0, 0},
		{"forecast-30d", forecastTemplate(130e9), 30 * 24 * time.Hour, "", linearData(), 0, 0},
		{"log-1w", logTemplate(), 7 * 24 * time.Hour, "", nil, 0, 0},
		{"right-axis-1d", rightAxisTemplate(), 24 * time.Hour, "", nil, 0, 0},
		{"holt-winters-14d", seasonalTemplate(), 14 * 24 * time.Hour, "", seasonalData(), 0, 0},
		{"smoke-1d", smokeTemplate(), 24 * time.Hour, "", pingData(), 0, 0},
		{"aggregate-1d", aggregateTemplate(), 24 * time.Hour, "", aggData(), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := tc.tmpl
			src := Querier(q)
			if tc.q != nil {
				src = tc.q
			}
			w, h := 800, 300
			if tc.w > 0 {
				w, h = tc.w, tc.h
			}
			p := newTestPlan(t, src, tm, tc.span, w, h)
			p.opts.Theme = tc.theme
			var buf bytes.Buffer
			if err := p.PNG(&buf); err != nil {
				t.Fatal(err)
			}
			writeLook(t, tc.name+".png", buf.Bytes())
			path := filepath.Join("testdata", "golden", tc.name+".png")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			ok, err := cmpimg.EqualApprox("png", buf.Bytes(), want, 0.01)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				got, _ := png.Decode(bytes.NewReader(buf.Bytes()))
				exp, _ := png.Decode(bytes.NewReader(want))
				diff := image.NewRGBA(got.Bounds())
				cmpimg.Diff(diff, got, exp)
				// Kept after the test (t.TempDir would be removed) for a look.
				dir := filepath.Join(os.TempDir(), "saguaro-golden-diff", tc.name)
				_ = os.MkdirAll(dir, 0o755)
				var d bytes.Buffer
				_ = png.Encode(&d, diff)
				_ = os.WriteFile(filepath.Join(dir, "diff.png"), d.Bytes(), 0o644)
				_ = os.WriteFile(filepath.Join(dir, "got.png"), buf.Bytes(), 0o644)
				t.Errorf("render differs from %s beyond tolerance (diff in %s; -update if intended)", path, dir)
			}
		})
	}
}

// logTemplate draws errors with rare spikes on a logarithmic axis.
func logTemplate() Template {
	return Template{
		Name: "log", Title: "{device} errors (log scale)", VerticalLabel: "errors per second", Logarithmic: true,
		Defs:  []Def{{Name: "c", Metric: "m_c"}, {Name: "a", Metric: "m_a"}},
		CDefs: []CDef{{Name: "neg", RPN: "c,-1,*"}},
		Items: []Item{
			{Type: "AREA", Ref: "c", Color: "#FFD66080", Legend: "Errors"},
			{Type: "LINE", Ref: "a", Color: "#00CF00", Width: 1, Legend: "Inbound"},
			{Type: "LINE", Ref: "neg", Color: "#FF0000", Legend: "Negative (not drawn)"},
		},
	}
}

// rightAxisTemplate shows bits on the left and bytes on the right.
func rightAxisTemplate() Template {
	t := anchorTemplate()
	t.Name = "right_axis"
	t.RightAxis = &RightAxis{Scale: 0.125, Label: "bytes per second"}
	return t
}

func aggregateTemplate() Template {
	return Template{
		Name: "all_ifs", Title: "{device} all interfaces", VerticalLabel: "bits per second",
		Defs:  []Def{{Name: "in", Metric: "if_in", Match: map[string]string{"ifName": "~eth[0-9]+"}}},
		CDefs: []CDef{{Name: "total", RPN: "in"}},
		Items: []Item{
			{Type: "AREA", Ref: "in", Color: "#00CF00", Legend: "{ifName}", Each: true},
			{Type: "LINE", Ref: "total", Color: "#000000", Width: 1, Legend: "Total"},
		},
	}
}

package graphs

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

func TestJSONExport(t *testing.T) {
	p := newTestPlan(t, anchorData(t), everyDrawType(), 24*time.Hour, 800, 300)
	var buf bytes.Buffer
	if err := p.JSON(&buf); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Meta struct {
			Title       string
			Start, End  int64
			Step, Rows  int
			UnknownRows int `json:"unknown_rows"`
			Geometry    struct {
				Width, Height int
				Plot          [4]float64
				TimeFrom      float64 `json:"time_from"`
				ValueMax      float64 `json:"value_max"`
			}
		}
		Columns []struct{ Name, Type, Color string }
		VDefs   map[string]struct{ Value *float64 }
		Rules   []struct{ Type string }
		Data    [][]*float64
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Meta.Rows != p.Rows || len(d.Data) != p.Rows || d.Meta.Step != int(p.Step.Seconds()) || d.Meta.Start != p.Start.Unix() {
		t.Errorf("meta %+v", d.Meta)
	}
	if d.Meta.Geometry.Width != 800 || d.Meta.Geometry.ValueMax != p.YMax || d.Meta.Geometry.Plot[2] < 600 {
		t.Errorf("geometry %+v", d.Meta.Geometry)
	}
	if len(d.Columns) != len(p.Series) || d.Columns[1].Color != "#002A9780" || d.Columns[0].Name != "Inbound" {
		t.Errorf("columns %+v", d.Columns)
	}
	if v := d.VDefs["p95"].Value; v == nil || *v != p.VDefs["p95"].Value {
		t.Errorf("p95 %v, want %v", v, p.VDefs["p95"].Value)
	}
	nulls := 0
	for i, row := range d.Data {
		if int64(*row[0]) != p.Time(i).Unix() {
			t.Fatalf("row %d time %v", i, *row[0])
		}
		for j, s := range p.Series {
			switch v := row[j+1]; {
			case v == nil:
				nulls++
				if !math.IsNaN(s.Values[i]) {
					t.Errorf("row %d col %d null, want %v", i, j, s.Values[i])
				}
			case *v != s.Values[i]:
				t.Errorf("row %d col %d = %v, want %v", i, j, *v, s.Values[i])
			}
		}
	}
	if nulls == 0 {
		t.Error("the gap gave no nulls")
	}
}

// TestGeometryMatchesPNG fills the plot area exactly (a rigid range and a
// constant at its top) and finds that rectangle in the image.
func TestGeometryMatchesPNG(t *testing.T) {
	q := &fakeQuerier{}
	vals := make([]float64, 24*60)
	for i := range vals {
		vals[i] = 100
	}
	q.add(metric.New(metric.NameLabel, "full", metric.DeviceLabel, "router1"), benchEnd.Add(-24*time.Hour), time.Minute, vals)
	tm := Template{Name: "full", Title: "full", LowerLimit: f64(0), UpperLimit: f64(100), Rigid: true,
		Defs:  []Def{{Name: "f", Metric: "full"}},
		Items: []Item{{Type: "AREA", Ref: "f", Color: "#00FF00", Legend: "full"}}}
	for _, size := range [][2]int{{800, 300}, {400, 200}, {1600, 900}} {
		p := newTestPlan(t, q, tm, 23*time.Hour, size[0], size[1])
		g := p.Geometry()
		img := decodePNG(t, p)
		minX, minY, maxX, maxY := 1<<30, 1<<30, -1, -1
		b := img.Bounds()
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb, _ := img.At(x, y).RGBA()
				if gg > 0xf000 && r < 0x1000 && bb < 0x1000 && x > 20 { // skip the legend swatch
					if y > int(g.PlotTop+g.PlotHeight)+2 {
						continue
					}
					minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
				}
			}
		}
		near := func(a int, b float64) bool { return math.Abs(float64(a)-b) <= 1.5 }
		if !near(minX, g.PlotLeft) || !near(maxX+1, g.PlotLeft+g.PlotWidth) || !near(minY, g.PlotTop) || !near(maxY+1, g.PlotTop+g.PlotHeight) {
			t.Errorf("%v: green spans x %d..%d y %d..%d, geometry %+v", size, minX, maxX+1, minY, maxY+1, g)
		}
	}
}

func TestSVG(t *testing.T) {
	p := newTestPlan(t, anchorData(t), everyDrawType(), 24*time.Hour, 800, 300)
	var buf bytes.Buffer
	if err := p.SVG(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Width   string `xml:"width,attr"`
		Height  string `xml:"height,attr"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	// 800x300 pixels at 96 DPI are 600x225 points.
	if doc.XMLName.Local != "svg" || doc.Width != "600pt" || doc.Height != "225pt" {
		t.Errorf("svg %+v", doc)
	}
	for _, want := range []string{"anchor 4 series", "Inbound", "fill:#00CF00", "95th percentile"} {
		if !strings.Contains(buf.String(), want) && !strings.Contains(strings.ToUpper(buf.String()), strings.ToUpper(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
	writeLook(t, "every-type.svg", buf.Bytes())
	// Empty data renders too.
	pe, err := NewPlan(context.Background(), &fakeQuerier{}, p.tmpl, map[string]string{"device": "x"}, p.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := pe.SVG(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

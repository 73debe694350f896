package graphs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
	"gonum.org/v1/plot/vg/vgsvg"
)

// SVG draws the plan as an SVG image of Width x Height pixels: the same
// layout as the PNG, drawn as vectors.
func (p *Plan) SVG(w io.Writer) error {
	renderSlots <- struct{}{}
	defer func() { <-renderSlots }()
	cv := vgsvg.NewWith(vgsvg.UseWH(px(float64(p.opts.Width)), px(float64(p.opts.Height))))
	dc := draw.New(cv)
	dc.SetColor(themes[p.opts.Theme].bg)
	dc.Fill(dc.Rectangle.Path())
	p.render(dc, nil)
	if _, err := cv.WriteTo(w); err != nil {
		return fmt.Errorf("graph %q: write svg: %w", p.tmpl.Name, err)
	}
	return nil
}

// Geometry says where the plot area lies in the image, so that a browser
// can map a click or a drag to times and values (for zooming).
type Geometry struct {
	Width, Height int // image size, pixels
	// Plot area in image pixels, origin at the top left.
	PlotLeft, PlotTop, PlotWidth, PlotHeight float64
	// The axes' ranges: Unix seconds left to right, values bottom to top.
	TimeFrom, TimeTo   float64
	ValueMin, ValueMax float64
}

// Geometry lays the graph out without drawing it.
func (p *Plan) Geometry() Geometry {
	W, H := float64(p.opts.Width), float64(p.opts.Height)
	rec := &recorder.Canvas{}
	f := p.frame(draw.NewCanvas(rec, px(W), px(H)), nil)
	defer f.text.close()
	dc := f.pl.DataCanvas(f.area)
	dots := func(l vg.Length) float64 { return math.Round(l.Dots(DPI)*100) / 100 }
	g := Geometry{Width: p.opts.Width, Height: p.opts.Height,
		PlotLeft: dots(dc.Min.X), PlotTop: dots(px(H) - dc.Max.Y),
		PlotWidth: dots(dc.Max.X - dc.Min.X), PlotHeight: dots(dc.Max.Y - dc.Min.Y),
		ValueMin: p.YMin, ValueMax: p.YMax}
	g.TimeFrom, g.TimeTo = p.XRange()
	return g
}

// jnum is a number that encodes unknown and infinite values as null.
type jnum float64

func (n jnum) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

type jsonDoc struct {
	Meta struct {
		Title         string   `json:"title"`
		VerticalLabel string   `json:"vertical_label,omitempty"`
		Start         int64    `json:"start"`
		End           int64    `json:"end"`
		Step          int64    `json:"step"`
		Rows          int      `json:"rows"`
		UnknownRows   int      `json:"unknown_rows"`
		Base          float64  `json:"base"`
		Geometry      jsonGeom `json:"geometry"`
	} `json:"meta"`
	Columns   []jsonColumn        `json:"columns"`
	VDefs     map[string]jsonVDef `json:"vdefs,omitempty"`
	Rules     []jsonRule          `json:"rules,omitempty"`
	Forecasts []jsonForecast      `json:"forecasts,omitempty"`
	Legend    [][]string          `json:"legend"`
	Data      [][]jnum            `json:"data"`
}

type jsonGeom struct {
	Width    int        `json:"width"`
	Height   int        `json:"height"`
	Plot     [4]float64 `json:"plot"` // left, top, width, height in pixels
	TimeFrom float64    `json:"time_from"`
	TimeTo   float64    `json:"time_to"`
	ValueMin jnum       `json:"value_min"`
	ValueMax jnum       `json:"value_max"`
}

type jsonColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Series  string `json:"series"`
	Color   string `json:"color"`
	Current jnum   `json:"current"`
	Average jnum   `json:"average"`
	Maximum jnum   `json:"maximum"`
}

type jsonVDef struct {
	Value jnum  `json:"value"`
	Time  jnum  `json:"time"`
	Step  int64 `json:"step"` // seconds per row it was computed over
}

type jsonRule struct {
	Type   string `json:"type"`
	Value  jnum   `json:"value,omitempty"`
	Time   int64  `json:"time,omitempty"`
	Legend string `json:"legend,omitempty"`
}

type jsonForecast struct {
	Series      string `json:"series"`
	Method      string `json:"method"`
	Legend      string `json:"legend,omitempty"`
	SlopePerDay jnum   `json:"slope_per_day"`
	ValueAtEnd  jnum   `json:"value_at_end"`
	Threshold   *jnum  `json:"threshold,omitempty"`
	Reaches     int64  `json:"reaches,omitempty"` // Unix seconds; absent when never
	Text        string `json:"text"`
}

func hexColor(c color.NRGBA) string {
	if c.A == 0xff {
		return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
	}
	return fmt.Sprintf("#%02X%02X%02X%02X", c.R, c.G, c.B, c.A)
}

// JSON writes the same rows as CSV with everything the picture shows: the
// columns with their legend statistics, vdefs, rules, forecasts, the legend
// text and the geometry of the plot area.
func (p *Plan) JSON(w io.Writer) error {
	var d jsonDoc
	m := &d.Meta
	m.Title, m.VerticalLabel, m.Base = p.Title, p.VerticalLabel, p.Base
	m.Start, m.End, m.Step, m.Rows = p.Start.Unix(), p.End().Unix(), int64(p.Step/time.Second), p.Rows
	g := p.Geometry()
	m.Geometry = jsonGeom{Width: g.Width, Height: g.Height, Plot: [4]float64{g.PlotLeft, g.PlotTop, g.PlotWidth, g.PlotHeight},
		TimeFrom: g.TimeFrom, TimeTo: g.TimeTo, ValueMin: jnum(g.ValueMin), ValueMax: jnum(g.ValueMax)}
	cols := p.exportColumns()
	for _, c := range cols {
		s := c.series
		d.Columns = append(d.Columns, jsonColumn{Name: c.name, Type: s.Type, Series: s.Name, Color: hexColor(s.Color),
			Current: jnum(s.Current), Average: jnum(s.Average), Maximum: jnum(s.Maximum)})
	}
	if len(p.VDefs) > 0 {
		d.VDefs = map[string]jsonVDef{}
		for k, v := range p.VDefs {
			d.VDefs[k] = jsonVDef{Value: jnum(v.Value), Time: jnum(v.Time), Step: int64(v.Step / time.Second)}
		}
	}
	for _, r := range p.Rules {
		jr := jsonRule{Type: r.Type, Legend: r.Legend}
		if r.Type == TypeHRule {
			jr.Value = jnum(r.Value)
		} else if !r.Time.IsZero() {
			jr.Time = r.Time.Unix()
		}
		d.Rules = append(d.Rules, jr)
	}
	for _, f := range p.Forecasts {
		jf := jsonForecast{Series: f.Name, Method: f.Method, Legend: f.Legend, SlopePerDay: jnum(f.Slope * 86400),
			ValueAtEnd: jnum(f.At(p.End())), Text: f.Text}
		if f.Threshold != nil {
			t := jnum(*f.Threshold)
			jf.Threshold = &t
		}
		if !f.Reaches.IsZero() {
			jf.Reaches = f.Reaches.Unix()
		}
		d.Forecasts = append(d.Forecasts, jf)
	}
	d.Legend = [][]string{}
	for _, l := range p.Legend {
		d.Legend = append(d.Legend, l.Cells)
	}
	d.Data = make([][]jnum, p.Rows)
	flat := make([]jnum, p.Rows*(len(cols)+1))
	for i := range d.Data {
		row := flat[i*(len(cols)+1) : (i+1)*(len(cols)+1)]
		row[0] = jnum(p.Time(i).Unix())
		all := true
		for j, c := range cols {
			row[j+1] = jnum(c.values[i])
			if !math.IsNaN(c.values[i]) {
				all = false
			}
		}
		if all {
			m.UnknownRows++
		}
		d.Data[i] = row
	}
	bw := bufio.NewWriter(w)
	if err := json.NewEncoder(bw).Encode(&d); err != nil {
		return fmt.Errorf("graph %q: write json: %w", p.tmpl.Name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("graph %q: write json: %w", p.tmpl.Name, err)
	}
	return nil
}

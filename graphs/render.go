package graphs

import (
	"fmt"
	"image"
	"image/color"
	xdraw "image/draw"
	"image/png"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync"

	"git.sr.ht/~sbinet/gg"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the fixed resolution of rendered images; sizes are whole pixels.
const DPI = 96

// px converts pixels to a length on the canvas.
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / DPI }

// theme holds the colours of one look.
type theme struct {
	bg, plotBg, fg, muted, grid, minorGrid, axis color.Color
}

var themes = map[string]theme{
	"":      lightTheme,
	"light": lightTheme,
	"dark":  darkTheme,
}

var lightTheme = theme{
	bg:        color.NRGBA{0xff, 0xff, 0xff, 0xff},
	plotBg:    color.NRGBA{0xff, 0xff, 0xff, 0xff},
	fg:        color.NRGBA{0x22, 0x26, 0x2e, 0xff},
	muted:     color.NRGBA{0x5c, 0x63, 0x70, 0xff},
	grid:      color.NRGBA{0xd4, 0xd8, 0xde, 0xff},
	minorGrid: color.NRGBA{0xee, 0xf0, 0xf3, 0xff},
	axis:      color.NRGBA{0x8a, 0x91, 0x9c, 0xff},
}

var darkTheme = theme{
	bg:        color.NRGBA{0x16, 0x19, 0x1f, 0xff},
	plotBg:    color.NRGBA{0x1d, 0x21, 0x28, 0xff},
	fg:        color.NRGBA{0xe4, 0xe7, 0xec, 0xff},
	muted:     color.NRGBA{0xa0, 0xa7, 0xb2, 0xff},
	grid:      color.NRGBA{0x3a, 0x40, 0x4a, 0xff},
	minorGrid: color.NRGBA{0x2a, 0x2f, 0x37, 0xff},
	axis:      color.NRGBA{0x6b, 0x72, 0x7d, 0xff},
}

var (
	fontOnce sync.Once
	sans     font.Font
	sansBold font.Font
)

// fonts registers Liberation Sans with gonum/plot's font cache; the
// default cache holds only the serif faces.
func fonts() {
	fontOnce.Do(func() {
		sans = font.Font{Typeface: "Liberation", Variant: "Sans"}
		sansBold = sans
		sansBold.Weight = xfont.WeightBold
		font.DefaultCache.Add(liberation.Collection())
	})
}

// Text sizes in points.
const (
	titleSize  = 10
	labelSize  = 8
	tickSize   = 7.5
	legendSize = 7.5
	legendLine = 14 // pixels per legend line
)

// layout decides what fits into the image: tiny thumbnails drop the legend,
// the axis label and finally the title and tick labels.
type layout struct {
	title, vlabel, legend, ticks bool
}

func (p *Plan) layout() layout {
	o := p.opts
	l := layout{title: o.Height >= 100, vlabel: o.Width >= 300, ticks: o.Height >= 80 && o.Width >= 200}
	rest := o.Height - 60 - len(p.Legend)*legendLine
	l.legend = o.Width >= 300 && len(p.Legend) > 0 && rest >= 80
	return l
}

// draw renders the plan onto an image canvas of the plan's pixel size.
func (p *Plan) draw() *vgimg.Canvas {
	th := themes[p.opts.Theme]
	// The image comes from a pool and gg draws into it directly (vgimg's
	// own constructor allocates one image and copies it into another).
	img := getImage(p.opts.Width, p.opts.Height)
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt()
	ctx.InvertY()
	cv := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(DPI))
	if th.bg != (color.NRGBA{0xff, 0xff, 0xff, 0xff}) {
		xdraw.Draw(img, img.Bounds(), image.NewUniform(th.bg), image.Point{}, xdraw.Src)
	}
	p.render(draw.New(cv), &pixels{img: img, h: float64(p.opts.Height)})
	return cv
}

// frame is a plot set up with the plan's axes, ticks and labels but no
// data, and the canvas area it is drawn into.
type frame struct {
	pl      *plot.Plot
	area    draw.Canvas
	lay     layout
	legendH float64
	xt      *timeTicker
	yt      *valueTicker
	yTicks  plot.Ticker // yt, or a log ticker
	th      theme
	text    *fastText
}

func (p *Plan) frame(dc draw.Canvas, pix *pixels) *frame {
	fonts()
	f := &frame{th: themes[p.opts.Theme], lay: p.layout(), text: newFastText(pix)}
	th := f.th
	W := float64(p.opts.Width)
	if f.lay.legend {
		f.legendH = float64(len(p.Legend))*legendLine + 8
	}
	right := float64(rightMargin)
	if p.tmpl.RightAxis != nil && f.lay.ticks {
		right += rightAxisWidth
		if p.tmpl.RightAxis.Label != "" && f.lay.vlabel {
			right += 14
		}
	}
	f.area = draw.Crop(dc, px(4), -px(right), px(f.legendH+4), -px(6))

	pl := plot.New()
	f.pl = pl
	pl.BackgroundColor = nil // the canvas starts filled
	pl.TextHandler = f.text
	style := func(fn font.Font, size float64, c color.Color) text.Style {
		return text.Style{Color: c, Font: font.From(fn, font.Length(size)), Handler: pl.TextHandler}
	}
	if f.lay.title && p.Title != "" {
		pl.Title.Text = p.Title
		pl.Title.TextStyle = style(sansBold, titleSize, th.fg)
		pl.Title.TextStyle.XAlign = draw.XCenter
		pl.Title.TextStyle.YAlign = draw.YTop
		pl.Title.Padding = px(6)
	}
	plotW := max(W-leftMarginEstimate-rightMargin, 10)
	plotH := p.plotHeightEstimate()

	pl.X.Min, pl.X.Max = p.XRange()
	pl.Y.Min, pl.Y.Max = p.YMin, p.YMax
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Padding = 0
		a.LineStyle = draw.LineStyle{Color: th.axis, Width: px(1)}
		a.Tick.LineStyle = draw.LineStyle{Color: th.axis, Width: px(1)}
		a.Tick.Length = px(4)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Tick.Label.Color = th.muted
		a.Tick.Label.Handler = f.text
		a.Label.TextStyle = style(sans, labelSize, th.muted)
	}
	pl.X.Tick.Label.XAlign, pl.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	pl.Y.Tick.Label.XAlign, pl.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	f.xt = &timeTicker{loc: p.opts.Location, pixels: plotW, span: p.opts.To.Sub(p.opts.From) + p.future}
	f.yt = &valueTicker{base: p.Base, pixels: plotH}
	var yTicker plot.Ticker = f.yt
	if p.tmpl.Logarithmic {
		pl.Y.Scale = logScale{}
		yTicker = &logTicker{base: p.Base}
	}
	f.yTicks = yTicker
	if f.lay.ticks {
		pl.X.Tick.Marker = f.xt
		pl.Y.Tick.Marker = yTicker
	} else {
		pl.X.Tick.Marker = plot.ConstantTicks{}
		pl.Y.Tick.Marker = plot.ConstantTicks{}
	}
	if f.lay.vlabel && p.VerticalLabel != "" {
		// gonum centres the axis label on the arithmetic middle of the
		// range, far off centre on a log axis: reserve its width with a
		// blank and draw it centred on the plot area (drawVerticalLabel).
		pl.Y.Label.Text = " "
		pl.Y.Label.Padding = px(4)
	}
	return f
}

// render draws the whole graph onto dc; pix, when set, is the image behind
// dc for the fast pixel paths.
func (p *Plan) render(dc draw.Canvas, pix *pixels) {
	f := p.frame(dc, pix)
	defer f.text.close()
	pl, th := f.pl, f.th
	pl.Add(&background{color: th.plotBg, pix: pix})
	if f.lay.ticks {
		pl.Add(&gridLines{x: f.xt, y: f.yTicks, major: th.grid, minor: th.minorGrid, pix: pix})
	}
	known := false
	for i := range p.Series {
		s := &p.Series[i]
		if hasKnown(s.Values) {
			known = true
		}
		switch s.Type {
		case TypeArea, TypeStack:
			pl.Add(&areaPlot{s: s, p: p, pix: pix})
		case TypeLine:
			pl.Add(&linePlot{s: s, p: p, pix: pix})
		case TypeTick:
			pl.Add(&tickPlot{s: s, p: p, pix: pix})
		case TypeSmoke:
			pl.Add(&smokePlot{s: s, p: p, pix: pix})
		}
	}
	for i := range p.Rules {
		pl.Add(&rulePlot{r: &p.Rules[i]})
	}
	for i := range p.Forecasts {
		pl.Add(&forecastPlot{f: &p.Forecasts[i], p: p})
	}
	if !known {
		st := text.Style{Color: th.muted, Font: font.From(sans, labelSize+1), Handler: f.text}
		pl.Add(&noData{style: st})
	}
	pl.Draw(f.area)
	if p.tmpl.RightAxis != nil && f.lay.ticks {
		p.drawRightAxis(f, pl.DataCanvas(f.area))
	}
	if f.lay.vlabel && p.VerticalLabel != "" {
		dc := pl.DataCanvas(f.area)
		st := text.Style{Color: th.muted, Font: font.From(sans, labelSize), Handler: f.text,
			Rotation: math.Pi / 2, XAlign: draw.XCenter, YAlign: draw.YTop}
		f.area.FillText(st, vg.Point{X: f.area.Min.X, Y: (dc.Min.Y + dc.Max.Y) / 2}, p.VerticalLabel)
	}

	if f.lay.legend {
		H := float64(p.opts.Height)
		p.drawLegend(draw.Crop(dc, px(8), -px(8), px(4), -px(H-f.legendH)), th, f.text)
	}
}

func hasKnown(vals []float64) bool {
	for _, v := range vals {
		if isFinite(v) {
			return true
		}
	}
	return false
}

// renderSlots bounds the renders drawing at once. Drawing is CPU-bound, so
// more renders than about two per core only add memory (a canvas, a
// rasterizer and an encoder each): the rest wait here.
var renderSlots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))

// PNG draws the plan as a PNG image of exactly Width x Height pixels.
func (p *Plan) PNG(w io.Writer) error {
	renderSlots <- struct{}{}
	defer func() { <-renderSlots }()
	cv := p.draw()
	var err error
	if rgba, ok := cv.Image().(*image.RGBA); ok {
		err = encodePNG(w, rgba)
		putImage(rgba)
	} else {
		err = png.Encode(w, cv.Image())
	}
	if err != nil {
		return fmt.Errorf("graph %q: encode png: %w", p.tmpl.Name, err)
	}
	return nil
}

// drawLegend draws the legend table: a swatch, then cells in columns as
// wide as their widest entry.
func (p *Plan) drawLegend(c draw.Canvas, th theme, h text.Handler) {
	st := text.Style{Color: th.fg, Font: font.From(sans, legendSize), Handler: h,
		XAlign: draw.XLeft, YAlign: draw.YCenter}
	var widths []vg.Length
	for _, l := range p.Legend {
		// A line's last cell runs free: it does not widen its column.
		for i, cell := range l.Cells[:max(len(l.Cells)-1, 0)] {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], st.Width(cell)+cellSwatch(l, i))
		}
	}
	gap := px(14)
	y := c.Max.Y - px(legendLine/2)
	for _, l := range p.Legend {
		x := c.Min.X
		switch {
		case l.Color == nil:
		case l.Line:
			st := draw.LineStyle{Color: l.Color, Width: px(2)}
			if l.Dashed {
				st.Dashes = []vg.Length{px(3), px(2)}
			}
			c.StrokeLine2(st, x, y, x+px(11), y)
		default:
			r := vg.Rectangle{Min: vg.Point{X: x, Y: y - px(4)}, Max: vg.Point{X: x + px(10), Y: y + px(4)}}
			c.SetColor(l.Color)
			c.Fill(r.Path())
		}
		x += px(16)
		for i, cell := range l.Cells {
			if x > c.Max.X {
				break
			}
			if sw := cellSwatch(l, i); sw > 0 {
				c.StrokeLine2(draw.LineStyle{Color: l.CellColors[i], Width: px(3)}, x, y, x+sw-px(3), y)
				c.FillText(st, vg.Point{X: x + sw, Y: y}, cell)
			} else {
				c.FillText(st, vg.Point{X: x, Y: y}, cell)
			}
			if i < len(widths) {
				x += widths[i] + gap
			}
		}
		y -= px(legendLine)
	}
}

// imagePool recycles the 4-byte-per-pixel canvases (about 1 MB at 800x300).
var imagePool sync.Pool

func getImage(w, h int) *image.RGBA {
	if img, ok := imagePool.Get().(*image.RGBA); ok {
		if b := img.Bounds(); b.Dx() == w && b.Dy() == h {
			return img
		}
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

func putImage(img *image.RGBA) { imagePool.Put(img) }

// rightAxisWidth is the room for the right axis' tick labels, pixels.
const rightAxisWidth = 44

// drawRightAxis labels the left axis' ticks on the right edge of the plot
// area in the right axis' units, with its label rotated beyond them.
func (p *Plan) drawRightAxis(f *frame, dc draw.Canvas) {
	ra := p.tmpl.RightAxis
	th := f.th
	pl := f.pl
	_, yf := pl.Transforms(&dc)
	ticks := f.yTicks.Ticks(pl.Y.Min, pl.Y.Max)
	conv := func(v float64) float64 { return v*ra.Scale + ra.Shift }
	div, prefix := axisScale(math.Max(math.Abs(conv(pl.Y.Min)), math.Abs(conv(pl.Y.Max))), p.Base)
	// Decimals enough to tell neighbouring labels apart.
	var labelled []float64
	for _, t := range ticks {
		if t.Label != "" {
			labelled = append(labelled, t.Value)
		}
	}
	dec := 0
	if len(labelled) > 1 {
		d := math.Abs(conv(labelled[1])-conv(labelled[0])) / div
		for dec < 3 && math.Abs(d*math.Pow(10, float64(dec))-math.Round(d*math.Pow(10, float64(dec)))) > 1e-6 {
			dec++
		}
	}
	st := text.Style{Color: th.muted, Font: font.From(sans, tickSize), Handler: f.text, XAlign: draw.XLeft, YAlign: draw.YCenter}
	axis := draw.LineStyle{Color: th.axis, Width: px(1)}
	x := snap(dc.Max.X)
	dc.StrokeLine2(axis, x, dc.Min.Y, x, dc.Max.Y)
	for _, v := range labelled {
		y := yf(v)
		if y < dc.Min.Y-px(0.5) || y > dc.Max.Y+px(0.5) {
			continue
		}
		dc.StrokeLine2(axis, x, y, x+px(4), y)
		label := "0"
		if conv(v) != 0 {
			label = strconv.FormatFloat(conv(v)/div, 'f', dec, 64)
			if prefix != "" {
				label += " " + prefix
			}
		}
		dc.FillText(st, vg.Point{X: x + px(6), Y: y}, label)
	}
	if ra.Label != "" && f.lay.vlabel {
		ls := text.Style{Color: th.muted, Font: font.From(sans, labelSize), Handler: f.text,
			Rotation: -math.Pi / 2, XAlign: draw.XCenter, YAlign: draw.YTop}
		dc.FillText(ls, vg.Point{X: x + px(rightAxisWidth+12), Y: (dc.Min.Y + dc.Max.Y) / 2}, ra.Label)
	}
}

// cellSwatch is the room a cell's own colour swatch takes, if it has one.
func cellSwatch(l LegendLine, i int) vg.Length {
	if i < len(l.CellColors) && l.CellColors[i] != nil {
		return px(14)
	}
	return 0
}

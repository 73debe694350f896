package graphs

import (
	"image"
	"image/color"
	"math"
	"sync"

	xdraw "image/draw"

	"golang.org/x/image/vector"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pixels draws series paths straight into the image behind a vgimg
// canvas with an accumulation rasterizer. gonum/plot's image canvas fills
// through freetype's rasterizer, whose cell search grows quadratically with
// the edges on one scan line: a year of daily waves (hundreds of vertical
// edges) took close to a second. This one costs time in proportion to the
// pixels the edges cross. Text, axes and rules still go through gonum/plot.
type pixels struct {
	img *image.RGBA
	h   float64 // canvas height in pixels; vg's y axis points up
}

var rasterPool = sync.Pool{New: func() any { return vector.NewRasterizer(1, 1) }}

// begin returns a rasterizer for the pixels of canvas area c that the path
// can touch (its bounding box grown by pad pixels): the rasterizer's cost
// is in proportion to the area it covers.
func (p *pixels) begin(c draw.Canvas, path vg.Path, pad float64) (*vector.Rasterizer, image.Rectangle) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, comp := range path {
		if comp.Type == vg.MoveComp || comp.Type == vg.LineComp {
			x, y := comp.Pos.X.Dots(DPI), p.h-comp.Pos.Y.Dots(DPI)
			x0, x1 = math.Min(x0, x), math.Max(x1, x)
			y0, y1 = math.Min(y0, y), math.Max(y1, y)
		}
	}
	r := p.clipRect(c)
	if x0 <= x1 {
		r = r.Intersect(image.Rect(int(math.Floor(x0-pad)), int(math.Floor(y0-pad)), int(math.Ceil(x1+pad)), int(math.Ceil(y1+pad))))
	}
	z := rasterPool.Get().(*vector.Rasterizer)
	z.Reset(max(r.Dx(), 1), max(r.Dy(), 1))
	return z, r
}

func (p *pixels) end(z *vector.Rasterizer, r image.Rectangle, col color.Color) {
	if !r.Empty() {
		z.Draw(p.img, r, image.NewUniform(col), image.Point{})
	}
	rasterPool.Put(z)
}

// pt converts a canvas point to rasterizer coordinates relative to r.
func (p *pixels) pt(q vg.Point, r image.Rectangle) (float32, float32) {
	return float32(q.X.Dots(DPI)) - float32(r.Min.X), float32(p.h-q.Y.Dots(DPI)) - float32(r.Min.Y)
}

// fill fills the closed sub-paths of path.
func (p *pixels) fill(c draw.Canvas, path vg.Path, col color.Color) {
	z, r := p.begin(c, path, 1)
	open := false
	for _, comp := range path {
		switch comp.Type {
		case vg.MoveComp:
			if open {
				z.ClosePath()
			}
			z.MoveTo(p.pt(comp.Pos, r))
			open = true
		case vg.LineComp:
			z.LineTo(p.pt(comp.Pos, r))
		case vg.CloseComp:
			z.ClosePath()
			open = false
		}
	}
	if open {
		z.ClosePath()
	}
	p.end(z, r, col)
}

// stroke draws the polylines of path (Move and Line components) width
// pixels wide: a quadrilateral per segment and a square on every joint,
// all wound the same way so that overlaps do not cancel.
func (p *pixels) stroke(c draw.Canvas, path vg.Path, width float64, col color.Color) {
	z, r := p.begin(c, path, width+1)
	hw := float32(width / 2)
	var px, py float32
	have := false
	quad := func(ax, ay, bx, by, cx, cy, dx, dy float32) {
		// Make the winding counter-clockwise (in y-down coordinates the
		// signed area is negated), so overlapping pieces add up.
		area := (bx-ax)*(cy-ay) - (cx-ax)*(by-ay) + (cx-ax)*(dy-ay) - (dx-ax)*(cy-ay)
		if area < 0 {
			bx, by, dx, dy = dx, dy, bx, by
		}
		z.MoveTo(ax, ay)
		z.LineTo(bx, by)
		z.LineTo(cx, cy)
		z.LineTo(dx, dy)
		z.ClosePath()
	}
	joint := func(x, y float32) {
		if width >= 1.5 {
			quad(x-hw, y-hw, x+hw, y-hw, x+hw, y+hw, x-hw, y+hw)
		}
	}
	for _, comp := range path {
		x, y := p.pt(comp.Pos, r)
		switch comp.Type {
		case vg.MoveComp:
			px, py, have = x, y, true
			joint(x, y)
		case vg.LineComp:
			if !have {
				px, py, have = x, y, true
				continue
			}
			dx, dy := x-px, y-py
			l := float32(math.Hypot(float64(dx), float64(dy)))
			if l > 0 {
				nx, ny := -dy/l*hw, dx/l*hw
				quad(px+nx, py+ny, x+nx, y+ny, x-nx, y-ny, px-nx, py-ny)
			}
			joint(x, y)
			px, py = x, y
		}
	}
	p.end(z, r, col)
}

// rect fills the canvas area, rounded to whole pixels.
func (p *pixels) rect(c draw.Canvas, col color.Color) {
	r := image.Rect(int(math.Round(c.Min.X.Dots(DPI))), int(math.Round(p.h-c.Max.Y.Dots(DPI))),
		int(math.Round(c.Max.X.Dots(DPI))), int(math.Round(p.h-c.Min.Y.Dots(DPI))))
	xdraw.Draw(p.img, r, image.NewUniform(col), image.Point{}, xdraw.Over)
}

// vertex is a point in image pixels (y down).
type vertex struct{ x, y float64 }

// fillBand fills the region between two polylines that run left to right
// over the same x range, top above bottom, one pixel column at a time:
// each column takes the band at its centre, with its top and bottom pixels
// partly covered, and the first and last columns partly covered by how much
// of them the band spans. That is exact for the flat steps of wide rows and
// close for narrow ones, and costs only the pixels filled.
func (p *pixels) fillBand(c draw.Canvas, top, bottom []vertex, col color.Color) {
	if len(top) == 0 || len(bottom) == 0 {
		return
	}
	clip := p.clipRect(c)
	r, g, b, a := col.RGBA() // premultiplied, 16 bit
	x0, x1 := top[0].x, top[len(top)-1].x
	ti, bi := 0, 0
	for cx := int(math.Floor(x0)); float64(cx) < x1; cx++ {
		if cx < clip.Min.X || cx >= clip.Max.X {
			continue
		}
		lo, hi := math.Max(float64(cx), x0), math.Min(float64(cx+1), x1)
		hc := hi - lo
		if hc <= 0 {
			continue
		}
		xc := (lo + hi) / 2
		yt := interp(top, &ti, xc)
		yb := interp(bottom, &bi, xc)
		if yt != yt || yb != yb { // never loop over an undefined span
			continue
		}
		if yt > yb {
			yt, yb = yb, yt
		}
		yt = math.Max(yt, float64(clip.Min.Y))
		yb = math.Min(yb, float64(clip.Max.Y))
		for cy := int(math.Floor(yt)); float64(cy) < yb; cy++ {
			cov := (math.Min(float64(cy+1), yb) - math.Max(float64(cy), yt)) * hc
			if cov <= 0 {
				continue
			}
			p.blend(cx, cy, r, g, b, a, cov)
		}
	}
}

// interp returns the polyline's y at x; *i is a cursor that only moves
// forward as x grows.
func interp(pl []vertex, i *int, x float64) float64 {
	for *i < len(pl)-2 && pl[*i+1].x <= x {
		*i++
	}
	a := pl[*i]
	if *i+1 >= len(pl) {
		return a.y
	}
	b := pl[*i+1]
	if b.x <= a.x || x <= a.x {
		if x >= b.x {
			return b.y
		}
		return a.y
	}
	if x >= b.x {
		return b.y
	}
	return a.y + (b.y-a.y)*(x-a.x)/(b.x-a.x)
}

// blend paints premultiplied colour (r, g, b, a; 16 bit) over pixel (x, y)
// with coverage cov.
func (p *pixels) blend(x, y int, r, g, b, a uint32, cov float64) {
	i := p.img.PixOffset(x, y)
	pix := p.img.Pix[i : i+4 : i+4]
	if cov >= 1 && a == 0xffff {
		pix[0], pix[1], pix[2], pix[3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), 0xff
		return
	}
	m := uint32(cov*0xffff + 0.5)
	sa := a * m / 0xffff
	inv := 0xffff - sa
	pix[0] = uint8((uint32(pix[0])*0x101*inv/0xffff + r*m/0xffff) >> 8)
	pix[1] = uint8((uint32(pix[1])*0x101*inv/0xffff + g*m/0xffff) >> 8)
	pix[2] = uint8((uint32(pix[2])*0x101*inv/0xffff + b*m/0xffff) >> 8)
	pix[3] = uint8((uint32(pix[3])*0x101*inv/0xffff + sa) >> 8)
}

// clipRect is the pixel rectangle of a canvas area.
func (p *pixels) clipRect(c draw.Canvas) image.Rectangle {
	return image.Rect(int(math.Floor(c.Min.X.Dots(DPI))), int(math.Floor(p.h-c.Max.Y.Dots(DPI))),
		int(math.Ceil(c.Max.X.Dots(DPI))), int(math.Ceil(p.h-c.Min.Y.Dots(DPI)))).Intersect(p.img.Bounds())
}

// vertices converts a path's points to image pixels.
func (p *pixels) vertices(dst []vertex, path vg.Path) []vertex {
	for _, comp := range path {
		if comp.Type == vg.MoveComp || comp.Type == vg.LineComp {
			dst = append(dst, vertex{comp.Pos.X.Dots(DPI), p.h - comp.Pos.Y.Dots(DPI)})
		}
	}
	return dst
}

// gridPath draws the 1-pixel horizontal and vertical segments of path
// (pairs of Move and Line at pixel centres) by setting pixels.
func (p *pixels) gridPath(c draw.Canvas, path vg.Path, col color.Color) {
	clip := p.clipRect(c)
	r, g, b, a := col.RGBA()
	for i := 0; i+1 < len(path); i += 2 {
		x0, y0 := path[i].Pos.X.Dots(DPI), p.h-path[i].Pos.Y.Dots(DPI)
		x1, y1 := path[i+1].Pos.X.Dots(DPI), p.h-path[i+1].Pos.Y.Dots(DPI)
		if x0 > x1 {
			x0, x1 = x1, x0
		}
		if y0 > y1 {
			y0, y1 = y1, y0
		}
		rect := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Floor(x1))+1, int(math.Floor(y1))+1).Intersect(clip)
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			for x := rect.Min.X; x < rect.Max.X; x++ {
				p.blend(x, y, r, g, b, a, 1)
			}
		}
	}
}

// dashPath cuts the polylines of path into dashes: on for d[0] pixels, off
// for d[1], and so on, the pattern running on across joints.
func (p *pixels) dashPath(path vg.Path, d []float64) vg.Path {
	if len(d) == 0 {
		return path
	}
	var out vg.Path
	k, left := 0, d[0] // current dash index and what is left of it, pixels
	on := true
	var prev vg.Point
	for _, comp := range path {
		switch comp.Type {
		case vg.MoveComp:
			prev = comp.Pos
			k, left, on = 0, d[0], true
			out.Move(prev)
		case vg.LineComp:
			a, b := prev, comp.Pos
			seg := math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y)) / float64(px(1))
			pos := 0.0
			for i := 0; seg-pos > 1e-9 && i < 1_000_000; i++ {
				step := math.Min(left, seg-pos)
				pos += step
				left -= step
				pt := vg.Point{X: a.X + (b.X-a.X)*vg.Length(pos/seg), Y: a.Y + (b.Y-a.Y)*vg.Length(pos/seg)}
				if on {
					out.Line(pt)
				}
				if left <= 1e-9 {
					k = (k + 1) % len(d)
					left = d[k]
					on = !on
					if on {
						out.Move(pt)
					}
				}
			}
			prev = b
		}
	}
	return out
}

package graphs

import (
	"image"
	"strings"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// fastText is gonum/plot's plain text handler with a faster way to draw
// unrotated text into an image: gonum's image canvas draws every string
// through a bilinear image transform (its y axis is flipped), which cost
// more than all the series together. Measuring is unchanged, so layout is
// identical; rotated text still goes through gonum.
type fastText struct {
	text.Plain
	pix   *pixels
	faces map[font.Font]xfont.Face
	boxes map[boxKey][3]vg.Length
}

type boxKey struct {
	txt string
	fnt font.Font
}

func newFastText(pix *pixels) *fastText {
	return &fastText{Plain: text.Plain{Fonts: font.DefaultCache}, pix: pix,
		faces: map[font.Font]xfont.Face{}, boxes: map[boxKey][3]vg.Length{}}
}

// Box caches gonum's text measurement, which allocates on every call and
// is asked about the same tick labels several times per render.
func (h *fastText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	k := boxKey{txt, fnt}
	if b, ok := h.boxes[k]; ok {
		return b[0], b[1], b[2]
	}
	width, height, depth = h.Plain.Box(txt, fnt)
	h.boxes[k] = [3]vg.Length{width, height, depth}
	return width, height, depth
}

func (h *fastText) face(f font.Font) xfont.Face {
	if fc, ok := h.faces[f]; ok {
		return fc
	}
	fc := xfont.Face(nil)
	if of := h.Fonts.Lookup(f, f.Size); of.Face != nil {
		if face, err := opentype.NewFace(of.Face, &opentype.FaceOptions{Size: f.Size.Points(), DPI: DPI}); err == nil {
			fc = noKern{face}
		}
	}
	h.faces[f] = fc
	return fc
}

func (h *fastText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if txt == "" {
		return
	}
	face := h.face(sty.Font)
	if h.pix == nil || sty.Rotation != 0 || face == nil {
		h.Plain.Draw(c, txt, sty, pt)
		return
	}
	fnt := h.Fonts.Lookup(sty.Font, sty.Font.Size)
	lines := h.Lines(txt)
	ht := sty.Height(txt)
	pt.Y += ht*vg.Length(sty.YAlign) - fnt.Extents().Ascent
	d := xfont.Drawer{Dst: h.pix.img, Src: image.NewUniform(sty.Color), Face: face}
	for i, line := range lines {
		w, _, _ := h.Box(line, sty.Font)
		x := pt.X + vg.Length(sty.XAlign)*w
		y := pt.Y + vg.Length(len(lines)-i)*sty.Font.Size
		d.Dot = fixed.Point26_6{X: fixed.Int26_6(x.Dots(DPI) * 64), Y: fixed.Int26_6((h.pix.h - y.Dots(DPI)) * 64)}
		d.DrawString(line)
	}
}

func (h *fastText) close() {
	for _, f := range h.faces {
		if f != nil {
			f.Close()
		}
	}
}

// noKern drops kerning: Liberation Sans kerns "11" by most of a stem,
// which makes numbers in legend columns look misprinted.
type noKern struct{ xfont.Face }

func (noKern) Kern(_, _ rune) fixed.Int26_6 { return 0 }

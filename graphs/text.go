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
}

func newFastText(pix *pixels) *fastText {
	return &fastText{Plain: text.Plain{Fonts: font.DefaultCache}, pix: pix, faces: map[font.Font]xfont.Face{}}
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
		x := pt.X + vg.Length(sty.XAlign)*fnt.Width(line)
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

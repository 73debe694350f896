package graphs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// siPrefixes from 10^-24 to 10^24; index 8 is no prefix. Micro is "u", as
// in rrdtool, so that legends stay ASCII.
var siPrefixes = [...]string{"y", "z", "a", "f", "p", "n", "u", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y"}

// siScale returns the power of base to divide v by and its prefix, chosen so
// that the scaled value lies in [1, base).
func siScale(v float64, base float64) (div float64, prefix string) {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, ""
	}
	e := int(math.Floor(math.Log(math.Abs(v)) / math.Log(base)))
	// Guard rounding at exact powers (log may land just below).
	if math.Abs(v)/math.Pow(base, float64(e+1)) >= 1 {
		e++
	}
	e = min(max(e, -8), 8)
	return math.Pow(base, float64(e)), siPrefixes[e+8]
}

// formatSI renders v with prec decimals and an SI prefix, e.g. "1.23 M".
// Unknown values print as "nan", as rrdtool's legends do.
func formatSI(v float64, base float64, prec int, unit string) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	div, p := siScale(v, base)
	s := strconv.FormatFloat(v/div, 'f', prec, 64)
	if p == "" && unit == "" {
		return s
	}
	return s + " " + p + unit
}

// checkFormat accepts an rrdtool GPRINT format: literal text, %% and
// exactly one number conversion (%[flags][width][.prec] then f, e or g,
// optionally with rrdtool's l: %8.2lf), optionally followed by %s for the
// SI prefix.
func checkFormat(f string) error {
	_, err := parseFormat(f)
	return err
}

type gformat struct {
	goFmt string // fmt format with the number verb and, if si, a %s
	si    bool
}

func parseFormat(f string) (gformat, error) {
	if f == "" {
		return gformat{}, errors.New("empty (want e.g. \"%8.2lf%s\")")
	}
	var b strings.Builder
	var g gformat
	nums := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		if j < len(f) && f[j] == '%' {
			b.WriteString("%%")
			i = j
			continue
		}
		if j < len(f) && f[j] == 's' {
			if nums == 0 || g.si {
				return gformat{}, errors.New("%s (the SI prefix) must follow the number, once")
			}
			g.si = true
			b.WriteString("%s")
			i = j
			continue
		}
		k := j
		for k < len(f) && strings.IndexByte("-+ 0#", f[k]) >= 0 {
			k++
		}
		for k < len(f) && (f[k] >= '0' && f[k] <= '9' || f[k] == '.') {
			k++
		}
		spec := f[j:k]
		if strings.Count(spec, ".") > 1 || len(spec) > 8 {
			return gformat{}, fmt.Errorf("bad conversion at byte %d", i)
		}
		if k < len(f) && f[k] == 'l' {
			k++
		}
		if k >= len(f) || strings.IndexByte("feEgG", f[k]) < 0 {
			return gformat{}, fmt.Errorf("bad conversion at byte %d (want %%lf, %%le or %%lg)", i)
		}
		nums++
		if nums > 1 {
			return gformat{}, errors.New("more than one number conversion")
		}
		b.WriteString("%" + spec + string(f[k]))
		i = k
	}
	if nums == 0 {
		return gformat{}, errors.New("no number conversion (want e.g. %8.2lf)")
	}
	g.goFmt = b.String()
	return g, nil
}

// format prints v with the rrdtool-style format f, which parseFormat has
// accepted at load.
func (g gformat) format(v, base float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// Spelled as rrdtool's legends do.
		out := fmt.Sprintf(g.goFmt, append([]any{v}, siArg(g.si)...)...)
		return strings.NewReplacer("NaN", "nan", "+Inf", "inf", "-Inf", "-inf").Replace(out)
	}
	if !g.si {
		return fmt.Sprintf(g.goFmt, v)
	}
	div, p := siScale(v, base)
	if p == "" {
		p = " "
	}
	return fmt.Sprintf(g.goFmt, v/div, p)
}

func siArg(si bool) []any {
	if si {
		return []any{" "}
	}
	return nil
}

package graphs

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// vdefFunc is a parsed VDEF function.
type vdefFunc struct {
	kind string
	arg  float64
}

var vdefKinds = []string{"MAXIMUM", "MINIMUM", "AVERAGE", "STDEV", "LAST", "FIRST", "TOTAL",
	"PERCENT", "PERCENTNAN", "LSLSLOPE", "LSLINT", "LSLCORREL"}

func parseVDefFunc(name string, arg float64) (vdefFunc, error) {
	k := strings.ToUpper(name)
	if !slices.Contains(vdefKinds, k) {
		return vdefFunc{}, fmt.Errorf("unknown function %q (want one of %s)", name, strings.Join(vdefKinds, ", "))
	}
	if k == "PERCENT" || k == "PERCENTNAN" {
		if !(arg >= 0 && arg <= 100) {
			return vdefFunc{}, fmt.Errorf("%s needs arg from 0 to 100, got %v", k, arg)
		}
	} else if arg != 0 {
		return vdefFunc{}, fmt.Errorf("%s takes no arg", k)
	}
	return vdefFunc{kind: k, arg: arg}, nil
}

// VValue is the result of a VDEF: a value and, for functions that pick a
// row (MAXIMUM, MINIMUM, FIRST, LAST), that row's time in Unix seconds;
// otherwise Time is NaN.
type VValue struct {
	Value float64
	Time  float64
	// Step is the row width the value was computed over: the plotted rows,
	// or for a raw vdef the finest rows storage holds for the range.
	Step time.Duration
}

// apply computes f over vals on the grid start+i*step, with rrdtool's
// rules (checked against rrdtool 1.7): unknowns are skipped except by
// PERCENT, which sorts them below every number; TOTAL multiplies by the
// step; the least-squares line is over the 0-based row index.
func (f vdefFunc) apply(vals []float64, start, step int64) VValue {
	res := VValue{Value: math.NaN(), Time: math.NaN()}
	pick := func(i int) VValue { return VValue{Value: vals[i], Time: float64(start + int64(i)*step)} }
	switch f.kind {
	case "MAXIMUM", "MINIMUM":
		best := -1
		for i, v := range vals {
			if math.IsNaN(v) {
				continue
			}
			if best < 0 || (f.kind == "MAXIMUM" && v > vals[best]) || (f.kind == "MINIMUM" && v < vals[best]) {
				best = i
			}
		}
		if best >= 0 {
			res = pick(best)
		}
	case "FIRST":
		for i, v := range vals {
			if !math.IsNaN(v) {
				return pick(i)
			}
		}
	case "LAST":
		for i := len(vals) - 1; i >= 0; i-- {
			if !math.IsNaN(vals[i]) {
				return pick(i)
			}
		}
	case "AVERAGE", "TOTAL", "STDEV":
		var sum, sum2 float64
		n := 0
		for _, v := range vals {
			if !math.IsNaN(v) {
				sum += v
				sum2 += v * v
				n++
			}
		}
		if n == 0 {
			break
		}
		switch f.kind {
		case "AVERAGE":
			res.Value = sum / float64(n)
		case "TOTAL":
			res.Value = sum * float64(step)
		default:
			mean := sum / float64(n)
			var ss float64
			for _, v := range vals {
				if !math.IsNaN(v) {
					ss += (v - mean) * (v - mean)
				}
			}
			res.Value = math.Sqrt(ss / float64(n)) // population deviation
		}
	case "PERCENT", "PERCENTNAN":
		res.Value = percentile(vals, f.arg, f.kind == "PERCENTNAN")
	case "LSLSLOPE", "LSLINT", "LSLCORREL":
		slope, icept, corr := leastSquares(vals)
		res.Value = map[string]float64{"LSLSLOPE": slope, "LSLINT": icept, "LSLCORREL": corr}[f.kind]
	}
	return res
}

// percentile returns the p-th percentile as rrdtool does: the sorted value
// at index round(p/100*(n-1)). Unknowns count as the smallest values unless
// skipNaN is set.
func percentile(vals []float64, p float64, skipNaN bool) float64 {
	s := make([]float64, 0, len(vals))
	for _, v := range vals {
		if !skipNaN || !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.SortFunc(s, func(a, b float64) int {
		an, bn := math.IsNaN(a), math.IsNaN(b)
		switch {
		case an && bn:
			return 0
		case an:
			return -1
		case bn:
			return 1
		}
		return cmpFloat(a, b)
	})
	i := int(math.Round(p / 100 * float64(len(s)-1)))
	return s[min(max(i, 0), len(s)-1)]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// leastSquares fits y = slope*i + icept over the known rows i.
func leastSquares(vals []float64) (slope, icept, corr float64) {
	var n, sx, sy, sxy, sxx, syy float64
	for i, y := range vals {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		x := float64(i)
		n++
		sx += x
		sy += y
		sxy += x * y
		sxx += x * x
		syy += y * y
	}
	if n < 2 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	den := n*sxx - sx*sx
	slope = (n*sxy - sx*sy) / den
	icept = (sy - slope*sx) / n
	corr = (n*sxy - sx*sy) / math.Sqrt(den*(n*syy-sy*sy))
	return slope, icept, corr
}

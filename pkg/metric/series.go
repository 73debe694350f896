package metric

import (
	"fmt"
	"regexp"
	"time"
)

// CF is a consolidation function: how several values of a fine step become
// one value of a coarser step.
type CF uint8

const (
	Average CF = iota
	Min
	Max
	Last
)

var cfNames = [...]string{"AVERAGE", "MIN", "MAX", "LAST"}

func (c CF) String() string {
	if int(c) < len(cfNames) {
		return cfNames[c]
	}
	return fmt.Sprintf("CF(%d)", uint8(c))
}

// ParseCF parses AVERAGE, MIN, MAX or LAST (case-insensitive).
func ParseCF(s string) (CF, error) {
	for i, n := range cfNames {
		if equalFold(s, n) {
			return CF(i), nil
		}
	}
	return 0, fmt.Errorf("unknown consolidation function %q (want AVERAGE, MIN, MAX or LAST)", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Matcher selects series by one label. An empty Value with Regex false
// matches series that lack the label.
type Matcher struct {
	Name  string
	Value string
	Regex bool
	re    *regexp.Regexp
}

// Eq matches a label by equality.
func Eq(name, value string) Matcher { return Matcher{Name: name, Value: value} }

// Re matches a label by a fully anchored regular expression.
func Re(name, expr string) (Matcher, error) {
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return Matcher{}, fmt.Errorf("label %s: bad regular expression %q: %w", name, expr, err)
	}
	return Matcher{Name: name, Value: expr, Regex: true, re: re}, nil
}

// Matches reports whether the value of the matcher's label matches.
func (m Matcher) Matches(v string) bool {
	if !m.Regex {
		return v == m.Value
	}
	if m.re == nil {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return false
		}
		return re.MatchString(v)
	}
	return m.re.MatchString(v)
}

// Selector is a conjunction of matchers.
type Selector []Matcher

// Matches reports whether a label set satisfies every matcher.
func (s Selector) Matches(ls Labels) bool {
	for _, m := range s {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// Query asks for the series matching a selector over [From, To), on a
// regular grid of about Step (0: the finest the storage has), consolidated
// with CF where the storage must coarsen.
type Query struct {
	Match    Selector
	From, To time.Time
	Step     time.Duration
	CF       CF
}

// Series is a regular-grid time series. Values[i] covers the interval
// (Start+(i-1)*Step, Start+i*Step]: like rrdtool, a row is stamped with the
// end of the interval it describes. Unknown rows are NaN.
type Series struct {
	Labels Labels
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// End returns the time stamp of the last row.
func (s Series) End() time.Time {
	if len(s.Values) == 0 {
		return s.Start
	}
	return s.Start.Add(time.Duration(len(s.Values)-1) * s.Step)
}

// TimeAt returns the time stamp of row i.
func (s Series) TimeAt(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

package rrd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseNumber parses a number the way rrdtool's own strtod does (digits
// accumulated in float64, then scaled by powers of ten), including its
// special words nan, inf and -inf. rrdtool's parser is not correctly
// rounded; matching it keeps results bit-for-bit where it matters.
func parseNumber(s string) (float64, error) {
	p := 0
	for p < len(s) && isSpace(s[p]) {
		p++
	}
	neg := false
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		neg = s[p] == '-'
		p++
	}
	num, digits, exp := 0.0, 0, 0
	for p < len(s) && isDigit(s[p]) {
		num = num*10 + float64(s[p]-'0')
		p++
		digits++
	}
	if p < len(s) && s[p] == '.' {
		p++
		for p < len(s) && isDigit(s[p]) {
			num = num*10 + float64(s[p]-'0')
			p++
			digits++
			exp--
		}
	}
	if digits == 0 {
		if v, ok := parseSpecial(s); ok {
			return v, nil
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if neg {
		num = -num
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		p++
		eneg := false
		if p < len(s) && (s[p] == '-' || s[p] == '+') {
			eneg = s[p] == '-'
			p++
		}
		n := 0
		for p < len(s) && isDigit(s[p]) {
			if n < 100000 {
				n = n*10 + int(s[p]-'0')
			}
			p++
		}
		if eneg {
			exp -= n
		} else {
			exp += n
		}
	}
	if exp < -1021 || exp > 1024 {
		return 0, fmt.Errorf("%q: exponent out of range", s)
	}
	if p != len(s) {
		return 0, fmt.Errorf("%q is not a number (trailing %q)", s, s[p:])
	}
	p10, n := 10.0, exp
	if n < 0 {
		n = -n
	}
	for n != 0 {
		if n&1 != 0 {
			if exp < 0 {
				num /= p10
			} else {
				num *= p10
			}
		}
		n >>= 1
		p10 *= p10
	}
	return num, nil
}

func parseSpecial(s string) (float64, bool) {
	l := strings.ToLower(s)
	switch {
	case strings.HasPrefix(l, "-nan"), strings.HasPrefix(l, "nan"):
		return math.NaN(), true
	case strings.HasPrefix(l, "inf"):
		return math.Inf(1), true
	case strings.HasPrefix(l, "-inf"):
		return math.Inf(-1), true
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// parseDuration parses rrdtool's count-or-duration syntax: a plain number
// is a count of unit seconds; with a suffix s, m, h, d or w it is a
// duration that must be a whole multiple of unit. It returns the count.
func parseDuration(s string, unit int64) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	mult := int64(0)
	num := s
	switch s[len(s)-1] {
	case 's':
		mult = 1
	case 'm':
		mult = 60
	case 'h':
		mult = 3600
	case 'd':
		mult = 86400
	case 'w':
		mult = 7 * 86400
	}
	if mult != 0 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return 0, fmt.Errorf("%q: want a positive whole number with an optional s, m, h, d or w suffix", s)
	}
	if mult == 0 {
		return n, nil
	}
	secs := n * mult
	if secs%unit != 0 {
		return 0, fmt.Errorf("%q is not a multiple of %ds", s, unit)
	}
	return secs / unit, nil
}

// parseTime parses an absolute time in seconds since the epoch, possibly
// with a fraction, into seconds and microseconds as rrdtool update does.
func parseTime(s string) (sec, usec int64, err error) {
	v, err := parseNumber(s)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, fmt.Errorf("time %q: want seconds since the epoch", s)
	}
	if v < 0 {
		return 0, 0, fmt.Errorf("time %q: relative times are not supported", s)
	}
	if v > 1<<40 {
		return 0, 0, fmt.Errorf("time %q out of range", s)
	}
	f := math.Floor(v)
	return int64(f), int64((v - f) * 1e6), nil
}

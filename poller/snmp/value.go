package snmp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Errors of single varbinds; the poll error wraps them with device and OID.
var (
	// ErrNoSuchObject: the agent has no such object, instance, or the walk
	// ran past the end of its MIB view (noSuchObject, noSuchInstance,
	// endOfMibView, v1 noSuchName).
	ErrNoSuchObject = errors.New("no such object")
	// ErrNotNumeric: a value that does not read as a number.
	ErrNotNumeric = errors.New("value is not numeric")
)

// reading is one converted varbind value.
type reading struct {
	value   float64
	count   uint64
	exact   bool // count holds the value exactly (counters)
	counter bool // the agent sent Counter32 or Counter64
}

// convert turns a varbind into a number. Counters are carried exactly in
// count; a number in an OctetString (UCD laLoad "0.15") is parsed.
func convert(typ gosnmp.Asn1BER, v any) (reading, error) {
	switch typ {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		return reading{}, fmt.Errorf("%w (%s)", ErrNoSuchObject, typ)
	case gosnmp.Counter32, gosnmp.Counter64:
		n, ok := toUint(v)
		if !ok {
			return reading{}, fmt.Errorf("%w: %s holds %T", ErrNotNumeric, typ, v)
		}
		return reading{value: float64(n), count: n, exact: true, counter: true}, nil
	case gosnmp.Integer, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		if n, ok := toUint(v); ok {
			return reading{value: float64(n)}, nil
		}
		if i, ok := v.(int); ok {
			return reading{value: float64(i)}, nil
		}
		if i, ok := v.(int64); ok {
			return reading{value: float64(i)}, nil
		}
		return reading{}, fmt.Errorf("%w: %s holds %T", ErrNotNumeric, typ, v)
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		var f float64
		switch x := v.(type) {
		case float32:
			f = float64(x)
		case float64:
			f = x
		default:
			return reading{}, fmt.Errorf("%w: %s holds %T", ErrNotNumeric, typ, v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return reading{}, fmt.Errorf("%w: %s is %v", ErrNotNumeric, typ, f)
		}
		return reading{value: f}, nil
	case gosnmp.OctetString:
		var s string
		switch x := v.(type) {
		case []byte:
			s = string(x)
		case string:
			s = x
		default:
			return reading{}, fmt.Errorf("%w: %s holds %T", ErrNotNumeric, typ, v)
		}
		return parseNumericString(s)
	}
	return reading{}, fmt.Errorf("%w: type %s", ErrNotNumeric, typ)
}

// parseNumericString reads a decimal number sent as a string, allowing the
// blanks and trailing NULs that agents pad with. NaN and infinities are not
// readings.
func parseNumericString(s string) (reading, error) {
	t := strings.TrimSpace(strings.TrimRight(s, "\x00"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(t, "xXpP_") {
		return reading{}, fmt.Errorf("%w: string %s", ErrNotNumeric, quote(s))
	}
	return reading{value: f}, nil
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint:
		return uint64(x), true
	case uint64:
		return x, true
	case uint32:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint8:
		return uint64(x), true
	}
	return 0, false
}

// labelValue renders a varbind as a label value: strings as text (hex when
// not printable UTF-8), numbers in decimal.
func labelValue(typ gosnmp.Asn1BER, v any) (string, bool) {
	switch typ {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return "", false
	}
	switch x := v.(type) {
	case []byte:
		s := strings.TrimRight(string(x), "\x00")
		if utf8.ValidString(s) && printable(s) {
			return s, true
		}
		var b strings.Builder
		for i, c := range x {
			if i > 0 {
				b.WriteByte(':')
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		return b.String(), true
	case string:
		return x, true
	case nil:
		return "", false
	default:
		return fmt.Sprint(x), true
	}
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// quote shows a bounded, escaped form of outside input in errors.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

package metric

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// DSType is how a polled reading turns into a rate, exactly as rrdtool's
// data-source types do.
type DSType uint8

const (
	// Gauge stores the reading as it is (temperatures, load, used bytes).
	Gauge DSType = iota
	// Counter is an unsigned integer that only grows; the rate is the
	// difference to the previous reading per second. A decrease is a wrap:
	// 2^32 is added, and if still negative 2^64-2^32 more.
	Counter
	// Derive is like Counter but signed: a decrease is a negative rate.
	// With Min 0 a counter reset becomes unknown instead of a spike.
	Derive
	// Absolute is a counter reset on every read: rate = reading / interval.
	Absolute
	// DCounter is Counter for floating-point readings (no wrap handling).
	DCounter
	// DDerive is Derive for floating-point readings.
	DDerive
)

var dsNames = [...]string{"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", "DCOUNTER", "DDERIVE"}

// String returns rrdtool's name of the type.
func (t DSType) String() string {
	if int(t) < len(dsNames) {
		return dsNames[t]
	}
	return fmt.Sprintf("DSType(%d)", uint8(t))
}

// ParseDSType parses rrdtool's name of a type, case-insensitively.
func ParseDSType(s string) (DSType, error) {
	for i, n := range dsNames {
		if strings.EqualFold(s, n) {
			return DSType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown data source type %q (want one of %s)", s, strings.Join(dsNames[:], ", "))
}

// IsCounting reports whether the type turns differences of readings into
// rates, so that the first reading after a gap yields no value.
func (t DSType) IsCounting() bool { return t != Gauge }

// DS says how the readings of one series are interpreted: its type, the
// longest gap between readings that still yields a value (heartbeat), and
// the range a rate must fall in (outside it the rate is unknown).
type DS struct {
	Type      DSType
	Heartbeat time.Duration // 0: twice the poll interval, decided by the caller
	Min, Max  float64       // NaN: no limit
}

// Gauges is the DS of a plain gauge with no limits and the given heartbeat.
func Gauges(heartbeat time.Duration) DS {
	return DS{Type: Gauge, Heartbeat: heartbeat, Min: math.NaN(), Max: math.NaN()}
}

// InRange reports whether v lies within [Min, Max] where they are set.
func (d DS) InRange(v float64) bool {
	if !math.IsNaN(d.Min) && v < d.Min {
		return false
	}
	if !math.IsNaN(d.Max) && v > d.Max {
		return false
	}
	return true
}

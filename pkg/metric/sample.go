package metric

import (
	"math"
	"time"
)

// Sample is one reading of one series as a collector produced it.
//
// Value is the reading (NaN when the device gave none). Integer counters
// polled over SNMP are also carried exactly in Count with Exact set: a
// float64 holds integers exactly only up to 2^53, and a 64-bit octet
// counter's difference must be computed in integers, as rrdtool does.
type Sample struct {
	Labels Labels
	DS     DS
	Time   time.Time
	Value  float64
	Count  uint64
	Exact  bool
}

// Unknown is the value of a missing reading or an unknown rate.
var Unknown = math.NaN()

// IsUnknown reports whether v is the unknown value.
func IsUnknown(v float64) bool { return math.IsNaN(v) }

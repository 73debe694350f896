package metric

import (
	"sort"
	"strings"
)

// NameLabel holds a series' metric name, as in Prometheus.
const NameLabel = "__name__"

// DeviceLabel names the device a series was polled from.
const DeviceLabel = "device"

// Label is one name=value pair of a series' identity.
type Label struct {
	Name, Value string
}

// Labels identify a series. They are kept sorted by name with unique names;
// build them with FromMap or New so that equal sets compare equal.
type Labels []Label

// New builds Labels from name, value pairs. It panics on an odd count,
// which is a programming error.
func New(pairs ...string) Labels {
	if len(pairs)%2 != 0 {
		panic("metric.New: odd number of arguments")
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return FromMap(m)
}

// FromMap builds sorted Labels from a map; empty values are dropped, as an
// empty label value means "no such label" in selectors.
func FromMap(m map[string]string) Labels {
	ls := make(Labels, 0, len(m))
	for k, v := range m {
		if v == "" {
			continue
		}
		ls = append(ls, Label{k, v})
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return ls
}

// Get returns the value of the named label, or "" when it is absent.
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Map returns the labels as a new map.
func (ls Labels) Map() map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m
}

// With returns a copy with the given label set (replaced if present).
func (ls Labels) With(name, value string) Labels {
	m := ls.Map()
	m[name] = value
	return FromMap(m)
}

// Merge returns a copy of ls with every label of other added; other wins on
// a clash.
func (ls Labels) Merge(other Labels) Labels {
	m := ls.Map()
	for _, l := range other {
		m[l.Name] = l.Value
	}
	return FromMap(m)
}

// Copy returns a copy that shares no memory with ls.
func (ls Labels) Copy() Labels {
	return append(Labels(nil), ls...)
}

// Equal reports whether both sets hold the same pairs.
func (ls Labels) Equal(o Labels) bool {
	if len(ls) != len(o) {
		return false
	}
	for i := range ls {
		if ls[i] != o[i] {
			return false
		}
	}
	return true
}

// String renders the set as name{a="x", b="y"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteString(ls.Get(NameLabel))
	b.WriteByte('{')
	first := true
	for _, l := range ls {
		if l.Name == NameLabel {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(l.Value)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

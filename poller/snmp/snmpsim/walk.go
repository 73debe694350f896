package snmpsim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrWalk is wrapped by every error of ParseWalk.
var ErrWalk = errors.New("bad snmpwalk capture")

// Well-known OIDs the simulator treats specially.
var (
	oidSysUpTime      = []uint32{1, 3, 6, 1, 2, 1, 1, 3, 0}
	oidHrSystemUptime = []uint32{1, 3, 6, 1, 2, 1, 25, 1, 1, 0}
	oidIfEntry        = []uint32{1, 3, 6, 1, 2, 1, 2, 2, 1}
	oidIfXEntry       = []uint32{1, 3, 6, 1, 2, 1, 31, 1, 1, 1}
	// UCD memory: the 64-bit "X" columns are gauges that net-snmp types as
	// Counter64, so they must not advance.
	oidUCDMemory = []uint32{1, 3, 6, 1, 4, 1, 2021, 4}
)

// kind says how an entry's value is produced.
type kind uint8

const (
	kindStatic    kind = iota // the captured value, pre-encoded
	kindCounter32             // captured value + rate * time, mod 2^32
	kindCounter64             // captured value + rate * time
	kindUptime                // TimeTicks since the device's (re)boot
)

// entry is one OID of a capture.
type entry struct {
	oid    []uint32
	oidTLV []byte  // tag, length and body of the OID
	vb     []byte  // the whole varbind, for static entries
	tag    byte    // the value's BER tag
	kind   kind    //
	num    uint64  // captured value of counters and uptimes
	base   uint64  // counters: the value they continue from in the first boot
	rate   float64 // counters: mean increase per second
	key    uint32  // position in the original capture: seeds per-device rates
}

// Walk is a parsed capture, sorted by OID. It is immutable and shared by
// every device that replays it.
type Walk struct {
	Name      string
	entries   []entry
	oids      [][]uint32       // entries[i].oid, apart for a cache-friendly search
	byTLV     map[string]int32 // BER-encoded OID -> entry: exact matches without a search
	ifIndexes []uint32         // the ifTable's indexes, sorted
}

// Len returns the number of OIDs in the capture.
func (w *Walk) Len() int { return len(w.entries) }

// Value is one parsed line of a capture.
type Value struct {
	OID  string // numeric, with a leading dot
	Type string // net-snmp's type word: INTEGER, STRING, Counter32, ...
	Text string // the value as printed after the type
}

// LoadWalk reads a capture file; the walk is named after the file.
func LoadWalk(path string) (*Walk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load walk: %w", err)
	}
	defer f.Close()
	w, err := ParseWalk(f, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// ParseWalk reads the output of `snmpwalk -On` (or snmpbulkwalk): lines
// `.1.3.6.1.2.1.1.3.0 = Timeticks: (123) 0:00:01.23`. The types INTEGER,
// STRING, Hex-STRING, OID, IpAddress, Counter32, Gauge32, Counter64,
// Timeticks, Opaque (Float, Double or hex), BITS, UInteger32, NULL and
// empty strings (`= ""`) are understood; lines that continue a multi-line
// STRING or Hex-STRING are joined; "No more variables", "No Such Object"
// and "No Such Instance" lines are skipped. Entries may come in any order;
// a repeated OID is an error.
func ParseWalk(r io.Reader, name string) (*Walk, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	type pending struct {
		line int
		v    Value
	}
	var vals []pending
	lineNo := 0
	openQuote := false // the last STRING has not seen its closing quote
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if openQuote {
			p := &vals[len(vals)-1]
			p.v.Text += "\n" + line
			openQuote = !closedQuote(p.v.Text)
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if !strings.HasPrefix(trimmed, ".") && !startsWithOID(trimmed) {
			// Continuation of a wrapped Hex-STRING (net-snmp wraps at 16 bytes).
			if len(vals) > 0 && vals[len(vals)-1].v.Type == "Hex-STRING" && isHexBytes(trimmed) {
				vals[len(vals)-1].v.Text += " " + trimmed
				continue
			}
			return nil, fmt.Errorf("%w: line %d: %q does not start with a numeric OID (capture with snmpwalk -On)", ErrWalk, lineNo, clip(line))
		}
		oid, rest, ok := strings.Cut(trimmed, " = ")
		if !ok {
			if strings.HasSuffix(trimmed, " =") { // `OID =` : an empty value without quotes
				vals = append(vals, pending{lineNo, Value{OID: strings.TrimSuffix(trimmed, " ="), Type: "STRING", Text: `""`}})
				continue
			}
			return nil, fmt.Errorf("%w: line %d: %q has no \" = \"", ErrWalk, lineNo, clip(line))
		}
		if strings.HasPrefix(rest, "No more variables") || strings.HasPrefix(rest, "No Such ") {
			continue
		}
		if r, ok := strings.CutPrefix(rest, "Wrong Type (should be "); ok {
			if _, after, ok := strings.Cut(r, "): "); ok {
				rest = after
			}
		}
		var v Value
		v.OID = oid
		if rest == `""` {
			v.Type, v.Text = "STRING", `""`
		} else if rest == "NULL" {
			v.Type = "NULL"
		} else {
			typ, text, ok := strings.Cut(rest, ": ")
			if !ok {
				typ, text = strings.TrimSuffix(rest, ":"), ""
			}
			v.Type, v.Text = typ, text
		}
		vals = append(vals, pending{lineNo, v})
		if v.Type == "STRING" {
			openQuote = !closedQuote(v.Text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrWalk, lineNo+1, err)
	}
	if openQuote {
		return nil, fmt.Errorf("%w: line %d: STRING not closed by a quote at end of file", ErrWalk, vals[len(vals)-1].line)
	}
	w := &Walk{Name: name}
	for i, p := range vals {
		e, err := makeEntry(p.v)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %s: %v", ErrWalk, p.line, p.v.OID, err)
		}
		e.key = uint32(i)
		w.entries = append(w.entries, e)
	}
	if len(w.entries) == 0 {
		return nil, fmt.Errorf("%w: no OIDs", ErrWalk)
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	return w, nil
}

func startsWithOID(s string) bool {
	return s != "" && s[0] >= '0' && s[0] <= '9' && strings.Contains(s, " = ")
}

// closedQuote reports whether a STRING value starting with a quote also
// ends with an unescaped one.
func closedQuote(s string) bool {
	if !strings.HasPrefix(s, `"`) {
		return true // unquoted: single line
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return false
	}
	n := 0 // backslashes before the final quote
	for i := len(s) - 2; i >= 1 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

func isHexBytes(s string) bool {
	for _, f := range strings.Fields(s) {
		if len(f) != 2 {
			return false
		}
		if _, err := hex.DecodeString(f); err != nil {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// finish sorts the entries, rejects duplicates and derives counter rates.
func (w *Walk) finish() error {
	slices.SortStableFunc(w.entries, func(a, b entry) int { return slices.Compare(a.oid, b.oid) })
	for i := 1; i < len(w.entries); i++ {
		if slices.Equal(w.entries[i-1].oid, w.entries[i].oid) {
			return fmt.Errorf("%w: OID %s appears twice", ErrWalk, oidString(w.entries[i].oid))
		}
	}
	w.indexOIDs()
	// Counters count since the host booted: their mean rate is value over
	// the host's uptime (hrSystemUptime, else sysUpTime). A capture taken
	// right after boot would give absurd rates, so an uptime under a minute
	// counts as a minute.
	uptime := 0.0
	if e := w.find(oidHrSystemUptime); e != nil && e.tag == tagTimeTicks {
		uptime = float64(e.num) / 100
	} else if e := w.find(oidSysUpTime); e != nil && e.tag == tagTimeTicks {
		uptime = float64(e.num) / 100
	}
	uptime = max(uptime, 60)
	for i := range w.entries {
		e := &w.entries[i]
		switch e.tag {
		case tagCounter32, tagCounter64:
			if hasPrefix(e.oid, oidUCDMemory) {
				continue // gauges in disguise
			}
			e.kind = kindCounter32
			if e.tag == tagCounter64 {
				e.kind = kindCounter64
			}
			e.rate, e.base = float64(e.num)/uptime, e.num
		case tagTimeTicks:
			if slices.Equal(e.oid, oidSysUpTime) || slices.Equal(e.oid, oidHrSystemUptime) {
				e.kind = kindUptime
			}
		}
	}
	for _, e := range w.entries {
		if len(e.oid) == len(oidIfEntry)+2 && hasPrefix(e.oid, oidIfEntry) && e.oid[len(oidIfEntry)] == 1 {
			w.ifIndexes = append(w.ifIndexes, e.oid[len(e.oid)-1])
		}
	}
	w.pairCounters()
	w.encode()
	return nil
}

func (w *Walk) indexOIDs() {
	w.oids = make([][]uint32, len(w.entries))
	w.byTLV = make(map[string]int32, len(w.entries))
	for i := range w.entries {
		w.oids[i] = w.entries[i].oid
		w.byTLV[string(appendOIDTLV(nil, w.entries[i].oid))] = int32(i)
	}
}

// ifCounterPairs maps a 32-bit interface counter (table entry prefix and
// column) to its 64-bit twin in the ifXTable (RFC 2863).
var ifCounterPairs = []struct {
	table   []uint32
	col     uint32
	hcTable []uint32
	hcCol   uint32
}{
	{oidIfEntry, 10, oidIfXEntry, 6},  // ifInOctets -> ifHCInOctets
	{oidIfEntry, 11, oidIfXEntry, 7},  // ifInUcastPkts
	{oidIfEntry, 16, oidIfXEntry, 10}, // ifOutOctets
	{oidIfEntry, 17, oidIfXEntry, 11}, // ifOutUcastPkts
	{oidIfXEntry, 2, oidIfXEntry, 8},  // ifInMulticastPkts
	{oidIfXEntry, 3, oidIfXEntry, 9},  // ifInBroadcastPkts
	{oidIfXEntry, 4, oidIfXEntry, 12}, // ifOutMulticastPkts
	{oidIfXEntry, 5, oidIfXEntry, 13}, // ifOutBroadcastPkts
}

// pairCounters makes each 32-bit interface counter the low 32 bits of
// its 64-bit twin, as on a real device: same base, rate and per-device
// jitter (the key seeds it).
func (w *Walk) pairCounters() {
	for _, p := range ifCounterPairs {
		for _, idx := range w.ifIndexes {
			lo := w.find(append(append(slices.Clone(p.table), p.col), idx))
			hi := w.find(append(append(slices.Clone(p.hcTable), p.hcCol), idx))
			if lo == nil || hi == nil || lo.kind != kindCounter32 || hi.kind != kindCounter64 {
				continue
			}
			lo.base, lo.rate, lo.key = hi.base, hi.rate, hi.key
		}
	}
}

// encode fills oidTLV and, for static entries, the whole varbind.
func (w *Walk) encode() {
	for i := range w.entries {
		e := &w.entries[i]
		e.oidTLV = appendOIDTLV(nil, e.oid)
		if e.kind == kindStatic {
			val := e.vb // parked by makeEntry: the value TLV
			vb := appendLen([]byte{tagSequence}, len(e.oidTLV)+len(val))
			vb = append(vb, e.oidTLV...)
			e.vb = append(vb, val...)
		}
	}
}

func (w *Walk) find(oid []uint32) *entry {
	i, ok := w.search(oid)
	if !ok {
		return nil
	}
	return &w.entries[i]
}

// Values returns the capture's lines in OID order, as ParseWalk read them
// (counters and uptimes at their captured values).
func (w *Walk) Values() []Value {
	out := make([]Value, 0, len(w.entries))
	for _, e := range w.entries {
		out = append(out, Value{OID: oidString(e.oid), Type: typeName(e.tag), Text: e.text()})
	}
	return out
}

func hasPrefix(oid, prefix []uint32) bool {
	return len(oid) >= len(prefix) && slices.Equal(oid[:len(prefix)], prefix)
}

func oidString(oid []uint32) string {
	var b strings.Builder
	for _, a := range oid {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// parseOID reads ".1.3.6..." (leading dot optional).
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 128 {
		return nil, fmt.Errorf("OID %q has %d arcs (want 2 to 128)", s, len(parts))
	}
	oid := make([]uint32, len(parts))
	for i, p := range parts {
		x, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q is not a 32-bit number", s, p)
		}
		oid[i] = uint32(x)
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, fmt.Errorf("OID %q: bad first arcs", s)
	}
	return oid, nil
}

func typeName(tag byte) string {
	switch tag {
	case tagInteger:
		return "INTEGER"
	case tagOctetString:
		return "STRING"
	case tagNull:
		return "NULL"
	case tagOID:
		return "OID"
	case tagIPAddress:
		return "IpAddress"
	case tagCounter32:
		return "Counter32"
	case tagGauge32:
		return "Gauge32"
	case tagTimeTicks:
		return "Timeticks"
	case tagOpaque:
		return "Opaque"
	case tagCounter64:
		return "Counter64"
	case tagUInteger32:
		return "UInteger32"
	}
	return fmt.Sprintf("tag 0x%02x", tag)
}

// text renders a static entry's value back (for Values and tests).
func (e entry) text() string {
	switch e.kind {
	case kindCounter32, kindCounter64:
		return strconv.FormatUint(e.num, 10)
	case kindUptime:
		return strconv.FormatUint(e.num, 10)
	}
	_, rest, _ := readTLVSkip(e.vb)
	tag, val, _, _ := readTLV(rest)
	switch tag {
	case tagInteger:
		x, _ := readInt(val)
		return strconv.FormatInt(x, 10)
	case tagCounter32, tagGauge32, tagTimeTicks, tagCounter64, tagUInteger32:
		var x uint64
		for _, c := range val {
			x = x<<8 | uint64(c)
		}
		return strconv.FormatUint(x, 10)
	case tagOID:
		arcs, _ := decodeOID(nil, val)
		return oidString(arcs)
	case tagIPAddress:
		if a, ok := netip.AddrFromSlice(val); ok {
			return a.String()
		}
	case tagNull:
		return ""
	case tagOpaque:
		switch {
		case len(val) == 7 && val[0] == 0x9f && val[1] == 0x78 && val[2] == 4:
			return fmt.Sprintf("Float: %f", math.Float32frombits(binary.BigEndian.Uint32(val[3:])))
		case len(val) == 11 && val[0] == 0x9f && val[1] == 0x79 && val[2] == 8:
			return fmt.Sprintf("Double: %f", math.Float64frombits(binary.BigEndian.Uint64(val[3:])))
		}
		return strings.ToUpper(hex.EncodeToString(val))
	}
	return string(val)
}

// readTLVSkip returns the varbind body (OID TLV and value TLV) after
// skipping the OID.
func readTLVSkip(vb []byte) (byte, []byte, error) {
	_, body, _, err := readTLV(vb)
	if err != nil {
		return 0, nil, err
	}
	_, _, rest, err := readTLV(body)
	return 0, rest, err
}

// makeEntry converts one parsed line. The value TLV is parked in e.vb
// until encode builds the varbind.
func makeEntry(v Value) (entry, error) {
	oid, err := parseOID(v.OID)
	if err != nil {
		return entry{}, err
	}
	e := entry{oid: oid}
	text := strings.TrimSpace(v.Text)
	unsigned := func(tag byte, max uint64) error {
		x, err := strconv.ParseUint(text, 10, 64)
		if err != nil || x > max {
			return fmt.Errorf("%s value %q is not an unsigned number up to %d", v.Type, text, max)
		}
		e.tag, e.num = tag, x
		e.vb = appendUint(nil, tag, x)
		return nil
	}
	switch v.Type {
	case "INTEGER":
		// Enumerations print as name(N) when MIBs are loaded.
		if i := strings.LastIndexByte(text, '('); i >= 0 && strings.HasSuffix(text, ")") {
			text = text[i+1 : len(text)-1]
		}
		if f := strings.Fields(text); len(f) > 0 {
			text = f[0] // "INTEGER: 5 kB" with display hints
		}
		x, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return e, fmt.Errorf("INTEGER value %q is not a 32-bit number", v.Text)
		}
		e.tag = tagInteger
		e.vb = appendInt(nil, tagInteger, x)
	case "STRING":
		s, err := unquote(text)
		if err != nil {
			return e, err
		}
		e.tag = tagOctetString
		e.vb = appendOctets(nil, tagOctetString, []byte(s))
	case "Hex-STRING", "BITS":
		var raw []byte
		for _, f := range strings.Fields(text) {
			if len(f) != 2 {
				if v.Type == "BITS" {
					break // the names after the bytes: "80 00 up(0)"
				}
				return e, fmt.Errorf("Hex-STRING byte %q is not two hex digits", f)
			}
			c, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				if v.Type == "BITS" {
					break
				}
				return e, fmt.Errorf("Hex-STRING byte %q is not two hex digits", f)
			}
			raw = append(raw, byte(c))
		}
		e.tag = tagOctetString
		e.vb = appendOctets(nil, tagOctetString, raw)
	case "OID":
		o, err := parseOID(text)
		if err != nil {
			if text == ".0.0" || text == "0.0" || text == ".0" {
				o = []uint32{0, 0}
			} else {
				return e, err
			}
		}
		e.tag = tagOID
		e.vb = appendOIDTLV(nil, o)
	case "IpAddress", "Network Address":
		a, err := netip.ParseAddr(text)
		if err != nil || !a.Is4() {
			return e, fmt.Errorf("IpAddress %q is not an IPv4 address", text)
		}
		b := a.As4()
		e.tag = tagIPAddress
		e.vb = appendOctets(nil, tagIPAddress, b[:])
	case "Counter32":
		return e, unsigned(tagCounter32, math.MaxUint32)
	case "Gauge32", "Unsigned32":
		return e, unsigned(tagGauge32, math.MaxUint32)
	case "UInteger32":
		return e, unsigned(tagUInteger32, math.MaxUint32)
	case "Counter64":
		return e, unsigned(tagCounter64, math.MaxUint64)
	case "Timeticks":
		// "(123) 0:00:01.23"
		if !strings.HasPrefix(text, "(") {
			return e, fmt.Errorf("value %q of type Timeticks does not start with (ticks)", text)
		}
		end := strings.IndexByte(text, ')')
		if end < 0 {
			return e, fmt.Errorf("value %q of type Timeticks has no closing parenthesis", text)
		}
		text = text[1:end]
		return e, unsigned(tagTimeTicks, math.MaxUint32)
	case "Opaque":
		body, err := opaqueBody(text)
		if err != nil {
			return e, err
		}
		e.tag = tagOpaque
		e.vb = appendOctets(nil, tagOpaque, body)
	case "NULL":
		e.tag = tagNull
		e.vb = []byte{tagNull, 0}
	default:
		return e, fmt.Errorf("unknown type %q", v.Type)
	}
	return e, nil
}

func appendOctets(b []byte, tag byte, v []byte) []byte {
	b = append(b, tag)
	b = appendLen(b, len(v))
	return append(b, v...)
}

// unquote reads net-snmp's quoted STRING, which escapes only " and \.
// An unquoted value is taken as is.
func unquote(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		return s, nil
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", fmt.Errorf("STRING %q has no closing quote", clip(s))
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// opaqueBody encodes net-snmp's "Float: 1.5", "Double: 1.5" or a hex dump
// as the Opaque contents (RFC draft opaque float/double wrapping).
func opaqueBody(text string) ([]byte, error) {
	typ, num, ok := strings.Cut(text, ": ")
	if !ok {
		typ, num = "Hex-STRING", text
	}
	switch typ {
	case "Float":
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 32)
		if err != nil {
			return nil, fmt.Errorf("value %q of type Opaque Float: %v", num, err)
		}
		return binary.BigEndian.AppendUint32([]byte{0x9f, 0x78, 4}, math.Float32bits(float32(f))), nil
	case "Double":
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			return nil, fmt.Errorf("value %q of type Opaque Double: %v", num, err)
		}
		return binary.BigEndian.AppendUint64([]byte{0x9f, 0x79, 8}, math.Float64bits(f)), nil
	case "Hex-STRING", "UInt64", "Int64":
		if typ != "Hex-STRING" {
			return nil, fmt.Errorf("type Opaque %s is not supported", typ)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(num), " ", ""))
		if err != nil {
			return nil, fmt.Errorf("hex %q of type Opaque: %v", clip(num), err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("value %q of type Opaque is not understood", clip(text))
}

// renumbered returns a copy of w where the interfaces of the ifTable and
// ifXTable (and the ifIndex column's values) carry new indexes: variant k
// gives the interface at position j the index of position (j+k) mod n,
// plus 100*k. Names and counters stay with their interface, so a poller
// that follows ifName keeps its series and one that follows ifIndex mixes
// them up.
func (w *Walk) renumbered(k int) *Walk {
	n := len(w.ifIndexes)
	if k == 0 || n == 0 {
		return w
	}
	mapIdx := make(map[uint32]uint32, n)
	for j, idx := range w.ifIndexes {
		mapIdx[idx] = w.ifIndexes[(j+k)%n] + uint32(100*k)
	}
	nw := &Walk{Name: w.Name, entries: make([]entry, len(w.entries))}
	copy(nw.entries, w.entries)
	for i := range nw.entries {
		e := &nw.entries[i]
		var col int
		switch {
		case len(e.oid) == len(oidIfEntry)+2 && hasPrefix(e.oid, oidIfEntry):
			col = int(e.oid[len(oidIfEntry)])
		case len(e.oid) == len(oidIfXEntry)+2 && hasPrefix(e.oid, oidIfXEntry):
			col = -1
		default:
			continue
		}
		newIdx, ok := mapIdx[e.oid[len(e.oid)-1]]
		if !ok {
			continue
		}
		e.oid = append(slices.Clone(e.oid[:len(e.oid)-1]), newIdx)
		e.oidTLV = appendOIDTLV(nil, e.oid)
		if e.kind != kindStatic {
			continue
		}
		_, val, _ := readTLVSkip(e.vb)
		if col == 1 { // ifIndex.i = i
			val = appendInt(nil, tagInteger, int64(newIdx))
		}
		vb := appendLen([]byte{tagSequence}, len(e.oidTLV)+len(val))
		vb = append(vb, e.oidTLV...)
		e.vb = append(vb, val...)
	}
	slices.SortFunc(nw.entries, func(a, b entry) int { return slices.Compare(a.oid, b.oid) })
	nw.indexOIDs()
	for _, idx := range w.ifIndexes {
		nw.ifIndexes = append(nw.ifIndexes, mapIdx[idx])
	}
	slices.Sort(nw.ifIndexes)
	return nw
}

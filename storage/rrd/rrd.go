package rrd

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// RRD is an in-memory round-robin database driven by rrdtool's own
// command arguments: several data sources sharing a step and a set of
// archives. It exists to prove the arithmetic against rrdtool, row for
// row, and to answer fetches exactly as rrdtool fetch does.
type RRD struct {
	step     int64
	lastSec  int64
	lastUsec int64
	names    []string
	ds       []*DS
	archives []*archive

	vals []Reading // scratch for one update

	// prevText is rrdtool's last_ds, the text of each data source's last
	// reading; texts holds the update being parsed.
	prevText, texts []string
}

// archive is one RRA definition with its consolidators (one per DS) and
// its ring of rows.
type archive struct {
	cf    metric.CF
	xff   float64
	steps int64
	rows  int64
	cons  []*RRA
	ring  []float64 // rows*len(ds), row of time t at (t/rowStep)%rows

	// Rows written by the current bulk part of an update, per DS.
	written []int64
	primary []float64
}

// Limits of the in-memory RRD, which exists for tests and tools: the
// total number of row cells held, the rows one fetch may return and the
// step slots one update may close (rrdtool has none of these limits; they
// keep absurd input from exhausting memory or time).
var (
	maxCells     int64 = 1 << 25
	maxFetchRows int64 = 1 << 22
	maxUpdateGap int64 = 1 << 24
)

// splitOpt splits an option word as rrdtool's option parser does: a long
// option may carry its value after "=", a short one in the rest of the
// word ("-s60").
func splitOpt(a string) (opt, val string, hasVal bool) {
	if strings.HasPrefix(a, "--") {
		return strings.Cut(a, "=")
	}
	if len(a) > 2 && a[0] == '-' && !isDigit(a[1]) {
		return a[:2], a[2:], true
	}
	return a, "", false
}

// DSDef is one data source of an RRD.
type DSDef struct {
	Name string
	metric.DS
}

// ArchiveDef is one archive of an RRD.
type ArchiveDef struct {
	CF    metric.CF
	XFF   float64
	Steps int // PDPs per row
	Rows  int
}

// Create builds an RRD from the arguments of `rrdtool create FILE ...`
// without the file name: --step/-s, --start/-b (seconds since the epoch),
// DS:name:TYPE:heartbeat:min:max and RRA:CF:xff:steps:rows. The step
// defaults to 300 s as in rrdtool; the start has no default here (rrdtool
// takes now-10s) and must be given.
func Create(args ...string) (*RRD, error) {
	step := int64(300)
	start := int64(-1)
	var dss []DSDef
	var arcs []ArchiveDef
	var dsArgs, rraArgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		opt, val, hasVal := splitOpt(a)
		switch opt {
		case "--step", "-s", "--start", "-b":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("create: option %s needs a value", a)
				}
				i++
				val = args[i]
			}
			if opt == "--step" || opt == "-s" {
				n, err := parseDuration(val, 1)
				if err != nil {
					return nil, fmt.Errorf("create: step: %w", err)
				}
				step = n
			} else {
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("create: start %q: want seconds since the epoch", val)
				}
				if n < 3600*24*365*10 {
					return nil, fmt.Errorf("create: start %d: the first entry should be after 1980", n)
				}
				start = n
			}
		case "--no-overwrite", "-O":
			if hasVal {
				return nil, fmt.Errorf("create: option %s takes no value", a)
			}
		default:
			switch {
			case strings.HasPrefix(a, "DS:"):
				dsArgs = append(dsArgs, a)
			case strings.HasPrefix(a, "RRA:"):
				rraArgs = append(rraArgs, a)
			default:
				return nil, fmt.Errorf("create: unexpected argument %q", a)
			}
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("create: --start is required")
	}
	for _, a := range dsArgs {
		d, err := parseDSDef(a)
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		for _, o := range dss {
			if o.Name == d.Name {
				return nil, fmt.Errorf("create: duplicate data source name %q", d.Name)
			}
		}
		dss = append(dss, d)
	}
	for _, a := range rraArgs {
		r, err := parseArchiveDef(a, step)
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		arcs = append(arcs, r)
	}
	return New(time.Duration(step)*time.Second, time.Unix(start, 0), dss, arcs)
}

// New builds an RRD from definitions.
func New(step time.Duration, start time.Time, dss []DSDef, arcs []ArchiveDef) (*RRD, error) {
	if len(dss) == 0 {
		return nil, fmt.Errorf("you must define at least one data source")
	}
	if len(arcs) == 0 {
		return nil, fmt.Errorf("you must define at least one round robin archive")
	}
	r := &RRD{
		step:     int64(step / time.Second),
		lastSec:  start.Unix(),
		lastUsec: int64(start.Nanosecond() / 1000),
		vals:     make([]Reading, len(dss)),
		prevText: make([]string, len(dss)),
		texts:    make([]string, len(dss)),
	}
	for i := range r.prevText {
		r.prevText[i] = "U"
	}
	for _, d := range dss {
		s, err := NewDS(d.DS, step, start)
		if err != nil {
			return nil, fmt.Errorf("data source %s: %w", d.Name, err)
		}
		r.names = append(r.names, d.Name)
		r.ds = append(r.ds, s)
	}
	cells := int64(0)
	for i, a := range arcs {
		cells += int64(a.Rows) * int64(len(dss))
		if cells > maxCells {
			return nil, fmt.Errorf("archive %d: more than %d rows in all, too many for memory", i+1, maxCells)
		}
		if a.Rows < 1 {
			return nil, fmt.Errorf("archive %d: rows %d: want at least 1", i+1, a.Rows)
		}
		ar := &archive{cf: a.CF, xff: a.XFF, steps: int64(a.Steps), rows: int64(a.Rows),
			written: make([]int64, len(dss)), primary: make([]float64, len(dss))}
		for range dss {
			c, err := NewRRA(a.CF, a.XFF, a.Steps, step)
			if err != nil {
				return nil, fmt.Errorf("archive %d: %w", i+1, err)
			}
			ar.cons = append(ar.cons, c)
		}
		ar.ring = make([]float64, int(ar.rows)*len(dss))
		for j := range ar.ring {
			ar.ring[j] = math.NaN()
		}
		r.archives = append(r.archives, ar)
	}
	return r, nil
}

func parseDSDef(a string) (DSDef, error) {
	f := strings.Split(a, ":")
	if len(f) != 6 {
		return DSDef{}, fmt.Errorf("data source %q: want DS:name:TYPE:heartbeat:min:max", a)
	}
	name := f[1]
	if name == "" || len(name) > 19 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return DSDef{}, fmt.Errorf("data source %q: invalid name %q (1-19 of A-Z a-z 0-9 _ -)", a, name)
	}
	typ, err := metric.ParseDSType(f[2])
	if err != nil || f[2] != typ.String() {
		return DSDef{}, fmt.Errorf("data source %q: unsupported type %q", a, f[2])
	}
	hb, err := parseDuration(f[3], 1)
	if err != nil {
		return DSDef{}, fmt.Errorf("data source %q: heartbeat: %w", a, err)
	}
	lim := func(s string) (float64, error) {
		if s == "U" {
			return math.NaN(), nil
		}
		return parseNumber(s)
	}
	mn, err := lim(f[4])
	if err != nil {
		return DSDef{}, fmt.Errorf("data source %q: min: %w", a, err)
	}
	mx, err := lim(f[5])
	if err != nil {
		return DSDef{}, fmt.Errorf("data source %q: max: %w", a, err)
	}
	if mn >= mx {
		return DSDef{}, fmt.Errorf("data source %q: min must be less than max", a)
	}
	return DSDef{Name: name, DS: metric.DS{Type: typ, Heartbeat: time.Duration(hb) * time.Second, Min: mn, Max: mx}}, nil
}

func parseArchiveDef(a string, step int64) (ArchiveDef, error) {
	f := strings.Split(a, ":")
	if len(f) != 5 {
		return ArchiveDef{}, fmt.Errorf("archive %q: want RRA:CF:xff:steps:rows", a)
	}
	cf, err := metric.ParseCF(f[1])
	if err != nil || f[1] != cf.String() {
		return ArchiveDef{}, fmt.Errorf("archive %q: unsupported consolidation function %q", a, f[1])
	}
	xff, err := parseNumber(f[2])
	if err != nil || !(xff >= 0 && xff < 1) {
		return ArchiveDef{}, fmt.Errorf("archive %q: invalid xff: must be between 0 and 1", a)
	}
	steps, err := parseDuration(f[3], step)
	if err != nil {
		return ArchiveDef{}, fmt.Errorf("archive %q: steps: %w", a, err)
	}
	rows, err := parseDuration(f[4], step*steps)
	if err != nil {
		return ArchiveDef{}, fmt.Errorf("archive %q: rows: %w", a, err)
	}
	if rows > maxCells || steps > 1<<30 {
		return ArchiveDef{}, fmt.Errorf("archive %q: too large for memory", a)
	}
	return ArchiveDef{CF: cf, XFF: xff, Steps: int(steps), Rows: int(rows)}, nil
}

// Names returns the data source names in definition order.
func (r *RRD) Names() []string { return append([]string(nil), r.names...) }

// LastUpdate returns the time of the last update (or the start).
func (r *RRD) LastUpdate() time.Time { return time.Unix(r.lastSec, r.lastUsec*1000) }

// Update applies the arguments of `rrdtool update FILE ...`: each is
// time:value[:value...] with one value per data source, U for unknown.
// Like rrdtool, arguments are applied in order and the first bad one
// stops the update with an error; the ones before it stay applied.
// Options: --template/-t a:b:... names the data sources the values are
// for (the others are unknown); --skip-past-updates/-s skips updates
// that are not after the last one instead of stopping.
func (r *RRD) Update(args ...string) error {
	var tmpl []int
	skip := false
	values := args
	hasOpts := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") })
	if hasOpts {
		values = nil
	}
	for i := 0; hasOpts && i < len(args); i++ {
		a := args[i]
		opt, val, hasVal := splitOpt(a)
		switch opt {
		case "--template", "-t":
			if !hasVal {
				if i+1 >= len(args) {
					return fmt.Errorf("update: option %s needs a value", a)
				}
				i++
				val = args[i]
			}
			t, err := r.template(val)
			if err != nil {
				return fmt.Errorf("update: %w", err)
			}
			tmpl = t
		case "--skip-past-updates", "-s":
			if hasVal {
				return fmt.Errorf("update: option %s takes no value", a)
			}
			skip = true
		default:
			if strings.HasPrefix(a, "-") {
				return fmt.Errorf("update: unsupported option %q", a)
			}
			values = append(values, a)
		}
	}
	if len(values) == 0 {
		return fmt.Errorf("update: not enough arguments")
	}
	for _, a := range values {
		if err := r.update(a, tmpl); err != nil {
			if skip && errors.Is(err, ErrNotAfter) {
				continue
			}
			return err
		}
	}
	return nil
}

// template maps the data source names of an update template to indexes.
func (r *RRD) template(s string) ([]int, error) {
	var idx []int
	for name := range strings.SplitSeq(s, ":") {
		if len(idx) >= len(r.ds) {
			return nil, fmt.Errorf("template %q names more data sources than the RRD has", s)
		}
		j := slices.Index(r.names, name)
		if j < 0 {
			return nil, fmt.Errorf("template %q: unknown data source %q", s, name)
		}
		idx = append(idx, j)
	}
	return idx, nil
}

func (r *RRD) update(a string, tmpl []int) error {
	ts, rest, ok := strings.Cut(a, ":")
	if !ok {
		return fmt.Errorf("update %q: expected timestamp not found", a)
	}
	sec, usec, err := parseTime(ts)
	if err != nil {
		return fmt.Errorf("update %q: %w", a, err)
	}
	want := len(r.ds)
	if tmpl != nil {
		want = len(tmpl)
	}
	if n := strings.Count(rest, ":") + 1; n != want {
		return fmt.Errorf("update %q: expected %d data source readings (got %d)", a, want, n)
	}
	if sec < r.lastSec || (sec == r.lastSec && usec <= r.lastUsec) {
		return fmt.Errorf("update %q: time %d, last update %d (minimum one second step): %w", a, sec, r.lastSec, ErrNotAfter)
	}
	if (sec-r.lastSec)/r.step > maxUpdateGap {
		return fmt.Errorf("update %q: more than %d steps after the last update", a, maxUpdateGap)
	}
	interval := float64(sec-r.lastSec) + float64(usec-r.lastUsec)/1e6
	texts := r.texts
	if tmpl == nil {
		for i := range texts {
			texts[i], rest, _ = strings.Cut(rest, ":")
		}
	} else {
		for i := range texts {
			texts[i] = "U"
		}
		for _, j := range tmpl {
			texts[j], rest, _ = strings.Cut(rest, ":")
		}
	}
	for i, d := range r.ds {
		v := texts[i]
		rd, err := r.reading(d, v, r.prevText[i], interval)
		if err != nil {
			// rrdtool has already taken the readings of the data
			// sources before this one as the base of their next
			// difference; the time and everything else stay.
			for j := range i {
				r.ds[j].last, r.ds[j].lastOK = r.vals[j], r.vals[j].known()
				r.prevText[j] = r.texts[j]
			}
			return fmt.Errorf("update %q: data source %s: %w", a, r.names[i], err)
		}
		r.vals[i] = rd
	}
	copy(r.prevText, r.texts)
	t := time.Unix(sec, usec*1000)
	for i, d := range r.ds {
		r.updateDS(i, d, t, r.vals[i])
	}
	r.lastSec, r.lastUsec = sec, usec
	return nil
}

// updateDS feeds one data source and writes the rows its PDPs complete.
func (r *RRD) updateDS(i int, d *DS, t time.Time, rd Reading) {
	for _, ar := range r.archives {
		ar.written[i] = 0
	}
	n := 0
	err := d.Update(t, rd, func(end time.Time, v float64) {
		bulk := !(n == 0 && d.splitFirst)
		n++
		for _, ar := range r.archives {
			// A consolidator fed in order cannot fail here.
			_ = ar.cons[i].Add(end, v, func(rowEnd time.Time, rv float64) {
				ar.put(i, len(r.ds), rowEnd.Unix()/(r.step*ar.steps), rv)
				if bulk {
					if ar.written[i] == 0 {
						ar.primary[i] = rv
					}
					ar.written[i]++
				}
			})
		}
	})
	if err != nil {
		return // cannot happen: the time was checked for all data sources
	}
	// rrdtool writes at most one ring's worth of rows per bulk part of an
	// update: the first (primary) value, then fill values. When the bulk
	// wrapped the ring, the oldest row in it is therefore the primary one.
	for _, ar := range r.archives {
		if ar.written[i] > ar.rows {
			newest := t.Unix() / (r.step * ar.steps)
			ar.put(i, len(r.ds), newest-ar.rows+1, ar.primary[i])
		}
	}
}

func (ar *archive) put(ds, nds int, slot int64, v float64) {
	ar.ring[int(mod(slot, ar.rows))*nds+ds] = v
}

// reading turns the text v of one update value into a reading as rrdtool
// does, given the text of the previous reading and the interval. rrdtool
// reads a value only when the interval is within the heartbeat, and a
// DCOUNTER or DDERIVE value only when the previous text is not unknown;
// text it does not read is taken as it is and becomes the base of the
// next difference (where the floating-point types then fail on it).
func (r *RRD) reading(d *DS, v, prev string, interval float64) (Reading, error) {
	if strings.HasPrefix(v, "U") {
		return Unknown(), nil
	}
	floating := d.typ == metric.DCounter || d.typ == metric.DDerive
	if float64(d.hb) < interval || (floating && strings.HasPrefix(prev, "U")) {
		return unreadReading(v, d.typ), nil
	}
	rd, err := parseReading(v, d.typ)
	if err != nil {
		return Reading{}, err
	}
	if floating {
		if _, err := parseNumber(prev); err != nil {
			return Reading{}, fmt.Errorf("previous reading: %w", err)
		}
	}
	return rd, nil
}

// unreadReading is what text that rrdtool stored without reading it
// means to the next difference: COUNTER and DERIVE take its first run of
// digits (and any minus sign before it), as rrdtool's decimal subtraction
// does; the floating-point types its number, if it is one.
func unreadReading(v string, typ metric.DSType) Reading {
	switch typ {
	case metric.Counter, metric.Derive:
		i, neg := 0, false
		for i < len(v) && !isDigit(v[i]) {
			if v[i] == '-' {
				neg = true
			}
			i++
		}
		j := i
		for j < len(v) && isDigit(v[j]) {
			j++
		}
		if i == j {
			return Unknown()
		}
		return intReading(v[i:j], neg)
	case metric.DCounter, metric.DDerive:
		if f, err := parseNumber(v); err == nil {
			return Float(f)
		}
	}
	return Unknown()
}

// intReading is the reading of a run of decimal digits with a sign.
func intReading(digits string, neg bool) Reading {
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		f, _ := parseNumber(digits)
		if neg {
			f = -f
		}
		return Float(f)
	}
	rd := Int(n)
	if neg {
		rd.Value = math.Copysign(rd.Value, -1)
	}
	return rd
}

// parseReading parses one update value for a data source type as rrdtool
// does: U is unknown; COUNTER and DERIVE take integers only.
func parseReading(s string, typ metric.DSType) (Reading, error) {
	if strings.HasPrefix(s, "U") {
		return Unknown(), nil
	}
	switch typ {
	case metric.Counter, metric.Derive:
		digits := s
		neg := false
		if typ == metric.Derive && strings.HasPrefix(s, "-") {
			digits, neg = s[1:], true
		}
		for j := 0; j < len(digits); j++ {
			if !isDigit(digits[j]) {
				kind := "unsigned"
				if typ == metric.Derive {
					kind = "signed"
				}
				return Reading{}, fmt.Errorf("not a simple %s integer: %q", kind, s)
			}
		}
		if digits == "" {
			// rrdtool accepts it and cannot difference it.
			return Unknown(), nil
		}
		return intReading(digits, neg), nil
	default:
		v, err := parseNumber(s)
		if err != nil {
			return Reading{}, err
		}
		return Float(v), nil
	}
}

// Fetched is the answer of a fetch: rows of Step from Start+Step to End
// inclusive, each stamped with the end of the interval it covers; Values
// holds one slice per row with one value per data source, NaN unknown.
type Fetched struct {
	Start, End time.Time
	Step       time.Duration
	Names      []string
	Values     [][]float64
}

// Time returns the time stamp of row i.
func (f *Fetched) Time(i int) time.Time { return f.Start.Add(time.Duration(i+1) * f.Step) }

// Fetch answers the arguments of `rrdtool fetch FILE ...` without the file
// name: CF, --start/-s and --end/-e (seconds since the epoch, both
// required), --resolution/-r and --align-start/-a. The archive is chosen as
// rrdtool does: among those of the CF (or any of AVERAGE, MIN, MAX, LAST
// with one PDP per row) that reach back to the start, the one whose row
// step is closest to the resolution; if none reaches back, the one
// covering most of the range.
func (r *RRD) Fetch(args ...string) (*Fetched, error) {
	var cfName, startStr, endStr string
	res := int64(1)
	align := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		opt, val, hasVal := splitOpt(a)
		switch opt {
		case "--start", "-s", "--end", "-e", "--resolution", "-r":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("fetch: option %s needs a value", a)
				}
				i++
				val = args[i]
			}
			if opt == "--resolution" || opt == "-r" {
				n, err := parseDuration(val, 1)
				if err != nil {
					return nil, fmt.Errorf("fetch: resolution: %w", err)
				}
				res = n
				continue
			}
			if opt == "--start" || opt == "-s" {
				startStr = val
			} else {
				endStr = val
			}
		case "--align-start", "-a":
			if hasVal {
				return nil, fmt.Errorf("fetch: option %s takes no value", a)
			}
			align = true
		default:
			if strings.HasPrefix(a, "-") || cfName != "" {
				return nil, fmt.Errorf("fetch: unexpected argument %q", a)
			}
			cfName = a
		}
	}
	if cfName == "" {
		return nil, fmt.Errorf("fetch: consolidation function missing")
	}
	cf, err := metric.ParseCF(cfName)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if startStr == "" || endStr == "" {
		return nil, fmt.Errorf("fetch: --start and --end are required")
	}
	start, end, err := fetchTimes(startStr, endStr)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if start < 3600*24*365*10 {
		return nil, fmt.Errorf("fetch: the first entry to fetch should be after 1980")
	}
	if align {
		delta := start % res
		start -= delta
		end -= delta
	}
	if end < start {
		return nil, fmt.Errorf("fetch: start (%d) should be less than end (%d)", start, end)
	}
	if end-start > 1<<40 {
		return nil, fmt.Errorf("fetch: range too large")
	}
	return r.fetch(cf, start, end, res)
}

// fetchTimes resolves fetch's start and end: seconds since the epoch, or
// one of them relative to the other as rrdtool's at-style end-1h and
// start+30min (offsets in s, min, h, d or w; a plain number is seconds).
func fetchTimes(startStr, endStr string) (start, end int64, err error) {
	startRel, startOff, err := relTime(startStr, "end-", "e-", -1)
	if err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	endRel, endOff, err := relTime(endStr, "start+", "s+", 1)
	if err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	switch {
	case startRel && endRel:
		return 0, 0, fmt.Errorf("start %q and end %q are relative to each other", startStr, endStr)
	case startRel:
		return endOff + startOff, endOff, nil
	case endRel:
		return startOff, startOff + endOff, nil
	}
	return startOff, endOff, nil
}

// relTime parses an absolute time (rel false, v the time) or an offset
// with one of the prefixes (rel true, v the signed offset in seconds).
func relTime(s, long, short string, sign int64) (rel bool, v int64, err error) {
	off, ok := strings.CutPrefix(s, long)
	if !ok {
		off, ok = strings.CutPrefix(s, short)
	}
	if !ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 1<<40 {
			return false, 0, fmt.Errorf("time %q: want seconds since the epoch, %sOFFSET or the like", s, long)
		}
		return false, n, nil
	}
	i := 0
	for i < len(off) && isDigit(off[i]) {
		i++
	}
	n, err := strconv.ParseInt(off[:i], 10, 64)
	if err != nil || n > 1<<32 {
		return false, 0, fmt.Errorf("offset %q: want a number of s, min, h, d or w", s)
	}
	unit := int64(0)
	switch off[i:] {
	case "", "s", "sec", "seconds":
		unit = 1
	case "min", "minutes":
		unit = 60
	case "h", "hours":
		unit = 3600
	case "d", "days":
		unit = 86400
	case "w", "weeks":
		unit = 7 * 86400
	default:
		return false, 0, fmt.Errorf("offset %q: unit %q not supported (s, min, h, d, w)", s, off[i:])
	}
	return true, sign * n * unit, nil
}

func (r *RRD) fetch(cf metric.CF, start, end, step int64) (*Fetched, error) {
	defs := make([]ArchiveDef, len(r.archives))
	for i, ar := range r.archives {
		defs[i] = ArchiveDef{CF: ar.cf, XFF: ar.xff, Steps: int(ar.steps), Rows: int(ar.rows)}
	}
	chosen := pick(r.step, defs, r.lastSec, cf, start, end, step)
	if chosen < 0 {
		return nil, fmt.Errorf("fetch: the RRD does not contain an RRA matching the chosen CF")
	}
	ar := r.archives[chosen]
	rowStep := r.step * ar.steps
	start -= start % rowStep
	end += rowStep - end%rowStep
	n := (end - start) / rowStep
	if n*int64(len(r.ds)) > maxFetchRows {
		return nil, fmt.Errorf("fetch: %d rows are too many", n)
	}
	rraEnd := r.lastSec - mod(r.lastSec, rowStep)
	rraStart := rraEnd - rowStep*(ar.rows-1)
	nds := len(r.ds)
	f := &Fetched{Start: time.Unix(start, 0), End: time.Unix(end, 0), Step: time.Duration(rowStep) * time.Second,
		Names: r.Names(), Values: make([][]float64, n)}
	flat := make([]float64, int(n)*nds)
	for i := range f.Values {
		row := flat[i*nds : (i+1)*nds : (i+1)*nds]
		t := start + int64(i+1)*rowStep
		if t < rraStart || t > rraEnd {
			for j := range row {
				row[j] = math.NaN()
			}
		} else {
			p := int(mod(t/rowStep, ar.rows)) * nds
			copy(row, ar.ring[p:p+nds])
		}
		f.Values[i] = row
	}
	return f, nil
}

// Pick returns the index of the archive rrdtool fetch reads for cf over
// [start, end] at about resolution res, given the PDP step and the time of
// the last update; -1 when no archive can answer cf. Among the archives of
// cf, and those of any CF with one PDP per row, it prefers the ones that
// still hold start, and of those the one whose row step is closest to res
// (the first on a tie); if none holds start, the one covering most of the
// range.
func Pick(step time.Duration, archives []ArchiveDef, last time.Time, cf metric.CF, start, end time.Time, res time.Duration) int {
	s := int64(step / time.Second)
	if s < 1 {
		return -1
	}
	return pick(s, archives, last.Unix(), cf, start.Unix(), end.Unix(), int64(res/time.Second))
}

func pick(step int64, archives []ArchiveDef, last int64, cf metric.CF, start, end, res int64) int {
	bestFull, bestPart := -1, -1
	var fullDiff, partDiff, partMatch int64
	for i, ar := range archives {
		if ar.CF != cf && ar.Steps != 1 {
			continue
		}
		rowStep := step * int64(ar.Steps)
		calEnd := last - mod(last, rowStep)
		calStart := calEnd - rowStep*int64(ar.Rows)
		diff := res - rowStep
		if diff < 0 {
			diff = -diff
		}
		if calStart <= start {
			if bestFull < 0 || diff < fullDiff {
				bestFull, fullDiff = i, diff
			}
			continue
		}
		match := (end - start) - (calStart - start)
		if bestPart < 0 || partMatch < match || (partMatch == match && diff < partDiff) {
			bestPart, partMatch, partDiff = i, match, diff
		}
	}
	if bestFull >= 0 {
		return bestFull
	}
	return bestPart
}

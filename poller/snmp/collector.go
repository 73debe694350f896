package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// SysUpTimeOID is sysUpTime.0, the agent's uptime in hundredths of a second.
const SysUpTimeOID = ".1.3.6.1.2.1.1.3.0"

// Collector polls one device. It implements poller.Collector and io.Closer.
type Collector struct {
	cfg    Config // Scalars and Tables are left to the plan after New
	host   string
	port   uint16
	common metric.Labels // cfg.Labels with device=Device: added to every sample

	plan   *plan        // shared by every device with the same objects
	tables []tableState // per table of plan.tables

	mu         sync.Mutex // one poll at a time: the client is not shareable
	g          *gosnmp.GoSNMP
	lastUptime uint32
	lastAt     time.Time
	reboots    uint64
}

// plan is what a device's objects compile to: the requests and how each
// answer becomes a sample, without anything of the device itself. Devices
// of one template share one plan (see compile), so that tens of thousands
// of devices hold one copy of the OIDs, names and labels; a sample's
// labels are put together when it is read.
type plan struct {
	scalars []compiled     // GET, in request order
	oids    []string       // scalars' OIDs, in request order
	byOID   map[string]int // scalar OID -> index in scalars
	tables  []compiledTable
}

type compiled struct {
	obj    Object
	uptime bool // the reboot check's sysUpTime.0, not a sample
}

type compiledTable struct {
	t       Table
	labelBy []labelCol
	columns []compiled
	roots   []string // label columns, then metric columns
}

// tableState is what a device remembers of a table between polls.
type tableState struct {
	rows int  // rows seen in the last poll: sizes the next GETBULKs
	seen bool // rows is the count of a whole walk (0: the table was empty)

	// Label columns cached under Table.ReindexEvery.
	labels    map[string]map[string]string // index -> label -> value
	labelIdx  map[string]bool              // metric rows present when labels were read
	labeledAt time.Time
}

type labelCol struct{ name, oid string }

// New validates cfg, fills in defaults, and returns a collector. It does
// not contact the device.
func New(cfg Config) (*Collector, error) {
	key := planKey(&cfg)
	p := cachedPlan(key)
	var host string
	var port uint16
	var err error
	if p != nil {
		// The same objects compiled before: only the device's own
		// settings need checking.
		host, port, err = cfg.validateDevice()
	} else {
		host, port, err = cfg.validate()
	}
	if err != nil {
		return nil, err
	}
	if p == nil {
		if p, err = compile(&cfg); err != nil {
			return nil, err
		}
		p = storePlan(key, p)
	}
	cfg.Scalars, cfg.Tables = nil, nil
	c := &Collector{cfg: cfg, host: host, port: port, plan: p, tables: make([]tableState, len(p.tables)),
		common: cfg.Labels.Merge(metric.New(metric.DeviceLabel, cfg.Device))}
	return c, nil
}

// compile turns validated objects into a plan.
func compile(cfg *Config) (*plan, error) {
	p := &plan{byOID: map[string]int{}}
	for _, o := range cfg.Scalars {
		if _, dup := p.byOID[o.OID]; dup {
			return nil, fmt.Errorf("snmp device %q: scalar OID %s: %w: listed twice", cfg.Device, o.OID, ErrConfig)
		}
		p.byOID[o.OID] = len(p.scalars)
		p.scalars = append(p.scalars, compiled{obj: o})
	}
	if cfg.UptimeCheck {
		if _, ok := p.byOID[SysUpTimeOID]; !ok {
			p.byOID[SysUpTimeOID] = len(p.scalars)
			p.scalars = append(p.scalars, compiled{obj: Object{OID: SysUpTimeOID}, uptime: true})
		}
	}
	for _, s := range p.scalars {
		p.oids = append(p.oids, s.obj.OID)
	}
	for _, t := range cfg.Tables {
		ct := compiledTable{t: t}
		for name, oid := range t.LabelColumns {
			ct.labelBy = append(ct.labelBy, labelCol{name, oid})
		}
		slices.SortFunc(ct.labelBy, func(a, b labelCol) int { return strings.Compare(a.name, b.name) })
		for _, lc := range ct.labelBy {
			ct.roots = append(ct.roots, lc.oid)
		}
		for _, o := range t.Columns {
			ct.columns = append(ct.columns, compiled{obj: o})
			ct.roots = append(ct.roots, o.OID)
		}
		p.tables = append(p.tables, ct)
	}
	return p, nil
}

// Plans of the devices now configured, by planKey. An entry goes when the
// last collector using it is collected, so a reload that changes a
// template leaves nothing behind.
var (
	plansMu sync.Mutex
	plans   = map[string]weak.Pointer[plan]{}
)

func cachedPlan(key string) *plan {
	plansMu.Lock()
	defer plansMu.Unlock()
	return plans[key].Value()
}

// storePlan keeps p under key, or returns the plan another New stored
// there meanwhile.
func storePlan(key string, p *plan) *plan {
	plansMu.Lock()
	defer plansMu.Unlock()
	if q := plans[key].Value(); q != nil {
		return q
	}
	wp := weak.Make(p)
	plans[key] = wp
	runtime.AddCleanup(p, func(key string) {
		plansMu.Lock()
		defer plansMu.Unlock()
		if plans[key] == wp {
			delete(plans, key)
		}
	}, key)
	return p
}

// planKey renders everything of cfg that compile reads, so that equal
// keys give equal plans.
func planKey(cfg *Config) string {
	var b strings.Builder
	obj := func(o Object) {
		fmt.Fprintf(&b, "%s %s %d %d %v %v", o.OID, o.Metric, o.DS.Type, o.DS.Heartbeat, o.DS.Min, o.DS.Max)
		for _, l := range o.Labels {
			b.WriteString(" " + strconv.Quote(l.Name) + "=" + strconv.Quote(l.Value))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "uptime %v\n", cfg.UptimeCheck)
	for _, o := range cfg.Scalars {
		obj(o)
	}
	for _, t := range cfg.Tables {
		fmt.Fprintf(&b, "table %q %q %q %d\n", t.Name, t.IndexLabel, t.Identity, t.ReindexEvery)
		names := make([]string, 0, len(t.LabelColumns))
		for n := range t.LabelColumns {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&b, "label %q %q\n", n, t.LabelColumns[n])
		}
		for _, o := range t.Columns {
			obj(o)
		}
	}
	return b.String()
}

// sampleLabels puts a sample's labels together: the row's, the object's,
// the device's, then the metric name; a later set wins on a clash and an
// empty value removes the label.
func sampleLabels(row, obj, common metric.Labels, name string) metric.Labels {
	out := make(metric.Labels, 0, len(row)+len(obj)+len(common)+1)
	out = append(append(append(out, row...), obj...), common...)
	out = append(out, metric.Label{Name: metric.NameLabel, Value: name})
	slices.SortStableFunc(out, func(a, b metric.Label) int { return strings.Compare(a.Name, b.Name) })
	w := 0
	for i := range out {
		if w > 0 && out[w-1].Name == out[i].Name {
			out[w-1] = out[i]
			continue
		}
		out[w] = out[i]
		w++
	}
	out = out[:w]
	return slices.DeleteFunc(out, func(l metric.Label) bool { return l.Value == "" })
}

// Device returns the device name.
func (c *Collector) Device() string { return c.cfg.Device }

// Close releases the client's socket. The collector may be polled again.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.closeConn()
	c.g = nil
	return err
}

func (c *Collector) closeConn() error {
	if c.g == nil || c.g.Conn == nil {
		return nil
	}
	err := c.g.Conn.Close()
	c.g.Conn = nil
	openSockets.Add(-1)
	return err
}

// DefaultMaxOpenSockets is how many collectors may keep their socket open
// between polls. Each such collector also keeps gosnmp's 64 KiB receive
// buffer (16 MiB for 256); past the bound a poll borrows an idle client
// with its buffer and socket, pointed at its own device for the poll.
const DefaultMaxOpenSockets = 256

var (
	openSockets    atomic.Int64
	maxOpenSockets atomic.Int64
)

func init() { maxOpenSockets.Store(DefaultMaxOpenSockets) }

// SetMaxOpenSockets sets how many collectors (of all devices together) may
// keep their socket open between polls; past it, v1/v2c collectors give
// theirs back after each poll (at most 64 idle ones stay open, the rest
// are closed). It returns the previous bound.
func SetMaxOpenSockets(n int) int { return int(maxOpenSockets.Swap(int64(max(n, 0)))) }

// OpenSockets returns how many collectors hold a socket now (idle clients'
// sockets are not counted).
func OpenSockets() int { return int(openSockets.Load()) }

// Poll reads every scalar and walks every table. It returns what answered,
// and an error describing what did not; one failed request does not stop
// the others while ctx lasts.
func (c *Collector) Poll(ctx context.Context, at time.Time) (out []metric.Sample, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("snmp poll of %s: internal error on agent input: %v", c.cfg.Device, r)
		}
	}()
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	if c.cfg.Version != "3" && openSockets.Load() > maxOpenSockets.Load() {
		// Past the bound, v1/v2c collectors free their socket after each
		// poll (they keep no state in it), so that tens of thousands of
		// devices do not hold as many descriptors, and hand the client
		// with its 64 KiB receive buffer to the next poll of any device.
		// v3 keeps its socket along with the discovered engine.
		defer c.release()
	}
	p := &poll{c: c, ctx: ctx, at: at, errs: pollErrors{device: c.cfg.Device}}
	p.out = make([]metric.Sample, 0, c.expect())
	uptime, haveUptime := p.scalars()
	if haveUptime {
		p.reboot = !c.lastAt.IsZero() && rebooted(c.lastUptime, uptime, at.Sub(c.lastAt))
		c.lastUptime, c.lastAt = uptime, at
	}
	for i := 0; i < len(c.plan.tables); {
		n := c.tableGroup(i)
		if err := p.expired(); err != nil {
			for j := i; j < i+n; j++ {
				p.errs.add(fmt.Errorf("snmp walk of table %s on %s not started: %w", c.plan.tables[j].t.Name, c.cfg.Device, err))
			}
		} else if n == 1 {
			p.table(&c.plan.tables[i], &c.tables[i])
		} else {
			p.tables(i, n)
		}
		i += n
	}
	if p.reboot {
		c.reboots++
		unknownCounters(p.out)
	}
	return p.out, p.errs.err()
}

// expect is how many samples the last poll suggests this one returns.
func (c *Collector) expect() int {
	n := len(c.plan.scalars)
	for i := range c.plan.tables {
		n += c.tables[i].rows * len(c.plan.tables[i].columns)
	}
	return n
}

// Idle v1/v2c clients, each with the 64 KiB receive buffer gosnmp gives a
// client when it first connects, and with its UDP socket. Collectors past
// the open-socket bound take one for a poll and put it back, so a poll
// costs neither a buffer nor a socket (on systems where redirect works).
// A client serves one poll at a time; the channel hands it over.
var idleClients = make(chan *gosnmp.GoSNMP, maxIdleClients)

// maxIdleClients bounds the idle clients kept (4 MiB of buffers and 64
// sockets at most beyond those of the polls running).
const maxIdleClients = 64

// connect makes c.g ready for a poll under ctx.
func (c *Collector) connect(ctx context.Context) error {
	if c.g == nil && c.cfg.Version != "3" {
		select {
		case g := <-idleClients:
			c.cfg.reuse(g, c.host, c.port)
			c.g = g
			if g.Conn != nil {
				if conn, err := redirect(g.Conn, c.host, c.port); err != nil {
					_ = g.Conn.Close() // dialed anew below
					g.Conn = nil
				} else {
					g.Conn = conn
					openSockets.Add(1)
				}
			}
		default:
		}
	}
	fresh := c.g == nil
	if fresh {
		c.g = c.cfg.client(c.host, c.port)
	}
	c.g.Context = ctx
	if c.g.Conn != nil {
		return nil
	}
	var err error
	if fresh {
		err = c.g.Connect()
	} else {
		// A client that was connected before keeps its buffer; only the
		// socket is new. Conn is gosnmp's to be set by its user.
		d := net.Dialer{Timeout: c.cfg.Timeout}
		c.g.Conn, err = d.DialContext(ctx, "udp", net.JoinHostPort(c.host, strconv.Itoa(int(c.port))))
		if err != nil {
			c.g.Conn = nil
		}
	}
	if err != nil {
		c.g = nil
		return fmt.Errorf("snmp connect to %s (%s): %w", c.cfg.Device, c.cfg.Address, err)
	}
	openSockets.Add(1)
	return nil
}

// release leaves the client, with its socket, to the next poll of any
// device past the bound (see redirect); it closes the socket when enough
// clients are idle already.
func (c *Collector) release() {
	g := c.g
	c.g = nil
	if g == nil {
		return
	}
	g.Context = nil
	if g.Conn != nil {
		openSockets.Add(-1) // no collector's now
	}
	select {
	case idleClients <- g: // another poll may have it from here on
	default:
		if g.Conn != nil {
			_ = g.Conn.Close()
			g.Conn = nil
		}
	}
}

// Reboots returns how many reboots the uptime check has seen.
func (c *Collector) Reboots() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reboots
}

// rebooted reports whether sysUpTime going from prev to cur over elapsed
// wall time means the agent restarted. TimeTicks is 32 bits and wraps after
// about 497 days: a decrease that a wrap explains is not a reboot.
func rebooted(prev, cur uint32, elapsed time.Duration) bool {
	if cur >= prev {
		return false
	}
	ticks := uint64(elapsed / (10 * time.Millisecond))
	slack := ticks/2 + 6000 // clock drift, slow agents: half the gap plus a minute
	// Without a reboot, cur = (prev + ticks) mod 2^32, give or take slack.
	expect := (uint64(prev) + ticks) % (1 << 32)
	wrapped := uint64(prev)+ticks+slack >= 1<<32
	diff := int64(uint64(cur)) - int64(expect)
	if diff < 0 {
		diff = -diff
	}
	return !(wrapped && uint64(diff) <= slack)
}

// unknownCounters blanks the counter readings of a poll that straddles a
// reboot: their difference to the previous poll is meaningless, and an
// unknown reading keeps storage from turning it into a spike.
func unknownCounters(s []metric.Sample) {
	for i := range s {
		if s[i].Exact || s[i].DS.Type.IsCounting() {
			s[i].Value, s[i].Count, s[i].Exact = metric.Unknown, 0, false
		}
	}
}

// poll is the state of one Poll call.
type poll struct {
	c      *Collector
	ctx    context.Context
	at     time.Time
	reboot bool // sysUpTime went backwards since the last poll
	out    []metric.Sample
	errs   pollErrors
}

func (p *poll) sample(labels metric.Labels, ds metric.DS, r reading) {
	p.out = append(p.out, metric.Sample{Labels: labels, DS: ds, Value: r.value, Count: r.count, Exact: r.exact})
}

// expired reports the end of the poll's time. It also looks at the
// deadline itself: the context's timer may fire a moment after a socket
// deadline taken from it.
func (p *poll) expired() error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if dl, ok := p.ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// scalars GETs every scalar in requests of at most MaxOIDs.
func (p *poll) scalars() (uptime uint32, haveUptime bool) {
	c := p.c
	oids := c.plan.oids
	for start := 0; start < len(oids); start += c.cfg.MaxOIDs {
		chunk := oids[start:min(start+c.cfg.MaxOIDs, len(oids))]
		if err := p.expired(); err != nil {
			p.errs.add(fmt.Errorf("snmp get %s on %s not sent: %w", span(chunk), c.cfg.Device, err))
			continue
		}
		p.get(chunk, func(pdu gosnmp.SnmpPDU) {
			i, ok := c.plan.byOID[pdu.Name]
			if !ok {
				p.errs.add(fmt.Errorf("snmp get on %s: agent answered OID %s, which was not asked for", c.cfg.Device, pdu.Name))
				return
			}
			s := &c.plan.scalars[i]
			r, err := convert(pdu.Type, pdu.Value)
			if err != nil {
				p.errs.add(fmt.Errorf("snmp get %s on %s: %w", pdu.Name, c.cfg.Device, err))
				return
			}
			if s.uptime || pdu.Name == SysUpTimeOID && pdu.Type == gosnmp.TimeTicks {
				uptime, haveUptime = uint32(r.value), true
				if s.uptime {
					return
				}
			}
			p.sample(sampleLabels(nil, s.obj.Labels, c.common, s.obj.Metric), s.obj.DS, r)
		})
	}
	return uptime, haveUptime
}

// get sends one GET for oids and hands each answered varbind to fn. On
// tooBig it splits the request; on a v1 noSuchName it drops the named OID
// and asks again for the rest.
func (p *poll) get(oids []string, fn func(gosnmp.SnmpPDU)) {
	dev := p.c.cfg.Device
	for len(oids) > 0 {
		resp, err := p.c.g.Get(oids)
		if err != nil {
			p.errs.add(fmt.Errorf("snmp get %s on %s: %w", span(oids), dev, err))
			return
		}
		switch resp.Error {
		case gosnmp.NoError:
			for _, v := range resp.Variables {
				fn(v)
			}
			// Agents answer in the order asked; look further only when not.
			inOrder := len(resp.Variables) == len(oids)
			for i := 0; inOrder && i < len(oids); i++ {
				inOrder = resp.Variables[i].Name == oids[i]
			}
			if !inOrder {
				got := make(map[string]bool, len(resp.Variables))
				for _, v := range resp.Variables {
					got[v.Name] = true
				}
				for _, o := range oids {
					if !got[o] {
						p.errs.add(fmt.Errorf("snmp get %s on %s: %w: missing from the response", o, dev, ErrNoSuchObject))
					}
				}
			}
			return
		case gosnmp.TooBig:
			if len(oids) == 1 {
				p.errs.add(fmt.Errorf("snmp get %s on %s: agent says tooBig for a single OID", oids[0], dev))
				return
			}
			half := len(oids) / 2
			p.get(oids[:half], fn)
			p.get(oids[half:], fn)
			return
		default:
			idx := int(resp.ErrorIndex) - 1
			if idx < 0 || idx >= len(oids) {
				p.errs.add(fmt.Errorf("snmp get %s on %s: agent error %s", span(oids), dev, resp.Error))
				return
			}
			if resp.Error == gosnmp.NoSuchName {
				p.errs.add(fmt.Errorf("snmp get %s on %s: %w (v1 noSuchName)", oids[idx], dev, ErrNoSuchObject))
			} else {
				p.errs.add(fmt.Errorf("snmp get %s on %s: agent error %s", oids[idx], dev, resp.Error))
			}
			// The rest of the request is still worth asking for.
			oids = slices.Delete(slices.Clone(oids), idx, idx+1)
		}
	}
}

// table walks the label and metric columns of a table together: each
// GETBULK asks for the next rows of every column still going, as net-snmp's
// snmptable does, so a table costs about rows/repetitions requests however
// many columns it has.
func (p *poll) table(t *compiledTable, st *tableState) {
	w := p.beginTable(t, st)
	var lazy []bool
	if st.seen && st.rows == 0 {
		lazy = make([]bool, len(w.roots))
		probeFirst(lazy, w.roots)
	}
	w.end(p.walkColumnsReps(w.roots, p.c.tableReps(st, len(w.roots)), lazy, w.varbind))
}

// probeFirst marks every root of a table the last poll found empty as
// lazy but the least: its answer shows whether the others are still empty
// (see walkColumnsReps), so the table costs one varbind of a request.
func probeFirst(lazy []bool, roots []string) {
	least := 0
	for i := range roots {
		lazy[i] = true
		if oidCompare(roots[i], roots[least]) < 0 {
			least = i
		}
	}
	if len(roots) > 0 {
		lazy[least] = false
	}
}

// tableReps is the GETBULK repetitions for a table of cols columns: one
// more than the rows the last walk found (one for an empty table: the
// single varbind per column that shows it still empty); before any walk,
// as many as let one request ask every column (up to bulkColumns), so that a
// small table costs one request; a larger one goes on at MaxRepetitions.
func (c *Collector) tableReps(st *tableState, cols int) int {
	if !st.seen {
		return max(1, min(c.cfg.MaxRepetitions, c.maxVarbinds()/max(min(cols, c.bulkColumns()), 1)))
	}
	return min(st.rows+1, c.cfg.MaxRepetitions)
}

// maxVarbinds bounds the varbinds a GETBULK asks for: as many as four
// columns at MaxRepetitions (at least 10).
func (c *Collector) maxVarbinds() int { return max(c.cfg.MaxRepetitions, 10) * 4 }

// maxBulkColumns bounds the columns one GETBULK asks for, beside
// maxVarbinds: MaxOIDs is Cacti's bound on a GET's OIDs, and applying it
// to a GETBULK's columns too cost an interface table of 11 columns a
// second request at every poll (net-snmp-host: 4 requests a poll instead
// of 3), while the answer's size is bounded by maxVarbinds and a tooBig
// answer still halves the request.
const maxBulkColumns = 32

// bulkColumns is how many columns one GETBULK may ask for.
func (c *Collector) bulkColumns() int { return c.cfg.requestOIDs() }

// tableWalk is one table's part of a poll: the columns to walk, what came
// back, and how it becomes samples (end).
type tableWalk struct {
	p         *poll
	t         *compiledTable
	st        *tableState
	cached    bool     // label columns left out: the cache has them
	roots     []string // label columns (unless cached), then metric columns
	first     int      // index of the first metric column in roots
	rowLabels map[string]map[string]string
	labelOK   bool
	values    []pendingValue
}

type pendingValue struct {
	col int
	idx string
	r   reading
}

func (p *poll) beginTable(t *compiledTable, st *tableState) *tableWalk {
	w := &tableWalk{p: p, t: t, st: st, roots: t.roots, rowLabels: map[string]map[string]string{}, labelOK: true}
	w.cached = t.t.ReindexEvery > 0 && st.labels != nil && !p.reboot && p.at.Sub(st.labeledAt) < t.t.ReindexEvery
	if w.cached {
		w.roots = w.roots[len(t.labelBy):]
	}
	w.first = len(w.roots) - len(t.columns)
	return w
}

func (w *tableWalk) addLabel(col int, idx string, pdu gosnmp.SnmpPDU) {
	v, ok := labelValue(pdu.Type, pdu.Value)
	if !ok {
		return
	}
	m := w.rowLabels[idx]
	if m == nil {
		m = map[string]string{}
		w.rowLabels[idx] = m
	}
	m[w.t.labelBy[col].name] = v
}

// varbind takes one varbind of column col of w.roots.
func (w *tableWalk) varbind(col int, idx string, pdu gosnmp.SnmpPDU) {
	if col < w.first {
		w.addLabel(col, idx, pdu)
		return
	}
	r, err := convert(pdu.Type, pdu.Value)
	if err != nil {
		w.p.errs.add(fmt.Errorf("snmp walk %s on %s: %s: %w", w.roots[col], w.p.c.cfg.Device, pdu.Name, err))
		return
	}
	w.values = append(w.values, pendingValue{col - w.first, idx, r})
}

// end turns the walk (colErrs: each root's error) into samples.
func (w *tableWalk) end(colErrs []error) {
	p, t, st, roots, first := w.p, w.t, w.st, w.roots, w.first
	dev := p.c.cfg.Device
	nl := len(t.labelBy)
	cached, values := w.cached, w.values
	addLabel := w.addLabel
	report := func(errs []error, names func(i int) (string, string)) {
		for i, err := range errs {
			if err != nil {
				oid, what := names(i)
				p.errs.add(fmt.Errorf("snmp walk %s (%s of %s) on %s: %w", oid, what, t.t.Name, dev, err))
			}
		}
	}
	report(colErrs, func(i int) (string, string) {
		if i < first {
			w.labelOK = false
			return roots[i], t.labelBy[i].name
		}
		return roots[i], t.columns[i-first].obj.Metric
	})
	present := make(map[string]bool, len(values))
	for _, v := range values {
		present[v.idx] = true
	}
	if cached {
		// Re-index now when rows came or went since the labels were read.
		changed := len(present) != len(st.labelIdx)
		for idx := range present {
			changed = changed || !st.labelIdx[idx]
		}
		if !changed {
			w.rowLabels = st.labels
		} else if nl > 0 {
			labelRoots := make([]string, nl)
			for i, lc := range t.labelBy {
				labelRoots[i] = lc.oid
			}
			errs := p.walkColumnsReps(labelRoots, len(present)+1, nil, addLabel)
			report(errs, func(i int) (string, string) { w.labelOK = false; return labelRoots[i], t.labelBy[i].name })
			cached = false
		}
	}
	if !cached && t.t.ReindexEvery > 0 {
		if w.labelOK {
			st.labels, st.labelIdx, st.labeledAt = w.rowLabels, present, p.at
		} else {
			st.labels = nil // read them again next time
		}
	}
	rowLabels := w.rowLabels
	// Rows identified by a unique identity label go without the index.
	identity := func(idx string) string {
		for _, name := range t.t.Identity {
			if v := rowLabels[idx][name]; v != "" {
				return name + "\x00" + v
			}
		}
		return ""
	}
	idCount := map[string]int{}
	if len(t.t.Identity) > 0 {
		for idx := range rowLabels {
			if id := identity(idx); id != "" {
				idCount[id]++
			}
		}
	}
	rows := make(map[string]metric.Labels, len(rowLabels))
	for _, v := range values {
		l, ok := rows[v.idx]
		if !ok {
			l = rowSet(rowLabels[v.idx], t.t.IndexLabel, v.idx, identity(v.idx), idCount)
			rows[v.idx] = l
		}
		col := &t.columns[v.col]
		p.sample(sampleLabels(l, col.obj.Labels, p.c.common, col.obj.Metric), col.obj.DS, v.r)
	}
	walked := true
	for _, err := range colErrs[first:] {
		walked = walked && err == nil
	}
	if walked {
		st.rows, st.seen = len(rows), true
	} else if len(rows) > 0 {
		st.rows = len(rows)
	}
}

// rowSet is a row's labels, sorted: its label columns' values (an empty
// one left out) and, unless the row's identity label id is unique, the
// index under indexLabel (which wins over a label column of that name).
func rowSet(cols map[string]string, indexLabel, idx, id string, idCount map[string]int) metric.Labels {
	withIndex := indexLabel != "" && (id == "" || idCount[id] > 1)
	l := make(metric.Labels, 0, len(cols)+1)
	for k, x := range cols {
		if x != "" && !(withIndex && k == indexLabel) {
			l = append(l, metric.Label{Name: k, Value: x})
		}
	}
	if withIndex && idx != "" {
		l = append(l, metric.Label{Name: indexLabel, Value: idx})
	}
	slices.SortFunc(l, func(a, b metric.Label) int { return strings.Compare(a.Name, b.Name) })
	return l
}

// tableGroup is how many tables from the i-th on go into one walk: tables
// whose size the last poll found, while the columns of all of them times
// the largest one's rows still fit the varbinds of one request. Small
// tables (and empty ones, which every template of many tables has on some
// devices) then cost one GETBULK together instead of one each.
func (c *Collector) tableGroup(i int) int {
	limit := c.maxVarbinds()
	cols, rows, n := 0, 0, 0
	for j := i; j < len(c.tables); j++ {
		st, t := &c.tables[j], &c.plan.tables[j]
		if !st.seen || t.t.ReindexEvery > 0 {
			break // a first walk, or one whose label columns come and go
		}
		cols, rows = cols+len(t.roots), max(rows, st.rows)
		if cols*(rows+1) > limit || rows+1 > c.cfg.MaxRepetitions {
			break
		}
		n++
	}
	return max(n, 1)
}

// tables walks n tables from the i-th on together (see tableGroup).
func (p *poll) tables(i, n int) {
	c := p.c
	walks := make([]*tableWalk, n)
	var roots []string
	owner := make([]int, 0, 32) // roots[k] belongs to walks[owner[k]]
	offset := make([]int, n)
	rows := 0
	for k := range n {
		walks[k] = p.beginTable(&c.plan.tables[i+k], &c.tables[i+k])
		offset[k] = len(roots)
		roots = append(roots, walks[k].roots...)
		for range walks[k].roots {
			owner = append(owner, k)
		}
		rows = max(rows, c.tables[i+k].rows)
	}
	var lazy []bool
	for k := range n {
		if st := &c.tables[i+k]; st.seen && st.rows == 0 {
			if lazy == nil {
				lazy = make([]bool, len(roots))
			}
			probeFirst(lazy[offset[k]:offset[k]+len(walks[k].roots)], walks[k].roots)
		}
	}
	errs := p.walkColumnsReps(roots, rows+1, lazy, func(col int, idx string, pdu gosnmp.SnmpPDU) {
		k := owner[col]
		walks[k].varbind(col-offset[k], idx, pdu)
	})
	for k, w := range walks {
		w.end(errs[offset[k] : offset[k]+len(w.roots)])
	}
}

// walkColumns walks several columns at once and returns each column's
// error (nil when it ended normally). rowsHint, the row count seen last
// time (0: not known), keeps GETBULK from fetching far past a small
// table's end.
func (p *poll) walkColumns(roots []string, rowsHint int, fn func(col int, idx string, pdu gosnmp.SnmpPDU)) []error {
	reps := p.c.cfg.MaxRepetitions
	if rowsHint > 0 && rowsHint+1 < reps {
		reps = rowsHint + 1
	}
	return p.walkColumnsReps(roots, reps, nil, fn)
}

// walkColumnsReps is walkColumns starting at reps repetitions per GETBULK.
// Columns marked lazy (lazy may be nil) are left out of the first request
// when others are in it, in the expectation that its answers show them
// empty; those that are not are walked from the second request on.
//
// A column whose root lies between an OID asked (or last seen) in this
// walk and the next OID the agent answered is empty: GETNEXT returns the
// least OID after the one asked, so the agent has nothing under that root.
// Such columns end without a request of their own; an empty table walked
// with others costs nothing beyond the request that shows it empty.
func (p *poll) walkColumnsReps(roots []string, reps int, lazy []bool, fn func(col int, idx string, pdu gosnmp.SnmpPDU)) []error {
	g := p.c.g
	errs := make([]error, len(roots))
	pos := slices.Clone(roots)
	active := make([]int, len(roots)) // columns still walking
	for i := range active {
		active[i] = i
	}
	stopped := make([]bool, len(roots)) // per column, in the response at hand
	var gaps []oidGap                   // stretches of the MIB this response showed empty
	oids := make([]string, 0, min(len(roots), p.c.bulkColumns()))
	// reps goes up to ceiling once a column outgrows the rows expected;
	// tooBig lowers both.
	ceiling := p.c.cfg.MaxRepetitions
	reps = min(max(reps, 1), ceiling)
	// Bound one request's varbinds as a single-column walk would.
	maxVarbinds := p.c.maxVarbinds()
	for req := 0; len(active) > 0; req++ {
		if req >= maxWalkRequests {
			for _, c := range active {
				errs[c] = fmt.Errorf("walk not finished after %d requests", maxWalkRequests)
			}
			return errs
		}
		if err := p.expired(); err != nil {
			for _, c := range active {
				errs[c] = err
			}
			return errs
		}
		// Request at most as many columns as fit maxVarbinds at reps.
		batch := active
		if req == 0 && lazy != nil {
			eager := make([]int, 0, len(active))
			for _, c := range active {
				if !lazy[c] {
					eager = append(eager, c)
				}
			}
			if len(eager) > 0 {
				batch = eager
			}
		}
		if n := min(max(maxVarbinds/max(reps, 1), 1), p.c.bulkColumns()); len(batch) > n {
			batch = batch[:n]
		}
		oids = oids[:0]
		for _, c := range batch {
			oids = append(oids, pos[c])
		}
		var resp *gosnmp.SnmpPacket
		var err error
		if g.Version == gosnmp.Version1 {
			resp, err = g.GetNext(oids)
		} else {
			resp, err = g.GetBulk(oids, 0, uint32(reps))
		}
		if err != nil {
			for _, c := range batch {
				errs[c] = err
			}
			active = slices.DeleteFunc(active, func(c int) bool { return slices.Contains(batch, c) })
			continue
		}
		switch resp.Error {
		case gosnmp.NoError:
		case gosnmp.NoSuchName:
			// v1: the named column ran off the end of the MIB view.
			i := int(resp.ErrorIndex) - 1
			if g.Version != gosnmp.Version1 || i < 0 || i >= len(batch) {
				return setAll(errs, active, fmt.Errorf("agent error %s", resp.Error))
			}
			done := batch[i]
			active = slices.DeleteFunc(active, func(c int) bool { return c == done })
			// Nothing follows that OID, so nothing under a root after it.
			active = dropEmpty(active, roots, pos, append(gaps[:0], oidGap{from: pos[done]}))
			continue
		case gosnmp.TooBig:
			if reps > 1 && g.Version != gosnmp.Version1 {
				reps /= 2
				ceiling = reps
				continue
			}
			if len(batch) > 1 {
				maxVarbinds = max(len(batch)/2, 1) * max(reps, 1)
				continue
			}
			return setAll(errs, active, fmt.Errorf("agent says tooBig for a single varbind after %s", oids[0]))
		default:
			return setAll(errs, active, fmt.Errorf("agent error %s after %s", resp.Error, span(oids)))
		}
		vars := resp.Variables
		if len(vars) == 0 {
			return errs
		}
		gaps = gaps[:0]
		// Gaps matter only to columns not in this request.
		infer := len(batch) < len(active)
		// Row r of column i is vars[r*len(batch)+i].
		for k := range vars {
			v := &vars[k]
			c := batch[k%len(batch)]
			if stopped[c] {
				continue
			}
			root := roots[c]
			switch {
			case v.Type == gosnmp.EndOfMibView:
				stopped[c] = true
				if infer {
					gaps = append(gaps, oidGap{from: pos[c]})
				}
				continue
			case v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance:
				stopped[c] = true
				continue
			case len(v.Name) <= len(root) || v.Name[len(root)] != '.' || v.Name[:len(root)] != root:
				stopped[c] = true
				if infer && oidCompare(v.Name, pos[c]) > 0 {
					gaps = append(gaps, oidGap{from: pos[c], to: v.Name})
				}
				continue
			case oidCompare(v.Name, pos[c]) <= 0:
				errs[c] = fmt.Errorf("agent's OIDs do not increase: %s after %s", v.Name, pos[c])
				stopped[c] = true
				continue
			}
			fn(c, v.Name[len(root)+1:], *v)
			pos[c] = v.Name
		}
		// A column the response did not reach at all is still going.
		going := len(active)
		active = slices.DeleteFunc(active, func(c int) bool {
			s := stopped[c]
			stopped[c] = false
			return s
		})
		if len(active) > going-len(batch) {
			// Columns of the batch go on past the rows expected (a table
			// that was empty or small has grown): walk on at full length.
			reps = ceiling
		}
		if len(gaps) > 0 && len(active) > 0 {
			active = dropEmpty(active, roots, pos, gaps)
		}
	}
	return errs
}

// oidGap is a stretch of the agent's MIB with nothing in it: the OIDs
// after from and before to (to "" for the end of the MIB view).
type oidGap struct{ from, to string }

// dropEmpty removes from active the columns not yet started whose whole
// subtree lies inside one of gaps: they are empty.
func dropEmpty(active []int, roots, pos []string, gaps []oidGap) []int {
	return slices.DeleteFunc(active, func(c int) bool {
		r := roots[c]
		if pos[c] != r {
			return false // rows came already
		}
		for _, gp := range gaps {
			if oidCompare(gp.from, r) <= 0 && (gp.to == "" || oidCompare(gp.to, r) > 0 && !oidUnder(gp.to, r)) {
				return true
			}
		}
		return false
	})
}

// oidUnder reports whether oid lies in the subtree of root.
func oidUnder(oid, root string) bool {
	return len(oid) > len(root) && oid[len(root)] == '.' && oid[:len(root)] == root
}

func setAll(errs []error, cols []int, err error) []error {
	for _, c := range cols {
		errs[c] = err
	}
	return errs
}

// maxWalkRequests bounds one column walk against agents that never end it.
const maxWalkRequests = 10000

// oidCompare compares numeric OIDs arc by arc. It looks only at the arc
// where they first differ: arcs have no leading zeros, so the longer
// number is the larger, and one of equal length compares as text.
func oidCompare(a, b string) int {
	a, b = strings.TrimPrefix(a, "."), strings.TrimPrefix(b, ".")
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return 0
	}
	s := i // start of the arc holding the first difference
	for s > 0 && a[s-1] != '.' {
		s--
	}
	ea, eb := s, s // ends of that arc in a and in b
	for ea < len(a) && a[ea] != '.' {
		ea++
	}
	for eb < len(b) && b[eb] != '.' {
		eb++
	}
	switch {
	case ea-s != eb-s:
		if ea-s < eb-s {
			return -1
		}
		return 1
	case ea > i:
		// Arcs of equal length that differ at i.
		if a[i] < b[i] {
			return -1
		}
		return 1
	case ea == len(a):
		// Equal arcs: the OID that ends here comes first.
		return -1
	}
	return 1
}

// span names a request's OIDs briefly in errors.
func span(oids []string) string {
	switch len(oids) {
	case 0:
		return "(none)"
	case 1:
		return oids[0]
	}
	return oids[0] + " (+" + strconv.Itoa(len(oids)-1) + " more)"
}

// maxErrors bounds the problems one poll error lists.
const maxErrors = 8

// pollErrors collects a poll's problems; only the first few are kept.
type pollErrors struct {
	device string
	list   []error
	n      int
}

func (e *pollErrors) add(err error) {
	e.n++
	if len(e.list) < maxErrors {
		e.list = append(e.list, err)
	}
}

func (e *pollErrors) err() error {
	if e.n == 0 {
		return nil
	}
	return &PollError{Device: e.device, Problems: e.n, Errs: e.list}
}

// PollError lists what failed in one poll of a device. errors.Is sees
// through it to the first few problems (ErrNoSuchObject, timeouts, ...).
type PollError struct {
	Device   string
	Problems int     // all problems of the poll
	Errs     []error // the first few
}

func (e *PollError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snmp poll of %s: %d problem(s): ", e.Device, e.Problems)
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	if e.Problems > len(e.Errs) {
		fmt.Fprintf(&b, "; and %d more", e.Problems-len(e.Errs))
	}
	return b.String()
}

func (e *PollError) Unwrap() []error { return e.Errs }

// ErrorCount returns the number of problems (poller.ErrorCounter).
func (e *PollError) ErrorCount() int { return e.Problems }

// Timeouts reports whether any kept problem is a request timeout.
func (e *PollError) Timeouts() bool {
	for _, err := range e.Errs {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return true
		}
	}
	return false
}

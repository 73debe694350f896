package snmpsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configures a Sim. Devices and Walks are required.
type Options struct {
	Devices int     // number of virtual devices
	Walks   []*Walk // device i replays Walks[i % len(Walks)]

	ListenIP string // default 127.0.0.1
	// PortBase is the UDP port of the first socket; socket j listens on
	// PortBase+j. 0 lets the system choose every port.
	PortBase int
	// PerPort is how many devices share one UDP port (default 1). With 1,
	// every device answers to Community; with more, device i answers to
	// Community + "-" + i (e.g. "public-17") and nothing else.
	PerPort   int
	Community string // default "public"

	Seed      uint64        // makes rates, phases and the dead/slow choice reproducible
	Dead      float64       // share of devices that never answer (0..1)
	Slow      float64       // share of devices that answer after SlowDelay (0..1)
	SlowDelay time.Duration // default 2 s
	// RebootEvery, when set, reboots every device once per period, each at
	// its own phase: sysUpTime restarts at 0 and counters at 0.
	RebootEvery time.Duration
	// Renumber is the share of devices whose ifIndex numbering changes at
	// every reboot (see Walk renumbering).
	Renumber  float64
	RateScale float64 // multiplies every counter rate; default 1
	// MaxMsgSize caps a response (default 65507, the UDP maximum): a
	// GETBULK response is cut short to fit, a GET or GETNEXT that does not
	// fit gets tooBig.
	MaxMsgSize int
	// MaxVarbinds, when set, is the most varbinds a device handles in one
	// request, as many devices have: a GET or GETNEXT naming more gets
	// tooBig, a GETBULK reply stops there.
	MaxVarbinds int
	// Now is the clock counters and uptimes follow (default time.Now);
	// tests move it to cross wraps and reboots without waiting.
	Now func() time.Time
}

// Device describes one virtual device.
type Device struct {
	Index      int
	Name       string // sim-000017
	Addr       string // 127.0.0.1:PORT
	Community  string
	Walk       string // the capture's name
	Dead       bool
	Slow       bool
	Renumbered bool // ifIndex changes at every reboot
}

// Stats counts what the simulator did since it started.
type Stats struct {
	Requests    uint64 // datagrams received
	Responses   uint64 // replies sent (slow ones included once sent)
	Varbinds    uint64 // varbinds in the replies
	Dropped     uint64 // dead devices' requests, unknown communities, malformed packets
	BadPackets  uint64 // malformed packets (also counted in Dropped)
	SlowPending uint64 // delayed replies not yet sent
}

const (
	flagDead uint32 = 1 << iota
	flagSlow
	flagRenumber
)

// devState is a device's mutable state; everything else is derived from
// the seed and the device index.
type devState struct {
	flags   atomic.Uint32 // flagDead, flagSlow, flagRenumber
	reboots atomic.Uint32 // manual reboots
	bootAt  atomic.Int64  // clock time (ns) of the last manual reboot
}

// Sim serves the virtual devices. Create it with New, serve with Run.
type Sim struct {
	opts    Options
	start   time.Time
	devs    []devState
	socks   []*socket
	views   []viewSet // per walk: the walk and its renumbered variants
	maxMsg  int
	runOnce sync.Once
	closed  atomic.Bool
}

// renumberVariants bounds how many distinct numberings a device cycles through.
const renumberVariants = 8

type viewSet struct {
	once  [renumberVariants]sync.Once
	walks [renumberVariants]*Walk
}

// MaxUDPPayload is the largest UDP datagram over IPv4.
const MaxUDPPayload = 65507

// ErrOptions is wrapped by New's configuration errors.
var ErrOptions = errors.New("invalid simulator options")

// New validates opts, chooses the dead, slow and renumbering devices and
// opens every socket. Nothing is served until Run.
func New(opts Options) (*Sim, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, start: opts.Now(), devs: make([]devState, opts.Devices), maxMsg: opts.MaxMsgSize}
	s.views = make([]viewSet, len(opts.Walks))
	for i, w := range opts.Walks {
		s.views[i].walks[0] = w
		s.views[i].once[0].Do(func() {})
	}
	// Exact shares: a seeded permutation, dead first, then slow, then
	// renumbering, so 10 % dead of 20,000 is 2,000.
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5a6e))
	perm := rng.Perm(opts.Devices)
	nDead := int(math.Round(opts.Dead * float64(opts.Devices)))
	nSlow := int(math.Round(opts.Slow * float64(opts.Devices)))
	for j, d := range perm {
		switch {
		case j < nDead:
			s.devs[d].flags.Or(flagDead)
		case j < nDead+nSlow:
			s.devs[d].flags.Or(flagSlow)
		}
	}
	nRen := int(math.Round(opts.Renumber * float64(opts.Devices)))
	for _, d := range rng.Perm(opts.Devices)[:nRen] {
		s.devs[d].flags.Or(flagRenumber)
	}
	nSock := (opts.Devices + opts.PerPort - 1) / opts.PerPort
	ip := net.ParseIP(opts.ListenIP)
	for j := 0; j < nSock; j++ {
		port := 0
		if opts.PortBase > 0 {
			port = opts.PortBase + j
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			s.closeSockets()
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				return nil, fmt.Errorf("snmpsim: socket %d of %d: %w (serve more devices per port)", j+1, nSock, err)
			}
			return nil, fmt.Errorf("snmpsim: socket %d of %d: %w", j+1, nSock, err)
		}
		_ = c.SetReadBuffer(4 << 20) // bursts from a poller; best effort
		_ = c.SetWriteBuffer(4 << 20)
		first := j * opts.PerPort
		last := min(first+opts.PerPort, opts.Devices)
		sk := &socket{sim: s, conn: c, first: first, byCommunity: make(map[string]int32, last-first),
			delayed: make(chan delayed, 4096)}
		for d := first; d < last; d++ {
			sk.byCommunity[s.community(d)] = int32(d)
		}
		s.socks = append(s.socks, sk)
	}
	return s, nil
}

func (o *Options) fill() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("snmpsim: %w: %s", ErrOptions, fmt.Sprintf(format, args...)))
	}
	if o.Devices <= 0 {
		bad("devices %d: want at least 1", o.Devices)
	}
	if len(o.Walks) == 0 {
		bad("no walks: give at least one capture")
	}
	for i, w := range o.Walks {
		if w == nil || w.Len() == 0 {
			bad("walk %d is empty", i)
		}
	}
	if o.ListenIP == "" {
		o.ListenIP = "127.0.0.1"
	}
	if net.ParseIP(o.ListenIP) == nil {
		bad("listen IP %q is not an IP address", o.ListenIP)
	}
	if o.PerPort == 0 {
		o.PerPort = 1
	}
	if o.PerPort < 0 {
		bad("per-port %d: want at least 1", o.PerPort)
	}
	if o.PortBase < 0 || o.PortBase > 65535 {
		bad("port base %d outside 0..65535", o.PortBase)
	} else if o.PortBase > 0 && o.PerPort > 0 && o.Devices > 0 && o.PortBase+(o.Devices+o.PerPort-1)/o.PerPort-1 > 65535 {
		bad("%d devices at %d per port from port %d run past port 65535", o.Devices, o.PerPort, o.PortBase)
	}
	if o.Community == "" {
		o.Community = "public"
	}
	if len(o.Community) > 200 { // the reply header is built in a fixed room
		bad("community of %d bytes: at most 200", len(o.Community))
	}
	share := func(name string, x float64) {
		if !(x >= 0 && x <= 1) {
			bad("%s share %v outside 0..1", name, x)
		}
	}
	share("dead", o.Dead)
	share("slow", o.Slow)
	share("renumber", o.Renumber)
	if o.Dead+o.Slow > 1 {
		bad("dead %v + slow %v exceed 1", o.Dead, o.Slow)
	}
	if o.SlowDelay < 0 {
		bad("slow delay %v is negative", o.SlowDelay)
	} else if o.SlowDelay == 0 {
		o.SlowDelay = 2 * time.Second
	}
	if o.RebootEvery < 0 {
		bad("reboot period %v is negative", o.RebootEvery)
	}
	if o.RateScale < 0 || math.IsNaN(o.RateScale) || math.IsInf(o.RateScale, 0) {
		bad("rate scale %v: want a finite number >= 0", o.RateScale)
	} else if o.RateScale == 0 {
		o.RateScale = 1
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = MaxUDPPayload
	}
	if o.MaxMsgSize < 484 || o.MaxMsgSize > MaxUDPPayload {
		bad("max message size %d outside 484..%d", o.MaxMsgSize, MaxUDPPayload)
	}
	if o.MaxVarbinds < 0 || o.MaxVarbinds > maxVarbinds {
		bad("max varbinds %d outside 0..%d", o.MaxVarbinds, maxVarbinds)
	} else if o.MaxVarbinds == 0 {
		o.MaxVarbinds = maxVarbinds
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return errors.Join(errs...)
}

func (s *Sim) community(d int) string {
	if s.opts.PerPort == 1 {
		return s.opts.Community
	}
	return s.opts.Community + "-" + strconv.Itoa(d)
}

// Devices lists every device with its address and community.
func (s *Sim) Devices() []Device {
	out := make([]Device, len(s.devs))
	for i := range s.devs {
		out[i] = s.Device(i)
	}
	return out
}

// Device describes device i (0 <= i < Options.Devices).
func (s *Sim) Device(i int) Device {
	sk := s.socks[i/s.opts.PerPort]
	f := s.devs[i].flags.Load()
	return Device{
		Index: i, Name: fmt.Sprintf("sim-%06d", i), Addr: sk.conn.LocalAddr().String(),
		Community: s.community(i), Walk: s.opts.Walks[i%len(s.opts.Walks)].Name,
		Dead: f&flagDead != 0, Slow: f&flagSlow != 0, Renumbered: f&flagRenumber != 0,
	}
}

// Reboot makes device i reboot now: its uptime and counters restart from
// zero and, if it renumbers, its ifIndexes change.
func (s *Sim) Reboot(i int) {
	d := &s.devs[i]
	d.bootAt.Store(s.opts.Now().UnixNano())
	d.reboots.Add(1)
}

// SetDead makes device i stop answering (dead) or answer again.
func (s *Sim) SetDead(i int, dead bool) { s.setFlag(i, flagDead, dead) }

// SetSlow makes device i answer after Options.SlowDelay, or at once.
func (s *Sim) SetSlow(i int, slow bool) { s.setFlag(i, flagSlow, slow) }

func (s *Sim) setFlag(i int, f uint32, on bool) {
	if on {
		s.devs[i].flags.Or(f)
	} else {
		s.devs[i].flags.And(^f)
	}
}

// Stats adds up the sockets' counters.
func (s *Sim) Stats() Stats {
	var st Stats
	for _, sk := range s.socks {
		st.Requests += sk.requests.Load()
		st.Responses += sk.responses.Load()
		st.Varbinds += sk.varbinds.Load()
		st.Dropped += sk.dropped.Load()
		st.BadPackets += sk.bad.Load()
		st.SlowPending += uint64(len(sk.delayed))
	}
	return st
}

// Run serves until ctx ends, then closes the sockets and returns after
// every goroutine has ended. It may be called once.
func (s *Sim) Run(ctx context.Context) error {
	ran := false
	s.runOnce.Do(func() { ran = true })
	if !ran {
		return errors.New("snmpsim: Run called twice")
	}
	var wg sync.WaitGroup
	for _, sk := range s.socks {
		wg.Add(2)
		go func() { defer wg.Done(); sk.serve() }()
		go func() { defer wg.Done(); sk.sendDelayed(ctx) }()
	}
	<-ctx.Done()
	s.closeSockets()
	wg.Wait()
	return nil
}

// Close releases the sockets of a Sim that was never Run.
func (s *Sim) Close() error {
	s.closeSockets()
	return nil
}

func (s *Sim) closeSockets() {
	if s.closed.Swap(true) {
		return
	}
	for _, sk := range s.socks {
		_ = sk.conn.Close()
	}
}

// WriteDeviceList writes a `devices:` YAML list for Saguaro's
// configuration: every device that answers (dead ones too when
// includeDead) with the template, its address and community.
func (s *Sim) WriteDeviceList(w io.Writer, template string, includeDead bool) error {
	bw := newErrWriter(w)
	bw.printf("# %d simulated devices (snmpsim, seed %d)\ndevices:\n", len(s.devs), s.opts.Seed)
	for i := range s.devs {
		d := s.Device(i)
		if d.Dead && !includeDead {
			continue
		}
		bw.printf("  - name: %s\n    template: %s\n    snmp:\n      address: %s\n      version: 2c\n      community: %s\n",
			d.Name, strconv.Quote(template), d.Addr, strconv.Quote(d.Community))
	}
	return bw.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func newErrWriter(w io.Writer) *errWriter { return &errWriter{w: w} }

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// ---- per-device derived state ----

// splitmix64 is a fast, well-mixed hash for deriving per-device numbers.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func unitFloat(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// epoch returns how many times device d has rebooted by now and when the
// current boot began.
func (s *Sim) epoch(d int, now time.Time) (n uint32, since time.Time) {
	st := &s.devs[d]
	since = s.start
	if p := s.opts.RebootEvery; p > 0 {
		phase := time.Duration(splitmix64(s.opts.Seed^uint64(d)*0x2545f4914f6cdd1d) % uint64(p))
		if el := now.Sub(s.start); el >= phase {
			k := (el - phase) / p
			n = uint32(k) + 1
			since = s.start.Add(phase + k*p)
		}
	}
	if m := st.reboots.Load(); m > 0 {
		n += m
		if b := time.Unix(0, st.bootAt.Load()); b.After(since) {
			since = b
		}
	}
	return n, since
}

// view returns the walk device d serves in boot epoch n.
func (s *Sim) view(d int, n uint32) *Walk {
	wi := d % len(s.opts.Walks)
	k := 0
	if s.devs[d].flags.Load()&flagRenumber != 0 {
		k = int(n % renumberVariants)
	}
	vs := &s.views[wi]
	vs.once[k].Do(func() { vs.walks[k] = s.opts.Walks[wi].renumbered(k) })
	return vs.walks[k]
}

// valueState is what a request needs to compute dynamic values.
type valueState struct {
	dev     int
	seed    uint64
	first   bool    // still in the first boot: counters continue the capture
	elapsed float64 // seconds since this boot (or since the simulator started)
	scale   float64
}

// counter returns a counter entry's current value.
func (v *valueState) counter(e *entry) uint64 {
	h := splitmix64(v.seed ^ uint64(v.dev)<<20 ^ uint64(e.key))
	rate := e.rate * v.scale * (0.5 + unitFloat(h)) // 0.5x..1.5x the capture's rate
	x := uint64(rate * v.elapsed)
	if v.first {
		x += e.base
	}
	if e.kind == kindCounter32 {
		x &= math.MaxUint32
	}
	return x
}

// uptime returns an uptime entry's TimeTicks.
func (v *valueState) uptime(e *entry) uint64 {
	x := uint64(v.elapsed * 100)
	if v.first {
		x += e.num
	}
	return x & math.MaxUint32
}

// deviceFor resolves the community of a request on socket sk.
func (sk *socket) deviceFor(community []byte) (int, bool) {
	d, ok := sk.byCommunity[string(community)]
	return int(d), ok
}

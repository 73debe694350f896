package latency

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Probe kinds.
const (
	TCP  = "tcp"  // connect to host:port, then close
	HTTP = "http" // GET the URL (any status counts as an answer), body discarded
	ICMP = "icmp" // echo request to a host
)

// Config describes one latency target.
type Config struct {
	Device      string
	Kind        string        // tcp, http or icmp
	Target      string        // host:port (tcp), URL (http), host (icmp)
	Count       int           // probes per poll; default 5
	Spacing     time.Duration // between probe starts; default 100 ms
	Timeout     time.Duration // per probe; default 1 s
	Percentiles []float64     // in (0, 1), e.g. 0.9 -> stat="p90"
	Labels      metric.Labels // added to every sample; device=Device wins
}

// Sample names.
const (
	RTTMetric  = "latency_rtt_seconds" // stat=min|median|max|pNN; unknown when every probe was lost
	LossMetric = "latency_loss_ratio"  // lost / sent, 0..1
)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("invalid latency probe configuration")

// Collector runs the probes of one target. It implements poller.Collector.
type Collector struct {
	cfg    Config
	common metric.Labels
	client *http.Client
	seq    atomic.Uint32
}

// New validates cfg and fills in defaults.
func New(cfg Config) (*Collector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("latency probe %q: %s: %w: %s", cfg.Device, field, ErrConfig, fmt.Sprintf(format, args...)))
	}
	if cfg.Device == "" {
		bad("device", "empty")
	}
	switch cfg.Kind {
	case TCP:
		if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
			bad("target", "%q is not host:port", cfg.Target)
		}
	case HTTP:
		if u, err := url.Parse(cfg.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("target", "%q is not an http(s) URL", cfg.Target)
		}
	case ICMP:
		if cfg.Target == "" {
			bad("target", "empty host")
		}
	default:
		bad("kind", "%q (want tcp, http or icmp)", cfg.Kind)
	}
	if cfg.Count < 0 || cfg.Count > 100 {
		bad("count", "%d outside 1..100", cfg.Count)
	} else if cfg.Count == 0 {
		cfg.Count = 5
	}
	if cfg.Spacing < 0 {
		bad("spacing", "%v is negative", cfg.Spacing)
	} else if cfg.Spacing == 0 {
		cfg.Spacing = 100 * time.Millisecond
	}
	if cfg.Timeout < 0 {
		bad("timeout", "%v is negative", cfg.Timeout)
	} else if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	for i, p := range cfg.Percentiles {
		if !(p > 0 && p < 1) {
			bad(fmt.Sprintf("percentiles[%d]", i), "%v outside (0, 1)", p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, common: cfg.Labels.Merge(metric.New(metric.DeviceLabel, cfg.Device))}
	if cfg.Kind == HTTP {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true // each probe pays for its connection, as a new visitor does
		c.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}
	return c, nil
}

// Poll sends Count probes Spacing apart and returns the statistics. It
// fails only when no probe could be sent at all.
func (c *Collector) Poll(ctx context.Context, _ time.Time) ([]metric.Sample, error) {
	var rtts []time.Duration
	sent := 0
	var ic *icmpConn
	if c.cfg.Kind == ICMP {
		var err error
		if ic, err = openICMP(c.cfg.Target); err != nil {
			return nil, fmt.Errorf("latency probe %s of %s: %w", c.cfg.Target, c.cfg.Device, err)
		}
		defer ic.Close()
	}
	tick := time.NewTicker(c.cfg.Spacing)
	defer tick.Stop()
	for i := 0; i < c.cfg.Count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			break // not sent: neither an answer nor a loss
		}
		sent++
		// A failed probe is a loss, which the loss ratio records.
		if rtt, err := c.probe(ctx, ic); err == nil {
			rtts = append(rtts, rtt)
		}
	}
	if sent == 0 {
		return nil, fmt.Errorf("latency probe %s of %s: no probe sent: %w", c.cfg.Target, c.cfg.Device, ctx.Err())
	}
	return c.samples(rtts, sent), nil
}

func (c *Collector) samples(rtts []time.Duration, sent int) []metric.Sample {
	g := metric.Gauges(0)
	mk := func(name string, v float64, kv ...string) metric.Sample {
		return metric.Sample{Labels: metric.New(kv...).Merge(c.common).With(metric.NameLabel, name), DS: g, Value: v}
	}
	out := []metric.Sample{mk(LossMetric, float64(sent-len(rtts))/float64(sent))}
	slices.Sort(rtts)
	stat := func(q float64) float64 {
		if len(rtts) == 0 {
			return metric.Unknown
		}
		return quantile(rtts, q)
	}
	out = append(out, mk(RTTMetric, stat(0), "stat", "min"), mk(RTTMetric, stat(0.5), "stat", "median"), mk(RTTMetric, stat(1), "stat", "max"))
	for _, p := range c.cfg.Percentiles {
		out = append(out, mk(RTTMetric, stat(p), "stat", "p"+strconv.FormatFloat(p*100, 'f', -1, 64)))
	}
	return out
}

// quantile interpolates linearly between the sorted round trips.
func quantile(sorted []time.Duration, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return (sorted[lo].Seconds())*(1-f) + sorted[hi].Seconds()*f
}

func (c *Collector) probe(ctx context.Context, ic *icmpConn) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	switch c.cfg.Kind {
	case TCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.cfg.Target)
		if err != nil {
			return 0, err
		}
		rtt := time.Since(start)
		conn.Close()
		return rtt, nil
	case HTTP:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.Target, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("User-Agent", "saguaro-latency")
		resp, err := c.client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return time.Since(start), nil
	default:
		return ic.echo(ctx, uint16(c.seq.Add(1)))
	}
}

// icmpConn is an ICMP echo socket: an unprivileged ping socket where the
// system allows one (net.ipv4.ping_group_range), else a raw socket.
type icmpConn struct {
	c   *icmp.PacketConn
	dst net.Addr
	id  int
	udp bool
	buf []byte
}

func openICMP(host string) (*icmpConn, error) {
	ip, err := net.ResolveIPAddr("ip4", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if c, err := icmp.ListenPacket("udp4", "0.0.0.0"); err == nil {
		return &icmpConn{c: c, dst: &net.UDPAddr{IP: ip.IP}, udp: true, buf: make([]byte, 1500)}, nil
	}
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("no ICMP socket (allow ping sockets with sysctl net.ipv4.ping_group_range, or grant CAP_NET_RAW): %w", err)
	}
	return &icmpConn{c: c, dst: ip, id: os.Getpid() & 0xffff, buf: make([]byte, 1500)}, nil
}

func (ic *icmpConn) Close() error { return ic.c.Close() }

func (ic *icmpConn) echo(ctx context.Context, seq uint16) (time.Duration, error) {
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: ic.id, Seq: int(seq), Data: []byte("saguaro-latency")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	dl, _ := ctx.Deadline()
	_ = ic.c.SetReadDeadline(dl)
	start := time.Now()
	if _, err := ic.c.WriteTo(b, ic.dst); err != nil {
		return 0, err
	}
	for {
		n, _, err := ic.c.ReadFrom(ic.buf)
		if err != nil {
			return 0, err
		}
		m, err := icmp.ParseMessage(1, ic.buf[:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// A ping socket's kernel sets and checks the ID itself; a raw socket
		// sees every echo reply on the host.
		if !ok || e.Seq != int(seq) || (!ic.udp && e.ID != ic.id) {
			continue
		}
		return time.Since(start), nil
	}
}

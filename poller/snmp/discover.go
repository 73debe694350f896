package snmp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// System group objects every agent has; discovery starts with them.
const (
	SysDescrOID    = ".1.3.6.1.2.1.1.1.0"
	SysObjectIDOID = ".1.3.6.1.2.1.1.2.0"
	SysNameOID     = ".1.3.6.1.2.1.1.5.0"
)

// DiscoverRequest lists what discovery asks an agent besides its system
// group: scalars to try, and table columns to walk for their rows.
type DiscoverRequest struct {
	Scalars []string // numeric OIDs, GET in requests of at most MaxOIDs
	Columns []string // numeric column OIDs, walked with GETBULK (GETNEXT for v1)
}

// Discovery is what an agent said.
type Discovery struct {
	SysDescr    string
	SysObjectID string
	SysName     string
	SysUpTime   time.Duration
	// Scalars tells which requested scalars answered with a value.
	Scalars map[string]bool
	// Columns holds each requested column's rows in walk order; a column
	// the agent lacks has none.
	Columns map[string][]Row
	// Problems are what went wrong after the agent first answered (a
	// timed-out walk, an agent error); what answered is still reported.
	Problems []error
}

// Row is one row of a walked column: its index and value as text.
type Row struct {
	Index string
	Value string
}

// ErrNoAnswer: the agent did not answer the system group at all (wrong
// address, community or credentials, or no agent).
var ErrNoAnswer = errors.New("no SNMP answer")

// Discover asks the agent of cfg (its address, version and credentials;
// objects and tables are ignored) for its system group, then for the
// scalars and columns of req. It fails only when the agent does not
// answer; later problems are listed in Discovery.Problems.
func Discover(ctx context.Context, cfg Config, req DiscoverRequest) (d *Discovery, err error) {
	if cfg.Device == "" {
		cfg.Device = cfg.Address
	}
	// Validation wants something to poll; discovery polls nothing of cfg.
	cfg.Scalars = []Object{{OID: SysUpTimeOID, Metric: "sysUpTime", DS: metric.Gauges(0)}}
	cfg.Tables, cfg.UptimeCheck = nil, false
	host, port, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	scalars := make([]string, 0, len(req.Scalars))
	for _, o := range req.Scalars {
		n, err := normOID(o)
		if err != nil {
			return nil, fmt.Errorf("discover %s: scalar %q: %w", cfg.Device, o, err)
		}
		scalars = append(scalars, n)
	}
	columns := make([]string, 0, len(req.Columns))
	for _, o := range req.Columns {
		n, err := normOID(o)
		if err != nil {
			return nil, fmt.Errorf("discover %s: column %q: %w", cfg.Device, o, err)
		}
		columns = append(columns, n)
	}
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("snmp discovery of %s: internal error on agent input: %v", cfg.Device, r)
		}
	}()

	c := &Collector{cfg: cfg, host: host, port: port}
	c.g = cfg.client(host, port)
	c.g.Context = ctx
	if err := c.g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp connect to %s: %w", cfg.Address, err)
	}
	defer c.g.Conn.Close()
	p := &poll{c: c, ctx: ctx, errs: pollErrors{device: cfg.Device}}

	d = &Discovery{Scalars: map[string]bool{}, Columns: map[string][]Row{}}
	answered := false
	p.get([]string{SysDescrOID, SysObjectIDOID, SysUpTimeOID, SysNameOID}, func(pdu gosnmp.SnmpPDU) {
		v, ok := labelValue(pdu.Type, pdu.Value)
		if !ok {
			return
		}
		answered = true
		switch pdu.Name {
		case SysDescrOID:
			d.SysDescr = v
		case SysObjectIDOID:
			d.SysObjectID = v
		case SysNameOID:
			d.SysName = v
		case SysUpTimeOID:
			if r, err := convert(pdu.Type, pdu.Value); err == nil {
				d.SysUpTime = time.Duration(r.value) * 10 * time.Millisecond
			}
		}
	})
	if !answered {
		if err := p.errs.err(); err != nil {
			return nil, fmt.Errorf("%w from %s: %w", ErrNoAnswer, cfg.Address, err)
		}
		return nil, fmt.Errorf("%w from %s: the system group is empty", ErrNoAnswer, cfg.Address)
	}
	p.errs = pollErrors{device: cfg.Device}

	for start := 0; start < len(scalars); start += c.cfg.MaxOIDs {
		chunk := scalars[start:min(start+c.cfg.MaxOIDs, len(scalars))]
		if err := p.expired(); err != nil {
			p.errs.add(fmt.Errorf("snmp get %s on %s not sent: %w", span(chunk), cfg.Device, err))
			break
		}
		p.get(chunk, func(pdu gosnmp.SnmpPDU) {
			if _, err := convert(pdu.Type, pdu.Value); err == nil {
				d.Scalars[pdu.Name] = true
			}
		})
	}
	if len(columns) > 0 {
		if err := p.expired(); err != nil {
			p.errs.add(fmt.Errorf("snmp walk %s on %s not started: %w", span(columns), cfg.Device, err))
		} else {
			errs := p.walkColumns(columns, 0, func(col int, idx string, pdu gosnmp.SnmpPDU) {
				if v, ok := labelValue(pdu.Type, pdu.Value); ok {
					d.Columns[columns[col]] = append(d.Columns[columns[col]], Row{Index: idx, Value: v})
				}
			})
			for i, err := range errs {
				if err != nil {
					p.errs.add(fmt.Errorf("snmp walk %s on %s: %w", columns[i], cfg.Device, err))
				}
			}
		}
	}
	// A scalar the agent lacks is a finding, not a problem.
	if pe, ok := p.errs.err().(*PollError); ok {
		for _, e := range pe.Errs {
			if !errors.Is(e, ErrNoSuchObject) {
				d.Problems = append(d.Problems, e)
			}
		}
	}
	return d, nil
}

// enterprises names the vendors of common sysObjectID prefixes
// (.1.3.6.1.4.1.N is IANA's private enterprise number N).
var enterprises = map[string]string{
	"2": "IBM", "9": "Cisco", "11": "HP", "43": "3Com", "171": "D-Link", "311": "Microsoft",
	"674": "Dell", "1916": "Extreme Networks", "1991": "Brocade", "2011": "Huawei",
	"2021": "UC Davis (net-snmp, old)", "2636": "Juniper", "3375": "F5", "4526": "Netgear",
	"6486": "Alcatel-Lucent", "6876": "VMware", "8072": "net-snmp", "9148": "Acme Packet",
	"12356": "Fortinet", "14988": "MikroTik", "25461": "Palo Alto Networks", "25506": "H3C",
	"30065": "Arista", "41112": "Ubiquiti",
}

// Vendor names the enterprise of a sysObjectID, or "" when unknown.
func Vendor(sysObjectID string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(sysObjectID, "."), "1.3.6.1.4.1.")
	if !ok {
		return ""
	}
	num, _, _ := strings.Cut(rest, ".")
	return enterprises[num]
}

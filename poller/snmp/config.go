package snmp

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Object is a scalar or a table column whose value becomes a sample.
type Object struct {
	OID    string // numeric, e.g. ".1.3.6.1.2.1.1.3.0" (leading dot optional)
	Metric string // the sample's metric name
	DS     metric.DS
	Labels metric.Labels
}

// Table is an SNMP table walked column by column, as a Cacti data query.
type Table struct {
	Name         string
	IndexLabel   string            // e.g. "ifIndex": the row index becomes this label
	LabelColumns map[string]string // label name -> column OID; values become labels of the row
	Columns      []Object          // metric columns; labels = row labels + Object.Labels
	// Identity names label columns that identify a row across index
	// renumbering, in order of preference (ifName, then ifDescr). A row
	// whose first non-empty identity label is unique among the rows gets no
	// IndexLabel, so its series survive a renumbered ifIndex; other rows
	// keep the index label.
	Identity []string
	// ReindexEvery, when positive, reads the label columns only every so
	// often instead of at every poll; they are read again at once when the
	// rows present change or the device reboots (sysUpTime goes back, which
	// needs UptimeCheck or sysUpTime.0 among the scalars).
	ReindexEvery time.Duration
}

// Config describes one device.
type Config struct {
	Device         string
	Address        string // host:port; port 161 when left out
	Version        string // "1", "2c" or "3"
	Community      string
	Timeout        time.Duration // per request; default 1 s
	Retries        int           // per request
	MaxOIDs        int           // per GET; default 10
	MaxRepetitions int           // per GETBULK; default 25
	Labels         metric.Labels // added to every sample (device=Device wins)
	Scalars        []Object
	Tables         []Table

	// SNMPv3 (Version "3").
	SecurityLevel string // "noAuthNoPriv", "authNoPriv" or "authPriv"
	Username      string
	AuthProtocol  string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassword  string
	PrivProtocol  string // DES, AES (=AES128), AES192, AES256, AES192C, AES256C
	PrivPassword  string
	ContextName   string

	// UptimeCheck adds sysUpTime.0 to every poll. When it goes backwards
	// (a reboot; a 32-bit wrap after 497 days is not one) the counters of
	// that poll are returned as unknown, so no rate spans the reboot.
	UptimeCheck bool
}

// Defaults applied by New.
const (
	DefaultTimeout        = time.Second
	DefaultMaxOIDs        = 10
	DefaultMaxRepetitions = 25
	DefaultPort           = 161
)

// ErrConfig is wrapped by every configuration error of New.
var ErrConfig = errors.New("invalid SNMP configuration")

var (
	oidRe    = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)+$`)
	metricRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRe  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA1": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES, "AES192": gosnmp.AES192,
	"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// normOID returns oid with a leading dot, or an error.
func normOID(oid string) (string, error) {
	if !oidRe.MatchString(oid) {
		return "", fmt.Errorf("%q is not a numeric OID", oid)
	}
	if oid[0] != '.' {
		oid = "." + oid
	}
	for _, arc := range strings.Split(oid[1:], ".") {
		if _, err := strconv.ParseUint(arc, 10, 32); err != nil {
			return "", fmt.Errorf("OID %s: arc %s exceeds 32 bits", oid, arc)
		}
	}
	return oid, nil
}

// validate fills defaults and returns every problem at once.
func (c *Config) validate() (host string, port uint16, err error) {
	return c.check(true)
}

// validateDevice is validate without the objects: for a device whose
// objects are those of a plan compiled before.
func (c *Config) validateDevice() (host string, port uint16, err error) {
	return c.check(false)
}

func (c *Config) check(objects bool) (host string, port uint16, err error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("snmp device %q: %s: %w: %s", c.Device, field, ErrConfig, fmt.Sprintf(format, args...)))
	}
	if c.Device == "" {
		bad("device", "empty")
	}
	host, portStr, splitErr := net.SplitHostPort(c.Address)
	if splitErr != nil {
		host, portStr = c.Address, strconv.Itoa(DefaultPort)
		if strings.Count(c.Address, ":") > 1 && !strings.HasPrefix(c.Address, "[") {
			bad("address", "%q: put IPv6 addresses in brackets, [::1]:161", c.Address)
		}
	}
	if host == "" {
		bad("address", "%q has no host", c.Address)
	}
	if p, perr := strconv.ParseUint(portStr, 10, 16); perr != nil || p == 0 {
		bad("address", "%q: bad port %q", c.Address, portStr)
	} else {
		port = uint16(p)
	}
	switch c.Version {
	case "1", "2c":
		if c.Community == "" {
			bad("community", "empty (required for version %s)", c.Version)
		}
	case "3":
		c.validateV3(bad)
	default:
		bad("version", "%q (want 1, 2c or 3)", c.Version)
	}
	if c.Timeout < 0 {
		bad("timeout", "%v is negative", c.Timeout)
	} else if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries < 0 {
		bad("retries", "%d is negative", c.Retries)
	}
	if c.MaxOIDs < 0 || c.MaxOIDs > gosnmp.MaxOids {
		bad("max_oids", "%d outside 1..%d", c.MaxOIDs, gosnmp.MaxOids)
	} else if c.MaxOIDs == 0 {
		c.MaxOIDs = DefaultMaxOIDs
	}
	if c.MaxRepetitions < 0 || c.MaxRepetitions > 1000 {
		bad("max_repetitions", "%d outside 1..1000", c.MaxRepetitions)
	} else if c.MaxRepetitions == 0 {
		c.MaxRepetitions = DefaultMaxRepetitions
	}
	if !objects {
		return host, port, errors.Join(errs...)
	}
	checkObj := func(path string, o *Object) {
		oid, e := normOID(o.OID)
		if e != nil {
			bad(path+".oid", "%v", e)
		}
		o.OID = oid
		if !metricRe.MatchString(o.Metric) {
			bad(path+".metric", "%q is not a valid metric name", o.Metric)
		}
		for _, l := range o.Labels {
			if !labelRe.MatchString(l.Name) {
				bad(path+".labels", "%q is not a valid label name", l.Name)
			}
		}
	}
	c.Scalars = append([]Object(nil), c.Scalars...)
	for i := range c.Scalars {
		checkObj(fmt.Sprintf("scalars[%d]", i), &c.Scalars[i])
	}
	c.Tables = append([]Table(nil), c.Tables...)
	for i := range c.Tables {
		t := &c.Tables[i]
		p := fmt.Sprintf("tables[%d]", i)
		if t.IndexLabel != "" && !labelRe.MatchString(t.IndexLabel) {
			bad(p+".index_label", "%q is not a valid label name", t.IndexLabel)
		}
		if len(t.Columns) == 0 {
			bad(p+".columns", "table %q has no metric columns", t.Name)
		}
		lc := make(map[string]string, len(t.LabelColumns))
		for name, oid := range t.LabelColumns {
			if !labelRe.MatchString(name) {
				bad(p+".label_columns", "%q is not a valid label name", name)
			}
			n, e := normOID(oid)
			if e != nil {
				bad(p+".label_columns."+name, "%v", e)
			}
			lc[name] = n
		}
		t.LabelColumns = lc
		if t.ReindexEvery < 0 {
			bad(p+".reindex_every", "%v is negative", t.ReindexEvery)
		}
		for k, name := range t.Identity {
			if _, ok := lc[name]; !ok {
				bad(fmt.Sprintf("%s.identity[%d]", p, k), "%q is not one of the table's label columns", name)
			}
		}
		t.Columns = append([]Object(nil), t.Columns...)
		for j := range t.Columns {
			checkObj(fmt.Sprintf("%s.columns[%d]", p, j), &t.Columns[j])
		}
	}
	if len(c.Scalars) == 0 && len(c.Tables) == 0 {
		bad("scalars", "nothing to poll: no scalars and no tables")
	}
	return host, port, errors.Join(errs...)
}

func (c *Config) validateV3(bad func(field, format string, args ...any)) {
	if c.Username == "" {
		bad("username", "empty (required for version 3)")
	}
	auth, priv := false, false
	switch strings.ToLower(c.SecurityLevel) {
	case "noauthnopriv":
	case "authnopriv":
		auth = true
	case "authpriv":
		auth, priv = true, true
	default:
		bad("security_level", "%q (want noAuthNoPriv, authNoPriv or authPriv)", c.SecurityLevel)
	}
	if auth {
		if _, ok := authProtocols[strings.ToUpper(c.AuthProtocol)]; !ok {
			bad("auth_protocol", "%q (want MD5, SHA, SHA224, SHA256, SHA384 or SHA512)", c.AuthProtocol)
		}
		if len(c.AuthPassword) < 8 {
			bad("auth_password", "shorter than 8 characters")
		}
	}
	if priv {
		if _, ok := privProtocols[strings.ToUpper(c.PrivProtocol)]; !ok {
			bad("priv_protocol", "%q (want DES, AES, AES192, AES256, AES192C or AES256C)", c.PrivProtocol)
		}
		if len(c.PrivPassword) < 8 {
			bad("priv_password", "shorter than 8 characters")
		}
	}
}

// client builds the device's gosnmp client (not yet connected).
func (c *Config) client(host string, port uint16) *gosnmp.GoSNMP {
	g := &gosnmp.GoSNMP{
		Target:         host,
		Port:           port,
		Transport:      "udp",
		Community:      c.Community,
		Timeout:        c.Timeout,
		Retries:        c.Retries,
		MaxOids:        c.requestOIDs(),
		MaxRepetitions: uint32(c.MaxRepetitions),
	}
	switch c.Version {
	case "1":
		g.Version = gosnmp.Version1
	case "2c":
		g.Version = gosnmp.Version2c
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.ContextName = c.ContextName
		usm := &gosnmp.UsmSecurityParameters{UserName: c.Username,
			AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}
		switch strings.ToLower(c.SecurityLevel) {
		case "noauthnopriv":
			g.MsgFlags = gosnmp.NoAuthNoPriv
		case "authnopriv":
			g.MsgFlags = gosnmp.AuthNoPriv
		case "authpriv":
			g.MsgFlags = gosnmp.AuthPriv
		}
		if g.MsgFlags&gosnmp.AuthNoPriv != 0 {
			usm.AuthenticationProtocol = authProtocols[strings.ToUpper(c.AuthProtocol)]
			usm.AuthenticationPassphrase = c.AuthPassword
		}
		if g.MsgFlags&gosnmp.AuthPriv == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[strings.ToUpper(c.PrivProtocol)]
			usm.PrivacyPassphrase = c.PrivPassword
		}
		g.SecurityParameters = usm
	}
	return g
}

// requestOIDs is gosnmp's bound on any request's OIDs: the GETs are split
// at MaxOIDs by the poll itself, a GETBULK may ask for more columns (see
// maxBulkColumns).
func (c *Config) requestOIDs() int { return min(max(c.MaxOIDs, maxBulkColumns), gosnmp.MaxOids) }

// reuse sets up an idle v1/v2c client, connected before for another
// device, for this device; c.client sets the same fields on a new one.
func (c *Config) reuse(g *gosnmp.GoSNMP, host string, port uint16) {
	g.Target, g.Port, g.Community = host, port, c.Community
	g.Timeout, g.Retries = c.Timeout, c.Retries
	g.MaxOids, g.MaxRepetitions = c.requestOIDs(), uint32(c.MaxRepetitions)
	g.Version = gosnmp.Version2c
	if c.Version == "1" {
		g.Version = gosnmp.Version1
	}
}

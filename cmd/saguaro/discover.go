package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/poller/snmp"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// discoverOptions are the command line of `saguaro discover`.
type discoverOptions struct {
	snmp    snmp.Config // version, credentials, timeout; Address set per host
	apply   string
	timeout time.Duration // of one host's whole discovery
}

func discoverCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: saguaro discover [flags] HOST[:PORT]...

Asks each host's SNMP agent for its system group and for the tables of the
SNMP device templates, proposes the template that fits best and prints the
devices: entries for the configuration. With --apply FILE they are added to
FILE, which is checked before it is replaced.

Flags:
`)
		fs.PrintDefaults()
	}
	var o discoverOptions
	fs.StringVar(&o.snmp.Version, "version", "2c", "SNMP version: 1, 2c or 3")
	fs.StringVar(&o.snmp.Community, "community", "public", "community (v1, v2c)")
	fs.StringVar(&o.snmp.SecurityLevel, "security-level", "authPriv", "v3: noAuthNoPriv, authNoPriv or authPriv")
	fs.StringVar(&o.snmp.Username, "username", "", "v3 user name")
	fs.StringVar(&o.snmp.AuthProtocol, "auth-protocol", "SHA", "v3: MD5, SHA, SHA224, SHA256, SHA384, SHA512")
	fs.StringVar(&o.snmp.AuthPassword, "auth-password", "", "v3 authentication pass phrase")
	fs.StringVar(&o.snmp.PrivProtocol, "priv-protocol", "AES", "v3: DES, AES, AES192, AES256, AES192C, AES256C")
	fs.StringVar(&o.snmp.PrivPassword, "priv-password", "", "v3 privacy pass phrase")
	fs.DurationVar(&o.snmp.Timeout, "request-timeout", 2*time.Second, "timeout of one SNMP request")
	fs.IntVar(&o.snmp.Retries, "retries", 1, "retries of one SNMP request")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time for one host's whole discovery")
	fs.StringVar(&o.apply, "apply", "", "add the proposed devices to this configuration file")
	// Flags may come after hosts too: parse up to each host in turn.
	var hosts []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		hosts, args = append(hosts, args[0]), args[1:]
	}
	if len(hosts) == 0 {
		fs.Usage()
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "saguaro discover: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runDiscover(ctx, o, hosts, stdout, stderr)
}

// check refuses credentials the configuration would refuse later.
func (o *discoverOptions) check() error {
	switch o.snmp.Version {
	case "1", "2c":
		if o.snmp.Community == "" {
			return errors.New("--community must not be empty")
		}
		// v3 flags keep their defaults but mean nothing here.
		o.snmp.SecurityLevel, o.snmp.AuthProtocol, o.snmp.PrivProtocol = "", "", ""
	case "3":
		o.snmp.Community = ""
		if o.snmp.Username == "" {
			return errors.New("--username is needed for SNMP v3")
		}
		switch o.snmp.SecurityLevel {
		case "noAuthNoPriv":
			o.snmp.AuthProtocol, o.snmp.PrivProtocol = "", ""
		case "authNoPriv":
			o.snmp.PrivProtocol = ""
		case "authPriv":
		default:
			return fmt.Errorf("--security-level %q: want noAuthNoPriv, authNoPriv or authPriv", o.snmp.SecurityLevel)
		}
	default:
		return fmt.Errorf("--version %q: want 1, 2c or 3", o.snmp.Version)
	}
	if o.timeout <= o.snmp.Timeout {
		return fmt.Errorf("--timeout %v must be longer than --request-timeout %v", o.timeout, o.snmp.Timeout)
	}
	return nil
}

// proposal is one host's discovery: what answered and the device entry.
type proposal struct {
	host    string
	found   *snmp.Discovery
	matches []templateMatch // best first
	device  *discoveredDevice
	skipped string // why no entry is proposed
}

// templateMatch is how much of one device template a host answers.
type templateMatch struct {
	name           string
	scalars, of    int // scalars that answered, of the template's
	tables         []tableFound
	found, objects int // answered scalars + tables with rows, of all
}

type tableFound struct {
	name, label string
	rows        []snmp.Row
}

// discoveredDevice is a devices: entry of the configuration file.
type discoveredDevice struct {
	Name     string         `yaml:"name"`
	Template string         `yaml:"template"`
	SNMP     discoveredSNMP `yaml:"snmp"`
}

type discoveredSNMP struct {
	Address       string `yaml:"address"`
	Version       string `yaml:"version"`
	Community     string `yaml:"community,omitempty"`
	SecurityLevel string `yaml:"security_level,omitempty"`
	Username      string `yaml:"username,omitempty"`
	AuthProtocol  string `yaml:"auth_protocol,omitempty"`
	AuthPassword  string `yaml:"auth_password,omitempty"`
	PrivProtocol  string `yaml:"priv_protocol,omitempty"`
	PrivPassword  string `yaml:"priv_password,omitempty"`
}

func runDiscover(ctx context.Context, o discoverOptions, hosts []string, stdout, stderr io.Writer) int {
	set, existing, err := discoverTemplates(o.apply)
	if err != nil {
		fmt.Fprintf(stderr, "saguaro discover: %v\n", err)
		return 1
	}
	names := map[string]bool{}
	addrs := map[string]string{}
	if existing != nil {
		for _, d := range existing.Devices {
			names[d.Name] = true
			if d.SNMP != nil {
				addrs[withPort(d.SNMP.Address)] = d.Name
			}
		}
	}
	req, tables := discoverRequest(set)
	code := 0
	var props []*proposal
	for _, h := range hosts {
		p := &proposal{host: withPort(h)}
		props = append(props, p)
		if dev, dup := addrs[p.host]; dup {
			p.skipped = fmt.Sprintf("already configured as device %q", dev)
			continue
		}
		cfg := o.snmp
		cfg.Address, cfg.Device = p.host, h
		hctx, cancel := context.WithTimeout(ctx, o.timeout)
		p.found, err = snmp.Discover(hctx, cfg, req)
		cancel()
		if err != nil {
			p.skipped = err.Error()
			code = 1
			continue
		}
		p.matches = matchTemplates(set, tables, p.found)
		if len(p.matches) == 0 {
			p.skipped = "no SNMP device template fits (none has half its objects answering)"
			code = 1
			continue
		}
		name := deviceName(p.found.SysName, h, names)
		names[name] = true
		addrs[p.host] = name
		p.device = &discoveredDevice{Name: name, Template: p.matches[0].name, SNMP: discoveredSNMP{
			Address: p.host, Version: o.snmp.Version, Community: o.snmp.Community,
			SecurityLevel: o.snmp.SecurityLevel, Username: o.snmp.Username,
			AuthProtocol: o.snmp.AuthProtocol, AuthPassword: o.snmp.AuthPassword,
			PrivProtocol: o.snmp.PrivProtocol, PrivPassword: o.snmp.PrivPassword,
		}}
	}
	entries, text, err := renderProposals(props)
	if err != nil {
		fmt.Fprintf(stderr, "saguaro discover: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, text)
	if o.apply != "" && len(entries) > 0 {
		if err := applyDevices(o.apply, entries); err != nil {
			fmt.Fprintf(stderr, "saguaro discover: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "saguaro discover: added %d device(s) to %s\n", len(entries), o.apply)
	}
	return code
}

// discoverTemplates loads the templates in force: the file's when one is
// to be changed (its templates.dirs count), else the built-in ones.
func discoverTemplates(file string) (*templates.Set, *config.Config, error) {
	if file == "" {
		set, err := templates.Load()
		return set, nil, err
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		set, err := templates.Load()
		return set, nil, err
	}
	cfg, set, err := loadAll(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%s must be valid before devices are added to it: %w", file, err)
	}
	return set, cfg, nil
}

// tableRef is the column walked to learn a template table's rows: its
// first label column (names a person recognises), else its first column.
type tableRef struct{ template, name, label, oid string }

func discoverRequest(set *templates.Set) (snmp.DiscoverRequest, []tableRef) {
	var req snmp.DiscoverRequest
	var refs []tableRef
	seenS, seenC := map[string]bool{}, map[string]bool{}
	for _, name := range set.DeviceNames() {
		d := set.Devices[name]
		if d.SNMP == nil {
			continue
		}
		for _, s := range d.SNMP.Scalars {
			if o := dotted(s.OID); !seenS[o] {
				seenS[o] = true
				req.Scalars = append(req.Scalars, o)
			}
		}
		for _, t := range d.SNMP.Tables {
			r := tableRef{template: name, name: t.Name, label: t.IndexLabel, oid: dotted(t.Columns[0].OID)}
			if len(t.Labels) > 0 {
				l := t.Labels[0]
				if len(t.Identity) > 0 {
					for _, x := range t.Labels {
						if x.Name == t.Identity[0] {
							l = x
						}
					}
				}
				r.label, r.oid = l.Name, dotted(l.OID)
			}
			refs = append(refs, r)
			if !seenC[r.oid] {
				seenC[r.oid] = true
				req.Columns = append(req.Columns, r.oid)
			}
		}
	}
	return req, refs
}

func dotted(oid string) string {
	if strings.HasPrefix(oid, ".") {
		return oid
	}
	return "." + oid
}

// matchTemplates scores each SNMP template by the share of its scalars
// that answer and tables that have rows; those with at least half come
// back, best first.
func matchTemplates(set *templates.Set, refs []tableRef, d *snmp.Discovery) []templateMatch {
	var out []templateMatch
	for _, name := range set.DeviceNames() {
		t := set.Devices[name]
		if t.SNMP == nil {
			continue
		}
		m := templateMatch{name: name, of: len(t.SNMP.Scalars)}
		for _, s := range t.SNMP.Scalars {
			if d.Scalars[dotted(s.OID)] {
				m.scalars++
			}
		}
		m.found, m.objects = m.scalars, m.of
		for _, r := range refs {
			if r.template != name {
				continue
			}
			m.objects++
			rows := d.Columns[r.oid]
			if len(rows) > 0 {
				m.found++
			}
			m.tables = append(m.tables, tableFound{name: r.name, label: r.label, rows: rows})
		}
		if m.found > 0 && 2*m.found >= m.objects {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b templateMatch) int {
		// Compare found/objects without division: a.f/a.o vs b.f/b.o.
		if x, y := a.found*b.objects, b.found*a.objects; x != y {
			return y - x
		}
		return b.found - a.found
	})
	return out
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// deviceName makes a configuration name from sysName (else the host),
// unique among taken.
func deviceName(sysName, host string, taken map[string]bool) string {
	base := sysName
	if base == "" {
		base, _, _ = strings.Cut(host, ":")
	}
	base = strings.Trim(unsafeName.ReplaceAllString(base, "-"), "-._")
	if base == "" {
		base = "device"
	}
	if len(base) > 56 {
		base = base[:56]
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// withPort adds SNMP's port 161 to a bare host.
func withPort(h string) string {
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
		return net.JoinHostPort(h, "161") // bare IPv6
	}
	return net.JoinHostPort(strings.Trim(h, "[]"), "161")
}

// renderProposals returns the entries as YAML nodes, each headed by what
// discovery found, and the whole text to print.
func renderProposals(props []*proposal) ([]*yaml.Node, string, error) {
	var entries []*yaml.Node
	var notes []string
	for _, p := range props {
		if p.device == nil {
			notes = append(notes, fmt.Sprintf("# %s: %s", p.host, p.skipped))
			continue
		}
		var n yaml.Node
		if err := n.Encode(p.device); err != nil {
			return nil, "", err
		}
		n.HeadComment = strings.Join(summary(p), "\n")
		entries = append(entries, &n)
	}
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	if len(entries) == 0 {
		return nil, b.String(), nil
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "devices"},
		{Kind: yaml.SequenceNode, Content: entries},
	}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, "", err
	}
	b.Write(buf.Bytes())
	return entries, b.String(), nil
}

// summary says, as comment lines, what the host is and has.
func summary(p *proposal) []string {
	d := p.found
	vendor := snmp.Vendor(d.SysObjectID)
	if vendor != "" {
		vendor = " (" + vendor + ")"
	}
	lines := []string{
		fmt.Sprintf("# %s: sysName %q, sysObjectID %s%s, up %s", p.host, d.SysName, d.SysObjectID, vendor, d.SysUpTime.Truncate(time.Second)),
		fmt.Sprintf("#   sysDescr %q", clip(d.SysDescr, 100)),
	}
	for i, m := range p.matches {
		head := "proposed"
		if i > 0 {
			head = "also fits"
		}
		lines = append(lines, fmt.Sprintf("#   %s: template %s (%d of %d objects answer; scalars %d/%d)", head, m.name, m.found, m.objects, m.scalars, m.of))
		if i > 0 {
			continue
		}
		for _, t := range m.tables {
			if len(t.rows) == 0 {
				lines = append(lines, fmt.Sprintf("#     table %s: no rows", t.name))
				continue
			}
			vals := make([]string, 0, len(t.rows))
			for _, r := range t.rows {
				vals = append(vals, r.Value)
			}
			lines = append(lines, fmt.Sprintf("#     table %s: %d rows, %s: %s", t.name, len(t.rows), t.label, clip(strings.Join(vals, ", "), 160)))
		}
	}
	for _, e := range d.Problems {
		lines = append(lines, "#   problem: "+clip(e.Error(), 200))
	}
	return lines
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// applyDevices appends entries to the devices: list of the configuration
// file (creating it when missing), checks the result as `check-config`
// and `serve` would, and only then replaces the file, atomically.
func applyDevices(file string, entries []*yaml.Node) error {
	data, err := os.ReadFile(file)
	mode := os.FileMode(0o600) // a new file holds communities
	if err == nil {
		if st, err := os.Stat(file); err == nil {
			mode = st.Mode().Perm()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var doc yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, HeadComment: doc.HeadComment, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: the top level is not a mapping of settings", file)
	}
	var seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "devices" {
			seq = root.Content[i+1]
		}
	}
	switch {
	case seq == nil:
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "devices"}, seq)
	case seq.Kind == yaml.ScalarNode && seq.Tag == "!!null":
		*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", LineComment: seq.LineComment}
	case seq.Kind != yaml.SequenceNode:
		return fmt.Errorf("%s: devices is not a list", file)
	}
	// Entries with comments only read well in block style.
	seq.Style &^= yaml.FlowStyle
	seq.Content = append(seq.Content, entries...)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is none
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	cfg, set, err := loadAll(tmp.Name())
	if err == nil {
		_, err = buildTargets(cfg, set)
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), tmp.Name(), file)
		return fmt.Errorf("%s left unchanged: with the new devices it would not be valid:\n%s", file, msg)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	if dir, err := os.Open(filepath.Dir(file)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

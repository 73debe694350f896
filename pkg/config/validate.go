package config

import (
	"github.com/saguaro-monitoring/saguaro/pkg/metric"

	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one setting. Path names the setting the
// way a person finds it in the YAML file: "devices[3].snmp.timeout".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Interval bounds for polling; faster or slower polling is a typo more often
// than a wish.
const (
	MinInterval = 10 * time.Second
	MaxInterval = time.Hour
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// MaxSiteDepth bounds the segments of a device's site path.
const MaxSiteDepth = 4

var siteSegRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,63}$`)

// CheckSite checks a device's site path: "" (no site) or up to
// MaxSiteDepth segments of letters, digits, '.', '_' and '-' joined by '/'.
// Scope tree globs match these paths, so '*', '?' and '[' are refused.
func CheckSite(site string) error {
	if site == "" {
		return nil
	}
	segs := strings.Split(site, "/")
	if len(segs) > MaxSiteDepth {
		return fmt.Errorf("%q has %d levels, at most %d", site, len(segs), MaxSiteDepth)
	}
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("%q has an empty level (a leading, trailing or doubled '/')", site)
		}
		if s == "." || s == ".." || !siteSegRE.MatchString(s) {
			return fmt.Errorf("%q: level %q: use letters, digits, '.', '_' and '-' (at most 63), levels joined by '/'", site, s)
		}
	}
	return nil
}

var logLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}

// Validate checks the whole configuration and returns every problem at once
// (errors.Join of *FieldError), or nil.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}

	// Port 0 asks the system for a free port (tests, side-by-side runs).
	if err := checkHostPort(c.Listen, false, true); err != nil {
		add("listen", "%v", err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir", "must not be empty")
	}
	if !logLevels[c.LogLevel] {
		add("log_level", "unknown level %q (want debug, info, warn or error)", c.LogLevel)
	}
	checkInterval(add, "poller", c.Poller.Interval, c.Poller.Timeout)
	checkLimit(add, "poller.max_concurrent", c.Poller.MaxConcurrent)
	checkLimit(add, "poller.device_max_concurrent", c.Poller.DeviceMaxConcurrent)
	if c.Poller.DownAfter < 0 {
		add("poller.down_after", "must be >= 0 (0 never backs off), got %d", c.Poller.DownAfter)
	}
	if c.Poller.MaxBackoff < time.Second || c.Poller.MaxBackoff > MaxBackoff {
		add("poller.max_backoff", "must be between 1s and %v, got %v", MaxBackoff, c.Poller.MaxBackoff)
	}

	if c.Storage.RawRetention < 0 {
		add("storage.raw_retention", "must not be negative")
	}
	if c.Storage.Step < time.Second {
		add("storage.step", "must be at least 1s, got %v", c.Storage.Step)
	}
	for i, t := range c.Storage.Tiers {
		p := fmt.Sprintf("storage.tiers[%d]", i)
		if t.Step <= 0 || (c.Storage.Step > 0 && t.Step%c.Storage.Step != 0) {
			add(p+".step", "must be a positive multiple of storage.step (%v), got %v", c.Storage.Step, t.Step)
		}
		if t.Retention < t.Step {
			add(p+".retention", "must be at least the tier's step, got %v", t.Retention)
		}
		if t.XFF < 0 || t.XFF >= 1 {
			add(p+".xff", "must be in [0, 1), got %v", t.XFF)
		}
		seenCF := map[metric.CF]bool{}
		for j, name := range t.CFs {
			cf, err := metric.ParseCF(name)
			switch {
			case err != nil:
				add(fmt.Sprintf("%s.cfs[%d]", p, j), "%v", err)
			case seenCF[cf]:
				add(fmt.Sprintf("%s.cfs[%d]", p, j), "%s is listed twice", cf)
			}
			seenCF[cf] = true
		}
		if i > 0 && t.Step <= c.Storage.Tiers[i-1].Step {
			add(p+".step", "tiers must be ordered by growing step")
		}
	}

	c.validateAuth(add)

	seen := map[string]int{}
	for i, d := range c.Devices {
		p := fmt.Sprintf("devices[%d]", i)
		if j, dup := seen[d.Name]; dup && nameRE.MatchString(d.Name) {
			add(p+".name", "%q is already used by devices[%d]", d.Name, j)
		} else if !dup {
			seen[d.Name] = i
		}
		c.validateDevice(add, p+".", d)
	}
	return errors.Join(errs...)
}

// validateDevice checks one device; p prefixes every path ("devices[3]."
// in a file, "" for a device on its own).
func (c *Config) validateDevice(add func(string, string, ...any), p string, d Device) {
	switch {
	case d.Name == "":
		add(p+"name", "must be set")
	case !nameRE.MatchString(d.Name):
		add(p+"name", "%q: use letters, digits, '.', '_' and '-' (at most 63)", d.Name)
	}
	if d.Template == "" {
		add(p+"template", "must name a device template")
	}
	if err := CheckSite(d.Site); err != nil {
		add(p+"site", "%v", err)
	}
	checkInterval(add, strings.TrimSuffix(p, "."), d.Interval, d.Timeout)
	if d.MaxConcurrent != nil {
		checkLimit(add, p+"max_concurrent", *d.MaxConcurrent)
	}
	var sections []string
	for _, s := range []struct {
		name string
		set  bool
	}{{"snmp", d.SNMP != nil}, {"http", d.HTTP != nil}, {"script", d.Script != nil}, {"probe", d.Probe != nil}} {
		if s.set {
			sections = append(sections, s.name)
		}
	}
	whole := strings.TrimSuffix(p, ".")
	if whole == "" {
		whole = "(device)"
	}
	switch {
	case len(sections) == 0:
		add(whole, "needs an snmp, http, script or probe section")
	case len(sections) > 1:
		add(whole, "has both %s sections; use one device per protocol", strings.Join(sections, " and "))
	case d.SNMP != nil:
		c.validateSNMP(add, p+"snmp", d.SNMP, d.Timeout)
	case d.HTTP != nil:
		c.validateHTTP(add, p+"http", d.HTTP)
	case d.Script != nil:
		validateScript(add, p+"script", d.Script, d.Timeout)
	default:
		validateProbe(add, p+"probe", d.Probe, d.Timeout)
	}
}

// joinPath appends a key to a path that may be empty.
func joinPath(p, key string) string {
	if p == "" {
		return key
	}
	return p + "." + key
}

// MaxBackoff bounds poller.max_backoff: a device down for long is still
// tried at least daily.
const MaxBackoff = 24 * time.Hour

// checkLimit checks a bound on concurrent polls, where 0 means no bound.
func checkLimit(add func(string, string, ...any), p string, n int) {
	if n < 0 {
		add(p, "must be >= 0 (0 means no bound), got %d", n)
	}
}

func checkInterval(add func(string, string, ...any), p string, interval, timeout time.Duration) {
	if interval < MinInterval || interval > MaxInterval {
		add(joinPath(p, "interval"), "must be between %v and %v, got %v", MinInterval, MaxInterval, interval)
	}
	if timeout <= 0 {
		add(joinPath(p, "timeout"), "must be positive, got %v", timeout)
	} else if timeout >= interval {
		add(joinPath(p, "timeout"), "must be shorter than the interval (%v), got %v", interval, timeout)
	}
}

func (c *Config) validateSNMP(add func(string, string, ...any), p string, s *SNMP, pollTimeout time.Duration) {
	if err := checkHostPort(s.Address, true, false); err != nil {
		add(p+".address", "%v", err)
	}
	switch s.Version {
	case "1", "2c":
		if s.Community == "" {
			add(p+".community", "must be set for SNMP v%s", s.Version)
		}
	case "3":
		validateV3(add, p, s)
	default:
		add(p+".version", "unsupported version %q (want 1, 2c or 3)", s.Version)
	}
	if s.Timeout <= 0 || s.Timeout >= pollTimeout {
		add(p+".timeout", "must be positive and shorter than the device's poll timeout (%v), got %v", pollTimeout, s.Timeout)
	}
	if s.Retries < 0 || s.Retries > 10 {
		add(p+".retries", "must be between 0 and 10, got %d", s.Retries)
	}
	if s.MaxOIDs < 1 || s.MaxOIDs > 128 {
		add(p+".max_oids", "must be between 1 and 128, got %d", s.MaxOIDs)
	}
	if s.MaxRepetitions < 1 || s.MaxRepetitions > 255 {
		add(p+".max_repetitions", "must be between 1 and 255, got %d", s.MaxRepetitions)
	}
}

// MaxSessionTTL bounds auth.session_ttl: a login that lasts longer is a
// password written down.
const MaxSessionTTL = 30 * 24 * time.Hour

func (c *Config) validateAuth(add func(string, string, ...any)) {
	a := c.Auth
	if a.SessionTTL <= 0 || a.SessionTTL > MaxSessionTTL {
		add("auth.session_ttl", "must be between 1s and %v, got %v", MaxSessionTTL, a.SessionTTL)
	}
	for i, p := range a.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			add(fmt.Sprintf("auth.trusted_proxies[%d]", i), "%q is not an address or CIDR range", p)
		}
	}
	if a.ProxyHeader != "" && len(a.TrustedProxies) == 0 {
		add("auth.proxy_header", "needs auth.trusted_proxies: a header anyone can send is no sign-in")
	}
	switch a.ProxyAutoCreate {
	case "", "viewer", "editor", "admin":
	default:
		add("auth.proxy_auto_create", "%q is not a role (want viewer, editor or admin, or leave it empty)", a.ProxyAutoCreate)
	}
	for i, o := range a.TrustedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			add(fmt.Sprintf("auth.trusted_origins[%d]", i), "%q is not an origin such as https://grafana.example.com", o)
		}
	}
}

// TrustedProxyPrefixes returns auth.trusted_proxies as prefixes (a bare
// address is a one-address range). Call after Validate.
func (a Auth) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range a.TrustedProxies {
		if pre, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pre.Masked())
		} else if addr, err := netip.ParseAddr(p); err == nil {
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
		}
	}
	return out
}

var (
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
)

func validateV3(add func(string, string, ...any), p string, s *SNMP) {
	if s.Username == "" {
		add(p+".username", "must be set for SNMP v3")
	}
	needAuth, needPriv := false, false
	switch s.SecurityLevel {
	case "noAuthNoPriv":
	case "authNoPriv":
		needAuth = true
	case "authPriv":
		needAuth, needPriv = true, true
	default:
		add(p+".security_level", "%q is not a level (want noAuthNoPriv, authNoPriv or authPriv)", s.SecurityLevel)
		return
	}
	check := func(key, proto string, protos []string, pw Secret, need bool) {
		if !need {
			if proto != "" || pw != "" {
				add(p+"."+key+"_protocol", "is set but security_level %s does not use it", s.SecurityLevel)
			}
			return
		}
		if !slices.Contains(protos, proto) {
			add(p+"."+key+"_protocol", "%q is not one of %s", proto, strings.Join(protos, ", "))
		}
		// net-snmp refuses pass phrases shorter than 8 characters.
		if len(pw) < 8 {
			add(p+"."+key+"_password", "must be at least 8 characters")
		}
	}
	check("auth", s.AuthProtocol, authProtocols, s.AuthPassword, needAuth)
	check("priv", s.PrivProtocol, privProtocols, s.PrivPassword, needPriv)
}

func (c *Config) validateHTTP(add func(string, string, ...any), p string, h *HTTP) {
	u, err := url.Parse(c.ExpandURL(h.URL))
	switch {
	case h.URL == "":
		add(p+".url", "must be set")
	case err != nil:
		add(p+".url", "%v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		add(p+".url", "%q: scheme must be http or https", h.URL)
	case u.Host == "":
		add(p+".url", "%q: no host", h.URL)
	}
	if h.MaxBody <= 0 {
		add(p+".max_body", "must be positive, got %d", h.MaxBody)
	}
	if h.Timeout <= 0 {
		add(p+".timeout", "must be positive, got %v", h.Timeout)
	}
	for _, k := range sortedKeys(h.Headers) {
		if !headerNameRE.MatchString(k) {
			add(p+".headers", "%q is not a header name", k)
		}
	}
	if h.Password != "" && h.Username == "" {
		add(p+".password", "is set without a username")
	}
	if h.Username != "" && strings.Contains(h.Username, ":") {
		add(p+".username", "must not contain ':' (basic auth)")
	}
	if (h.TLS.CertFile == "") != (h.TLS.KeyFile == "") {
		add(p+".tls", "cert_file and key_file go together")
	}
	tlsSet := h.TLS.InsecureSkipVerify || h.TLS.CAFile != "" || h.TLS.CertFile != "" || h.TLS.ServerName != ""
	if tlsSet && err == nil && u.Scheme == "http" {
		add(p+".tls", "is set but the URL is plain http")
	}
	if h.TLS.InsecureSkipVerify && h.TLS.CAFile != "" {
		add(p+".tls.insecure_skip_verify", "makes ca_file pointless; use one of them")
	}
}

// headerNameRE is RFC 9110's token, the characters a field name may hold.
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func validateScript(add func(string, string, ...any), p string, s *Script, pollTimeout time.Duration) {
	switch {
	case s.Command == "":
		add(p+".command", "must be set (the program's absolute path)")
	case !filepath.IsAbs(s.Command):
		add(p+".command", "%q: use an absolute path (the command runs without a shell or PATH search)", s.Command)
	}
	if s.Timeout <= 0 || s.Timeout > pollTimeout {
		add(p+".timeout", "must be positive and at most the device's poll timeout (%v), got %v", pollTimeout, s.Timeout)
	}
	for i, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			add(fmt.Sprintf("%s.env[%d]", p, i), "%q is not KEY=value", e)
		}
	}
}

// ProbeKinds are the latency probe kinds.
var ProbeKinds = []string{"tcp", "http", "icmp"}

// MaxProbes bounds the probes of one poll; SmokePing's default is 20.
const MaxProbes = 100

func validateProbe(add func(string, string, ...any), p string, pr *Probe, pollTimeout time.Duration) {
	switch pr.Kind {
	case "tcp":
		if err := checkHostPort(pr.Target, false, false); err != nil {
			add(p+".target", "%v", err)
		}
	case "http":
		u, err := url.Parse(pr.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(p+".target", "%q is not an http(s) URL", pr.Target)
		}
	case "icmp":
		if pr.Target == "" || strings.ContainsAny(pr.Target, ":/ ") {
			add(p+".target", "%q: want a host name or IPv4 address", pr.Target)
		}
	case "":
		// The template's kind applies; its collector checks the target.
		if strings.TrimSpace(pr.Target) == "" {
			add(p+".target", "must be set")
		}
	default:
		add(p+".kind", "%q is not a probe kind (want tcp, http or icmp)", pr.Kind)
	}
	if pr.Count < 0 || pr.Count > MaxProbes {
		add(p+".count", "must be between 1 and %d, got %d", MaxProbes, pr.Count)
	}
	if pr.Spacing < 0 {
		add(p+".spacing", "must not be negative, got %v", pr.Spacing)
	}
	if pr.Timeout < 0 || pr.Timeout >= pollTimeout {
		add(p+".timeout", "one probe's timeout must be below the device's poll timeout (%v), got %v", pollTimeout, pr.Timeout)
	}
	// The probes of a poll must fit in it: the last starts after
	// (count-1) spacings and may take a whole probe timeout.
	if pr.Count > 0 && pr.Spacing > 0 && pr.Timeout > 0 {
		if need := time.Duration(pr.Count-1)*pr.Spacing + pr.Timeout; need >= pollTimeout {
			add(p, "%d probes %v apart with a %v timeout need %v, more than the device's poll timeout (%v)", pr.Count, pr.Spacing, pr.Timeout, need, pollTimeout)
		}
	}
	for i, q := range pr.Percentiles {
		if !(q > 0 && q < 100) {
			add(fmt.Sprintf("%s.percentiles[%d]", p, i), "must be a percentile between 0 and 100 (exclusive), got %v", q)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkHostPort accepts host:port; with portOptional a bare host is fine
// too, with zeroPort port 0 (any free port).
func checkHostPort(s string, portOptional, zeroPort bool) error {
	if s == "" {
		return errors.New("must be set (host:port)")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if portOptional && !strings.Contains(s, ":") {
			return nil
		}
		return fmt.Errorf("%q is not host:port", s)
	}
	_ = host
	n, err := strconv.Atoi(port)
	if zeroPort && err == nil && n == 0 {
		return nil
	}
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return nil
}

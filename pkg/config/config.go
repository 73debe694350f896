package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/prometheus/common/model"
	"github.com/spf13/viper"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Secret is a string that never prints: SNMP communities, keys, passwords.
type Secret string

// String hides the value in logs and error messages.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the value from %#v as well.
func (s Secret) GoString() string { return `config.Secret("<secret>")` }

// Reveal returns the value for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration of one Saguaro process.
type Config struct {
	Listen    string    `mapstructure:"listen"`
	DataDir   string    `mapstructure:"data_dir"`
	LogLevel  string    `mapstructure:"log_level"`
	Poller    Poller    `mapstructure:"poller"`
	Storage   Storage   `mapstructure:"storage"`
	Templates Templates `mapstructure:"templates"`
	Auth      Auth      `mapstructure:"auth"`
	Devices   []Device  `mapstructure:"devices"`
}

// Poller holds the defaults every device inherits and the bounds of the
// whole poller.
type Poller struct {
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	// MaxConcurrent bounds the polls running at once over all devices
	// (0: no bound). A poll that finds no slot before its next tick is
	// skipped and counted as skipped.
	MaxConcurrent int `mapstructure:"max_concurrent"`
	// DeviceMaxConcurrent is what a device's max_concurrent defaults to.
	DeviceMaxConcurrent int `mapstructure:"device_max_concurrent"`
	// DownAfter is how many consecutive polls must fail without a sample
	// before a device counts as down and is polled less often (0: never).
	DownAfter int `mapstructure:"down_after"`
	// MaxBackoff is the longest gap between the polls of a down device.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
}

// Storage sets how long data is kept and at which resolutions.
type Storage struct {
	RawRetention time.Duration `mapstructure:"raw_retention"`
	Step         time.Duration `mapstructure:"step"`
	Tiers        []Tier        `mapstructure:"tiers"`
}

// Tier is one consolidation level: rows of Step kept for Retention.
type Tier struct {
	Step      time.Duration `mapstructure:"step"`
	Retention time.Duration `mapstructure:"retention"`
	XFF       float64       `mapstructure:"xff"`
	// CFs are the consolidation functions the tier keeps (AVERAGE, MIN,
	// MAX, LAST); empty keeps AVERAGE and MAX, as Cacti's profiles do.
	CFs []string `mapstructure:"cfs"`
}

// Auth sets how people and scripts sign in (see docs/auth.md).
type Auth struct {
	// Anonymous lets requests without credentials browse as a read-only
	// viewer (wall displays). Off by default.
	Anonymous bool `mapstructure:"anonymous"`
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	// SecureCookies marks session cookies Secure even on plain HTTP, for
	// TLS terminated by a proxy.
	SecureCookies bool `mapstructure:"secure_cookies"`
	// ProxyHeader names the header a trusted reverse proxy sets to the
	// signed-in user (e.g. X-Remote-User); empty turns it off.
	ProxyHeader string `mapstructure:"proxy_header"`
	// TrustedProxies are the addresses or CIDR ranges allowed to set
	// ProxyHeader and X-Forwarded-For.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// ProxyAutoCreate is the role (viewer, editor, admin) given to users a
	// proxy names that do not exist yet; empty refuses them.
	ProxyAutoCreate string `mapstructure:"proxy_auto_create"`
	// TrustedOrigins are other origins allowed to post the login form.
	TrustedOrigins []string `mapstructure:"trusted_origins"`
}

// Templates names directories of extra YAML templates, loaded after the
// built-in ones (a template of the same name replaces the built-in).
type Templates struct {
	Dirs []string `mapstructure:"dirs"`
}

// Device is one thing to poll, by exactly one protocol.
type Device struct {
	Name     string `mapstructure:"name"`
	Template string `mapstructure:"template"`
	// Site places the device in the tree of the web UI, like a Cacti
	// tree header: a path of up to MaxSiteDepth segments ("emea/fra1").
	// Empty: the device belongs to no site.
	Site     string        `mapstructure:"site"`
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	// MaxConcurrent bounds the polls of the device's targets running at
	// once (0: no bound); unset, poller.device_max_concurrent applies. A
	// pointer, so that an explicit 0 can lift a default bound.
	MaxConcurrent *int    `mapstructure:"max_concurrent"`
	SNMP          *SNMP   `mapstructure:"snmp"`
	HTTP          *HTTP   `mapstructure:"http"`
	Script        *Script `mapstructure:"script"`
	Probe         *Probe  `mapstructure:"probe"`
}

// PollLimit is the bound on the device's polls running at once: its
// max_concurrent, 0 (no bound) when unset.
func (d *Device) PollLimit() int {
	if d.MaxConcurrent == nil {
		return 0
	}
	return *d.MaxConcurrent
}

// Protocol names the device's one protocol section: "snmp", "http",
// "script" or "probe" ("" when none is set).
func (d *Device) Protocol() string {
	switch {
	case d.SNMP != nil:
		return "snmp"
	case d.HTTP != nil:
		return "http"
	case d.Script != nil:
		return "script"
	case d.Probe != nil:
		return "probe"
	}
	return ""
}

// SNMP is how to reach a device's agent.
type SNMP struct {
	Address        string        `mapstructure:"address"`
	Version        string        `mapstructure:"version"`
	Community      Secret        `mapstructure:"community"`
	Timeout        time.Duration `mapstructure:"timeout"`
	Retries        int           `mapstructure:"retries"`
	MaxOIDs        int           `mapstructure:"max_oids"`
	MaxRepetitions int           `mapstructure:"max_repetitions"`

	// SNMPv3 (version "3").
	SecurityLevel string `mapstructure:"security_level"` // noAuthNoPriv, authNoPriv, authPriv
	Username      string `mapstructure:"username"`
	AuthProtocol  string `mapstructure:"auth_protocol"` // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassword  Secret `mapstructure:"auth_password"`
	PrivProtocol  string `mapstructure:"priv_protocol"` // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassword  Secret `mapstructure:"priv_password"`
	ContextName   string `mapstructure:"context_name"`
}

// HTTP is where to scrape a device's metrics. The body's format (Prometheus
// text, JSON, Apache or nginx status, a bare probe) is the template's.
type HTTP struct {
	URL     string        `mapstructure:"url"`
	Timeout time.Duration `mapstructure:"timeout"`
	MaxBody int64         `mapstructure:"max_body"`
	// Headers are added to every request. Values are secrets (they often
	// carry tokens); names are case-insensitive, as in HTTP.
	Headers  map[string]Secret `mapstructure:"headers"`
	Username string            `mapstructure:"username"` // basic auth when set
	Password Secret            `mapstructure:"password"`
	TLS      TLS               `mapstructure:"tls"`
}

// TLS holds the options of an https URL.
type TLS struct {
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
	CAFile             string `mapstructure:"ca_file"`   // PEM CAs to trust instead of the system's
	CertFile           string `mapstructure:"cert_file"` // client certificate (PEM), with key_file
	KeyFile            string `mapstructure:"key_file"`
	ServerName         string `mapstructure:"server_name"` // when it differs from the URL's host
}

// Script is a command run every poll, as Cacti's script data input: it
// prints one number or "name:value" pairs. It runs without a shell; its
// process group is killed when Timeout expires.
type Script struct {
	Command string        `mapstructure:"command"` // absolute path of the program
	Args    []string      `mapstructure:"args"`
	Timeout time.Duration `mapstructure:"timeout"` // default: the device's timeout
	Dir     string        `mapstructure:"dir"`     // working directory
	Env     []string      `mapstructure:"env"`     // extra KEY=value pairs
}

// Probe measures round trips SmokePing style: Count probes per poll.
// Unset numbers come from the device template's probe section.
type Probe struct {
	Kind        string        `mapstructure:"kind"`   // tcp, http or icmp; default: the template's
	Target      string        `mapstructure:"target"` // host:port (tcp), URL (http), host (icmp)
	Count       int           `mapstructure:"count"`
	Spacing     time.Duration `mapstructure:"spacing"` // between probe starts
	Timeout     time.Duration `mapstructure:"timeout"` // of one probe
	Percentiles []float64     `mapstructure:"percentiles"`
}

// EnvPrefix prefixes every environment override: SAGUARO_LISTEN,
// SAGUARO_DATA_DIR, SAGUARO_POLLER_INTERVAL, SAGUARO_STORAGE_RAW_RETENTION...
const EnvPrefix = "SAGUARO"

// setDefaults registers every scalar setting, which is also what lets viper
// see its environment variable.
func setDefaults(v *viper.Viper) {
	v.SetDefault("listen", "127.0.0.1:8080")
	v.SetDefault("data_dir", "./data")
	v.SetDefault("log_level", "info")
	v.SetDefault("poller.interval", "60s")
	v.SetDefault("poller.timeout", "10s")
	// No global bound by default: a poll spends nearly all its time
	// waiting on the network, which costs a goroutine and a socket, and
	// targets are already spread over their interval by phase. A bound
	// that bit during an outage would make healthy devices skip polls
	// while dead ones sit out their timeouts (backoff thins those
	// instead). Set it where file descriptors or script processes must be
	// bounded.
	v.SetDefault("poller.max_concurrent", 0)
	// No per-device bound by default: a device is one target today, and
	// the scheduler never overlaps two polls of one target anyway.
	v.SetDefault("poller.device_max_concurrent", 0)
	// As the scheduler's defaults (poller.DefaultDownAfter,
	// DefaultMaxBackoff): down after 3 dead polls, then polled at least
	// every 10 minutes.
	v.SetDefault("poller.down_after", 3)
	v.SetDefault("poller.max_backoff", "10m")
	v.SetDefault("storage.raw_retention", "840h") // 35 days
	v.SetDefault("storage.step", "60s")
	v.SetDefault("storage.tiers", []map[string]any{})
	v.SetDefault("templates.dirs", []string{})
	v.SetDefault("auth.anonymous", false)
	v.SetDefault("auth.session_ttl", "12h")
	v.SetDefault("auth.secure_cookies", false)
	v.SetDefault("auth.proxy_header", "")
	v.SetDefault("auth.trusted_proxies", []string{})
	v.SetDefault("auth.proxy_auto_create", "")
	v.SetDefault("auth.trusted_origins", []string{})
	v.SetDefault("devices", []map[string]any{})
}

// Load reads the configuration file at path, or the embedded default when
// path is empty, applies environment overrides and validates the result.
// The error lists every problem found, each with its field path.
func Load(path string) (*Config, error) {
	var data []byte
	name := "embedded default config"
	if path == "" {
		data = defaultYAML
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		data, name = b, path
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// Parse decodes YAML configuration text strictly and validates it.
func Parse(data []byte) (*Config, error) {
	v := viper.New()
	setDefaults(v)
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var cfg Config
	err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		durationHook,
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return nil, decodeError(err)
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// decodeError turns mapstructure's messages into FieldErrors so that an
// unknown or mistyped key reads like every other problem.
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	var errs []error
	collect := func(e error) {
		if errors.As(e, &de) {
			path := de.Name()
			if path == "" || strings.HasPrefix(path, "config.") {
				path = "(top level)"
			}
			errs = append(errs, &FieldError{Path: path, Msg: de.Unwrap().Error()})
			return
		}
		errs = append(errs, e)
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			collect(e)
		}
	} else {
		collect(err)
	}
	return errors.Join(errs...)
}

// applyDefaults fills per-device settings inherited from the poller section.
func (c *Config) applyDefaults() {
	for i := range c.Devices {
		c.DeviceDefaults(&c.Devices[i])
	}
}

// DeviceDefaults fills what d leaves unset from the poller section and
// the protocol defaults, as Load does for every device of a file.
func (c *Config) DeviceDefaults(d *Device) {
	if d.Interval == 0 {
		d.Interval = c.Poller.Interval
	}
	if d.Timeout == 0 {
		d.Timeout = c.Poller.Timeout
	}
	if d.MaxConcurrent == nil {
		n := c.Poller.DeviceMaxConcurrent
		d.MaxConcurrent = &n
	}
	if d.SNMP != nil {
		s := d.SNMP
		if s.Version == "" {
			s.Version = "2c"
		}
		if s.Timeout == 0 {
			// One request's timeout leaves room for a retry in the poll.
			s.Timeout = min(2*time.Second, d.Timeout/2)
		}
		if s.MaxOIDs == 0 {
			s.MaxOIDs = 10
		}
		if s.MaxRepetitions == 0 {
			s.MaxRepetitions = 25
		}
		if s.Retries == 0 {
			s.Retries = 1
		}
	}
	if d.HTTP != nil {
		if d.HTTP.Timeout == 0 {
			d.HTTP.Timeout = d.Timeout
		}
		if d.HTTP.MaxBody == 0 {
			d.HTTP.MaxBody = 10 << 20
		}
	}
	if d.Script != nil && d.Script.Timeout == 0 {
		d.Script.Timeout = d.Timeout
	}
}

// ExpandURL replaces {listen} in a device URL with the web listen address,
// so the default config can poll Saguaro's own /metrics wherever it listens.
func (c *Config) ExpandURL(u string) string {
	return strings.ReplaceAll(u, "{listen}", c.Listen)
}

// durationHook decodes durations with the units operators write for
// retention as well as Go's: "90s", "5m", "36h", "14d", "2w", "10y", "1h30m".
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	return ParseDuration(data.(string))
}

// ParseDuration reads a duration in Go's units or the operator's: "90s",
// "5m", "1h30m", "14d", "2w", "10y" (a year is 365 days).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use units ms, s, m, h, d, w, y, e.g. 90s, 14d)", s)
	}
	return time.Duration(d), nil
}

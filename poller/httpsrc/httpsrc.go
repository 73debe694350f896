package httpsrc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Config describes one HTTP target.
type Config struct {
	Device  string
	URL     string
	Timeout time.Duration // of the whole request; default 10 s
	MaxBody int64         // bytes; default 10 MiB
	Labels  metric.Labels // added to every sample; device=Device wins
	// Include lists metric-name regular expressions (fully anchored) of the
	// samples to keep; empty keeps all. Histogram buckets (name_bucket) and
	// summary quantiles (name{quantile=...}) are kept only when a pattern
	// names them.
	Include []string

	// Format of the response: "prometheus" (the default), "json" (numbers
	// picked by JSON), "apache" (mod_status ?auto), "nginx" (stub_status),
	// or "probe" (only the response's status and time: probe_success,
	// probe_duration_seconds, probe_http_status_code; any status is data).
	Format string
	JSON   []JSONMetric // for Format "json"

	Headers            map[string]string // added to the request
	Username, Password string            // HTTP basic auth when Username is set
	InsecureSkipVerify bool              // accept any TLS certificate
	CAFile             string            // PEM CA certificates to trust instead of the system's
	CertFile, KeyFile  string            // PEM client certificate and key
	ServerName         string            // TLS server name, when it differs from the URL's host
}

// Formats.
const (
	FormatPrometheus = "prometheus"
	FormatJSON       = "json"
	FormatApache     = "apache"
	FormatNginx      = "nginx"
	FormatProbe      = "probe"
)

// Defaults applied by New.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMaxBody = 10 << 20
)

// Errors wrapped by Poll and New.
var (
	ErrConfig   = errors.New("invalid HTTP source configuration")
	ErrStatus   = errors.New("unexpected HTTP status")
	ErrTooLarge = errors.New("response body too large")
	ErrFormat   = errors.New("bad exposition format")
)

// Collector scrapes one URL. It implements poller.Collector and io.Closer.
type Collector struct {
	cfg     Config
	include []*regexp.Regexp
	common  metric.Labels
	json    []compiledJSON
	client  *http.Client
}

var (
	labelNameRe  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	metricNameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// New validates cfg and fills in defaults. It does not contact the target.
func New(cfg Config) (*Collector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("http target %q: %s: %w: %s", cfg.Device, field, ErrConfig, fmt.Sprintf(format, args...)))
	}
	if cfg.Device == "" {
		bad("device", "empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "%q is not an http(s) URL", cfg.URL)
	}
	if cfg.Timeout < 0 {
		bad("timeout", "%v is negative", cfg.Timeout)
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBody < 0 {
		bad("max_body", "%d is negative", cfg.MaxBody)
	} else if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	c := &Collector{cfg: cfg}
	for i, p := range cfg.Include {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			bad(fmt.Sprintf("include[%d]", i), "%q: %v", p, err)
			continue
		}
		c.include = append(c.include, re)
	}
	c.common = cfg.Labels.Merge(metric.New(metric.DeviceLabel, cfg.Device))
	switch cfg.Format {
	case "":
		c.cfg.Format = FormatPrometheus
	case FormatPrometheus, FormatApache, FormatNginx, FormatProbe:
	case FormatJSON:
		if len(cfg.JSON) == 0 {
			bad("json", "format json needs at least one metric")
		}
	default:
		bad("format", "%q (want prometheus, json, apache, nginx or probe)", cfg.Format)
	}
	if len(cfg.JSON) > 0 && cfg.Format != FormatJSON {
		bad("json", "JSON metrics need format json, not %q", c.cfg.Format)
	}
	for i, m := range cfg.JSON {
		segs, err := parsePath(m.Path)
		if err != nil {
			bad(fmt.Sprintf("json[%d].path", i), "%v", err)
		}
		if !metricNameRe.MatchString(m.Metric) {
			bad(fmt.Sprintf("json[%d].metric", i), "%q is not a valid metric name", m.Metric)
		}
		c.json = append(c.json, compiledJSON{m: m, segs: segs, base: m.Labels.Merge(c.common).With(metric.NameLabel, m.Metric)})
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			bad("headers", "%q is not a header name", k)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("http target %q: tls: %w: %v", cfg.Device, ErrConfig, err)
	}
	tr.TLSClientConfig = tlsCfg
	c.client = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	return c, nil
}

func (cfg *Config) tlsConfig() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // only when the operator asks for it
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("cert_file and key_file go together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// Close drops idle connections.
func (c *Collector) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

const accept = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Poll fetches and parses the response. Samples parsed before a format
// error are not returned: a half-read body is not trusted. JSON documents
// are the exception: every path that resolves yields its sample, and the
// error lists the paths that did not.
func (c *Collector) Poll(ctx context.Context, _ time.Time) ([]metric.Sample, error) {
	if c.cfg.Format == FormatProbe {
		return c.probe(ctx)
	}
	body, _, err := c.fetch(ctx, false)
	if err != nil {
		return nil, err
	}
	var s []metric.Sample
	b := &builder{include: c.include, common: c.common, reserved: c.common.Map()}
	switch c.cfg.Format {
	case FormatJSON:
		s, err = parseJSON(body, c.json)
	case FormatApache:
		err = parseApache(body, b)
		s = b.out
	case FormatNginx:
		err = parseNginx(body, b)
		s = b.out
	default:
		s, err = Parse(bytes.NewReader(body), c.include, c.common)
	}
	if err != nil {
		if c.cfg.Format != FormatJSON {
			s = nil
		}
		return s, fmt.Errorf("http poll of %s: %s: %w", c.cfg.Device, c.cfg.URL, err)
	}
	return s, nil
}

// probe times one request; the status is data, not an error.
func (c *Collector) probe(ctx context.Context) ([]metric.Sample, error) {
	start := time.Now()
	_, status, err := c.fetch(ctx, true)
	dur := time.Since(start)
	ok := 0.0
	if err == nil && status >= 200 && status <= 399 {
		ok = 1
	}
	b := &builder{common: c.common}
	b.addStatus(statusSample{name: "probe_success", ds: gaugeDS, value: ok})
	b.addStatus(statusSample{name: "probe_duration_seconds", ds: gaugeDS, value: dur.Seconds()})
	if status != 0 {
		b.addStatus(statusSample{name: "probe_http_status_code", ds: gaugeDS, value: float64(status)})
	}
	// A failed request is a finding of the probe, not a failed poll.
	return b.out, nil
}

// fetch GETs the URL. For a probe (anyStatus) the status is returned, not
// checked, and the body is read only up to the limit.
func (c *Collector) fetch(ctx context.Context, anyStatus bool) ([]byte, int, error) {
	dev, u := c.cfg.Device, c.cfg.URL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("http poll of %s: %s: %w", dev, u, err)
	}
	if c.cfg.Format == FormatPrometheus {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "saguaro-poller")
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("http poll of %s: %w", dev, err) // *url.Error names method and URL
	}
	defer resp.Body.Close()
	if anyStatus {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, c.cfg.MaxBody))
		return nil, resp.StatusCode, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return nil, resp.StatusCode, fmt.Errorf("http poll of %s: GET %s: %w %s: %s", dev, u, ErrStatus, resp.Status, quote(string(snippet)))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt == "text/html" || c.cfg.Format == FormatPrometheus && (mt == "application/vnd.google.protobuf" || mt == "application/json") {
			return nil, resp.StatusCode, fmt.Errorf("http poll of %s: GET %s: %w: content type %q is not what format %s expects", dev, u, ErrFormat, ct, c.cfg.Format)
		}
	}
	if resp.ContentLength > c.cfg.MaxBody {
		return nil, resp.StatusCode, fmt.Errorf("http poll of %s: GET %s: %w: Content-Length %d exceeds %d bytes", dev, u, ErrTooLarge, resp.ContentLength, c.cfg.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("http poll of %s: GET %s: reading body: %w", dev, u, err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, resp.StatusCode, fmt.Errorf("http poll of %s: GET %s: %w: more than %d bytes", dev, u, ErrTooLarge, c.cfg.MaxBody)
	}
	return body, resp.StatusCode, nil
}

var (
	counterDS = metric.DS{Type: metric.DDerive, Min: 0, Max: math.NaN()}
	gaugeDS   = metric.Gauges(0)
)

// Parse reads the Prometheus text exposition format. include (nil: all)
// selects samples by name; common labels are added to each sample, and an
// exposition label of the same name is kept as exported_<name>.
func Parse(r io.Reader, include []*regexp.Regexp, common metric.Labels) ([]metric.Sample, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	b := builder{include: include, common: common, reserved: common.Map()}
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order for the sink and for tests
	for _, name := range names {
		mf := fams[name]
		for _, m := range mf.GetMetric() {
			labels := m.GetLabel()
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				b.add(name, labels, counterDS, m.GetCounter().GetValue(), false)
			case dto.MetricType_GAUGE:
				b.add(name, labels, gaugeDS, m.GetGauge().GetValue(), false)
			case dto.MetricType_UNTYPED:
				b.add(name, labels, gaugeDS, m.GetUntyped().GetValue(), false)
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				b.add(name+"_sum", labels, counterDS, s.GetSampleSum(), false)
				b.add(name+"_count", labels, counterDS, float64(s.GetSampleCount()), false)
				for _, q := range s.GetQuantile() {
					b.add(name, with(labels, model.QuantileLabel, fmtFloat(q.GetQuantile())), gaugeDS, q.GetValue(), true)
				}
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				ds := counterDS
				if mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
					ds = gaugeDS
				}
				b.add(name+"_sum", labels, ds, h.GetSampleSum(), false)
				b.add(name+"_count", labels, ds, float64(h.GetSampleCount()), false)
				for _, bk := range h.GetBucket() {
					b.add(name+"_bucket", with(labels, model.BucketLabel, fmtFloat(bk.GetUpperBound())), ds, float64(bk.GetCumulativeCount()), true)
				}
			}
		}
	}
	return b.out, nil
}

type builder struct {
	include  []*regexp.Regexp
	common   metric.Labels
	reserved map[string]string
	out      []metric.Sample
}

func (b *builder) wanted(name string, detail bool) bool {
	if len(b.include) == 0 {
		return !detail
	}
	for _, re := range b.include {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func (b *builder) add(name string, lp []*dto.LabelPair, ds metric.DS, v float64, detail bool) {
	if !b.wanted(name, detail) {
		return
	}
	if math.IsInf(v, 0) {
		v = metric.Unknown
	}
	b.out = append(b.out, metric.Sample{Labels: b.labels(name, lp), DS: ds, Value: v})
}

func (b *builder) labels(name string, lp []*dto.LabelPair) metric.Labels {
	m := make(map[string]string, len(lp)+len(b.common)+1)
	for _, l := range lp {
		k := l.GetName()
		if _, clash := b.reserved[k]; clash || k == metric.NameLabel {
			k = "exported_" + k
		}
		m[k] = l.GetValue()
	}
	for _, l := range b.common {
		m[l.Name] = l.Value
	}
	m[metric.NameLabel] = name
	return metric.FromMap(m)
}

func with(lp []*dto.LabelPair, name, value string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(lp)+1)
	out = append(out, lp...)
	return append(out, &dto.LabelPair{Name: &name, Value: &value})
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// quote shows a bounded, escaped form of outside input in errors.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

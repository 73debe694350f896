package httpsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
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
}

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
	client  *http.Client
}

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
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.common = cfg.Labels.Merge(metric.New(metric.DeviceLabel, cfg.Device))
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	c.client = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	return c, nil
}

// Close drops idle connections.
func (c *Collector) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

const accept = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Poll fetches and parses the exposition. Samples parsed before a format
// error are not returned: a half-read body is not trusted.
func (c *Collector) Poll(ctx context.Context, _ time.Time) ([]metric.Sample, error) {
	body, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s, err := Parse(bytes.NewReader(body), c.include, c.common)
	if err != nil {
		return nil, fmt.Errorf("http poll of %s: %s: %w", c.cfg.Device, c.cfg.URL, err)
	}
	return s, nil
}

func (c *Collector) fetch(ctx context.Context) ([]byte, error) {
	dev, u := c.cfg.Device, c.cfg.URL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("http poll of %s: %s: %w", dev, u, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "saguaro-poller")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("http poll of %s: %w", dev, err) // *url.Error names method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return nil, fmt.Errorf("http poll of %s: GET %s: %w %s: %s", dev, u, ErrStatus, resp.Status, strconv.Quote(string(snippet)))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt == "application/vnd.google.protobuf" || mt == "application/json" || mt == "text/html" {
			return nil, fmt.Errorf("http poll of %s: GET %s: %w: content type %q is not the text exposition format", dev, u, ErrFormat, ct)
		}
	}
	if resp.ContentLength > c.cfg.MaxBody {
		return nil, fmt.Errorf("http poll of %s: GET %s: %w: Content-Length %d exceeds %d bytes", dev, u, ErrTooLarge, resp.ContentLength, c.cfg.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("http poll of %s: GET %s: reading body: %w", dev, u, err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, fmt.Errorf("http poll of %s: GET %s: %w: more than %d bytes", dev, u, ErrTooLarge, c.cfg.MaxBody)
	}
	return body, nil
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

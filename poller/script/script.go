package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Config describes one command.
type Config struct {
	Device  string
	Command []string      // program and arguments; run without a shell
	Dir     string        // working directory; "" is the process's
	Env     []string      // extra KEY=value pairs added to the environment
	Timeout time.Duration // default 10 s; the process group is killed after it
	// Metric names the samples: a bare number becomes Metric; a pair
	// name:value becomes Metric{field="name"}, unless Fields names it.
	Metric    string
	DS        metric.DS
	Fields    map[string]Field
	Labels    metric.Labels // added to every sample; device=Device wins
	MaxOutput int64         // bytes of stdout; default 1 MiB
}

// Field maps one output name to its own metric.
type Field struct {
	Metric string
	DS     metric.DS
	Labels metric.Labels
}

// Defaults applied by New.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultMaxOutput = 1 << 20
)

// Errors wrapped by New and Poll.
var (
	ErrConfig = errors.New("invalid script configuration")
	ErrOutput = errors.New("bad script output")
)

var (
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	metricRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// Collector runs one command per poll. It implements poller.Collector.
type Collector struct {
	cfg    Config
	common metric.Labels
}

// New validates cfg and fills in defaults.
func New(cfg Config) (*Collector, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("script %q: %s: %w: %s", cfg.Device, field, ErrConfig, fmt.Sprintf(format, args...)))
	}
	if cfg.Device == "" {
		bad("device", "empty")
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		bad("command", "empty")
	}
	if !metricRe.MatchString(cfg.Metric) {
		bad("metric", "%q is not a valid metric name", cfg.Metric)
	}
	for name, f := range cfg.Fields {
		if !nameRe.MatchString(name) {
			bad("fields", "%q is not a field name (letters, digits, _)", name)
		}
		if !metricRe.MatchString(f.Metric) {
			bad("fields."+name+".metric", "%q is not a valid metric name", f.Metric)
		}
	}
	for i, e := range cfg.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			bad(fmt.Sprintf("env[%d]", i), "%q is not KEY=value", e)
		}
	}
	if cfg.Timeout < 0 {
		bad("timeout", "%v is negative", cfg.Timeout)
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxOutput < 0 {
		bad("max_output", "%d is negative", cfg.MaxOutput)
	} else if cfg.MaxOutput == 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, common: cfg.Labels.Merge(metric.New(metric.DeviceLabel, cfg.Device))}, nil
}

// limitedBuffer keeps the first max bytes and notes whether more came.
type limitedBuffer struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - int64(b.buf.Len()); int64(len(p)) > room {
		b.over = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil // keep draining so the child does not block
	}
	return b.buf.Write(p)
}

// Poll runs the command and parses what it printed. A non-zero exit is an
// error; what the command printed before it is still returned.
func (c *Collector) Poll(ctx context.Context, _ time.Time) ([]metric.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cfg.Command[0], c.cfg.Command[1:]...)
	cmd.Dir = c.cfg.Dir
	if len(c.cfg.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.cfg.Env...)
	}
	// Its own process group, killed whole: a shell script's children go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a grandchild holding our pipes cannot stall the poll
	stdout := &limitedBuffer{max: c.cfg.MaxOutput}
	stderr := &limitedBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr, cmd.Stdin = stdout, stderr, nil
	runErr := cmd.Run()
	dev, prog := c.cfg.Device, c.cfg.Command[0]
	if ctx.Err() != nil {
		return nil, fmt.Errorf("script %s on %s: process group killed at the deadline (timeout %v): %w", prog, dev, c.cfg.Timeout, ctx.Err())
	}
	if stdout.over {
		return nil, fmt.Errorf("script %s on %s: %w: more than %d bytes", prog, dev, ErrOutput, c.cfg.MaxOutput)
	}
	samples, perr := c.parse(stdout.buf.String())
	if runErr != nil {
		if errors.Is(runErr, exec.ErrWaitDelay) {
			runErr = errors.New("output still open after exit")
		}
		msg := strings.TrimSpace(stderr.buf.String())
		return samples, fmt.Errorf("script %s on %s: %w (stderr: %s)", prog, dev, runErr, quote(msg))
	}
	if perr != nil {
		return samples, fmt.Errorf("script %s on %s: %w", prog, dev, perr)
	}
	return samples, nil
}

func (c *Collector) parse(out string) ([]metric.Sample, error) {
	vals, err := Parse(out)
	var s []metric.Sample
	for _, v := range vals {
		name, ds, extra := c.cfg.Metric, c.cfg.DS, metric.Labels(nil)
		if v.Name != "" {
			if f, ok := c.cfg.Fields[v.Name]; ok {
				name, ds, extra = f.Metric, f.DS, f.Labels
			} else {
				extra = metric.New("field", v.Name)
			}
		}
		s = append(s, metric.Sample{Labels: extra.Merge(c.common).With(metric.NameLabel, name), DS: ds, Value: v.Value})
	}
	return s, err
}

// Value is one number a script printed; Name is "" for a bare number.
type Value struct {
	Name  string
	Value float64
}

// Parse reads a script's output: one number, or whitespace-separated
// name:value pairs. "U" (Cacti's unknown) and "NaN" read as unknown. It
// returns the values it could read and an error naming the first token it
// could not.
func Parse(out string) ([]Value, error) {
	fields := strings.Fields(out)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no output", ErrOutput)
	}
	if len(fields) == 1 && !strings.Contains(fields[0], ":") {
		v, err := number(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrOutput, err)
		}
		return []Value{{Value: v}}, nil
	}
	var vals []Value
	var errs []error
	seen := map[string]bool{}
	for i, f := range fields {
		name, val, ok := strings.Cut(f, ":")
		if !ok || !nameRe.MatchString(name) {
			errs = append(errs, fmt.Errorf("token %d %s is not name:value", i+1, quote(f)))
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("token %d: name %q repeated", i+1, name))
			continue
		}
		v, err := number(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("token %d (%s): %v", i+1, name, err))
			continue
		}
		seen[name] = true
		vals = append(vals, Value{Name: name, Value: v})
	}
	if len(errs) > 0 {
		if len(errs) > 3 {
			errs = append(errs[:3:3], fmt.Errorf("and %d more", len(errs)-3))
		}
		return vals, fmt.Errorf("%w: %w", ErrOutput, errors.Join(errs...))
	}
	return vals, nil
}

func number(s string) (float64, error) {
	if s == "U" || strings.EqualFold(s, "nan") {
		return metric.Unknown, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("%s is not a number", quote(s))
	}
	return v, nil
}

func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

var _ io.Writer = (*limitedBuffer)(nil)

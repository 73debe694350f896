package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/poller/httpsrc"
	"github.com/saguaro-monitoring/saguaro/poller/snmp"
	"github.com/saguaro-monitoring/saguaro/storage"
	"github.com/saguaro-monitoring/saguaro/templates"
)

type serveOptions struct {
	ConfigFile, Listen, DataDir string
	Stderr                      io.Writer
	// Ready, when set, receives the bound web address once serving.
	Ready func(addr string)
}

// loadAll loads the configuration and the templates and checks that every
// device names a template that exists and fits its protocol.
func loadAll(file string) (*config.Config, *templates.Set, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, nil, err
	}
	set, err := templates.Load(cfg.Templates.Dirs...)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDeviceTemplates(cfg, set); err != nil {
		name := file
		if name == "" {
			name = "embedded default config"
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, set, nil
}

func checkDeviceTemplates(cfg *config.Config, set *templates.Set) error {
	var errs []error
	for i, d := range cfg.Devices {
		p := fmt.Sprintf("devices[%d].template", i)
		t, ok := set.Devices[d.Template]
		switch {
		case !ok:
			errs = append(errs, &config.FieldError{Path: p, Msg: fmt.Sprintf("no device template named %q (have: %s)", d.Template, strings.Join(set.DeviceNames(), ", "))})
		case d.SNMP != nil && t.SNMP == nil:
			errs = append(errs, &config.FieldError{Path: p, Msg: fmt.Sprintf("template %q has no snmp section but the device is polled over SNMP", d.Template)})
		case d.HTTP != nil && t.HTTP == nil:
			errs = append(errs, &config.FieldError{Path: p, Msg: fmt.Sprintf("template %q has no http section but the device is polled over HTTP", d.Template)})
		}
	}
	return errors.Join(errs...)
}

// serve runs Saguaro until ctx ends: pollers stop first, then the web
// server, and storage is flushed and closed last.
func serve(ctx context.Context, o serveOptions) error {
	cfg, set, err := loadAll(o.ConfigFile)
	if err != nil {
		return err
	}
	if o.Listen != "" {
		cfg.Listen = o.Listen
	}
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	log := newLogger(o.Stderr, cfg.LogLevel)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// With port 0 the real address is only known now; self-scrapes use it.
	cfg.Listen = ln.Addr().String()

	dbOpts := storage.DefaultOptions(cfg.DataDir)
	dbOpts.RawRetention = cfg.Storage.RawRetention
	dbOpts.Step = cfg.Storage.Step
	for _, t := range cfg.Storage.Tiers {
		dbOpts.Tiers = append(dbOpts.Tiers, storage.Tier{Step: t.Step, Retention: t.Retention, XFF: t.XFF})
	}
	dbOpts.Registerer = reg
	dbOpts.Logger = log
	db, err := storage.Open(dbOpts)
	if err != nil {
		ln.Close()
		return fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
	}

	targets, err := buildTargets(cfg, set)
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}
	sched := poller.New(db, reg, log)
	sched.Set(targets)

	cat, err := graphs.NewCatalog(db, set.GraphList())
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}
	gs := &graphService{cat: cat, q: db, devices: graphDevices(cfg, set)}
	srv, err := web.New(web.Options{
		Listen: cfg.Listen, Graphs: gs, Devices: &deviceStatus{cfg: cfg, sched: sched},
		Gatherer: reg, Logger: log, Version: version,
	})
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}

	log.Info("saguaro_started", "version", version, "web", "http://"+cfg.Listen+"/", "data_dir", cfg.DataDir, "devices", len(cfg.Devices))
	if o.Ready != nil {
		o.Ready(cfg.Listen)
	}

	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	webCtx, stopWeb := context.WithCancel(context.Background())
	defer stopWeb()
	var g errgroup.Group
	g.Go(func() error { return sched.Run(pollCtx) })
	webErr := make(chan error, 1)
	go func() { webErr <- srv.Serve(webCtx, ln) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-webErr:
		webErr = nil
	}
	stopPolling()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		runErr = errors.Join(runErr, err)
	}
	stopWeb()
	if webErr != nil {
		if err := <-webErr; err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if err := db.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("close storage: %w", err))
	}
	log.Info("saguaro_stopped")
	return runErr
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// buildTargets turns each configured device and its template into a
// poller target with a protocol collector of its own.
func buildTargets(cfg *config.Config, set *templates.Set) ([]poller.Target, error) {
	var out []poller.Target
	var errs []error
	for i, d := range cfg.Devices {
		tpl := set.Devices[d.Template]
		labels := metric.New(metric.DeviceLabel, d.Name)
		heartbeat := 2 * d.Interval
		var coll poller.Collector
		var err error
		proto := "snmp"
		switch {
		case d.SNMP != nil:
			coll, err = snmp.New(snmpConfig(d, tpl, labels, heartbeat))
		case d.HTTP != nil:
			proto = "http"
			coll, err = httpsrc.New(httpsrc.Config{
				Device: d.Name, URL: cfg.ExpandURL(d.HTTP.URL), Timeout: d.HTTP.Timeout,
				MaxBody: d.HTTP.MaxBody, Labels: labels, Include: tpl.HTTP.Include,
			})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("devices[%d] %q: %w", i, d.Name, err))
			continue
		}
		out = append(out, poller.Target{
			Name: d.Name + "/" + proto, Device: d.Name, Labels: labels,
			Interval: d.Interval, Timeout: d.Timeout, Collector: coll,
		})
	}
	return out, errors.Join(errs...)
}

func snmpConfig(d config.Device, tpl *templates.Device, labels metric.Labels, heartbeat time.Duration) snmp.Config {
	c := snmp.Config{
		Device: d.Name, Address: d.SNMP.Address, Version: d.SNMP.Version,
		Community: d.SNMP.Community.Reveal(), Timeout: d.SNMP.Timeout, Retries: d.SNMP.Retries,
		MaxOIDs: d.SNMP.MaxOIDs, MaxRepetitions: d.SNMP.MaxRepetitions, Labels: labels,
	}
	obj := func(o templates.Object) snmp.Object {
		return snmp.Object{OID: o.OID, Metric: o.Metric, DS: o.DS(heartbeat), Labels: metric.FromMap(o.Labels)}
	}
	for _, o := range tpl.SNMP.Scalars {
		c.Scalars = append(c.Scalars, obj(o))
	}
	for _, t := range tpl.SNMP.Tables {
		st := snmp.Table{Name: t.Name, IndexLabel: t.IndexLabel, LabelColumns: map[string]string{}}
		for _, l := range t.Labels {
			st.LabelColumns[l.Name] = l.OID
		}
		for _, o := range t.Columns {
			st.Columns = append(st.Columns, obj(o))
		}
		c.Tables = append(c.Tables, st)
	}
	return c
}

func graphDevices(cfg *config.Config, set *templates.Set) []graphs.Device {
	var out []graphs.Device
	for _, d := range cfg.Devices {
		out = append(out, graphs.Device{Name: d.Name, Templates: set.Devices[d.Template].Graphs})
	}
	return out
}

// graphService answers the web server's questions about graphs from the
// catalogue and storage.
type graphService struct {
	cat     *graphs.Catalog
	q       graphs.Querier
	devices []graphs.Device
}

// List returns the graphs device by device in configuration order, each
// device's in the order its template names them (traffic before errors,
// say), then by label value.
func (g *graphService) List(ctx context.Context) ([]graphs.Info, error) {
	list, err := g.cat.List(ctx, g.devices)
	if err != nil {
		return nil, err
	}
	devRank, tplRank := map[string]int{}, map[[2]string]int{}
	for i, d := range g.devices {
		devRank[d.Name] = i
		for j, t := range d.Templates {
			tplRank[[2]string{d.Name, t}] = j
		}
	}
	slices.SortStableFunc(list, func(a, b graphs.Info) int {
		if a.Device != b.Device {
			return devRank[a.Device] - devRank[b.Device]
		}
		return tplRank[[2]string{a.Device, a.Template}] - tplRank[[2]string{b.Device, b.Template}]
	})
	return list, nil
}

func (g *graphService) Plan(ctx context.Context, id string, o graphs.Options) (*graphs.Plan, error) {
	list, err := g.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, info := range list {
		if info.ID != id {
			continue
		}
		t, ok := g.cat.Template(info.Template)
		if !ok {
			return nil, fmt.Errorf("graph %s: template %q: %w", id, info.Template, web.ErrNotFound)
		}
		return graphs.NewPlan(ctx, g.q, t, info.Vars, o)
	}
	return nil, fmt.Errorf("graph %s: %w", id, web.ErrNotFound)
}

// deviceStatus joins the configuration with the poller's health.
type deviceStatus struct {
	cfg   *config.Config
	sched *poller.Scheduler
}

func (d *deviceStatus) Devices() []web.DeviceStatus {
	health := map[string]poller.TargetHealth{}
	for _, h := range d.sched.Health() {
		health[h.Device] = h
	}
	var out []web.DeviceStatus
	for _, dev := range d.cfg.Devices {
		s := web.DeviceStatus{Name: dev.Name, Template: dev.Template}
		if dev.SNMP != nil {
			s.Address = "snmp://" + dev.SNMP.Address
		} else if dev.HTTP != nil {
			s.Address = redactURL(d.cfg.ExpandURL(dev.HTTP.URL))
		}
		if h, ok := health[dev.Name]; ok {
			s.LastPoll, s.Duration, s.Samples, s.Skipped = h.LastPoll, h.LastDuration, h.LastSamples, h.Skipped
			s.Error = h.LastError
		}
		out = append(out, s)
	}
	return out
}

// redactURL drops credentials from a URL before it is shown.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

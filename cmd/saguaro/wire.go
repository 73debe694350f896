package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/poller"
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
		case !t.Has(d.Protocol()):
			errs = append(errs, &config.FieldError{Path: p, Msg: fmt.Sprintf("template %q has no %s section but the device is polled by %s (it has: %s)",
				d.Template, d.Protocol(), d.Protocol(), strings.Join(t.Protocols(), ", "))})
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

	dbOpts := storageOptions(cfg)
	dbOpts.Registerer = reg
	// The engine reports every WAL replay and compaction at info level;
	// only its warnings matter unless debugging.
	storageLevel := cfg.LogLevel
	if storageLevel == "info" {
		storageLevel = "warn"
	}
	dbOpts.Logger = newLogger(o.Stderr, storageLevel)
	db, err := storage.Open(dbOpts)
	if err != nil {
		ln.Close()
		return fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
	}

	// The state database comes first: it holds the devices added
	// through the API, which are polled with the file's.
	authn, users, err := openAuth(cfg.DataDir, cfg.Auth, o.Stderr, log)
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}
	defer users.Close()
	sched := poller.New(db, reg, log)
	svc := &service{file: o.ConfigFile, listen: cfg.Listen, dataDir: cfg.DataDir, db: db, sched: sched, log: log, users: users}
	if err := svc.apply(cfg, set); err != nil {
		ln.Close()
		db.Close()
		return err
	}
	srv, err := web.New(web.Options{
		Listen: cfg.Listen, Graphs: svc, Devices: svc, Templates: svc, Reload: svc.Reload,
		DeviceEditor: svc, Series: db,
		Gatherer: reg, Logger: log, Version: version, Auth: authn, Users: users,
	})
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}

	log.Info("saguaro_started", "version", version, "web", "http://"+cfg.Listen+"/", "data_dir", cfg.DataDir, "devices", len(svc.state.Load().cfg.Devices))
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

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
wait:
	for {
		select {
		case <-hup:
			if err := svc.Reload(ctx); err != nil {
				log.Error("reload_failed", "err", err)
			}
		case <-ctx.Done():
			break wait
		case runErr = <-webErr:
			webErr = nil
			break wait
		}
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

func graphDevices(cfg *config.Config, set *templates.Set) []graphs.Device {
	var out []graphs.Device
	for _, d := range cfg.Devices {
		out = append(out, graphs.Device{Name: d.Name, Templates: set.Devices[d.Template].Graphs})
	}
	return out
}

// service holds what a reload swaps: the configuration, its templates,
// the graph catalogue and the device list. The web server reads it
// through the web.Graphs and web.Devices interfaces.
type service struct {
	file, listen, dataDir string
	db                    *storage.DB
	sched                 *poller.Scheduler
	log                   *slog.Logger
	// users is the state database: besides users it keeps the devices
	// added through the API (nil: none, as in tests of the file alone).
	users     *auth.Store
	state     atomic.Pointer[serviceState]
	graphList atomic.Pointer[graphList]
	// checked are the stored devices as merge last checked them; merge
	// runs under reloadMu (or while starting).
	checked     map[string]checkedDevice
	reloadMu    sync.Mutex
	discovering atomic.Bool
}

type serviceState struct {
	cfg     *config.Config // the file's devices and the stored ones
	file    *config.Config // the configuration file as loaded
	set     *templates.Set
	stored  map[string]storedDevice
	cat     *graphs.Catalog
	devices []graphs.Device
	// built are the devices' targets and what they were built from, kept
	// by the next apply where nothing changed.
	built map[string]builtTarget
}

// apply merges the stored devices into the file's configuration, builds
// collectors and the catalogue and swaps them in. Nothing changes when it
// fails. The caller holds reloadMu (or is starting up).
func (s *service) apply(file *config.Config, set *templates.Set) error {
	cfg, stored, err := s.merge(file, set)
	if err != nil {
		return err
	}
	var prev map[string]builtTarget
	if st := s.state.Load(); st != nil {
		prev = st.built
	}
	targets, built, fresh, err := buildTargetsReusing(cfg, set, prev)
	if err != nil {
		closeTargets(fresh)
		return err
	}
	cat, err := graphs.NewCatalog(s.db, set.GraphList())
	if err != nil {
		closeTargets(fresh)
		return err
	}
	// The bounds change in place: loops keep running, and polls already
	// running finish under the old global bound.
	s.sched.SetLimit(cfg.Poller.MaxConcurrent)
	s.sched.SetBackoff(cfg.Poller.DownAfter, cfg.Poller.MaxBackoff)
	s.sched.Set(targets)
	s.state.Store(&serviceState{cfg: cfg, file: file, set: set, stored: stored, cat: cat, devices: graphDevices(cfg, set), built: built})
	return nil
}

// Reload reads the configuration file and templates again and applies
// them: devices are added, changed and removed without restarting the
// loops of the others. An invalid configuration is refused and the
// running one kept. The listen address and data directory need a restart.
func (s *service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cfg, set, err := loadAll(s.file)
	if err != nil {
		return fmt.Errorf("reload refused, running configuration kept: %w", err)
	}
	if cfg.DataDir != s.dataDir {
		s.log.Warn("reload_needs_restart", "setting", "data_dir", "running", s.dataDir, "configured", cfg.DataDir)
	}
	cfg.Listen, cfg.DataDir = s.listen, s.dataDir
	if err := s.apply(cfg, set); err != nil {
		return fmt.Errorf("reload refused, running configuration kept: %w", err)
	}
	s.log.Info("config_reloaded", "devices", len(s.state.Load().cfg.Devices))
	return nil
}

// graphList is the list of graphs made for one configuration and one
// version of storage's catalogue, with an index by ID.
type graphList struct {
	st   *serviceState
	ver  uint64
	list []graphs.Info
	byID map[string]int
}

// graphs returns the current list of graphs, made anew only when the
// configuration or the catalogue changed since it was last made: every
// page and every graph image needs it, and making it asks the catalogue
// about each device and template.
func (s *service) graphs(ctx context.Context) (*graphList, error) {
	st := s.state.Load()
	var ver uint64
	if s.db != nil {
		ver = s.db.CatalogueVersion()
	}
	if gl := s.graphList.Load(); gl != nil && gl.st == st && gl.ver == ver {
		return gl, nil
	}
	list, err := s.makeList(ctx, st)
	if err != nil {
		return nil, err
	}
	gl := &graphList{st: st, ver: ver, list: list, byID: make(map[string]int, len(list))}
	for i, g := range list {
		gl.byID[g.ID] = i
	}
	s.graphList.Store(gl)
	return gl, nil
}

// List returns the graphs device by device in configuration order, each
// device's in the order its template names them (traffic before errors,
// say), then by label value. The list is shared: callers do not change it.
func (s *service) List(ctx context.Context) ([]graphs.Info, error) {
	gl, err := s.graphs(ctx)
	if err != nil {
		return nil, err
	}
	return gl.list, nil
}

func (s *service) makeList(ctx context.Context, st *serviceState) ([]graphs.Info, error) {
	list, err := st.cat.List(ctx, st.devices)
	if err != nil {
		return nil, err
	}
	devRank, tplRank := map[string]int{}, map[[2]string]int{}
	for i, d := range st.devices {
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

// Plan plans the graph with the given id.
func (s *service) Plan(ctx context.Context, id string, o graphs.Options) (*graphs.Plan, error) {
	gl, err := s.graphs(ctx)
	if err != nil {
		return nil, err
	}
	i, ok := gl.byID[id]
	if !ok {
		return nil, fmt.Errorf("graph %s: %w", id, web.ErrNotFound)
	}
	info := gl.list[i]
	t, ok := gl.st.cat.Template(info.Template)
	if !ok {
		return nil, fmt.Errorf("graph %s: template %q: %w", id, info.Template, web.ErrNotFound)
	}
	return graphs.NewPlan(ctx, s.db, t, info.Vars, o)
}

// Devices joins the configuration with the poller's health.
func (s *service) Devices() []web.DeviceStatus {
	state := s.state.Load()
	cfg := state.cfg
	health := map[string]poller.TargetHealth{}
	for _, h := range s.sched.Health() {
		health[h.Device] = h
	}
	var out []web.DeviceStatus
	for _, dev := range cfg.Devices {
		st := web.DeviceStatus{Name: dev.Name, Template: dev.Template, Site: dev.Site, Source: "config"}
		if _, ok := state.stored[dev.Name]; ok {
			st.Source = "api"
		}
		if dev.SNMP != nil {
			st.Address = "snmp://" + dev.SNMP.Address
		} else if dev.HTTP != nil {
			st.Address = redactURL(cfg.ExpandURL(dev.HTTP.URL))
		}
		if h, ok := health[dev.Name]; ok {
			st.LastPoll, st.Duration, st.Samples, st.Skipped = h.LastPoll, h.LastDuration, h.LastSamples, h.Skipped
			st.Error = h.LastError
		}
		out = append(out, st)
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

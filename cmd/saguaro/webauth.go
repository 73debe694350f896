package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// stateDBName is the auth state database under the data directory.
const stateDBName = "state.db"

// openAuth opens DATA_DIR/state.db, creates the first admin on a fresh
// installation (printing the password once, to stderr, not to the log
// handler, so log shippers do not keep it) and builds the authenticator.
func openAuth(dataDir string, ac config.Auth, stderr io.Writer, log *slog.Logger) (*auth.Authenticator, *auth.Store, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	store, err := auth.Open(filepath.Join(dataDir, stateDBName))
	if err != nil {
		return nil, nil, fmt.Errorf("open user database: %w", err)
	}
	pw, created, err := store.Bootstrap(dataDir)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if created {
		file := filepath.Join(dataDir, auth.InitialPasswordFile)
		log.Warn("initial_admin_created", "user", "admin", "password_file", file)
		fmt.Fprintf(stderr, "\nSaguaro created the user \"admin\" with the password:\n\n    %s\n\n"+
			"It is also in %s (mode 0600). Log in, change it with `saguaro user passwd admin`, and delete the file.\n\n", pw, file)
	}
	a, err := auth.NewAuthenticator(store, authOptions(ac, log))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return a, store, nil
}

// authOptions turns the configuration's auth section into the
// authenticator's settings.
func authOptions(ac config.Auth, log *slog.Logger) auth.Options {
	return auth.Options{
		SessionTTL:      ac.SessionTTL,
		SecureCookies:   ac.SecureCookies,
		ProxyHeader:     ac.ProxyHeader,
		TrustedProxies:  ac.TrustedProxyPrefixes(),
		ProxyAutoCreate: auth.Role(ac.ProxyAutoCreate),
		Anonymous:       ac.Anonymous,
		TrustedOrigins:  ac.TrustedOrigins,
		Logger:          log,
	}
}

// The service also answers the template pages and ad-hoc graphs of the
// web server (web.Templates, web.AdHoc).
var (
	_ web.Templates = (*service)(nil)
	_ web.AdHoc     = (*service)(nil)
	_ web.Forecasts = (*service)(nil)
)

// loadTemplates reads the templates as they are on disk now, with the
// directories of the running configuration.
func (s *service) loadTemplates(extra ...string) (*templates.Set, error) {
	dirs := slices.Clone(s.state.Load().cfg.Templates.Dirs)
	return templates.Load(append(dirs, extra...)...)
}

// Templates lists device and graph templates. When the files on disk no
// longer validate, the built-in set is listed with the problems.
func (s *service) Templates(context.Context) web.TemplateStatus {
	var st web.TemplateStatus
	set, err := s.loadTemplates()
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				st.Problems = append(st.Problems, line)
			}
		}
		if set, err = templates.Load(); err != nil {
			return st
		}
	}
	for _, name := range set.DeviceNames() {
		st.Templates = append(st.Templates, deviceTemplateInfo(set, name))
	}
	for _, g := range set.GraphList() {
		st.Templates = append(st.Templates, web.TemplateInfo{Kind: web.KindGraph, Name: g.Name, Description: g.Title, Source: set.Source("graph/" + g.Name)})
	}
	return st
}

func deviceTemplateInfo(set *templates.Set, name string) web.TemplateInfo {
	d := set.Devices[name]
	ti := web.TemplateInfo{Kind: web.KindDevice, Name: name, Description: d.Description, Source: set.Source("device/" + name), Graphs: d.Graphs}
	if d.SNMP != nil {
		for _, o := range d.SNMP.Scalars {
			ti.DataSources = append(ti.DataSources, web.DataSource{Metric: o.Metric, Type: o.Type, OID: o.OID})
		}
		for _, t := range d.SNMP.Tables {
			for _, o := range t.Columns {
				ti.DataSources = append(ti.DataSources, web.DataSource{Metric: o.Metric, Type: o.Type, OID: o.OID, Table: t.Name})
			}
		}
	}
	if d.HTTP != nil {
		for _, inc := range d.HTTP.Include {
			ti.DataSources = append(ti.DataSources, web.DataSource{Metric: inc, Type: d.HTTP.Format})
		}
	}
	return ti
}

// Template returns one template with the text of its file.
func (s *service) Template(_ context.Context, kind, name string) (web.TemplateInfo, error) {
	set, err := s.loadTemplates()
	if err != nil {
		if set, err = templates.Load(); err != nil {
			return web.TemplateInfo{}, err
		}
	}
	var ti web.TemplateInfo
	switch _, isDev := set.Devices[name]; {
	case kind == web.KindDevice && isDev:
		ti = deviceTemplateInfo(set, name)
	case kind == web.KindGraph && set.Graphs[name] != nil:
		g := set.Graphs[name]
		ti = web.TemplateInfo{Kind: web.KindGraph, Name: name, Description: g.Title, Source: set.Source("graph/" + name)}
	default:
		return ti, fmt.Errorf("%s template %q: %w", kind, name, web.ErrNotFound)
	}
	ti.YAML, err = templateText(ti.Source)
	return ti, err
}

// templateText reads the file a template came from: "builtin:NAME" from
// the binary, anything else from disk (a configured directory).
func templateText(source string) (string, error) {
	if name, ok := strings.CutPrefix(source, "builtin:"); ok {
		files, err := templates.BuiltinFiles()
		if err != nil {
			return "", err
		}
		return files[name], nil
	}
	b, err := os.ReadFile(source)
	if err != nil {
		return "", fmt.Errorf("read template file: %w", err)
	}
	return string(b), nil
}

// Validate checks a template file with the templates in force by loading
// it from a scratch directory after them.
func (s *service) Validate(_ context.Context, text []byte) error {
	dir, err := os.MkdirTemp("", "saguaro-template-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "upload.yaml"), text, 0o600); err != nil {
		return err
	}
	_, err = s.loadTemplates(dir)
	if err != nil {
		// Name the upload, not the scratch directory.
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), filepath.Join(dir, "upload.yaml"), "upload"))
	}
	return nil
}

// PlanTemplate plans a graph template for any device and labels.
func (s *service) PlanTemplate(ctx context.Context, name string, vars map[string]string, o graphs.Options) (*graphs.Plan, error) {
	t, ok := s.state.Load().cat.Template(name)
	if !ok {
		return nil, fmt.Errorf("graph template %q: %w", name, web.ErrNotFound)
	}
	return graphs.NewPlan(ctx, s.db, t, vars, o)
}

// HasForecast reports whether a graph template draws a FORECAST with a
// threshold, for the capacity report.
func (s *service) HasForecast(name string) bool {
	t, ok := s.state.Load().cat.Template(name)
	if !ok {
		return false
	}
	for _, it := range t.Items {
		if it.Type == "FORECAST" && it.Threshold != nil {
			return true
		}
	}
	return false
}

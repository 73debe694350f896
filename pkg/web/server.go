package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
)

//go:embed tmpl/*.html
var tmplFS embed.FS

//go:embed assets
var assetFS embed.FS

// ErrNotFound is returned by a Graphs implementation for an unknown id.
var ErrNotFound = errors.New("not found")

// Graphs is what the web server needs from the graph side: the list of
// graph instances and a plan for one of them.
type Graphs interface {
	List(ctx context.Context) ([]graphs.Info, error)
	Plan(ctx context.Context, id string, o graphs.Options) (*graphs.Plan, error)
}

// DeviceStatus is one polled device as the pages show it.
type DeviceStatus struct {
	Name     string
	Template string
	// Site is the device's place in the tree ("emea/fra1"), validated
	// by config.CheckSite; empty: no site.
	Site     string
	Address  string
	LastPoll time.Time
	Duration time.Duration
	Samples  int
	Error    string
	Skipped  uint64
	// Source is "config" for a device of the configuration file, "api"
	// for one added through the API (empty: not said).
	Source string
}

// Devices reports the configured devices and their last poll.
type Devices interface {
	Devices() []DeviceStatus
}

// Options configure a Server.
type Options struct {
	Listen    string
	Graphs    Graphs
	Devices   Devices
	Templates Templates // optional: the template pages and API
	Gatherer  prometheus.Gatherer
	Logger    *slog.Logger
	// Auth resolves every request's user; Users is the store behind it
	// (tokens, scopes). Both are required: nothing is served without
	// them except /healthz, the login page and static assets.
	Auth  *auth.Authenticator
	Users *auth.Store
	// DeviceEditor, when set, adds, changes and removes devices kept in
	// the state database and runs discoveries.
	DeviceEditor DeviceEditor
	// Series, when set, serves the raw series export.
	Series SeriesSource
	// Reload, when set, re-reads the configuration (POST /-/reload).
	Reload  func(context.Context) error
	Version string
}

// Server is Saguaro's HTTP front end.
type Server struct {
	o    Options
	e    *echo.Echo
	tmpl *template.Template
	now  func() time.Time
}

// New builds the server and its routes; Serve starts listening.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	if o.Auth == nil || o.Users == nil {
		return nil, errors.New("web: an authenticator and its user store are required")
	}
	t, err := template.New("").Funcs(funcs).ParseFS(tmplFS, "tmpl/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	s := &Server{o: o, e: echo.New(), tmpl: t, now: time.Now}
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.Use(middleware.Recover())
	s.e.Use(middleware.BodyLimit("1M"))
	s.e.Use(securityHeaders)
	s.routes()
	return s, nil
}

// Route access levels.
var (
	pageViewer = echo.WrapMiddleware(auth.Require(auth.RoleViewer, auth.ChallengeLogin))
	pageAdmin  = echo.WrapMiddleware(auth.Require(auth.RoleAdmin, auth.ChallengeLogin))
	apiViewer  = echo.WrapMiddleware(auth.Require(auth.RoleViewer, auth.ChallengeBasic))
	apiEditor  = echo.WrapMiddleware(auth.Require(auth.RoleEditor, auth.ChallengeBasic))
	apiAdmin   = echo.WrapMiddleware(auth.Require(auth.RoleAdmin, auth.ChallengeBasic))
)

func (s *Server) routes() {
	e := s.e
	// Public: health, static assets. They skip the user lookup entirely.
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	sub, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/assets/", http.FileServer(http.FS(sub)))
	e.GET("/assets/*", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))

	// Everything else knows its user; state-changing requests pass CSRF.
	g := e.Group("", echo.WrapMiddleware(s.o.Auth.Middleware), echo.WrapMiddleware(s.o.Auth.CSRF))
	g.GET("/login", s.loginPage)
	g.POST("/login", s.loginSubmit)
	g.POST("/logout", s.logout)
	// /metrics like a Prometheus exporter, but closed: this machine (the
	// self-scrape device) without credentials, anyone else as a viewer.
	metrics := echo.WrapHandler(promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{}))
	g.GET("/metrics", metrics, s.localOr(apiViewer))

	g.GET("/", s.home, pageViewer)
	g.GET("/graph/:id", s.graphPage, pageViewer)
	g.GET("/device/:name", s.devicePage, pageViewer)
	g.GET("/templates", s.templatesPage, pageViewer)
	g.GET("/templates/:kind/:name", s.templatePage, pageViewer)
	g.GET("/account", s.accountPage, pageViewer)
	g.POST("/account/tokens", s.accountNewToken, pageViewer)
	g.POST("/account/tokens/:tid/revoke", s.accountRevokeToken, pageViewer)
	g.GET("/users", s.usersPage, pageAdmin)
	g.GET("/capacity", s.capacityPage, pageViewer)

	api := g.Group("/api/v1")
	api.GET("/openapi.json", s.openAPI) // the API's description is no secret
	api.GET("/graphs", s.apiGraphs, apiViewer)
	api.GET("/graphs/:file", s.apiGraphFile, apiViewer)
	api.GET("/graph", s.apiAdHoc, apiViewer)
	api.GET("/devices", s.apiDevices, apiViewer)
	api.GET("/devices/:name", s.apiDevice, apiViewer)
	api.POST("/devices", s.apiAddDevice, apiEditor)
	api.PUT("/devices/:name", s.apiUpdateDevice, apiEditor)
	api.DELETE("/devices/:name", s.apiDeleteDevice, apiEditor)
	api.POST("/discover", s.apiDiscover, apiEditor)
	api.GET("/series", s.apiSeries, apiViewer)
	api.GET("/series/data", s.apiSeriesData, apiViewer)
	api.GET("/series/data.csv", s.apiSeriesData, apiViewer)
	api.GET("/templates", s.apiTemplates, apiViewer)
	api.GET("/templates/:kind/:name", s.apiTemplate, apiViewer)
	api.POST("/templates/validate", s.apiValidateTemplate, apiEditor)
	api.GET("/tokens", s.apiTokens, apiViewer)
	api.POST("/tokens", s.apiNewToken, apiViewer)
	api.DELETE("/tokens/:tid", s.apiRevokeToken, apiViewer)
	api.GET("/users", s.apiUsers, apiAdmin)
	api.GET("/capacity", s.apiCapacity, apiViewer)
	g.POST("/-/reload", s.reload, apiAdmin)
}

// localOr admits requests from this machine without a user and sends the
// rest through guard.
func (s *Server) localOr(guard echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		guarded := guard(next)
		return func(c echo.Context) error {
			if s.fromThisMachine(c.Request()) {
				return next(c)
			}
			return guarded(c)
		}
	}
}

// fromThisMachine reports whether the client (after trusted proxies) is
// on this host: a loopback address, or the very address the connection
// arrived on (a self-scrape of a non-loopback listen address).
func (s *Server) fromThisMachine(r *http.Request) bool {
	ip := s.o.Auth.ClientIP(r)
	if !ip.IsValid() {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil && ap.Addr().Unmap() == ip.Unmap() {
			// The peer is us only if no trusted proxy stood in between.
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			peer, err := netip.ParseAddr(host)
			return err == nil && peer.Unmap() == ip.Unmap()
		}
	}
	return false
}

// securityHeaders keeps pages out of frames and stops MIME sniffing.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		return next(c)
	}
}

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.e }

// Run listens on o.Listen until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", s.o.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	<-errc
	return nil
}

// reload applies a changed configuration file, like SIGHUP. Only admins
// on this machine may ask.
func (s *Server) reload(c echo.Context) error {
	if s.o.Reload == nil {
		return ErrNotFound
	}
	if !s.fromThisMachine(c.Request()) {
		return echo.NewHTTPError(http.StatusForbidden, "reload is allowed from this machine only")
	}
	if err := s.o.Reload(c.Request().Context()); err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "reloaded"})
}

// paramError is a bad request parameter; the body names it.
type paramError struct {
	Field string
	Msg   string
}

func (e *paramError) Error() string { return e.Field + ": " + e.Msg }

func badParam(field, format string, args ...any) error {
	return &paramError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// handleError maps handler errors to status codes with no internals in
// the body: 400 for bad parameters, 404 for unknown things, 500 otherwise.
// Pages get an HTML error page, everything else JSON.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, body := http.StatusInternalServerError, map[string]string{"error": "internal error"}
	var pe *paramError
	var fe *config.FieldError
	var he *echo.HTTPError
	var se *scopeError
	switch {
	case errors.As(err, &pe):
		code, body = http.StatusBadRequest, map[string]string{"error": pe.Error(), "field": pe.Field}
	case errors.As(err, &fe):
		code, body = http.StatusBadRequest, map[string]string{"error": err.Error(), "field": fe.Path}
	case errors.As(err, &se):
		code, body = http.StatusForbidden, map[string]string{"error": se.Error(), "field": se.Field}
	case errors.Is(err, ErrBusy):
		c.Response().Header().Set("Retry-After", "10")
		code, body = http.StatusTooManyRequests, map[string]string{"error": err.Error()}
	case errors.Is(err, ErrConflict):
		code, body = http.StatusConflict, map[string]string{"error": err.Error(), "field": "name"}
	case errors.Is(err, ErrNotFound), errors.Is(err, graphs.ErrUnknownTemplate):
		code, body = http.StatusNotFound, map[string]string{"error": "not found"}
	case errors.Is(err, graphs.ErrOptions):
		code, body = http.StatusBadRequest, map[string]string{"error": err.Error()}
	case errors.As(err, &he):
		code, body = he.Code, map[string]string{"error": fmt.Sprint(he.Message)}
		if code == http.StatusRequestEntityTooLarge {
			body["error"] = "request body too large (limit 1 MiB)"
		}
	case errors.Is(err, context.Canceled):
		return
	default:
		s.o.Logger.Error("request_failed", "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if isPage(c) {
		_ = s.renderStatus(c, code, "error.html", errorPage{base: s.base(c, "Error"), Code: code, Msg: body["error"]})
		return
	}
	_ = c.JSON(code, body)
}

// isPage says whether a request is for an HTML page rather than the API.
func isPage(c echo.Context) bool {
	p := c.Request().URL.Path
	return c.Request().Method == http.MethodGet && !hasPrefix(p, "/api/") && !hasPrefix(p, "/assets/") && p != "/metrics" && p != "/healthz"
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

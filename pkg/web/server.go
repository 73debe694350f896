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
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saguaro-monitoring/saguaro/graphs"
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
	Address  string
	LastPoll time.Time
	Duration time.Duration
	Samples  int
	Error    string
	Skipped  uint64
}

// Devices reports the configured devices and their last poll.
type Devices interface {
	Devices() []DeviceStatus
}

// Options configure a Server.
type Options struct {
	Listen   string
	Graphs   Graphs
	Devices  Devices
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
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

// New builds the server and its routes; Run starts listening.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
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
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	e := s.e
	e.GET("/", s.home)
	e.GET("/graph/:id", s.graphPage)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{})))
	e.POST("/-/reload", s.reload)
	e.GET("/api/v1/graphs", s.apiGraphs)
	e.GET("/api/v1/graphs/:file", s.apiGraphFile)
	sub, _ := fs.Sub(assetFS, "assets")
	e.GET("/assets/*", echo.WrapHandler(http.StripPrefix("/assets/", http.FileServer(http.FS(sub)))))
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

// reload applies a changed configuration file, like SIGHUP. Only clients
// on this machine may ask.
func (s *Server) reload(c echo.Context) error {
	if s.o.Reload == nil {
		return ErrNotFound
	}
	// The peer address, not a forwarding header a client could forge.
	host, _, _ := net.SplitHostPort(c.Request().RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
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
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, body := http.StatusInternalServerError, map[string]string{"error": "internal error"}
	var pe *paramError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &pe):
		code, body = http.StatusBadRequest, map[string]string{"error": pe.Error(), "field": pe.Field}
	case errors.Is(err, ErrNotFound):
		code, body = http.StatusNotFound, map[string]string{"error": "not found"}
	case errors.As(err, &he):
		code, body = he.Code, map[string]string{"error": fmt.Sprint(he.Message)}
	case errors.Is(err, context.Canceled):
		return
	default:
		s.o.Logger.Error("request_failed", "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, body)
}

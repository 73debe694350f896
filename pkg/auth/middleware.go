package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CookieName is the session cookie.
const CookieName = "saguaro_session"

// Method says how a request's user was established.
type Method string

const (
	MethodNone      Method = ""
	MethodToken     Method = "token"     // Authorization: Bearer
	MethodBasic     Method = "basic"     // Authorization: Basic
	MethodSession   Method = "session"   // session cookie
	MethodProxy     Method = "proxy"     // trusted reverse-proxy header
	MethodAnonymous Method = "anonymous" // anonymous viewer
)

// Options configure an Authenticator. The zero value is a safe default:
// tokens, Basic and sessions only; no proxy header, no anonymous access.
type Options struct {
	// SessionTTL is how long a login lasts; default 12 hours.
	SessionTTL time.Duration
	// SecureCookies forces the Secure flag even on plain-HTTP requests
	// (for TLS terminated by a proxy not listed in TrustedProxies).
	SecureCookies bool

	// ProxyHeader names the header a trusted reverse proxy sets to the
	// authenticated user name (e.g. "X-Remote-User"). Empty: off.
	ProxyHeader string
	// TrustedProxies are the addresses allowed to set ProxyHeader and
	// X-Forwarded-For/-Proto. A ProxyHeader from anyone else is removed.
	TrustedProxies []netip.Prefix
	// ProxyAutoCreate, if set, is the role given to proxy-named users that
	// do not exist yet; they are created without a usable password. Empty:
	// unknown proxy users are refused.
	ProxyAutoCreate Role

	// Anonymous lets requests without credentials in as a read-only viewer
	// named "anonymous" (wall displays).
	Anonymous bool

	// Limiter counts failed password logins (form and Basic) per client
	// address and per user name; default NewLimiter with the store's clock.
	Limiter *Limiter
	// TrustedOrigins are extra origins ("https://grafana.example.com")
	// allowed to POST without a session (the login form) by CSRF.
	TrustedOrigins []string
	// Logger receives auth failures (never passwords or tokens); default
	// slog.Default().
	Logger *slog.Logger
}

// Authenticator resolves the user of each request and starts and ends
// browser sessions.
type Authenticator struct {
	store *Store
	opt   Options
	lim   *Limiter
	log   *slog.Logger
	cop   *http.CrossOriginProtection

	logMu      sync.Mutex
	logWindow  time.Time // start of the current one-second log window
	logCount   int       // failure lines written in it
	suppressed int       // failure lines dropped since the last one written
}

// maxFailLogs bounds auth_failed lines per second, so a password spray
// cannot flood the log; the next line written says how many were dropped.
const maxFailLogs = 20

// NewAuthenticator checks o and returns an Authenticator over s.
func NewAuthenticator(s *Store, o Options) (*Authenticator, error) {
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SessionTTL < 0 || o.SessionTTL > MaxSessionTTL {
		return nil, fmt.Errorf("auth options: session ttl: %w: %s outside (0, %s]", ErrInvalid, o.SessionTTL, MaxSessionTTL)
	}
	if o.ProxyHeader != "" {
		if len(o.TrustedProxies) == 0 {
			return nil, fmt.Errorf("auth options: proxy header %q: %w: needs at least one trusted proxy prefix", o.ProxyHeader, ErrInvalid)
		}
		if strings.EqualFold(o.ProxyHeader, "Authorization") || strings.EqualFold(o.ProxyHeader, "Cookie") {
			return nil, fmt.Errorf("auth options: proxy header %q: %w: reserved header", o.ProxyHeader, ErrInvalid)
		}
	}
	for i, p := range o.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("auth options: trusted proxy %d: %w: invalid prefix", i+1, ErrInvalid)
		}
	}
	if o.ProxyAutoCreate != "" && !o.ProxyAutoCreate.Valid() {
		return nil, fmt.Errorf("auth options: proxy auto-create role %q: %w", o.ProxyAutoCreate, ErrInvalid)
	}
	a := &Authenticator{store: s, opt: o, lim: o.Limiter, log: o.Logger, cop: http.NewCrossOriginProtection()}
	if a.lim == nil {
		a.lim = NewLimiter(LimiterConfig{Now: s.now})
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	for _, origin := range o.TrustedOrigins {
		if err := a.cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("auth options: trusted origin %q: %w: %v", origin, ErrInvalid, err)
		}
	}
	return a, nil
}

// Limiter returns the login limiter in use.
func (a *Authenticator) Limiter() *Limiter { return a.lim }

type ctxKey struct{}

type reqAuth struct {
	user   User
	method Method
	csrf   string
}

// NewContext returns ctx carrying u as authenticated by m; for handlers'
// tests and for callers that authenticate by other means.
func NewContext(ctx context.Context, u User, m Method) context.Context {
	return context.WithValue(ctx, ctxKey{}, &reqAuth{user: u, method: m})
}

// UserFrom returns the request's user, if any.
func UserFrom(ctx context.Context) (User, bool) {
	ra, _ := ctx.Value(ctxKey{}).(*reqAuth)
	if ra == nil || ra.method == MethodNone {
		return User{}, false
	}
	return ra.user, true
}

// MethodFrom returns how the request's user was established.
func MethodFrom(ctx context.Context) Method {
	if ra, _ := ctx.Value(ctxKey{}).(*reqAuth); ra != nil {
		return ra.method
	}
	return MethodNone
}

// CSRFToken is the token a page must echo in state-changing forms (hidden
// field csrf_token) or fetches (header X-CSRF-Token). It is empty when the
// request needs none (token, Basic, anonymous, no user).
func CSRFToken(r *http.Request) string {
	if ra, _ := r.Context().Value(ctxKey{}).(*reqAuth); ra != nil {
		return ra.csrf
	}
	return ""
}

// Middleware resolves the user from, in order: Authorization Bearer token,
// Authorization Basic password, session cookie, trusted proxy header,
// anonymous viewer. Presented but invalid Authorization credentials stop
// the search, so a script with a bad token gets 401 from Require rather
// than silently running as anonymous. Middleware itself only refuses
// (429) a Basic login from a rate-limited client; Require decides access.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ra, err := a.resolve(w, r)
		var rl *RateLimitError
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(rl.RetryAfterSeconds()))
			writeError(w, r, http.StatusTooManyRequests, "too many failed logins; retry later", true)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ra)))
	})
}

func (a *Authenticator) resolve(w http.ResponseWriter, r *http.Request) (*reqAuth, error) {
	trusted := a.fromTrustedProxy(r)
	if a.opt.ProxyHeader != "" && !trusted {
		// Nobody but the proxy may claim an identity this way; drop the
		// header so no handler downstream is tempted to read it.
		r.Header.Del(a.opt.ProxyHeader)
	}
	// A trusted proxy that authenticated the user often forwards its own
	// Basic header too (Apache "AuthType Basic"); those are the proxy's
	// credentials, not Saguaro's, so Basic is not checked, or counted as
	// a failed login, when the proxy names a user.
	proxyName := ""
	if trusted && a.opt.ProxyHeader != "" {
		proxyName = strings.TrimSpace(r.Header.Get(a.opt.ProxyHeader))
	}
	none := &reqAuth{}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			u, err := a.store.CheckToken(strings.TrimSpace(cred))
			if err != nil {
				a.fail(r, MethodToken, "", err)
				return none, nil
			}
			return &reqAuth{user: u, method: MethodToken}, nil
		case proxyName != "":
			// Fall through to the session and the proxy header below.
		case strings.EqualFold(scheme, "Basic"):
			name, pw, ok := r.BasicAuth()
			if !ok {
				a.fail(r, MethodBasic, "", fmt.Errorf("%w: malformed Basic header", ErrBadCredentials))
				return none, nil
			}
			u, err := a.checkPassword(r, name, pw)
			if err != nil {
				a.fail(r, MethodBasic, name, err)
				return none, err
			}
			return &reqAuth{user: u, method: MethodBasic}, nil
		default:
			a.fail(r, MethodNone, "", fmt.Errorf("%w: unsupported Authorization scheme %q", ErrBadCredentials, truncate(scheme, 16)))
			return none, nil
		}
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		u, err := a.store.SessionUser(c.Value)
		switch {
		case err == nil:
			return &reqAuth{user: u, method: MethodSession, csrf: a.store.csrfToken("session", c.Value)}, nil
		case errors.Is(err, ErrNotFound):
			// Expired or ended elsewhere: drop the stale cookie, carry on.
			a.clearCookie(w, r)
		default:
			// The database failed, the session may be fine: keep the
			// cookie and refuse this one request.
			a.fail(r, MethodSession, "", err)
			return none, nil
		}
	}
	if proxyName != "" {
		u, err := a.proxyUser(proxyName)
		if err != nil {
			a.fail(r, MethodProxy, proxyName, err)
			return none, nil
		}
		return &reqAuth{user: u, method: MethodProxy, csrf: a.store.csrfToken("proxy", u.Name)}, nil
	}
	if a.opt.Anonymous {
		return &reqAuth{user: User{Name: AnonymousName, Role: RoleViewer}, method: MethodAnonymous}, nil
	}
	return none, nil
}

func (a *Authenticator) proxyUser(name string) (User, error) {
	u, err := a.store.User(name)
	if errors.Is(err, ErrNotFound) && a.opt.ProxyAutoCreate != "" {
		if err := ValidName(name); err != nil {
			return User{}, err
		}
		// "!" is not a bcrypt hash, so no password ever matches it.
		u, err = a.store.insertUser(context.Background(), a.store.db, name, a.opt.ProxyAutoCreate, []byte("!"))
		if errors.Is(err, ErrExists) { // created concurrently
			u, err = a.store.User(name)
		}
		if err == nil {
			a.log.Info("auth_proxy_user_created", "user", u.Name, "role", string(u.Role))
		}
	}
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	return u, nil
}

// limitKeys are the limiter keys for a password attempt: the client's
// address (IPv6 by /64, which one host usually owns whole) and the name.
func (a *Authenticator) limitKeys(r *http.Request, name string) (ipKey, userKey string) {
	ip := a.ClientIP(r)
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		ipKey = "ip:" + p.String()
	} else {
		ipKey = "ip:" + ip.Unmap().String()
	}
	return ipKey, "user:" + strings.ToLower(truncate(name, maxNameLen))
}

// checkPassword is CheckPassword behind the login limiter.
func (a *Authenticator) checkPassword(r *http.Request, name, pw string) (User, error) {
	ipKey, userKey := a.limitKeys(r, name)
	if wait := max(a.lim.Wait(ipKey), a.lim.Wait(userKey)); wait > 0 {
		return User{}, &RateLimitError{RetryAfter: wait}
	}
	u, err := a.store.CheckPassword(name, pw)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrDisabled) {
			a.lim.Fail(ipKey)
			a.lim.Fail(userKey)
		}
		return User{}, err
	}
	// The address key stays: one valid account must not reset the
	// counter for guesses at the others from the same client.
	a.lim.Reset(userKey)
	return u, nil
}

// Login checks a password (the login form), starts a session and sets its
// cookie. Failures: ErrBadCredentials, ErrDisabled, *RateLimitError.
// A session cookie the browser already had is ended, so a session id
// planted before login never becomes authenticated (session fixation).
func (a *Authenticator) Login(w http.ResponseWriter, r *http.Request, name, password string) (User, error) {
	u, err := a.checkPassword(r, name, password)
	if err != nil {
		a.fail(r, MethodSession, name, err)
		return User{}, fmt.Errorf("login: %w", err)
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		a.store.EndSession(c.Value) // best effort; the new id replaces it anyway
	}
	id, err := a.store.NewSession(u.Name, a.opt.SessionTTL)
	if err != nil {
		return User{}, fmt.Errorf("login: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    id,
		Path:     "/",
		MaxAge:   int(a.opt.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   a.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	return u, nil
}

// Logout ends the request's session, if any, and clears the cookie.
func (a *Authenticator) Logout(w http.ResponseWriter, r *http.Request) error {
	a.clearCookie(w, r)
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if err := a.store.EndSession(c.Value); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	}
	return nil
}

func (a *Authenticator) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
}

func (a *Authenticator) secure(r *http.Request) bool {
	return a.opt.SecureCookies || r.TLS != nil ||
		a.fromTrustedProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		addr, _ := netip.ParseAddr(r.RemoteAddr)
		return addr.Unmap()
	}
	return ap.Addr().Unmap()
}

func (a *Authenticator) trusted(ip netip.Addr) bool {
	for _, p := range a.opt.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (a *Authenticator) fromTrustedProxy(r *http.Request) bool {
	return len(a.opt.TrustedProxies) > 0 && a.trusted(remoteAddr(r))
}

// ClientIP is the address of the client: the peer address, or, when the
// peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For. Entries a client wrote itself sit further left and are
// never reached past an untrusted hop, so they cannot be spoofed.
func (a *Authenticator) ClientIP(r *http.Request) netip.Addr {
	ip := remoteAddr(r)
	if !a.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop at the last hop we could trust
		}
		ip = h.Unmap()
		if !a.trusted(ip) {
			break
		}
	}
	return ip
}

// fail logs one authentication failure. err never carries a secret; the
// user name is bounded and quoted by slog.
func (a *Authenticator) fail(r *http.Request, m Method, name string, err error) {
	now := a.store.now()
	a.logMu.Lock()
	if now.Sub(a.logWindow) >= time.Second || now.Before(a.logWindow) {
		a.logWindow, a.logCount = now, 0
	}
	if a.logCount >= maxFailLogs {
		a.suppressed++
		a.logMu.Unlock()
		return
	}
	a.logCount++
	dropped := a.suppressed
	a.suppressed = 0
	a.logMu.Unlock()
	a.log.Warn("auth_failed", "method", string(m), "user", truncate(name, maxNameLen),
		"client", a.ClientIP(r).String(), "path", truncate(r.URL.Path, 256), "err", err.Error(),
		"suppressed", dropped)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Challenge says how Require answers a request that has no user.
type Challenge int

const (
	// ChallengeBasic answers 401 with WWW-Authenticate: Basic realm="Saguaro"
	// and a JSON error body: for /api paths and scripts.
	ChallengeBasic Challenge = iota
	// ChallengeLogin redirects (303) to LoginPath?next=<original path>: for
	// HTML pages.
	ChallengeLogin
)

// LoginPath is where ChallengeLogin sends browsers.
const LoginPath = "/login"

// Require lets a request through only if it has a user with at least role
// min: no user gives 401 or a login redirect (per c), a user with too small
// a role 403. The anonymous viewer asking for more than viewing is treated
// as no user, since logging in may help.
func Require(min Role, c Challenge) func(http.Handler) http.Handler {
	if !min.Valid() {
		panic(fmt.Sprintf("auth.Require: invalid role %q", min))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := UserFrom(r.Context())
			if ok && u.Role.AtLeast(min) {
				next.ServeHTTP(w, r)
				return
			}
			if !ok || MethodFrom(r.Context()) == MethodAnonymous {
				if c == ChallengeLogin {
					http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				w.Header().Set("WWW-Authenticate", `Basic realm="Saguaro", charset="UTF-8"`)
				w.Header().Add("WWW-Authenticate", `Bearer realm="Saguaro"`)
				writeError(w, r, http.StatusUnauthorized, "authentication required", true)
				return
			}
			writeError(w, r, http.StatusForbidden, "forbidden: the "+string(min)+" role is required", c == ChallengeBasic)
		})
	}
}

// SafeNext returns next if it is a local path (for the redirect after
// login), else "/". It refuses absolute URLs and scheme-relative "//host"
// or "/\host" forms that browsers would treat as another site.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	return next
}

func writeError(w http.ResponseWriter, r *http.Request, code int, msg string, asJSON bool) {
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, `{"error":`+strconv.Quote(msg)+`}`+"\n")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

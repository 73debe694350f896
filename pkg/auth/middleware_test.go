package auth

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

const proxyHeader = "X-Remote-User"

type account struct {
	name, pw, token, session string
	role                     Role
}

type fixture struct {
	t    *testing.T
	s    *Store
	a    *Authenticator
	clk  *clock
	logs *bytes.Buffer
	acct map[Role]account
}

// newFixture makes a store with one user per role, each with a token and
// a session, and an Authenticator over it.
func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	clk := newClock()
	s, _ := newStore(t, clk)
	f := &fixture{t: t, s: s, clk: clk, logs: new(bytes.Buffer), acct: map[Role]account{}}
	for _, r := range []Role{RoleViewer, RoleEditor, RoleAdmin} {
		ac := account{name: "u-" + string(r), pw: "pw-of-" + string(r) + "-secret", role: r}
		mustAdd(t, s, ac.name, r, ac.pw)
		var err error
		if ac.token, _, err = s.NewToken(ac.name, "t", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if ac.session, err = s.NewSession(ac.name, time.Hour); err != nil {
			t.Fatal(err)
		}
		f.acct[r] = ac
	}
	o.Logger = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := NewAuthenticator(s, o)
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

// whoami answers 200 with the user, method and CSRF token it sees.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	json.NewEncoder(w).Encode(map[string]string{
		"user": u.Name, "role": string(u.Role), "method": string(MethodFrom(r.Context())),
		"csrf": CSRFToken(r), "proxy_header": r.Header.Get(proxyHeader),
	})
})

func (f *fixture) handler(min Role, c Challenge) http.Handler {
	return f.a.Middleware(f.a.CSRF(Require(min, c)(whoami)))
}

type cred struct {
	kind  string // bearer, basic, session, proxy, none
	value string
	pw    string
	ip    string
}

func (f *fixture) do(h http.Handler, method, target string, c cred, mod ...func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.10:40000"
	if c.ip != "" {
		r.RemoteAddr = c.ip
	}
	switch c.kind {
	case "bearer":
		r.Header.Set("Authorization", "Bearer "+c.value)
	case "basic":
		r.SetBasicAuth(c.value, c.pw)
	case "session":
		r.AddCookie(&http.Cookie{Name: CookieName, Value: c.value})
	case "proxy":
		if c.ip == "" {
			r.RemoteAddr = "10.1.2.3:5555"
		}
		r.Header.Set(proxyHeader, c.value)
	}
	for _, m := range mod {
		m(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func body(t *testing.T, w *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

var proxyOpts = Options{ProxyHeader: proxyHeader, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}

// Every credential kind against every role and required role.
func TestRequireMatrix(t *testing.T) {
	f := newFixture(t, proxyOpts)
	roles := []Role{RoleViewer, RoleEditor, RoleAdmin}
	for _, have := range roles {
		ac := f.acct[have]
		creds := map[string]cred{
			"bearer":  {kind: "bearer", value: ac.token},
			"basic":   {kind: "basic", value: ac.name, pw: ac.pw},
			"session": {kind: "session", value: ac.session},
			"proxy":   {kind: "proxy", value: ac.name},
		}
		for kind, c := range creds {
			for _, need := range roles {
				for _, method := range []string{http.MethodGet, http.MethodDelete} {
					name := fmt.Sprintf("%s/%s/needs-%s/%s", kind, have, need, method)
					t.Run(name, func(t *testing.T) {
						var mod []func(*http.Request)
						if method != http.MethodGet && (kind == "session" || kind == "proxy") {
							mod = append(mod, f.withCSRF(c))
						}
						w := f.do(f.handler(need, ChallengeBasic), method, "/api/v1/x", c, mod...)
						want := http.StatusOK
						if !have.AtLeast(need) {
							want = http.StatusForbidden
						}
						if w.Code != want {
							t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
						}
						if want == http.StatusOK {
							b := body(t, w)
							wantMethod := kind
							if kind == "bearer" {
								wantMethod = string(MethodToken)
							}
							if b["user"] != ac.name || b["method"] != wantMethod {
								t.Errorf("resolved %v", b)
							}
						}
					})
				}
			}
		}
	}
}

// withCSRF fetches the CSRF token for c with a GET and sets it on the
// request as the header.
func (f *fixture) withCSRF(c cred) func(*http.Request) {
	w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", c)
	tok := body(f.t, w)["csrf"]
	if tok == "" {
		f.t.Fatalf("no CSRF token for %s", c.kind)
	}
	return func(r *http.Request) { r.Header.Set(CSRFHeader, tok) }
}

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t, proxyOpts)
	ac := f.acct[RoleAdmin]
	otherToken := newTokenText() // well-formed, never issued
	cases := []struct {
		name string
		c    cred
	}{
		{"nothing", cred{kind: "none"}},
		{"unknown token", cred{kind: "bearer", value: otherToken}},
		{"garbage token", cred{kind: "bearer", value: "hello"}},
		{"wrong password", cred{kind: "basic", value: ac.name, pw: "wrong"}},
		{"unknown user", cred{kind: "basic", value: "ghost", pw: ac.pw}},
		{"unknown session", cred{kind: "session", value: randomString(sessionIDLen)}},
		{"proxy header from untrusted address", cred{kind: "proxy", value: ac.name, ip: "192.0.2.7:1234"}},
		{"proxy header naming unknown user", cred{kind: "proxy", value: "ghost"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/api/v1/graphs", tc.c)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("API: status %d, want 401: %s", w.Code, w.Body)
			}
			if got := w.Header().Values("WWW-Authenticate"); len(got) == 0 || !strings.HasPrefix(got[0], `Basic realm="Saguaro"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			w = f.do(f.handler(RoleViewer, ChallengeLogin), http.MethodGet, "/graphs/7?from=-1d", tc.c)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("page: status %d, want 303", w.Code)
			}
			if loc := w.Header().Get("Location"); loc != "/login?next="+url.QueryEscape("/graphs/7?from=-1d") {
				t.Errorf("Location = %q", loc)
			}
		})
	}
	// A stale session cookie is cleared.
	w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "session", value: "stale"})
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != CookieName || c[0].MaxAge >= 0 {
		t.Errorf("stale cookie not cleared: %v", c)
	}
}

func TestDisabledUserRefusedEverywhere(t *testing.T) {
	f := newFixture(t, proxyOpts)
	ac := f.acct[RoleEditor]
	if err := f.s.SetDisabled(ac.name, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cred{
		{kind: "bearer", value: ac.token},
		{kind: "basic", value: ac.name, pw: ac.pw},
		{kind: "session", value: ac.session},
		{kind: "proxy", value: ac.name},
	} {
		if w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", c); w.Code != http.StatusUnauthorized {
			t.Errorf("%s of disabled user: status %d", c.kind, w.Code)
		}
	}
}

func TestCredentialPrecedence(t *testing.T) {
	f := newFixture(t, Options{Anonymous: true})
	v, a := f.acct[RoleViewer], f.acct[RoleAdmin]
	// Bearer wins over a session cookie of someone else.
	w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "bearer", value: v.token},
		func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: a.session}) })
	if b := body(t, w); b["user"] != v.name || b["method"] != "token" {
		t.Errorf("bearer+cookie resolved %v", b)
	}
	// A bad bearer token does not fall through to the cookie or anonymous.
	w = f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "bearer", value: "sag_nope"},
		func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: a.session}) })
	if w.Code != http.StatusUnauthorized {
		t.Errorf("bad bearer with cookie: %d", w.Code)
	}
	w = f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "bearer", value: "sag_nope"})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("bad bearer with anonymous on: %d", w.Code)
	}
	// Unknown scheme is not credentials.
	w = f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{},
		func(r *http.Request) { r.Header.Set("Authorization", "Digest x") })
	if w.Code != http.StatusUnauthorized {
		t.Errorf("Digest: %d", w.Code)
	}
}

func TestAnonymous(t *testing.T) {
	off := newFixture(t, Options{})
	if w := off.do(off.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{}); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous is off by default, got %d", w.Code)
	}
	f := newFixture(t, Options{Anonymous: true})
	w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{})
	if w.Code != http.StatusOK {
		t.Fatalf("anonymous viewer route: %d", w.Code)
	}
	if b := body(t, w); b["user"] != AnonymousName || b["role"] != "viewer" || b["method"] != "anonymous" {
		t.Errorf("anonymous resolved %v", b)
	}
	// Anonymous asking for more is sent to log in, not forbidden.
	if w := f.do(f.handler(RoleEditor, ChallengeBasic), http.MethodGet, "/", cred{}); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous on editor API route: %d, want 401", w.Code)
	}
	if w := f.do(f.handler(RoleEditor, ChallengeLogin), http.MethodGet, "/", cred{}); w.Code != http.StatusSeeOther {
		t.Errorf("anonymous on editor page: %d, want 303", w.Code)
	}
	// Real credentials still win over anonymous.
	w = f.do(f.handler(RoleEditor, ChallengeBasic), http.MethodGet, "/", cred{kind: "bearer", value: f.acct[RoleEditor].token})
	if w.Code != http.StatusOK {
		t.Errorf("editor token with anonymous on: %d", w.Code)
	}
}

func TestProxyHeader(t *testing.T) {
	o := proxyOpts
	o.ProxyAutoCreate = RoleViewer
	f := newFixture(t, o)
	h := f.handler(RoleViewer, ChallengeBasic)

	// From an untrusted address the header is stripped, not just ignored.
	w := f.do(f.a.Middleware(whoami), http.MethodGet, "/", cred{kind: "proxy", value: "u-admin", ip: "192.0.2.1:1"})
	if b := body(t, w); b["user"] != "" || b["proxy_header"] != "" {
		t.Errorf("untrusted proxy header: %v", b)
	}
	// Trusted, unknown name: created as a viewer without a usable password.
	w = f.do(h, http.MethodGet, "/", cred{kind: "proxy", value: "sso.user@example.com"})
	if w.Code != http.StatusOK || body(t, w)["user"] != "sso.user@example.com" {
		t.Fatalf("auto-created proxy user: %d %s", w.Code, w.Body)
	}
	u, err := f.s.User("sso.user@example.com")
	if err != nil || u.Role != RoleViewer {
		t.Fatalf("stored proxy user: %+v %v", u, err)
	}
	for _, pw := range []string{"", "!", "password"} {
		if _, err := f.s.CheckPassword(u.Name, pw); err == nil {
			t.Errorf("proxy-created user logs in with password %q", pw)
		}
	}
	// Names that are not valid user names are refused, not created.
	w = f.do(h, http.MethodGet, "/", cred{kind: "proxy", value: "bad name'--"})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("invalid proxy name: %d", w.Code)
	}
	// The proxy's own Basic credentials are neither checked nor counted.
	for range 10 {
		w = f.do(h, http.MethodGet, "/", cred{kind: "proxy", value: "u-editor"}, func(r *http.Request) { r.SetBasicAuth("u-editor", "apache-password") })
		if w.Code != http.StatusOK || body(t, w)["method"] != "proxy" {
			t.Fatalf("proxy login with the proxy's Basic header: %d %s", w.Code, w.Body)
		}
	}
	if n := f.a.Limiter().Len(); n != 0 {
		t.Errorf("proxied Basic headers counted as %d failed logins", n)
	}
	// Without the proxy header, Basic from the proxy's address is checked.
	w = f.do(h, http.MethodGet, "/", cred{ip: "10.1.2.3:5555"}, func(r *http.Request) { r.SetBasicAuth("u-editor", "apache-password") })
	if w.Code != http.StatusUnauthorized {
		t.Errorf("bad Basic from the proxy address without the header: %d", w.Code)
	}
	// IPv6 trusted prefix and IPv4-mapped peers work too.
	o6 := Options{ProxyHeader: proxyHeader, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("127.0.0.0/8")}}
	f6 := newFixture(t, o6)
	for _, ip := range []string{"[::1]:80", "[::ffff:127.0.0.1]:80"} {
		w := f6.do(f6.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "proxy", value: "u-viewer", ip: ip})
		if w.Code != http.StatusOK {
			t.Errorf("proxy from %s: %d", ip, w.Code)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	s, _ := newStore(t, nil)
	for name, o := range map[string]Options{
		"proxy header without proxies": {ProxyHeader: "X-User"},
		"authorization as proxy":       {ProxyHeader: "authorization", TrustedProxies: proxyOpts.TrustedProxies},
		"bad auto-create role":         {ProxyAutoCreate: "root"},
		"negative ttl":                 {SessionTTL: -time.Second},
		"bad origin":                   {TrustedOrigins: []string{"not a url"}},
		"invalid prefix":               {TrustedProxies: []netip.Prefix{{}}},
	} {
		if _, err := NewAuthenticator(s, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, proxyOpts)
	ed := f.acct[RoleEditor]
	h := f.handler(RoleEditor, ChallengeBasic)
	sess := cred{kind: "session", value: ed.session}
	tokenFor := func(c cred) string {
		return body(t, f.do(h, http.MethodGet, "/", c))["csrf"]
	}
	tok := tokenFor(sess)
	otherSession, _ := f.s.NewSession(ed.name, time.Hour)
	otherTok := tokenFor(cred{kind: "session", value: otherSession})
	if tok == "" || tok == otherTok {
		t.Fatalf("CSRF tokens %q %q: want distinct per session", tok, otherTok)
	}
	form := func(v string) func(*http.Request) {
		return func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(url.Values{CSRFField: {v}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	hdr := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(CSRFHeader, v) } }
	cases := []struct {
		name   string
		method string
		c      cred
		mod    []func(*http.Request)
		want   int
	}{
		{"session GET needs no token", http.MethodGet, sess, nil, 200},
		{"session POST without token", http.MethodPost, sess, nil, 403},
		{"session PUT without token", http.MethodPut, sess, nil, 403},
		{"session PATCH without token", http.MethodPatch, sess, nil, 403},
		{"session DELETE without token", http.MethodDelete, sess, nil, 403},
		{"session POST header token", http.MethodPost, sess, []func(*http.Request){hdr(tok)}, 200},
		{"session POST form token", http.MethodPost, sess, []func(*http.Request){form(tok)}, 200},
		{"session POST wrong token", http.MethodPost, sess, []func(*http.Request){hdr(flipLast(tok))}, 403},
		{"session POST other session's token", http.MethodPost, sess, []func(*http.Request){hdr(otherTok)}, 403},
		{"bearer POST exempt", http.MethodPost, cred{kind: "bearer", value: ed.token}, nil, 200},
		{"basic DELETE exempt", http.MethodDelete, cred{kind: "basic", value: ed.name, pw: ed.pw}, nil, 200},
		{"proxy POST without token", http.MethodPost, cred{kind: "proxy", value: ed.name}, nil, 403},
		{"proxy POST with token", http.MethodPost, cred{kind: "proxy", value: ed.name}, []func(*http.Request){hdr(tokenFor(cred{kind: "proxy", value: ed.name}))}, 200},
		{"no user cross-site POST", http.MethodPost, cred{}, []func(*http.Request){func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }}, 403},
		{"no user same-origin POST reaches Require", http.MethodPost, cred{}, []func(*http.Request){func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") }}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(h, tc.method, "/api/v1/devices", tc.c, tc.mod...)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
}

// Basic-auth guessing is limited per client address and per user name.
func TestBasicRateLimit(t *testing.T) {
	f := newFixture(t, Options{})
	h := f.handler(RoleViewer, ChallengeBasic)
	v := f.acct[RoleViewer]
	bad := cred{kind: "basic", value: v.name, pw: "guess", ip: "198.51.100.1:1"}
	for i := range 5 {
		if w := f.do(h, http.MethodGet, "/", bad); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, w.Code)
		}
	}
	good := cred{kind: "basic", value: v.name, pw: v.pw, ip: "198.51.100.1:1"}
	w := f.do(h, http.MethodGet, "/", good)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("6th attempt: status %d Retry-After %q, want 429 and 60", w.Code, w.Header().Get("Retry-After"))
	}
	// The user name is limited from another address too...
	if w := f.do(h, http.MethodGet, "/", cred{kind: "basic", value: v.name, pw: v.pw, ip: "203.0.113.5:1"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("same user from another address: %d", w.Code)
	}
	// ...and the address for other user names.
	ed := f.acct[RoleEditor]
	if w := f.do(h, http.MethodGet, "/", cred{kind: "basic", value: ed.name, pw: ed.pw, ip: "198.51.100.1:1"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("same address, other user: %d", w.Code)
	}
	// Tokens are not password guesses: unaffected.
	if w := f.do(h, http.MethodGet, "/", cred{kind: "bearer", value: v.token, ip: "198.51.100.1:1"}); w.Code != http.StatusOK {
		t.Errorf("token from limited address: %d", w.Code)
	}
	f.clk.Advance(30 * time.Second)
	if w := f.do(h, http.MethodGet, "/", good); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" {
		t.Errorf("after 30 s: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	f.clk.Advance(30 * time.Second)
	if w := f.do(h, http.MethodGet, "/", good); w.Code != http.StatusOK {
		t.Errorf("after the window: %d", w.Code)
	}
}

// IPv6 clients are limited by /64, and X-Forwarded-For only counts from a
// trusted proxy.
func TestClientIP(t *testing.T) {
	f := newFixture(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	cases := []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:1", "", "192.0.2.1"},
		{"192.0.2.1:1", "203.0.113.9", "192.0.2.1"},                     // untrusted peer: XFF ignored
		{"10.0.0.1:1", "203.0.113.9", "203.0.113.9"},                    // trusted peer
		{"10.0.0.1:1", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"}, // client-written 6.6.6.6 not reached
		{"10.0.0.1:1", "junk", "10.0.0.1"},
		{"[::ffff:192.0.2.1]:1", "", "192.0.2.1"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := f.a.ClientIP(r).String(); got != tc.want {
			t.Errorf("ClientIP(%s, XFF %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	r1 := httptest.NewRequest(http.MethodGet, "/", nil)
	r1.RemoteAddr = "[2001:db8:1:2::1]:1"
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.RemoteAddr = "[2001:db8:1:2:ffff::9]:1"
	k1, _ := f.a.limitKeys(r1, "x")
	k2, _ := f.a.limitKeys(r2, "x")
	if k1 != k2 {
		t.Errorf("same /64 gives keys %q and %q", k1, k2)
	}
}

// loginServer is a minimal login form handler over Authenticator.Login, the
// way pkg/web uses it.
func loginServer(t *testing.T, f *fixture) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("POST /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := f.a.Login(w, r, r.PostFormValue("user"), r.PostFormValue("password"))
		var rl *RateLimitError
		switch {
		case err == nil:
			http.Redirect(w, r, SafeNext(r.PostFormValue("next")), http.StatusSeeOther)
		case asRateLimit(err, &rl):
			w.Header().Set("Retry-After", fmt.Sprint(rl.RetryAfterSeconds()))
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			http.Error(w, "bad login", http.StatusUnauthorized)
		}
	}))
	mux.Handle("POST /logout", Require(RoleViewer, ChallengeLogin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.a.Logout(w, r)
		http.Redirect(w, r, LoginPath, http.StatusSeeOther)
	})))
	// The login page carries the CSRF token when the browser already has a
	// session (switching users), as the real form does.
	mux.Handle("GET /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, CSRFToken(r)) }))
	mux.Handle("/", Require(RoleViewer, ChallengeLogin)(whoami))
	mux.Handle("POST /devices", Require(RoleEditor, ChallengeLogin)(whoami))
	srv := httptest.NewServer(f.a.Middleware(f.a.CSRF(mux)))
	t.Cleanup(srv.Close)
	return srv
}

func asRateLimit(err error, rl **RateLimitError) bool { return errors.As(err, rl) }

// A browser-like client: log in, browse, post with and without the CSRF
// token, log out.
func TestLoginFlowOverHTTP(t *testing.T) {
	f := newFixture(t, Options{})
	srv := loginServer(t, f)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	ed := f.acct[RoleEditor]

	res, err := c.Get(srv.URL + "/graphs")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/login" || res.Request.URL.Query().Get("next") != "/graphs" {
		t.Fatalf("unauthenticated page went to %s", res.Request.URL)
	}

	// A cookie planted before login must not become the session.
	u, _ := url.Parse(srv.URL)
	planted, _ := f.s.NewSession(f.acct[RoleViewer].name, time.Hour)
	jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: planted}})

	res, err = c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	pageTok, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res, err = c.PostForm(srv.URL+"/login", url.Values{"user": {ed.name}, "password": {ed.pw}, "next": {"//evil.example/x"}, CSRFField: {string(pageTok)}})
	if err != nil {
		t.Fatal(err)
	}
	var who map[string]string
	json.NewDecoder(res.Body).Decode(&who)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Host != u.Host || res.Request.URL.Path != "/" || who["user"] != ed.name || who["method"] != "session" {
		t.Fatalf("after login: %d at %s as %v", res.StatusCode, res.Request.URL, who)
	}
	if _, err := f.s.SessionUser(planted); err == nil {
		t.Error("the planted session survived the login")
	}
	var sc *http.Cookie
	for _, ck := range res.Request.Response.Cookies() {
		if ck.Name == CookieName {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/" {
		t.Fatalf("session cookie %+v", sc)
	}

	post := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/devices", strings.NewReader(url.Values{CSRFField: {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(""); code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d", code)
	}
	if code := post(who["csrf"]); code != http.StatusOK {
		t.Errorf("POST with CSRF token: %d", code)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/logout", nil)
	req.Header.Set(CSRFHeader, who["csrf"])
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, _ = c.Get(srv.URL + "/")
	res.Body.Close()
	if res.Request.URL.Path != "/login" {
		t.Errorf("after logout / went to %s", res.Request.URL)
	}
}

func TestLoginRateLimitAndCookieFlags(t *testing.T) {
	f := newFixture(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	v := f.acct[RoleViewer]
	login := func(pw string, mod ...func(*http.Request)) (*httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = "192.0.2.50:1"
		for _, m := range mod {
			m(r)
		}
		w := httptest.NewRecorder()
		_, err := f.a.Login(w, r, v.name, pw)
		return w, err
	}
	for i := range 5 {
		if _, err := login("nope"); err == nil || asRateLimit(err, new(*RateLimitError)) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := login(v.pw)
	var rl *RateLimitError
	if !asRateLimit(err, &rl) || rl.RetryAfterSeconds() != 60 {
		t.Fatalf("6th login: %v", err)
	}
	f.clk.Advance(time.Minute)

	w, err := login(v.pw, func(r *http.Request) { r.TLS = &tls.ConnectionState{} })
	if err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure || !c[0].HttpOnly || c[0].MaxAge != int((12*time.Hour)/time.Second) {
		t.Errorf("TLS login cookie %+v", c)
	}
	w, _ = login(v.pw, func(r *http.Request) { r.RemoteAddr = "10.0.0.1:1"; r.Header.Set("X-Forwarded-Proto", "https") })
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("login behind TLS proxy: cookie %+v", c)
	}
	w, _ = login(v.pw, func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") })
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Secure {
		t.Errorf("X-Forwarded-Proto from an untrusted client was believed: %+v", c)
	}
}

// Failed and successful logins of every kind leave no secret in the log.
func TestSecretsNeverLogged(t *testing.T) {
	f := newFixture(t, proxyOpts)
	h := f.handler(RoleViewer, ChallengeBasic)
	ad := f.acct[RoleAdmin]
	revoked, info, _ := f.s.NewToken(ad.name, "old", time.Time{})
	f.s.RevokeToken(ad.name, info.ID)
	for _, c := range []cred{
		{kind: "basic", value: ad.name, pw: "Wrong-Secret-Pass"},
		{kind: "basic", value: ad.name, pw: ad.pw},
		{kind: "bearer", value: revoked},
		{kind: "bearer", value: ad.token},
		{kind: "bearer", value: ad.token + "x"},
		{kind: "session", value: ad.session},
		{kind: "session", value: ad.session[:20] + "x"},
	} {
		f.do(h, http.MethodGet, "/", c)
	}
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	f.a.Login(httptest.NewRecorder(), r, ad.name, "Another-Wrong-Secret")
	logs := f.logs.String()
	if !strings.Contains(logs, "auth_failed") {
		t.Fatalf("failures were not logged: %q", logs)
	}
	for _, secret := range []string{"Wrong-Secret-Pass", "Another-Wrong-Secret", ad.pw, revoked[4:20], ad.token[4:20], ad.session[:20]} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %q:\n%s", secret, logs)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/graphs?x=1":          "/graphs?x=1",
		"":                     "/",
		"graphs":               "/",
		"//evil.example":       "/",
		`/\evil.example`:       "/",
		"https://evil.example": "/",
		"/a\nb":                "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// flipLast changes the last character of s to a different one.
func flipLast(s string) string {
	last := "A"
	if strings.HasSuffix(s, "A") {
		last = "B"
	}
	return s[:len(s)-1] + last
}

func TestFailureLogIsRateLimited(t *testing.T) {
	f := newFixture(t, Options{})
	h := f.handler(RoleViewer, ChallengeBasic)
	for range 200 {
		f.do(h, http.MethodGet, "/", cred{kind: "bearer", value: "sag_junk"})
	}
	if n := strings.Count(f.logs.String(), "auth_failed"); n != maxFailLogs {
		t.Fatalf("%d failure lines in one second, want %d", n, maxFailLogs)
	}
	f.clk.Advance(time.Second)
	f.logs.Reset()
	f.do(h, http.MethodGet, "/", cred{kind: "bearer", value: "sag_junk"})
	if !strings.Contains(f.logs.String(), `"suppressed":180`) {
		t.Errorf("next line does not report the dropped ones: %s", f.logs)
	}
}

// A database failure refuses the request but keeps the session cookie:
// the session may well be fine once the database answers again.
func TestSessionKeptOnDatabaseError(t *testing.T) {
	f := newFixture(t, Options{})
	f.s.db.Close()
	w := f.do(f.handler(RoleViewer, ChallengeBasic), http.MethodGet, "/", cred{kind: "session", value: f.acct[RoleViewer].session})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
	if c := w.Result().Cookies(); len(c) != 0 {
		t.Errorf("cookie cleared on a database error: %v", c)
	}
}

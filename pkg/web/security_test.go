package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// publicRoutes are served without a user.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /assets/*": true, "GET /login": true, "POST /login": true,
	"POST /logout": true, "GET /api/v1/openapi.json": true,
}

// samplePath fills a route's parameters with values that exist.
func samplePath(p string) string {
	r := strings.NewReplacer(":file", "dev1.temp.png", ":id", "dev1.temp", ":name", "dev1", ":kind", "graph", ":tid", "1", "*", "saguaro.css")
	p = r.Replace(p)
	if p == "/templates/graph/dev1" {
		p = "/templates/graph/temp"
	}
	return p
}

// TestEveryRouteNeedsAUser walks the registered routes: without
// credentials pages redirect to the login page and everything else gets
// 401 with a Basic challenge; a bad token is not let through either.
func TestEveryRouteNeedsAUser(t *testing.T) {
	env := newTestEnv(t, nil)
	routes := env.srv.e.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if publicRoutes[key] || rt.Method == "echo_route_not_found" {
			continue
		}
		t.Run(key, func(t *testing.T) {
			path := samplePath(rt.Path)
			for _, hdr := range [][]string{nil, {"Authorization", "Bearer sag_notavalidtokenatallnotavalidtokenatall000000"}, {"Authorization", "Basic " + "YWRtaW4xOndyb25n"}} {
				code, h, body := env.do(t, rt.Method, path, "", nil, hdr...)
				// Wrong passwords soon hit the login rate limit: refused too.
				if code == http.StatusTooManyRequests && hdr != nil && strings.HasPrefix(hdr[1], "Basic") {
					continue
				}
				// /metrics is open to this machine (the self-scrape): the
				// test client is on loopback, so it passes without a user.
				if path == "/metrics" {
					if code != 200 {
						t.Errorf("/metrics from loopback: %d", code)
					}
					continue
				}
				api := strings.HasPrefix(path, "/api/") || path == "/-/reload"
				switch {
				case api && (code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Basic")):
					t.Errorf("%v: %d %q, want 401 with a Basic challenge", hdr, code, body)
				case !api && (code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=")):
					t.Errorf("%v: %d to %q, want a redirect to the login page", hdr, code, h.Get("Location"))
				}
			}
		})
	}
}

// TestMetricsFromElsewhere: /metrics needs a viewer unless the client is
// on this machine. A forged X-Forwarded-For does not make a client local.
func TestMetricsFromElsewhere(t *testing.T) {
	env := newTestEnv(t, nil)
	req := func(remote string, role auth.Role) int {
		r, _ := http.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "127.0.0.1")
		if role != "" {
			r.Header.Set("Authorization", "Bearer "+env.tokens[role])
		}
		w := newRecorder()
		env.srv.Handler().ServeHTTP(w, r)
		return w.code
	}
	if c := req("192.0.2.7:5000", ""); c != 401 {
		t.Errorf("/metrics from another host without credentials: %d, want 401", c)
	}
	if c := req("192.0.2.7:5000", auth.RoleViewer); c != 200 {
		t.Errorf("/metrics from another host as a viewer: %d", c)
	}
	if c := req("127.0.0.1:5000", ""); c != 200 {
		t.Errorf("/metrics from loopback: %d", c)
	}
}

// TestRoles: a viewer is refused (403) what needs an editor or admin.
func TestRoles(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := []struct {
		method, path string
		min          auth.Role
	}{
		{"POST", "/api/v1/templates/validate", auth.RoleEditor},
		{"GET", "/api/v1/users", auth.RoleAdmin},
		{"POST", "/-/reload", auth.RoleAdmin},
		{"GET", "/users", auth.RoleAdmin},
	}
	order := []auth.Role{auth.RoleViewer, auth.RoleEditor, auth.RoleAdmin}
	for _, tc := range cases {
		for _, r := range order {
			code, _, body := env.do(t, tc.method, tc.path, r, strings.NewReader("graphs: []\n"))
			want := http.StatusForbidden
			if r.AtLeast(tc.min) {
				want = http.StatusOK
			}
			if code != want {
				t.Errorf("%s %s as %s: %d %q, want %d", tc.method, tc.path, r, code, body, want)
			}
		}
	}
}

// login logs a browser-like client in through the form and returns it
// with the page's CSRF token.
func login(t *testing.T, env *testEnv, user string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
	res, err := c.PostForm(env.ts.URL+"/login", url.Values{"username": {user}, "password": {testPassword}, "next": {"/account"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(env.ts.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	b := readAll(res)
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("account page has no CSRF token:\n%s", b)
	}
	return c, m[1]
}

func TestCSRF(t *testing.T) {
	env := newTestEnv(t, nil)
	c, csrf := login(t, env, "viewer1")
	post := func(path string, form url.Values, hdr ...string) int {
		req, _ := http.NewRequest("POST", env.ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("/account/tokens", url.Values{"name": {"x"}}); code != http.StatusForbidden {
		t.Errorf("token form without CSRF token: %d, want 403", code)
	}
	if code := post("/account/tokens", url.Values{"name": {"x"}, "csrf_token": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("token form with a forged CSRF token: %d, want 403", code)
	}
	if code := post("/logout", nil); code != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d, want 403", code)
	}
	if code := post("/account/tokens", url.Values{"name": {"x"}, "csrf_token": {csrf}}); code != http.StatusOK {
		t.Errorf("token form with the CSRF token: %d", code)
	}
	// The same form from another site, carrying the right token in the header.
	if code := post("/account/tokens", url.Values{"name": {"y"}}, "X-CSRF-Token", csrf); code != http.StatusOK {
		t.Errorf("CSRF token in the header: %d", code)
	}
	// Login CSRF: a cross-site login form post is refused.
	req, _ := http.NewRequest("POST", env.ts.URL+"/login", strings.NewReader("username=viewer1&password="+url.QueryEscape(testPassword)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login post: %d, want 403", res.StatusCode)
	}
	if code := post("/logout", url.Values{"csrf_token": {csrf}}); code != http.StatusSeeOther {
		t.Errorf("logout with CSRF token: %d", code)
	}
	if res, _ := c.Get(env.ts.URL + "/account"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout /account: %d, want a redirect to the login page", res.StatusCode)
	}
}

// hostile are parameter values that try SQL, paths, markup, headers and
// sheer size.
var hostile = []string{
	"' OR '1'='1", "1; DROP TABLE users; --", `admin"--`, "../../../../etc/passwd", "..%2f..%2fetc%2fpasswd",
	"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "javascript:alert(1)", "\x00", "%00",
	"a\r\nSet-Cookie: x=1", "${jndi:ldap://x}", "{{.}}", strings.Repeat("A", 5000), "-99999999999y", "1e309",
}

// TestInjection sends every hostile value in every parameter of every
// GET route: the answers are 2xx, 3xx, 400 or 404, never a 500; markup
// comes back escaped; the user database is intact afterwards.
func TestInjection(t *testing.T) {
	env := newTestEnvWith(t, newManyGraphs(t, 2, 4), nil)
	params := []string{"start", "end", "range", "width", "height", "theme", "q", "device", "template", "label", "site", "page", "per_page",
		"format", "kind", "status", "next", "download", "var.ifName"}
	paths := []string{"/", "/graph/rtr-000.cpu.eth0", "/device/rtr-000", "/templates", "/login", "/account",
		"/api/v1/graphs", "/api/v1/graphs/rtr-000.cpu.eth0.csv", "/api/v1/graph", "/api/v1/devices", "/api/v1/templates", "/api/v1/tokens"}
	for _, p := range paths {
		for _, name := range params {
			for _, v := range hostile {
				u := p + "?" + url.Values{name: {v}, "template": {"cpu"}, "device": {"rtr-000"}}.Encode()
				if name == "template" || name == "device" {
					u = p + "?" + url.Values{name: {v}}.Encode()
				}
				code, _, body := env.do(t, "GET", u, auth.RoleViewer, nil)
				if code >= 500 || code != 200 && code != 303 && code != 400 && code != 404 {
					t.Errorf("GET %s: %d %.200q", u, code, body)
				}
				if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "<img src=x onerror") {
					t.Errorf("GET %s: markup echoed unescaped", u)
				}
			}
		}
	}
	// Path parameters too.
	for _, v := range hostile {
		for _, p := range []string{"/graph/", "/device/", "/templates/graph/", "/api/v1/graphs/", "/api/v1/devices/", "/api/v1/templates/device/"} {
			code, _, body := env.do(t, "GET", p+url.PathEscape(v), auth.RoleViewer, nil)
			if code >= 500 || strings.Contains(body, "<script>alert(1)") {
				t.Errorf("GET %s%q: %d", p, v, code)
			}
		}
		// Hostile user names and passwords on the login form.
		code, _, _ := env.do(t, "POST", "/login", "", strings.NewReader(url.Values{"username": {v}, "password": {v}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
		if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Errorf("login as %.40q: %d", v, code)
		}
	}
	// Still there and still working.
	if code, _, body := env.do(t, "GET", "/api/v1/users", auth.RoleAdmin, nil); code != 200 || strings.Count(body, `"name"`) != 3 {
		t.Errorf("users after the injection attempts: %d %s", code, body)
	}
}

// TestOversized: bodies, parameters and headers past their limits are
// refused with a clear status, not read into memory.
func TestOversized(t *testing.T) {
	env := newTestEnv(t, nil)
	big := strings.Repeat("x", 2<<20)
	if code, _, body := env.do(t, "POST", "/api/v1/templates/validate", auth.RoleEditor, strings.NewReader(big)); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too large") {
		t.Errorf("2 MiB template: %d %s", code, body)
	}
	for _, u := range []string{
		"/api/v1/graphs?q=" + strings.Repeat("q", 300),
		"/api/v1/graphs?per_page=1000000",
		"/api/v1/graphs/dev1.temp.png?width=100000",
		"/api/v1/graphs/dev1.temp.png?height=99999999999999999999",
		"/api/v1/devices?per_page=0",
	} {
		if code, _, body := env.do(t, "GET", u, auth.RoleViewer, nil); code != 400 || !strings.Contains(body, `"field"`) {
			t.Errorf("%.60s: %d %s", u, code, body)
		}
	}
	// Headers: a real server with the limits Serve sets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("h", 200<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB header: %d, want 431", res.StatusCode)
	}
}

// TestNoSecretsInLogs: failed logins are logged, but never the password
// or token that was tried.
func TestNoSecretsInLogs(t *testing.T) {
	env := newTestEnv(t, nil)
	const pw = "hunter2-but-longer"
	req, _ := http.NewRequest("GET", env.ts.URL+"/api/v1/graphs", nil)
	req.SetBasicAuth("viewer1", pw)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	fake := "sag_" + strings.Repeat("Z", 46)
	env.do(t, "GET", "/api/v1/graphs", "", nil, "Authorization", "Bearer "+fake)
	env.do(t, "POST", "/login", "", strings.NewReader("username=viewer1&password="+pw), "Content-Type", "application/x-www-form-urlencoded")
	// A good token used for real work.
	env.do(t, "GET", "/api/v1/graphs/dev1.temp.png", auth.RoleViewer, nil)
	logs := env.logs.String()
	if !strings.Contains(logs, "auth_failed") {
		t.Errorf("failed logins are not logged:\n%s", logs)
	}
	for _, secret := range []string{pw, fake, env.tokens[auth.RoleViewer], testPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %.12s…:\n%s", secret, logs)
		}
	}
}

// TestOpenAPICoversRoutes: every /api/v1 route is in openapi.json.
func TestOpenAPICoversRoutes(t *testing.T) {
	env := newTestEnv(t, nil)
	code, _, body := env.do(t, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi.json: %d", code)
	}
	conv := regexp.MustCompile(`:(\w+)`)
	for _, rt := range env.srv.e.Routes() {
		p, ok := strings.CutPrefix(rt.Path, "/api/v1")
		if !ok || rt.Method == "echo_route_not_found" {
			continue
		}
		p = conv.ReplaceAllString(p, "{$1}")
		p = strings.Replace(p, "{file}", "{id}.{format}", 1)
		p = strings.Replace(p, "{tid}", "{id}", 1)
		if _, ok := doc.Paths[p][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is not in openapi.json", rt.Method, p)
		}
	}
}

// TestTreeEscapes: the hand-written tree escapes names, errors and links.
func TestTreeEscapes(t *testing.T) {
	tree := buildTree(nil, []DeviceStatus{{Name: `<script>x</script>`, Error: `"><b>boom`}, {Name: "d2", Site: `<u>/"x`}}, filter{})
	tree[0].Href = `/?device=a"onmouseover="x`
	tree[0].Groups = []treeGroup{{Template: "<i>t</i>", Href: "/?t=<"}}
	// Sites are checked by the configuration; the tree escapes them all
	// the same.
	sites, loose := buildSites(tree, filter{})
	siteHrefs(sites, `/?q="`)
	h := string(treeHTML(tree, sites, loose))
	if len(sites) != 1 || len(loose) != 1 || !strings.Contains(h, `data-site="&lt;u&gt;/&#34;x"`) {
		t.Errorf("sites %v, loose %v:\n%s", sites, loose, h)
	}
	for _, bad := range []string{"<script>", `"><b>`, `a"onmouseover`, "<i>", "t=<", "<u>", `q="`} {
		if strings.Contains(h, bad) {
			t.Errorf("tree HTML contains %q unescaped:\n%s", bad, h)
		}
	}
	if !strings.Contains(h, "&lt;script&gt;x&lt;/script&gt;") || !strings.Contains(h, `/device/%3Cscript%3Ex%3C%2Fscript%3E`) {
		t.Errorf("tree HTML:\n%s", h)
	}
}

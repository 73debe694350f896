package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// artifactDir is where browser screenshots go: $SAGUARO_ARTIFACTS, or a
// fixed directory under the system temp dir so a person can look at them.
func artifactDir(t testing.TB) string {
	dir := os.Getenv("SAGUARO_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "saguaro-browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts Debian's chromium headless with a fresh profile; the
// allocator kills it when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: apt-get install chromium (%v)", chromiumPath, err)
		}
		t.Skipf("%s missing", chromiumPath)
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s is not executable: %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a bound on their time.
func step(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it holds (bounded). Errors
// while the page navigates count as "not yet".
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("%s: %s never held (at %s; last error %v)", what, cond, loc, last)
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// imageSum is a checksum and size of the first zoomable image's bytes,
// fetched with the page's own session.
const imageSum = `fetch(document.querySelector('img.zoomable').src).then(r => r.arrayBuffer()).then(b => {
  const u = new Uint8Array(b); let h = 0; for (let i = 0; i < u.length; i++) { h = (h * 31 + u[i]) | 0 } return h + ':' + u.length })`

// TestBrowser drives Chromium through what a capacity planner does: log
// in, browse the tree, switch presets, drag to zoom, export CSV, and make
// and revoke an API token that a script then uses.
func TestBrowser(t *testing.T) {
	ctx := newBrowser(t)
	m := newManyGraphs(t, 12, 8) // 96 graphs: four pages of 24
	env := newTestEnvWith(t, m, manyDevices{m})
	base := env.ts.URL
	shots := artifactDir(t)

	// Unauthenticated: the login page, then in as the admin.
	step(t, ctx, "open home", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#username"))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login?next=%2F") {
		t.Fatalf("without a session / went to %s, want the login page", loc)
	}
	step(t, ctx, "wrong password", chromedp.SendKeys("#username", "admin1"), chromedp.SendKeys("#password", "not the password"),
		chromedp.Click("#login"), chromedp.WaitVisible("#login-error"))
	screenshot(t, ctx, shots, "01-login-failed")
	step(t, ctx, "log in", chromedp.SendKeys("#password", testPassword),
		chromedp.Click("#login"), chromedp.WaitVisible("#grid"))

	// 24 thumbnails, fully loaded: the load event waits for every image.
	t0 := time.Now()
	step(t, ctx, "home", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#grid"))
	waitJS(t, ctx, "thumbnails", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	loaded := time.Since(t0)
	n := eval[int](t, ctx, `document.querySelectorAll('#grid img').length`)
	t.Logf("home page with %d thumbnails fully loaded in %v", n, loaded.Round(time.Millisecond))
	if n != 24 {
		t.Errorf("home shows %d thumbnails, want a page of 24", n)
	}
	screenshot(t, ctx, shots, "02-home")

	// The tree: open a device's group; the grid follows.
	step(t, ctx, "tree", chromedp.Click(`#device-rtr-003 summary a`), chromedp.WaitVisible("#grid"))
	waitJS(t, ctx, "device filter", `location.search.includes('device=rtr-003')`)
	if got := eval[int](t, ctx, `document.querySelectorAll('#grid img').length`); got != 8 {
		t.Errorf("device rtr-003 shows %d graphs, want 8", got)
	}
	step(t, ctx, "group", chromedp.Click(`#device-rtr-003 a[href*="template=cpu"]`), chromedp.WaitVisible("#grid"))
	waitJS(t, ctx, "template filter", `location.search.includes('template=cpu') && document.querySelectorAll('#grid img').length === 2`)
	// Search narrows the tree and the grid.
	step(t, ctx, "search", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#q"), chromedp.SendKeys("#q", "rtr-007 memory\n"))
	waitJS(t, ctx, "search", `location.search.includes('q=rtr-007') && document.querySelectorAll('#grid img').length === 2 && document.querySelectorAll('.devices > li').length === 1`)

	// Presets: one week, then a calendar preset.
	step(t, ctx, "home again", chromedp.Navigate(base+"/?q=rtr-001"), chromedp.WaitVisible("#grid"))
	before := eval[string](t, ctx, imageSum, chromedp.EvalAwaitPromise)
	step(t, ctx, "1 week", chromedp.Click(`a[data-key="1w"]`))
	waitJS(t, ctx, "1w preset", `location.search.includes('start=-1w') && document.querySelector('img.zoomable').src.includes('start=-1w')`)
	waitJS(t, ctx, "1w images", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	if after := eval[string](t, ctx, imageSum, chromedp.EvalAwaitPromise); after == before {
		t.Error("the 1-week image is byte for byte the 1-day image")
	}
	step(t, ctx, "yesterday", chromedp.Click(`a[data-key="yesterday"]`))
	waitJS(t, ctx, "yesterday", `location.search.includes('range=yesterday') && document.getElementById('range-label').textContent === 'yesterday'`)

	// Drag across the middle of the first graph: every graph follows the
	// new absolute range, which is in the URL.
	step(t, ctx, "back to 1 day", chromedp.Navigate(base+"/?q=rtr-001&start=-1d"), chromedp.WaitVisible("#grid"))
	waitJS(t, ctx, "images", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	before = eval[string](t, ctx, imageSum, chromedp.EvalAwaitPromise)
	box := eval[[]float64](t, ctx, `(() => { const r = document.querySelector('img.zoomable').getBoundingClientRect(); return [r.left, r.top, r.width, r.height] })()`)
	x0, x1, y := box[0]+box[2]*0.35, box[0]+box[2]*0.6, box[1]+box[3]*0.4
	step(t, ctx, "drag",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (x0+x1)/2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x1, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x1, y, chromedp.ButtonLeft))
	waitJS(t, ctx, "zoomed URL", `/[?&]start=\d{9,}/.test(location.search) && /[?&]end=\d{9,}/.test(location.search)`)
	waitJS(t, ctx, "zoomed images", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0 && /start=\d{9,}/.test(i.src))`)
	q := eval[[]float64](t, ctx, `(() => { const p = new URLSearchParams(location.search); return [+p.get('start'), +p.get('end')] })()`)
	span := time.Duration(q[1]-q[0]) * time.Second
	// A quarter of a day's plot, give or take the plot's margins.
	if span < 3*time.Hour || span > 8*time.Hour {
		t.Errorf("zoomed range is %v, want about a quarter of a day", span)
	}
	if after := eval[string](t, ctx, imageSum, chromedp.EvalAwaitPromise); after == before {
		t.Error("the image did not change after zooming")
	}
	if got := eval[string](t, ctx, `new URLSearchParams(location.search).get('q')`); got != "rtr-001" {
		t.Errorf("zooming lost the search: q=%q", got)
	}
	screenshot(t, ctx, shots, "03-zoomed")

	// The graph page of that view: CSV download of exactly it.
	step(t, ctx, "graph page", chromedp.Click(`#grid figcaption a`), chromedp.WaitVisible(".exports"))
	dl := t.TempDir()
	step(t, ctx, "allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
		return err
	}))
	screenshot(t, ctx, shots, "04-graph")
	step(t, ctx, "csv", chromedp.Click(`a.export-csv`))
	var csvText string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && csvText == ""; time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dl, "*.csv"))
		if len(files) == 1 {
			b, _ := os.ReadFile(files[0])
			if strings.HasSuffix(string(b), "\n") {
				csvText = string(b)
			}
		}
	}
	if !strings.Contains(csvText, "time,") || !strings.Contains(csvText, fmt.Sprintf("%d", int64(q[1]))[:6]) {
		t.Errorf("downloaded CSV lacks the header or the zoomed range:\n%.300s", csvText)
	}

	// A token made in the browser works for a script until revoked.
	step(t, ctx, "account", chromedp.Navigate(base+"/account"), chromedp.WaitVisible("#token-name"),
		chromedp.SendKeys("#token-name", "browser-test"), chromedp.Click("#create-token"), chromedp.WaitVisible("#new-token"))
	tok, err := chromedp.Run(ctx, chromedp.Text("#new-token"))
	if err != nil {
		t.Fatal(err)
	}
	tok = strings.TrimSpace(tok)
	screenshot(t, ctx, shots, "05-token")
	script := func() int {
		req, _ := http.NewRequest("GET", base+"/api/v1/graphs?per_page=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := script(); code != http.StatusOK {
		t.Fatalf("new token: %d", code)
	}
	step(t, ctx, "revoke", chromedp.Click(`tr[data-token="browser-test"] button.revoke`))
	waitJS(t, ctx, "revoked", `document.querySelector('tr[data-token="browser-test"]').textContent.includes('revoked')`)
	if code := script(); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if strings.Contains(env.logs.String(), tok) {
		t.Error("the token appears in the log")
	}

	// Engineers' pages, then dark theme and a phone-width screen.
	step(t, ctx, "device", chromedp.Navigate(base+"/device/rtr-001"), chromedp.WaitVisible("dl.facts"))
	screenshot(t, ctx, shots, "06-device")
	step(t, ctx, "capacity", chromedp.Navigate(base+"/capacity?start=-7d"), chromedp.WaitVisible("#capacity"))
	if n := eval[int](t, ctx, `document.querySelectorAll('#capacity tbody tr').length`); n != 48 {
		t.Errorf("capacity report has %d rows, want 48 (disk and memory of 12 devices, 2 each)", n)
	}
	screenshot(t, ctx, shots, "06b-capacity")
	step(t, ctx, "templates", chromedp.Navigate(base+"/templates"), chromedp.WaitVisible("table.list"))
	screenshot(t, ctx, shots, "07-templates")
	step(t, ctx, "dark", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#grid"), chromedp.Click("#theme"))
	waitJS(t, ctx, "dark theme", `document.documentElement.dataset.theme === 'dark' && getComputedStyle(document.body).backgroundColor !== 'rgb(246, 247, 249)'`)
	waitJS(t, ctx, "dark images", `Array.from(document.querySelectorAll('#grid img')).every(i => i.src.includes('theme=dark') && i.complete && i.naturalWidth > 0)`)
	// The choice is a cookie: the next page comes dark from the server.
	step(t, ctx, "dark again", chromedp.Navigate(base+"/?page=2"), chromedp.WaitVisible("#grid"))
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html")); !strings.Contains(html, `data-theme="dark"`) || !strings.Contains(html, "theme=dark") {
		t.Error("the server did not render the dark theme from the cookie")
	}
	screenshot(t, ctx, shots, "08-home-dark")
	step(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(base+"/graph/rtr-001.cpu.eth0"), chromedp.WaitVisible(".exports"))
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the graph page is %v px wide on a 390 px screen", w)
	}
	screenshot(t, ctx, shots, "09-phone-graph")
	step(t, ctx, "phone home", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#grid"))
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the home page is %v px wide on a 390 px screen", w)
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	buf, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, "10-phone-home.png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}

	// Keyboard: "[" moves one range earlier, and logging out ends it all.
	step(t, ctx, "keyboard", chromedp.EmulateViewport(1400, 1000), chromedp.Navigate(base+"/?start=-6h"), chromedp.WaitVisible("#grid"),
		chromedp.KeyEvent("["))
	waitJS(t, ctx, "earlier", `/[?&]end=\d{9,}/.test(location.search)`)
	step(t, ctx, "logout", chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#username"))
	step(t, ctx, "after logout", chromedp.Navigate(base+"/account"), chromedp.WaitVisible("#username"))
}

// TestBrowserSites: the tree of sites in Chromium: sites closed at first
// with their counts, a site opens and narrows the grid, a site below it
// narrows it further; screenshots of each.
func TestBrowserSites(t *testing.T) {
	ctx := newBrowser(t)
	m := newManyGraphs(t, 10, 4)
	// Two sites of one level below a region each, and devices without a site.
	env := newTestEnvWith(t, m, sitedDevices{manyDevices{m}, []string{"emea/fra1", "amer/nyc1", "emea/fra1", "amer/nyc1", ""}})
	base := env.ts.URL
	shots := artifactDir(t)
	step(t, ctx, "log in", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "admin1"), chromedp.SendKeys("#password", testPassword),
		chromedp.Click("#login"), chromedp.WaitVisible("#grid"))
	waitJS(t, ctx, "thumbnails", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	order := eval[string](t, ctx, `Array.from(document.querySelectorAll('.devices > li')).map(li => li.dataset.site || li.id).join(' ')`)
	// Sites by name, then the devices without a site.
	if want := "amer emea device-rtr-004 device-rtr-009"; order != want {
		t.Errorf("top of the tree: %q, want %q", order, want)
	}
	if open := eval[int](t, ctx, `document.querySelectorAll('li.site > details[open]').length`); open != 0 {
		t.Errorf("%d sites open before any choice", open)
	}
	if got := eval[string](t, ctx, `document.querySelector('li[data-site="emea"] > details > summary .count').textContent`); got != "16" {
		t.Errorf("emea counts %s graphs, want 16", got)
	}
	screenshot(t, ctx, shots, "10-sites-home")

	step(t, ctx, "site emea", chromedp.Click(`li[data-site="emea"] > details > summary > a`))
	waitJS(t, ctx, "site filter", `location.search.includes('site=emea') && document.querySelectorAll('#grid img').length === 16`)
	if !eval[bool](t, ctx, `document.querySelector('li[data-site="emea"] > details').open && !document.querySelector('li[data-site="amer"] > details').open`) {
		t.Error("site=emea does not open emea alone")
	}
	waitJS(t, ctx, "emea thumbnails", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	screenshot(t, ctx, shots, "11-site-emea")

	step(t, ctx, "site emea/fra1", chromedp.Click(`li[data-site="emea/fra1"] > details > summary > a`))
	waitJS(t, ctx, "fra1 filter", `location.search.includes('site=emea%2Ffra1') && document.querySelectorAll('#grid img').length === 16 && document.querySelector('#device-rtr-000') && document.querySelector('#device-rtr-000').offsetParent !== null`)
	step(t, ctx, "device in fra1", chromedp.Click(`#device-rtr-005 summary a`))
	waitJS(t, ctx, "device filter", `location.search.includes('device=rtr-005') && !location.search.includes('site=') && document.querySelectorAll('#grid img').length === 4 && document.querySelector('li[data-site="emea/fra1"] > details').open`)
	waitJS(t, ctx, "device thumbnails", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`)
	screenshot(t, ctx, shots, "12-site-device")
}

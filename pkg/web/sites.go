package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
)

// inSite reports whether a device's site path is under p: p itself or a
// path below it ("emea/fra1" is under "emea", "emea-2" is not). Every
// site is under "".
func inSite(site, p string) bool {
	if p == "" || site == p {
		return true
	}
	return len(site) > len(p) && site[len(p)] == '/' && site[:len(p)] == p
}

// siteTrees returns a site path and its ancestors, nearest first: the tree
// paths a scope's tree globs are matched against, so that "emea" allows
// the whole of emea and "emea/*" every site one level below it and
// everything under those.
func siteTrees(site string) []string {
	if site == "" {
		return nil
	}
	out := []string{site}
	for i := len(site) - 1; i > 0; i-- {
		if site[i] == '/' {
			out = append(out, site[:i])
		}
	}
	return out
}

// siteIndex maps device names to their sites; devices without one are
// left out.
func siteIndex(devs []DeviceStatus) map[string]string {
	m := make(map[string]string, len(devs))
	for _, d := range devs {
		if d.Site != "" {
			m[d.Name] = d.Site
		}
	}
	return m
}

// readSite reads the site= filter: a site path as the configuration
// takes it, matched with everything below it.
func readSite(c echo.Context) (string, error) {
	site := c.QueryParam("site")
	if len(site) > maxFilterLen {
		return "", badParam("site", "longer than %d bytes", maxFilterLen)
	}
	if err := config.CheckSite(site); err != nil {
		return "", badParam("site", "%v", err)
	}
	return site, nil
}

// treeSite is one site of the tree: its child sites, then its devices
// (indexes into the flat device list), with counts over everything below.
type treeSite struct {
	Name    string // the last level of Path
	Path    string
	Href    string
	Sites   []*treeSite
	Devices []int
	Count   int // graphs
	NDev    int // devices
	Open    bool
	Active  bool
}

// buildSites arranges the tree's devices by site: sites sorted by name
// level by level, devices in configuration order inside each; devices
// without a site are returned apart (loose), to follow the sites at the
// top level as hosts at the root of a Cacti tree follow its headers. A
// site is open when it holds the selected site or device, or while a
// text or label search narrows the tree.
func buildSites(tree []treeDevice, f filter) (roots []*treeSite, loose []int) {
	byPath := map[string]*treeSite{}
	searching := f.q != "" || f.label != ""
	var node func(path string) *treeSite
	node = func(path string) *treeSite {
		if n, ok := byPath[path]; ok {
			return n
		}
		n := &treeSite{Path: path, Name: path, Active: path == f.site, Open: searching || f.site != "" && inSite(f.site, path)}
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			n.Name = path[i+1:]
			parent := node(path[:i])
			parent.Sites = append(parent.Sites, n)
		} else {
			roots = append(roots, n)
		}
		byPath[path] = n
		return n
	}
	for i := range tree {
		d := &tree[i]
		if d.Status == nil || d.Status.Site == "" {
			loose = append(loose, i)
			continue
		}
		leaf := node(d.Status.Site)
		leaf.Devices = append(leaf.Devices, i)
		for _, p := range siteTrees(d.Status.Site) {
			n := byPath[p]
			n.Count += d.Count
			n.NDev++
			n.Open = n.Open || d.Open
		}
	}
	sortSites(roots)
	return roots, loose
}

func sortSites(ns []*treeSite) {
	slices.SortFunc(ns, func(a, b *treeSite) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range ns {
		sortSites(n.Sites)
	}
}

// siteHrefs sets the filter links of every site: prefix plus site=.
func siteHrefs(ns []*treeSite, prefix string) {
	for _, n := range ns {
		n.Href = prefix + "&site=" + url.QueryEscape(n.Path)
		siteHrefs(n.Sites, prefix)
	}
}

// writeSite writes one site and everything below it; see treeHTML.
func writeSite(b *strings.Builder, n *treeSite, tree []treeDevice) {
	path := esc(n.Path)
	b.WriteString(`<li class="site" data-site="` + path + `"><details`)
	cur := ""
	if n.Open {
		b.WriteString(" open")
	}
	if n.Active {
		cur = ` aria-current="true"`
	}
	devs := "devices"
	if n.NDev == 1 {
		devs = "device"
	}
	b.WriteString(`><summary><a href="` + esc(n.Href) + `"` + cur + ` title="site ` + path + `">` + esc(n.Name) + `</a> <span class="count" title="` +
		strconv.Itoa(n.NDev) + ` ` + devs + `, ` + strconv.Itoa(n.Count) + ` graphs">` + strconv.Itoa(n.Count) + `</span></summary>` + "\n<ul>")
	for _, c := range n.Sites {
		writeSite(b, c, tree)
	}
	for _, i := range n.Devices {
		writeDevice(b, &tree[i])
	}
	b.WriteString("</ul></details></li>\n")
}

package graphs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// ErrUnknownTemplate is returned for a graph template name the catalog
// does not hold.
var ErrUnknownTemplate = errors.New("unknown graph template")

// Device is a device and the graph templates that apply to it.
type Device struct {
	Name      string
	Templates []string
}

// Info describes one graph instance: a template drawn for a device and,
// for `per` templates, one value of each per label.
type Info struct {
	ID       string
	Title    string
	Device   string
	Template string
	Vars     map[string]string
}

// Catalog holds validated templates and lists graph instances.
type Catalog struct {
	q      Querier
	tmpls  []Template
	byName map[string]int
}

// NewCatalog validates every template and checks that names are unique.
func NewCatalog(q Querier, tmpls []Template) (*Catalog, error) {
	c := &Catalog{q: q, tmpls: slices.Clone(tmpls), byName: map[string]int{}}
	var errs []error
	for i := range c.tmpls {
		t := &c.tmpls[i]
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
		if j, dup := c.byName[t.Name]; dup {
			errs = append(errs, fmt.Errorf("graph template %q: defined twice (graphs[%d] and graphs[%d])", t.Name, j, i))
			continue
		}
		c.byName[t.Name] = i
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Template returns the named template.
func (c *Catalog) Template(name string) (*Template, bool) {
	i, ok := c.byName[name]
	if !ok {
		return nil, false
	}
	return &c.tmpls[i], true
}

// Templates returns the names of all templates in load order.
func (c *Catalog) Templates() []string {
	names := make([]string, len(c.tmpls))
	for i, t := range c.tmpls {
		names[i] = t.Name
	}
	return names
}

// List returns the graph instances of the devices, sorted by device,
// template and label values (numbers in values compare as numbers, so
// eth2 comes before eth10). A `per` template yields one instance per
// combination of label values present in storage for its first def's
// metric on the device; none when there is no such series yet.
func (c *Catalog) List(ctx context.Context, devices []Device) ([]Info, error) {
	var out []Info
	for _, d := range devices {
		for _, name := range d.Templates {
			t, ok := c.Template(name)
			if !ok {
				return nil, fmt.Errorf("device %q: %w %q", d.Name, ErrUnknownTemplate, name)
			}
			combos, err := c.combinations(ctx, t, d.Name)
			if err != nil {
				return nil, fmt.Errorf("device %q graph %q: %w", d.Name, name, err)
			}
			for _, vars := range combos {
				vars[metric.DeviceLabel] = d.Name
				if err := c.labelVars(ctx, t, vars); err != nil {
					return nil, fmt.Errorf("device %q graph %q: %w", d.Name, name, err)
				}
				out = append(out, Info{Title: expand(t.Title, vars), Device: d.Name, Template: t.Name, Vars: vars})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Info) int {
		if r := naturalCompare(a.Device, b.Device); r != 0 {
			return r
		}
		if r := cmp.Compare(a.Template, b.Template); r != 0 {
			return r
		}
		t, _ := c.Template(a.Template)
		for _, l := range t.Per {
			if r := naturalCompare(a.Vars[l], b.Vars[l]); r != 0 {
				return r
			}
		}
		return 0
	})
	assignIDs(out, c)
	return out, nil
}

// combinations lists the existing value combinations of t's per labels on
// the device, label by label, narrowing the selector as it goes.
func (c *Catalog) combinations(ctx context.Context, t *Template, device string) ([]map[string]string, error) {
	combos := []map[string]string{{}}
	for _, l := range t.Per {
		var next []map[string]string
		for _, vars := range combos {
			sel := append(metric.Selector(nil), t.compiled.defSel[0]...)
			if t.Defs[0].Device == "" {
				sel = append(sel, metric.Eq(metric.DeviceLabel, device))
			}
			for _, k := range sortedKeys(vars) {
				sel = append(sel, metric.Eq(k, vars[k]))
			}
			vals, err := c.q.LabelValues(ctx, l, sel)
			if err != nil {
				return nil, fmt.Errorf("label values of %s: %w", l, err)
			}
			seen := map[string]bool{}
			for _, v := range vals {
				if v == "" || seen[v] {
					continue
				}
				seen[v] = true
				m := make(map[string]string, len(vars)+2)
				for k, x := range vars {
					m[k] = x
				}
				m[l] = v
				next = append(next, m)
			}
		}
		combos = next
	}
	return combos, nil
}

// assignIDs gives each instance a URL-safe ID, device.template[.value...],
// adding -2, -3... when slugs of different values collide. The list is
// sorted, so IDs are stable for the same set of series.
func assignIDs(infos []Info, c *Catalog) {
	used := map[string]bool{}
	for i := range infos {
		in := &infos[i]
		parts := []string{slug(in.Device), in.Template}
		t, _ := c.Template(in.Template)
		for _, l := range t.Per {
			parts = append(parts, slug(in.Vars[l]))
		}
		id := strings.Join(parts, ".")
		base := id
		for n := 2; used[id]; n++ {
			id = base + "-" + strconv.Itoa(n)
		}
		used[id] = true
		in.ID = id
	}
}

// slug keeps letters, digits, '-' and '_' and replaces runs of anything
// else by '_'.
func slug(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if ok {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// naturalCompare orders strings with embedded numbers numerically.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if r := cmp.Compare(len(na), len(nb)); r != 0 {
				return r
			}
			if r := cmp.Compare(na, nb); r != 0 {
				return r
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// labelVars adds the template's label variables (ifAlias, ...) for one
// instance: the first value found among its first def's series.
func (c *Catalog) labelVars(ctx context.Context, t *Template, vars map[string]string) error {
	for _, l := range t.Labels {
		sel := append(metric.Selector(nil), t.compiled.defSel[0]...)
		if t.Defs[0].Device == "" {
			sel = append(sel, metric.Eq(metric.DeviceLabel, vars[metric.DeviceLabel]))
		}
		for _, p := range t.Per {
			sel = append(sel, metric.Eq(p, vars[p]))
		}
		vals, err := c.q.LabelValues(ctx, l, sel)
		if err != nil {
			return fmt.Errorf("label values of %s: %w", l, err)
		}
		slices.Sort(vals)
		for _, v := range vals {
			if v != "" {
				vars[l] = v
				break
			}
		}
	}
	return nil
}

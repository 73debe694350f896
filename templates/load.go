package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/saguaro-monitoring/saguaro/graphs"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Set is every device and graph template in force.
type Set struct {
	Devices map[string]*Device
	Graphs  map[string]*graphs.Template
	// Sources says which file each template came from, for error messages
	// and the template pages.
	Sources map[string]string
}

// file is the layout of one template file: either list may be absent.
type file struct {
	Devices []Device          `yaml:"devices"`
	Graphs  []graphs.Template `yaml:"graphs"`
}

// Load reads the built-in templates and then every *.yaml file in dirs
// (a later template of the same name replaces an earlier one), and checks
// the whole set. The error names every problem with its file.
func Load(dirs ...string) (*Set, error) {
	s := &Set{Devices: map[string]*Device{}, Graphs: map[string]*graphs.Template{}, Sources: map[string]string{}}
	var errs []error
	if err := s.addFS(builtin, "builtin", "builtin"); err != nil {
		errs = append(errs, err)
	}
	for _, d := range dirs {
		if err := s.addFS(os.DirFS(d), ".", d); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, s.check())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) addFS(fsys fs.FS, dir, label string) error {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return fmt.Errorf("templates %s: %w", label, err)
	}
	if len(names) == 0 && label != "builtin" {
		if _, err := fs.Stat(fsys, "."); err != nil {
			return fmt.Errorf("templates directory %s: %w", label, err)
		}
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("template file %s: %w", n, err))
			continue
		}
		where := path.Join(label, path.Base(n))
		if label == "builtin" {
			where = "builtin:" + path.Base(n)
		}
		if err := s.addFile(where, data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addFile decodes one YAML file strictly (unknown keys are errors).
func (s *Set) addFile(where string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("template file %s: %w", where, err)
	}
	for i := range f.Devices {
		d := f.Devices[i]
		if d.Name == "" {
			return fmt.Errorf("template file %s: devices[%d]: name must be set", where, i)
		}
		s.Devices[d.Name] = &d
		s.Sources["device/"+d.Name] = where
	}
	for i := range f.Graphs {
		g := f.Graphs[i]
		if g.Name == "" {
			return fmt.Errorf("template file %s: graphs[%d]: name must be set", where, i)
		}
		s.Graphs[g.Name] = &g
		s.Sources["graph/"+g.Name] = where
	}
	return nil
}

// check validates every template of the set and the references between them.
func (s *Set) check() error {
	var errs []error
	for _, name := range sortedKeys(s.Graphs) {
		if err := s.Graphs[name].Validate(); err != nil {
			errs = append(errs, prefixEach(s.Sources["graph/"+name], err)...)
		}
	}
	exists := func(n string) bool { _, ok := s.Graphs[n]; return ok }
	for _, name := range sortedKeys(s.Devices) {
		if err := s.Devices[name].validate(exists); err != nil {
			errs = append(errs, prefixEach(s.Sources["device/"+name], err)...)
		}
	}
	return errors.Join(errs...)
}

// GraphList returns the graph templates sorted by name.
func (s *Set) GraphList() []graphs.Template {
	out := make([]graphs.Template, 0, len(s.Graphs))
	for _, n := range sortedKeys(s.Graphs) {
		out = append(out, *s.Graphs[n])
	}
	return out
}

// DeviceNames lists the device templates, sorted.
func (s *Set) DeviceNames() []string { return sortedKeys(s.Devices) }

// Source returns the file a template came from ("device/NAME" or "graph/NAME").
func (s *Set) Source(key string) string { return s.Sources[key] }

// BuiltinFiles returns the names and contents of the embedded template files.
func BuiltinFiles() (map[string]string, error) {
	out := map[string]string{}
	names, err := fs.Glob(builtin, "builtin/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(builtin, n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(n, "builtin/")] = string(b)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// prefixEach names the file on every problem of a joined error, so each
// line of the report says where to look.
func prefixEach(where string, err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, prefixEach(where, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s: %w", where, err)}
}

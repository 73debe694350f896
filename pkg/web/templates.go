package web

import (
	"context"
	"io"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// Template kinds.
const (
	KindDevice = "device"
	KindGraph  = "graph"
)

// TemplateInfo describes one device or graph template for the template
// pages and the API.
type TemplateInfo struct {
	Kind        string       `json:"kind"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Source      string       `json:"source"`           // file it came from
	Graphs      []string     `json:"graphs,omitempty"` // device: graph templates drawn
	DataSources []DataSource `json:"data_sources,omitempty"`
	// YAML is the text of the file the template came from (Template only).
	YAML string `json:"yaml,omitempty"`
}

// DataSource is one polled value of a device template.
type DataSource struct {
	Metric string `json:"metric"`
	Type   string `json:"type,omitempty"`
	OID    string `json:"oid,omitempty"`
	Table  string `json:"table,omitempty"`
}

// TemplateStatus is the template set as loaded from disk now, with every
// problem found (a set with problems is not the one running).
type TemplateStatus struct {
	Templates []TemplateInfo
	Problems  []string
}

// Templates gives the web server read access to templates.
type Templates interface {
	Templates(ctx context.Context) TemplateStatus
	// Template returns one template with its YAML; ErrNotFound if unknown.
	Template(ctx context.Context, kind, name string) (TemplateInfo, error)
	// Validate checks a template file's text together with the templates
	// in force, without keeping it; the error lists every problem.
	Validate(ctx context.Context, yaml []byte) error
}

type templatesPageData struct {
	base
	Status TemplateStatus
	Kind   string
}

func (s *Server) templatesPage(c echo.Context) error {
	if s.o.Templates == nil {
		return ErrNotFound
	}
	d := templatesPageData{base: s.base(c, "Templates"), Status: s.o.Templates.Templates(c.Request().Context())}
	return s.render(c, "templates.html", d)
}

type templatePageData struct {
	base
	T TemplateInfo
}

func (s *Server) templatePage(c echo.Context) error {
	if s.o.Templates == nil {
		return ErrNotFound
	}
	kind, name := c.Param("kind"), c.Param("name")
	if kind != KindDevice && kind != KindGraph {
		return ErrNotFound
	}
	t, err := s.o.Templates.Template(c.Request().Context(), kind, name)
	if err != nil {
		return err
	}
	return s.render(c, "template.html", templatePageData{base: s.base(c, kind+" template "+name), T: t})
}

func (s *Server) apiTemplates(c echo.Context) error {
	if s.o.Templates == nil {
		return ErrNotFound
	}
	kind := c.QueryParam("kind")
	if kind != "" && kind != KindDevice && kind != KindGraph {
		return badParam("kind", "%q is not a template kind (want device or graph)", kind)
	}
	st := s.o.Templates.Templates(c.Request().Context())
	list := st.Templates
	if kind != "" {
		list = slices.DeleteFunc(slices.Clone(list), func(t TemplateInfo) bool { return t.Kind != kind })
	}
	problems := st.Problems
	if problems == nil {
		problems = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{"templates": list, "valid": len(st.Problems) == 0, "problems": problems})
}

func (s *Server) apiTemplate(c echo.Context) error {
	if s.o.Templates == nil {
		return ErrNotFound
	}
	kind := c.Param("kind")
	if kind != KindDevice && kind != KindGraph {
		return badParam("kind", "%q is not a template kind (want device or graph)", kind)
	}
	t, err := s.o.Templates.Template(c.Request().Context(), kind, c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// apiValidateTemplate checks a posted template file (editors): 200 with
// valid true, or 422 with every problem.
func (s *Server) apiValidateTemplate(c echo.Context) error {
	if s.o.Templates == nil {
		return ErrNotFound
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return badParam("body", "post the template file's YAML as the request body")
	}
	if err := s.o.Templates.Validate(c.Request().Context(), body); err != nil {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"valid": false, "error": err.Error(), "field": "body"})
	}
	return c.JSON(http.StatusOK, map[string]any{"valid": true})
}

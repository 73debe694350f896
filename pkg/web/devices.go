package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

// ErrConflict is returned by a DeviceEditor for a name already in use
// (by the configuration file or another stored device).
var ErrConflict = errors.New("conflict")

// ErrBusy is returned for work that runs one at a time (a discovery)
// while another runs; it answers 429.
var ErrBusy = errors.New("busy")

// DeviceEditor adds, changes and removes the devices kept in the state
// database, beside those of the configuration file. A device is given in
// the configuration's device schema, decoded from JSON. Errors: a
// *config.FieldError (joined, perhaps) is the client's mistake (400 naming
// the field), ErrConflict a taken name (409), ErrNotFound a device that is
// not stored (404; configuration file devices are changed in the file).
type DeviceEditor interface {
	AddDevice(ctx context.Context, dev map[string]any, by string) (DeviceSettings, error)
	UpdateDevice(ctx context.Context, name string, dev map[string]any, by string) (DeviceSettings, error)
	DeleteDevice(ctx context.Context, name string) error
	// Settings returns a device's settings for display, secrets masked.
	Settings(name string) (DeviceSettings, bool)
	// Discover asks agents what they are and proposes devices; with
	// req.Apply it also adds them.
	Discover(ctx context.Context, req DiscoverRequest) ([]Discovered, error)
}

// DeviceSettings is one device's configuration as shown: where it comes
// from ("config" for the file, "api" for the state database) and its
// settings with every secret reading config.SecretMask.
type DeviceSettings struct {
	Name     string         `json:"name"`
	Source   string         `json:"source"`
	Settings map[string]any `json:"config"`
}

// DiscoverRequest is the body of POST /api/v1/discover.
type DiscoverRequest struct {
	Addresses     []string `json:"addresses"`
	Version       string   `json:"version"`
	Community     string   `json:"community"`
	SecurityLevel string   `json:"security_level"`
	Username      string   `json:"username"`
	AuthProtocol  string   `json:"auth_protocol"`
	AuthPassword  string   `json:"auth_password"`
	PrivProtocol  string   `json:"priv_protocol"`
	PrivPassword  string   `json:"priv_password"`
	Apply         bool     `json:"apply"`
	// By is the user asking (for the stored devices' updated_by).
	By string `json:"-"`
}

// Discovered is what one address answered and the device proposed for it.
type Discovered struct {
	Address     string         `json:"address"`
	SysName     string         `json:"sys_name,omitempty"`
	SysDescr    string         `json:"sys_descr,omitempty"`
	SysObjectID string         `json:"sys_object_id,omitempty"`
	Template    string         `json:"template,omitempty"`
	AlsoFits    []string       `json:"also_fits,omitempty"`
	Device      map[string]any `json:"device,omitempty"` // secrets masked
	Added       bool           `json:"added"`
	Error       string         `json:"error,omitempty"`
	Problems    []string       `json:"problems,omitempty"`
}

// maxDiscoverAddresses bounds one discovery request: each address may
// take the whole per-host timeout.
const maxDiscoverAddresses = 64

// readJSONObject decodes a request body that must be one JSON object.
// Too large a body keeps echo's 413.
func readJSONObject(c echo.Context, into any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return badParam("body", "could not read the body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, ok := into.(*DiscoverRequest); ok {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(into); err != nil {
		return badParam("body", "want one JSON object: %v", err)
	}
	if dec.More() {
		return badParam("body", "want one JSON object, found more after it")
	}
	return nil
}

func (s *Server) deviceEditor() (DeviceEditor, error) {
	if s.o.DeviceEditor == nil {
		return nil, ErrNotFound
	}
	return s.o.DeviceEditor, nil
}

func userName(c echo.Context) string {
	if u, ok := auth.UserFrom(c.Request().Context()); ok {
		return u.Name
	}
	return ""
}

// writeScope returns, for a user limited by a scope, whether a device
// with this name in this site (its trees: the site and its ancestors) is
// theirs to change; nil when the user is not limited. Changing a device
// is bound by the same scope as seeing it: an editor limited to "emea/*"
// adds, changes and deletes devices there only.
func (s *Server) writeScope(c echo.Context) (func(name, site string) bool, error) {
	sc, limited, err := s.userScope(c)
	if err != nil || !limited {
		return nil, err
	}
	return func(name, site string) bool { return sc.Allow(name, siteTrees(site)...) }, nil
}

// currentSite is the site of a device now (from the device list), "" if
// it has none or is not known.
func (s *Server) currentSite(name string) (site string, known bool) {
	if s.o.Devices == nil {
		return "", false
	}
	for _, d := range s.o.Devices.Devices() {
		if d.Name == name {
			return d.Site, true
		}
	}
	return "", false
}

// scopeError is a write to devices or sites the user's scope does not
// allow: 403 naming the field.
type scopeError struct{ Field, What string }

func (e *scopeError) Error() string {
	return e.What + " is outside the devices and sites your scope allows"
}

// outOfScope answers a write of a new name or site outside the user's
// scope. (A device that exists but is not theirs answers 404 instead: it
// does not exist for them, as in reads.)
func outOfScope(field, what string) error { return &scopeError{Field: field, What: what} }

// bodySite reads a device body's site ("" when absent or not a string;
// the editor's validation reports a wrong type).
func bodySite(dev map[string]any) string {
	site, _ := dev["site"].(string)
	return site
}

// apiAddDevice: POST /api/v1/devices.
func (s *Server) apiAddDevice(c echo.Context) error {
	ed, err := s.deviceEditor()
	if err != nil {
		return err
	}
	var dev map[string]any
	if err := readJSONObject(c, &dev); err != nil {
		return err
	}
	if dev == nil {
		return badParam("body", "want a device object, got null")
	}
	allow, err := s.writeScope(c)
	if err != nil {
		return err
	}
	if allow != nil {
		name, _ := dev["name"].(string)
		if !allow(name, bodySite(dev)) {
			return outOfScope("name", fmt.Sprintf("device %q in site %q", name, bodySite(dev)))
		}
	}
	st, err := ed.AddDevice(c.Request().Context(), dev, userName(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/devices/"+st.Name)
	return c.JSON(http.StatusCreated, st)
}

// apiUpdateDevice: PUT /api/v1/devices/{name}. The body's name, when
// given, must be the path's: renaming is deleting and adding.
func (s *Server) apiUpdateDevice(c echo.Context) error {
	ed, err := s.deviceEditor()
	if err != nil {
		return err
	}
	name := c.Param("name")
	var dev map[string]any
	if err := readJSONObject(c, &dev); err != nil {
		return err
	}
	if dev == nil {
		return badParam("body", "want a device object, got null")
	}
	switch n := dev["name"].(type) {
	case nil:
		dev["name"] = name
	case string:
		if n != name {
			return badParam("name", "%q differs from the device in the path (%q); delete and add to rename", n, name)
		}
	default:
		return badParam("name", "must be a string")
	}
	allow, err := s.writeScope(c)
	if err != nil {
		return err
	}
	if allow != nil {
		if site, _ := s.currentSite(name); !allow(name, site) {
			return ErrNotFound
		}
		if !allow(name, bodySite(dev)) {
			return outOfScope("site", fmt.Sprintf("site %q", bodySite(dev)))
		}
	}
	st, err := ed.UpdateDevice(c.Request().Context(), name, dev, userName(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// apiDeleteDevice: DELETE /api/v1/devices/{name}.
func (s *Server) apiDeleteDevice(c echo.Context) error {
	ed, err := s.deviceEditor()
	if err != nil {
		return err
	}
	allow, err := s.writeScope(c)
	if err != nil {
		return err
	}
	if allow != nil {
		if site, _ := s.currentSite(c.Param("name")); !allow(c.Param("name"), site) {
			return ErrNotFound
		}
	}
	if err := ed.DeleteDevice(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiDiscover: POST /api/v1/discover.
func (s *Server) apiDiscover(c echo.Context) error {
	ed, err := s.deviceEditor()
	if err != nil {
		return err
	}
	var req DiscoverRequest
	if err := readJSONObject(c, &req); err != nil {
		return err
	}
	switch n := len(req.Addresses); {
	case n == 0:
		return badParam("addresses", "list at least one address (host or host:port)")
	case n > maxDiscoverAddresses:
		return badParam("addresses", "%d addresses; at most %d per request", n, maxDiscoverAddresses)
	}
	for i, a := range req.Addresses {
		if a = strings.TrimSpace(a); a == "" || len(a) > 255 || strings.ContainsAny(a, "/ \t\r\n") {
			return badParam(fmt.Sprintf("addresses[%d]", i), "%.60q is not a host or host:port", req.Addresses[i])
		}
		req.Addresses[i] = a
	}
	if req.Version == "" {
		req.Version = "2c"
	}
	switch req.Version {
	case "1", "2c":
		if req.Community == "" {
			return badParam("community", "must be set for SNMP v%s", req.Version)
		}
	case "3":
		if req.Username == "" {
			return badParam("username", "must be set for SNMP v3")
		}
	default:
		return badParam("version", "%q: want 1, 2c or 3", req.Version)
	}
	if req.Apply {
		// Discovery names the devices it adds from what they answer: a
		// user limited by a scope proposes, then adds them one by one.
		allow, err := s.writeScope(c)
		if err != nil {
			return err
		}
		if allow != nil {
			return outOfScope("apply", "adding discovered devices (their names come from the agents)")
		}
	}
	req.By = userName(c)
	found, err := ed.Discover(c.Request().Context(), req)
	if err != nil {
		return err
	}
	if found == nil {
		found = []Discovered{}
	}
	return c.JSON(http.StatusOK, map[string]any{"devices": found})
}

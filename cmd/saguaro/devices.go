package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// Devices added through the API live in the state database (the auth
// store's devices table) beside the users: one SQLite file, one list of
// migrations, one backup. They join the configuration file's devices at
// every apply, so a reload of the file keeps them and a restart finds
// them again.

var _ web.DeviceEditor = (*service)(nil)

// storedDevice is a device of the state database as last checked.
type storedDevice struct {
	raw map[string]any // as sent, secrets included
	dev config.Device  // decoded, with defaults
}

// merge returns the file's configuration with the stored devices added.
// A stored device that the file now shadows, or that no longer checks
// (its template was removed, say), is left out with a warning rather
// than failing a reload the file itself passes.
func (s *service) merge(cfg *config.Config, set *templates.Set) (*config.Config, map[string]storedDevice, error) {
	if s.users == nil {
		return cfg, nil, nil
	}
	list, err := s.users.Devices()
	if err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		return cfg, nil, nil
	}
	inFile := map[string]bool{}
	for _, d := range cfg.Devices {
		inFile[d.Name] = true
	}
	merged := *cfg
	merged.Devices = slices.Clone(cfg.Devices)
	stored := make(map[string]storedDevice, len(list))
	checked := make(map[string]checkedDevice, len(list))
	for _, sd := range list {
		if inFile[sd.Name] {
			s.log.Warn("stored_device_shadowed", "device", sd.Name)
			continue
		}
		// A stored device checked against the same file and templates
		// before, with the same settings, checks the same: checking
		// builds its collector, which for thousands of stored devices
		// made every change through the API cost as much as all of them.
		if c, ok := s.checked[sd.Name]; ok && c.file == cfg && c.set == set && c.config == string(sd.Config) {
			merged.Devices = append(merged.Devices, c.sd.dev)
			stored[sd.Name] = c.sd
			checked[sd.Name] = c
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(sd.Config, &raw); err != nil {
			s.log.Warn("stored_device_skipped", "device", sd.Name, "fields", "(not JSON)")
			continue
		}
		d, err := checkDevice(cfg, set, raw)
		if err != nil {
			// Only the paths: a message could quote a value, and values
			// may be secrets.
			s.log.Warn("stored_device_skipped", "device", sd.Name, "fields", strings.Join(fieldPaths(err), ","))
			continue
		}
		merged.Devices = append(merged.Devices, d)
		stored[sd.Name] = storedDevice{raw: raw, dev: d}
		checked[sd.Name] = checkedDevice{file: cfg, set: set, config: string(sd.Config), sd: stored[sd.Name]}
	}
	s.checked = checked
	return &merged, stored, nil
}

// checkedDevice is a stored device as merge last checked it.
type checkedDevice struct {
	file   *config.Config
	set    *templates.Set
	config string // the stored JSON
	sd     storedDevice
}

// checkDevice decodes one device, fills the defaults of cfg and checks it
// as a device of the file would be checked, collector included. Errors are
// *config.FieldError with paths relative to the device.
func checkDevice(cfg *config.Config, set *templates.Set, raw map[string]any) (config.Device, error) {
	d, err := config.DecodeDevice(raw)
	if err != nil {
		return d, err
	}
	cfg.DeviceDefaults(&d)
	if err := cfg.ValidateDevice(d); err != nil {
		return d, err
	}
	one := *cfg
	one.Devices = []config.Device{d}
	if err := checkDeviceTemplates(&one, set); err != nil {
		return d, relativePaths(err, "devices[0].", "template")
	}
	targets, err := buildTargets(&one, set)
	for _, t := range targets {
		if c, ok := t.Collector.(io.Closer); ok {
			c.Close()
		}
	}
	if err != nil {
		return d, relativePaths(err, "devices[0].", d.Protocol())
	}
	return d, nil
}

// relativePaths turns the errors of a one-device configuration into
// FieldErrors relative to the device; errors without a path get def.
func relativePaths(err error, prefix, def string) error {
	var out []error
	for _, e := range unjoin(err) {
		var fe *config.FieldError
		if errors.As(e, &fe) {
			out = append(out, &config.FieldError{Path: strings.TrimPrefix(fe.Path, prefix), Msg: fe.Msg})
			continue
		}
		msg := e.Error()
		if inner := errors.Unwrap(e); inner != nil {
			msg = inner.Error()
		}
		out = append(out, &config.FieldError{Path: def, Msg: msg})
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func fieldPaths(err error) []string {
	var out []string
	for _, e := range unjoin(err) {
		var fe *config.FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Path)
		} else {
			out = append(out, "(device)")
		}
	}
	return out
}

func (s *service) inFile(name string) bool {
	return slices.ContainsFunc(s.state.Load().file.Devices, func(d config.Device) bool { return d.Name == name })
}

// maskError refuses a SecretMask with no stored value behind it.
func maskError(raw map[string]any) error {
	if p := config.MaskedPath(raw); p != "" {
		return &config.FieldError{Path: p, Msg: "is " + config.SecretMask + "; send the value itself"}
	}
	return nil
}

// AddDevice checks a device, stores it and polls it at once.
func (s *service) AddDevice(ctx context.Context, raw map[string]any, by string) (web.DeviceSettings, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.users == nil {
		return web.DeviceSettings{}, web.ErrNotFound
	}
	if err := maskError(raw); err != nil {
		return web.DeviceSettings{}, err
	}
	st := s.state.Load()
	d, err := checkDevice(st.file, st.set, raw)
	if err != nil {
		return web.DeviceSettings{}, err
	}
	if s.inFile(d.Name) {
		return web.DeviceSettings{}, fmt.Errorf("device %q is defined in the configuration file: %w", d.Name, web.ErrConflict)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return web.DeviceSettings{}, err
	}
	if err := s.users.AddDevice(d.Name, b, by); err != nil {
		if errors.Is(err, auth.ErrExists) {
			return web.DeviceSettings{}, fmt.Errorf("device %q already exists: %w", d.Name, web.ErrConflict)
		}
		return web.DeviceSettings{}, err
	}
	if err := s.apply(st.file, st.set); err != nil {
		if derr := s.users.DeleteDevice(d.Name); derr != nil {
			err = errors.Join(err, derr)
		}
		return web.DeviceSettings{}, err
	}
	s.log.Info("device_added", "device", d.Name, "by", by)
	return web.DeviceSettings{Name: d.Name, Source: "api", Settings: config.DeviceView(d)}, nil
}

// UpdateDevice replaces a stored device; "<secret>" keeps a stored secret.
func (s *service) UpdateDevice(ctx context.Context, name string, raw map[string]any, by string) (web.DeviceSettings, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.users == nil {
		return web.DeviceSettings{}, web.ErrNotFound
	}
	old, err := s.users.Device(name)
	if errors.Is(err, auth.ErrNotFound) {
		if s.inFile(name) {
			return web.DeviceSettings{}, fmt.Errorf("device %q is defined in the configuration file; change it there: %w", name, web.ErrConflict)
		}
		return web.DeviceSettings{}, fmt.Errorf("device %q: %w", name, web.ErrNotFound)
	}
	if err != nil {
		return web.DeviceSettings{}, err
	}
	var oldRaw map[string]any
	_ = json.Unmarshal(old.Config, &oldRaw)
	config.KeepSecrets(raw, oldRaw)
	if err := maskError(raw); err != nil {
		return web.DeviceSettings{}, err
	}
	st := s.state.Load()
	d, err := checkDevice(st.file, st.set, raw)
	if err != nil {
		return web.DeviceSettings{}, err
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return web.DeviceSettings{}, err
	}
	if err := s.users.UpdateDevice(name, b, by); err != nil {
		return web.DeviceSettings{}, err
	}
	if err := s.apply(st.file, st.set); err != nil {
		if rerr := s.users.UpdateDevice(name, old.Config, old.UpdatedBy); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return web.DeviceSettings{}, err
	}
	s.log.Info("device_updated", "device", name, "by", by)
	return web.DeviceSettings{Name: d.Name, Source: "api", Settings: config.DeviceView(d)}, nil
}

// DeleteDevice removes a stored device and stops polling it.
func (s *service) DeleteDevice(ctx context.Context, name string) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.users == nil {
		return web.ErrNotFound
	}
	if err := s.users.DeleteDevice(name); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			if s.inFile(name) {
				return fmt.Errorf("device %q is defined in the configuration file; remove it there: %w", name, web.ErrConflict)
			}
			return fmt.Errorf("device %q: %w", name, web.ErrNotFound)
		}
		return err
	}
	st := s.state.Load()
	if err := s.apply(st.file, st.set); err != nil {
		return err
	}
	s.log.Info("device_deleted", "device", name)
	return nil
}

// Settings shows a device's configuration, secrets masked.
func (s *service) Settings(name string) (web.DeviceSettings, bool) {
	st := s.state.Load()
	if sd, ok := st.stored[name]; ok {
		return web.DeviceSettings{Name: name, Source: "api", Settings: config.DeviceView(sd.dev)}, true
	}
	for _, d := range st.file.Devices {
		if d.Name == name {
			return web.DeviceSettings{Name: name, Source: "config", Settings: config.DeviceView(d)}, true
		}
	}
	return web.DeviceSettings{}, false
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/web"
	"github.com/saguaro-monitoring/saguaro/poller/snmp"
)

// Bounds of a discovery through the API: one host's whole discovery, the
// request's, how many hosts are asked at once, and one SNMP request.
const (
	discoverHostTimeout    = 30 * time.Second
	discoverTotalTimeout   = 2 * time.Minute
	discoverParallel       = 4
	discoverRequestTimeout = 2 * time.Second
)

// Discover asks each address's agent what it is (as `saguaro discover`
// does), proposes a device with the best-fitting SNMP template, and with
// req.Apply adds the proposals as stored devices.
// One discovery runs at a time: each may keep a few sockets and two
// minutes busy, and editors are many.
func (s *service) Discover(ctx context.Context, req web.DiscoverRequest) ([]web.Discovered, error) {
	if !s.discovering.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("another discovery is running; try again when it ends: %w", web.ErrBusy)
	}
	defer s.discovering.Store(false)
	st := s.state.Load()
	sreq, refs := discoverRequest(st.set)
	base := snmp.Config{
		Version: req.Version, Community: req.Community, Timeout: discoverRequestTimeout, Retries: 1,
		SecurityLevel: req.SecurityLevel, Username: req.Username,
		AuthProtocol: req.AuthProtocol, AuthPassword: req.AuthPassword,
		PrivProtocol: req.PrivProtocol, PrivPassword: req.PrivPassword,
	}
	if base.Version != "3" {
		base.SecurityLevel, base.Username, base.AuthProtocol, base.AuthPassword, base.PrivProtocol, base.PrivPassword = "", "", "", "", "", ""
	} else {
		base.Community = ""
	}
	ctx, cancel := context.WithTimeout(ctx, discoverTotalTimeout)
	defer cancel()

	taken := map[string]bool{}
	addrs := map[string]string{}
	for _, d := range st.cfg.Devices {
		taken[d.Name] = true
		if d.SNMP != nil {
			addrs[withPort(d.SNMP.Address)] = d.Name
		}
	}
	out := make([]web.Discovered, len(req.Addresses))
	found := make([]*snmp.Discovery, len(req.Addresses))
	var g errgroup.Group
	g.SetLimit(discoverParallel)
	for i, a := range req.Addresses {
		host := withPort(a)
		out[i].Address = host
		if dev, dup := addrs[host]; dup {
			out[i].Error = "already polled as device " + dev
			continue
		}
		g.Go(func() error {
			cfg := base
			cfg.Address, cfg.Device = host, a
			hctx, hcancel := context.WithTimeout(ctx, discoverHostTimeout)
			defer hcancel()
			d, err := snmp.Discover(hctx, cfg, sreq)
			if err != nil {
				out[i].Error = err.Error()
				return nil
			}
			found[i] = d
			return nil
		})
	}
	_ = g.Wait()

	// Names and additions in address order, so the result is stable.
	for i := range out {
		d := found[i]
		if d == nil {
			continue
		}
		o := &out[i]
		o.SysName, o.SysDescr, o.SysObjectID = d.SysName, clip(d.SysDescr, 300), d.SysObjectID
		for _, e := range d.Problems {
			o.Problems = append(o.Problems, clip(e.Error(), 200))
		}
		matches := matchTemplates(st.set, refs, d)
		if len(matches) == 0 {
			o.Error = "no SNMP device template fits (none has half its objects answering)"
			continue
		}
		o.Template = matches[0].name
		for _, m := range matches[1:] {
			o.AlsoFits = append(o.AlsoFits, m.name)
		}
		name := deviceName(d.SysName, req.Addresses[i], taken)
		taken[name] = true
		raw := proposedDevice(name, o.Template, o.Address, base)
		if dev, err := config.DecodeDevice(raw); err == nil {
			o.Device = config.DeviceView(dev)
		}
		if !req.Apply {
			continue
		}
		if _, err := s.AddDevice(ctx, raw, req.By); err != nil {
			var fe *config.FieldError
			if errors.As(err, &fe) || errors.Is(err, web.ErrConflict) {
				o.Error = "not added: " + err.Error()
				continue
			}
			return nil, err
		}
		o.Added = true
	}
	return out, nil
}

// proposedDevice is a discovered host as a device of the configuration.
func proposedDevice(name, template, address string, c snmp.Config) map[string]any {
	sn := map[string]any{"address": address, "version": c.Version}
	set := func(k, v string) {
		if v != "" {
			sn[k] = v
		}
	}
	set("community", c.Community)
	set("security_level", c.SecurityLevel)
	set("username", c.Username)
	set("auth_protocol", c.AuthProtocol)
	set("auth_password", c.AuthPassword)
	set("priv_protocol", c.PrivProtocol)
	set("priv_password", c.PrivPassword)
	return map[string]any{"name": name, "template": template, "snmp": sn}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/poller/httpsrc"
	"github.com/saguaro-monitoring/saguaro/poller/latency"
	"github.com/saguaro-monitoring/saguaro/poller/script"
	"github.com/saguaro-monitoring/saguaro/poller/snmp"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// buildTargets turns each configured device and its template into a
// poller target with a protocol collector of its own.
func buildTargets(cfg *config.Config, set *templates.Set) ([]poller.Target, error) {
	out, _, _, err := buildTargetsReusing(cfg, set, nil)
	return out, err
}

// builtTarget is a device's target with what it was built from, so that
// the next configuration can keep it when neither changed.
type builtTarget struct {
	dev    config.Device
	tpl    *templates.Device
	listen string
	target poller.Target
}

// buildTargetsReusing is buildTargets keeping the target (and its
// collector, with what it learned of the device: table sizes, labels,
// the last sysUpTime) of every device whose settings and template are
// those prev was built from. It returns the targets, the record for the
// next call, and the targets it built anew (the caller closes them if it
// does not use them).
func buildTargetsReusing(cfg *config.Config, set *templates.Set, prev map[string]builtTarget) ([]poller.Target, map[string]builtTarget, []poller.Target, error) {
	var out, fresh []poller.Target
	built := make(map[string]builtTarget, len(cfg.Devices))
	var errs []error
	sameTpl := map[string]bool{} // template name: unchanged since prev
	for i, d := range cfg.Devices {
		proto := d.Protocol()
		tpl, ok := set.Devices[d.Template]
		switch {
		case !ok:
			errs = append(errs, &config.FieldError{Path: fmt.Sprintf("devices[%d].template", i), Msg: fmt.Sprintf("no device template named %q", d.Template)})
			continue
		case !tpl.Has(proto):
			errs = append(errs, &config.FieldError{Path: fmt.Sprintf("devices[%d].template", i),
				Msg: fmt.Sprintf("template %q has no %s section but the device is polled by %s (the template has: %v)", d.Template, proto, proto, tpl.Protocols())})
			continue
		}
		if old, ok := prev[d.Name]; ok && old.listen == cfg.Listen && reflect.DeepEqual(old.dev, d) {
			same, seen := sameTpl[d.Template]
			if !seen {
				same = old.tpl == tpl || reflect.DeepEqual(old.tpl, tpl)
				sameTpl[d.Template] = same
			}
			if same {
				out = append(out, old.target)
				built[d.Name] = builtTarget{dev: d, tpl: tpl, listen: cfg.Listen, target: old.target}
				continue
			}
		}
		t, err := buildTarget(cfg, d, tpl, proto)
		if err != nil {
			errs = append(errs, fmt.Errorf("devices[%d] %q: %w", i, d.Name, err))
			continue
		}
		out, fresh = append(out, t), append(fresh, t)
		built[d.Name] = builtTarget{dev: d, tpl: tpl, listen: cfg.Listen, target: t}
	}
	return out, built, fresh, errors.Join(errs...)
}

// buildTarget builds one device's target and collector.
func buildTarget(cfg *config.Config, d config.Device, tpl *templates.Device, proto string) (poller.Target, error) {
	labels := metric.New(metric.DeviceLabel, d.Name)
	// A value may be missed once and still give a rate, whatever the
	// device's interval.
	heartbeat := 2 * d.Interval
	var coll poller.Collector
	var err error
	switch proto {
	case "snmp":
		coll, err = snmp.New(snmpConfig(d, tpl, labels, heartbeat))
	case "http":
		coll, err = httpsrc.New(httpConfig(cfg, d, tpl, labels, heartbeat))
	case "script":
		coll, err = script.New(scriptConfig(d, tpl, labels, heartbeat))
	case "probe":
		pc := probeConfig(d, tpl, labels)
		if pc.Kind == "" {
			err = fmt.Errorf("probe kind: set kind (tcp, http or icmp) in the device or in template %q", d.Template)
			break
		}
		coll, err = latency.New(pc)
	default:
		err = fmt.Errorf("no protocol section")
	}
	if err != nil {
		return poller.Target{}, err
	}
	return poller.Target{
		Name: d.Name + "/" + proto, Device: d.Name, Labels: labels,
		Interval: d.Interval, Timeout: d.Timeout, Collector: withHeartbeat(coll, heartbeat),
		DeviceLimit: d.PollLimit(),
	}, nil
}

func snmpConfig(d config.Device, tpl *templates.Device, labels metric.Labels, heartbeat time.Duration) snmp.Config {
	c := snmp.Config{
		Device: d.Name, Address: d.SNMP.Address, Version: d.SNMP.Version,
		Community: d.SNMP.Community.Reveal(), Timeout: d.SNMP.Timeout, Retries: d.SNMP.Retries,
		MaxOIDs: d.SNMP.MaxOIDs, MaxRepetitions: d.SNMP.MaxRepetitions, Labels: labels,
		SecurityLevel: d.SNMP.SecurityLevel, Username: d.SNMP.Username,
		AuthProtocol: d.SNMP.AuthProtocol, AuthPassword: d.SNMP.AuthPassword.Reveal(),
		PrivProtocol: d.SNMP.PrivProtocol, PrivPassword: d.SNMP.PrivPassword.Reveal(),
		ContextName: d.SNMP.ContextName,
		// A reboot (sysUpTime going back) makes that poll's counters
		// unknown instead of a spike.
		UptimeCheck: true,
	}
	obj := func(o templates.Object) snmp.Object {
		return snmp.Object{OID: o.OID, Metric: o.Metric, DS: o.DS(heartbeat), Labels: metric.FromMap(o.Labels)}
	}
	for _, o := range tpl.SNMP.Scalars {
		c.Scalars = append(c.Scalars, obj(o))
	}
	for _, t := range tpl.SNMP.Tables {
		st := snmp.Table{
			Name: t.Name, IndexLabel: t.IndexLabel, LabelColumns: map[string]string{},
			Identity: t.Identity, ReindexEvery: time.Duration(t.ReindexEvery),
		}
		for _, l := range t.Labels {
			st.LabelColumns[l.Name] = l.OID
		}
		for _, o := range t.Columns {
			st.Columns = append(st.Columns, obj(o))
		}
		c.Tables = append(c.Tables, st)
	}
	return c
}

func httpConfig(cfg *config.Config, d config.Device, tpl *templates.Device, labels metric.Labels, heartbeat time.Duration) httpsrc.Config {
	h := d.HTTP
	c := httpsrc.Config{
		Device: d.Name, URL: cfg.ExpandURL(h.URL), Timeout: h.Timeout, MaxBody: h.MaxBody,
		Labels: labels, Include: tpl.HTTP.Include, Format: tpl.HTTP.Format,
		Username: h.Username, Password: h.Password.Reveal(),
		InsecureSkipVerify: h.TLS.InsecureSkipVerify, CAFile: h.TLS.CAFile,
		CertFile: h.TLS.CertFile, KeyFile: h.TLS.KeyFile, ServerName: h.TLS.ServerName,
	}
	if len(h.Headers) > 0 {
		c.Headers = make(map[string]string, len(h.Headers))
		for k, v := range h.Headers {
			c.Headers[k] = v.Reveal()
		}
	}
	for _, v := range tpl.HTTP.JSON {
		c.JSON = append(c.JSON, httpsrc.JSONMetric{Path: v.Path, Metric: v.Metric, DS: v.DS(heartbeat), Labels: metric.FromMap(v.Labels)})
	}
	return c
}

func scriptConfig(d config.Device, tpl *templates.Device, labels metric.Labels, heartbeat time.Duration) script.Config {
	s := d.Script
	c := script.Config{
		Device: d.Name, Command: append([]string{s.Command}, s.Args...), Dir: s.Dir, Env: s.Env,
		Timeout: s.Timeout, Metric: tpl.Script.Metric, DS: tpl.Script.DS(heartbeat), Labels: labels,
	}
	if len(tpl.Script.Fields) > 0 {
		c.Fields = make(map[string]script.Field, len(tpl.Script.Fields))
		for _, f := range tpl.Script.Fields {
			o := f.Object()
			c.Fields[f.Name] = script.Field{Metric: o.Metric, DS: o.DS(heartbeat), Labels: metric.FromMap(o.Labels)}
		}
	}
	return c
}

// probeConfig merges the device's probe section over the template's
// defaults; latency.New fills what both leave unset.
func probeConfig(d config.Device, tpl *templates.Device, labels metric.Labels) latency.Config {
	p, t := d.Probe, tpl.Probe
	c := latency.Config{
		Device: d.Name, Kind: p.Kind, Target: p.Target, Labels: labels,
		Count: t.Count, Spacing: time.Duration(t.Spacing), Timeout: time.Duration(t.Timeout),
	}
	if c.Kind == "" {
		c.Kind = t.Kind
	}
	if p.Count > 0 {
		c.Count = p.Count
	}
	if p.Spacing > 0 {
		c.Spacing = p.Spacing
	}
	if p.Timeout > 0 {
		c.Timeout = p.Timeout
	}
	pct := t.Percentiles
	if len(p.Percentiles) > 0 {
		pct = p.Percentiles
	}
	for _, q := range pct {
		c.Percentiles = append(c.Percentiles, q/100)
	}
	return c
}

// withHeartbeat gives samples that leave the heartbeat to the consumer
// (status pages, Prometheus text, probes) twice the device's interval:
// storage's own default, twice its step, would make every rate of a
// device polled less often than that unknown.
func withHeartbeat(c poller.Collector, hb time.Duration) poller.Collector {
	if cl, ok := c.(io.Closer); ok {
		return &heartbeatCloser{heartbeatCollector{c, hb}, cl}
	}
	return &heartbeatCollector{c, hb}
}

type heartbeatCollector struct {
	c  poller.Collector
	hb time.Duration
}

func (h *heartbeatCollector) Poll(ctx context.Context, at time.Time) ([]metric.Sample, error) {
	s, err := h.c.Poll(ctx, at)
	for i := range s {
		if s[i].DS.Heartbeat == 0 {
			s[i].DS.Heartbeat = h.hb
		}
	}
	return s, err
}

type heartbeatCloser struct {
	heartbeatCollector
	io.Closer
}

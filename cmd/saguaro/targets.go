package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/poller/httpsrc"
	"github.com/saguaro-monitoring/saguaro/poller/snmp"
	"github.com/saguaro-monitoring/saguaro/templates"
)

// buildTargets turns each configured device and its template into a
// poller target with a protocol collector of its own.
func buildTargets(cfg *config.Config, set *templates.Set) ([]poller.Target, error) {
	var out []poller.Target
	var errs []error
	for i, d := range cfg.Devices {
		tpl := set.Devices[d.Template]
		labels := metric.New(metric.DeviceLabel, d.Name)
		heartbeat := 2 * d.Interval
		var coll poller.Collector
		var err error
		proto := "snmp"
		switch {
		case d.SNMP != nil:
			coll, err = snmp.New(snmpConfig(d, tpl, labels, heartbeat))
		case d.HTTP != nil:
			proto = "http"
			coll, err = httpsrc.New(httpsrc.Config{
				Device: d.Name, URL: cfg.ExpandURL(d.HTTP.URL), Timeout: d.HTTP.Timeout,
				MaxBody: d.HTTP.MaxBody, Labels: labels, Include: tpl.HTTP.Include,
			})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("devices[%d] %q: %w", i, d.Name, err))
			continue
		}
		out = append(out, poller.Target{
			Name: d.Name + "/" + proto, Device: d.Name, Labels: labels,
			Interval: d.Interval, Timeout: d.Timeout, Collector: coll,
		})
	}
	return out, errors.Join(errs...)
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

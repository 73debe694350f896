package main

import (
	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage"
)

// storageOptions maps the storage section onto the engine's options:
// configured tiers replace the default ones, they are not added to them.
func storageOptions(cfg *config.Config) storage.Options {
	o := storage.DefaultOptions(cfg.DataDir)
	o.RawRetention = cfg.Storage.RawRetention
	o.Step = cfg.Storage.Step
	if len(cfg.Storage.Tiers) > 0 {
		o.Tiers = nil
		for _, t := range cfg.Storage.Tiers {
			st := storage.Tier{Step: t.Step, Retention: t.Retention, XFF: t.XFF}
			for _, name := range t.CFs {
				cf, _ := metric.ParseCF(name) // validated with the configuration
				st.CFs = append(st.CFs, cf)
			}
			o.Tiers = append(o.Tiers, st)
		}
	}
	return o
}

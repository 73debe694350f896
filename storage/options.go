package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// Tier is one consolidation archive: rows of Step (a multiple of the PDP
// step) kept for Retention. XFF is the fraction of a row's PDPs that may be
// unknown while the row is still known (rrdtool's xff). CFs are the
// consolidation functions the tier stores; nil means DefaultCFs. A tier
// of one PDP per row stores one value whatever CFs says: every function
// gives the PDP there.
type Tier struct {
	Step      time.Duration
	Retention time.Duration
	XFF       float64
	CFs       []metric.CF
}

// DefaultCFs are the consolidation functions a tier stores unless told
// otherwise: what Cacti's profiles keep. Each stored function costs a
// series and a row per step; a query for another one is answered from the
// finest archive that has it (see DB.Select).
var DefaultCFs = []metric.CF{metric.Average, metric.Max}

// Options configure a DB.
type Options struct {
	Dir          string        // data directory (created if missing)
	RawRetention time.Duration // how long every polled value is kept; default 35 days
	Step         time.Duration // finest PDP step, whole seconds; default 60s
	// Tiers are the consolidation archives, finest first. Default: 60s kept
	// 14d, 5m kept 90d, 1h kept 2y, 1d kept 10y, each with xff 0.5 and
	// AVERAGE and MAX.
	Tiers      []Tier
	Registerer prometheus.Registerer // optional, for self-metrics
	Logger     *slog.Logger          // optional

	// CheckpointInterval is how often the per-series state is written so
	// that the state journal stays short; default 5 minutes.
	CheckpointInterval time.Duration
	// CompactInterval is how often the archives' heads are checked for
	// data ready to be written into blocks; default 1 minute.
	CompactInterval time.Duration
}

const day = 24 * time.Hour

// DefaultOptions returns the defaults for a data directory.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:          dir,
		RawRetention: 35 * day,
		Step:         time.Minute,
		Tiers: []Tier{
			{Step: time.Minute, Retention: 14 * day, XFF: 0.5, CFs: DefaultCFs},
			{Step: 5 * time.Minute, Retention: 90 * day, XFF: 0.5, CFs: DefaultCFs},
			{Step: time.Hour, Retention: 2 * 365 * day, XFF: 0.5, CFs: DefaultCFs},
			{Step: day, Retention: 10 * 365 * day, XFF: 0.5, CFs: DefaultCFs},
		},
		CheckpointInterval: 5 * time.Minute,
		CompactInterval:    time.Minute,
	}
}

// withDefaults fills zero fields from DefaultOptions and checks the rest.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions(o.Dir)
	if o.RawRetention == 0 {
		o.RawRetention = d.RawRetention
	}
	if o.Step == 0 {
		o.Step = d.Step
	}
	if o.Tiers == nil {
		o.Tiers = d.Tiers
	}
	// Copy, so that filling in CFs does not write into the caller's slice.
	o.Tiers = slices.Clone(o.Tiers)
	for i := range o.Tiers {
		if o.Tiers[i].CFs == nil {
			o.Tiers[i].CFs = DefaultCFs
		}
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = d.CheckpointInterval
	}
	if o.CompactInterval == 0 {
		o.CompactInterval = d.CompactInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("dir: empty"))
	}
	if o.RawRetention < 0 {
		errs = append(errs, fmt.Errorf("raw retention: %v is negative", o.RawRetention))
	}
	if o.CheckpointInterval < 0 {
		errs = append(errs, fmt.Errorf("checkpoint interval: %v is negative", o.CheckpointInterval))
	}
	if o.CompactInterval < 0 {
		errs = append(errs, fmt.Errorf("compact interval: %v is negative", o.CompactInterval))
	}
	if o.Step < time.Second || o.Step%time.Second != 0 {
		errs = append(errs, fmt.Errorf("step: %v is not a whole number of seconds", o.Step))
	}
	if len(o.Tiers) == 0 {
		errs = append(errs, errors.New("tiers: none"))
	}
	seen := map[time.Duration]bool{}
	for i, t := range o.Tiers {
		switch {
		case o.Step > 0 && (t.Step < o.Step || t.Step%o.Step != 0):
			errs = append(errs, fmt.Errorf("tiers[%d].step: %v is not a multiple of the step %v", i, t.Step, o.Step))
		case seen[t.Step]:
			errs = append(errs, fmt.Errorf("tiers[%d].step: %v appears twice", i, t.Step))
		case i > 0 && t.Step < o.Tiers[i-1].Step:
			errs = append(errs, fmt.Errorf("tiers[%d].step: %v is finer than the tier before it; list tiers finest first", i, t.Step))
		}
		seen[t.Step] = true
		if t.Retention < t.Step {
			errs = append(errs, fmt.Errorf("tiers[%d].retention: %v is shorter than its step %v", i, t.Retention, t.Step))
		}
		if !(t.XFF >= 0 && t.XFF < 1) {
			errs = append(errs, fmt.Errorf("tiers[%d].xff: %v is not in [0, 1)", i, t.XFF))
		}
		if len(t.CFs) == 0 {
			errs = append(errs, fmt.Errorf("tiers[%d].cfs: empty; list at least one of AVERAGE, MIN, MAX, LAST", i))
		}
		for k, cf := range t.CFs {
			switch {
			case cf > metric.Last:
				errs = append(errs, fmt.Errorf("tiers[%d].cfs[%d]: unknown consolidation function %v", i, k, cf))
			case slices.Contains(t.CFs[:k], cf):
				errs = append(errs, fmt.Errorf("tiers[%d].cfs[%d]: %v appears twice", i, k, cf))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("storage options: %w", err)
	}
	return o, nil
}

// GCPercent is the garbage collector's target (runtime/debug.SetGCPercent)
// for a process serving the store, unless its GOGC environment variable
// says otherwise: the heads' chunks and series are long-lived, and Go's
// default of 100 lets the heap double over them before a collection. With
// 50, BenchmarkSteadyMemory (10,000 data sources, 26 hours of one-minute
// polls, hourly compaction) peaked at 248 MiB RSS instead of 324 MiB, at
// no measurable ingest cost.
const GCPercent = 50

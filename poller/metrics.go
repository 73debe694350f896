package poller

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// healthCollector puts the scheduler's metrics on /metrics, labelled by
// target and device, under the same names as the stored health series.
// It reads each target's health when scraped instead of keeping a
// client_golang child per target and metric: at 20,000 targets those
// children held some 85 MB, for numbers the scheduler keeps anyway.
type healthCollector struct {
	mu     sync.Mutex
	scheds []*Scheduler // every scheduler registered on the registry
}

var (
	healthLabels = []string{TargetLabel, "device"}
	descSuccess  = prometheus.NewDesc(SuccessMetric,
		"Whether the last poll of the target returned no error (1) or failed (0).", healthLabels, nil)
	descDuration = prometheus.NewDesc(DurationMetric, "Wall time of the last poll of the target.", healthLabels, nil)
	descSamples  = prometheus.NewDesc(SamplesMetric, "Samples returned by the last poll of the target.", healthLabels, nil)
	descErrors   = prometheus.NewDesc(ErrorsMetric,
		"Problems reported by the last poll of the target (0 when it succeeded).", healthLabels, nil)
	descSkipped = prometheus.NewDesc(SkippedMetric,
		"Ticks skipped: the previous poll of the target still ran, or no slot under the global or device bound freed before the next tick.", healthLabels, nil)
	descPolls = prometheus.NewDesc("saguaro_polls_total", "Finished polls of the target.", healthLabels, nil)

	// Totals over all targets, for the process's own graphs: a few
	// series however many devices are polled.
	descAllPolls    = prometheus.NewDesc("saguaro_poller_polls_total", "Finished polls of all targets, removed ones included.", nil, nil)
	descAllFailures = prometheus.NewDesc("saguaro_poller_poll_failures_total", "Finished polls of all targets that returned an error.", nil, nil)
	descAllSkipped  = prometheus.NewDesc("saguaro_poller_skipped_total", "Ticks of all targets skipped (see saguaro_poll_skipped_total).", nil, nil)
	descTargets     = prometheus.NewDesc("saguaro_poller_targets", "Targets polled.", nil, nil)
	descTargetsDown = prometheus.NewDesc("saguaro_poller_targets_down", "Targets marked down and backed off.", nil, nil)
	descFailures    = prometheus.NewDesc("saguaro_poll_failures_total",
		"Finished polls of the target that returned an error.", healthLabels, nil)
)

// register adds s to reg's health collector, creating it on first use: a
// second scheduler on the same registry shares it.
func register(reg prometheus.Registerer, s *Scheduler, log *slog.Logger) {
	if reg == nil {
		return
	}
	hc := &healthCollector{scheds: []*Scheduler{s}}
	err := reg.Register(hc)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
	case errors.As(err, &are):
		if old, ok := are.ExistingCollector.(*healthCollector); ok {
			old.mu.Lock()
			old.scheds = append(old.scheds, s)
			old.mu.Unlock()
			return
		}
		log.Error("register_metrics_failed", "err", err)
	default:
		log.Error("register_metrics_failed", "err", err)
	}
}

func (hc *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSuccess, descDuration, descSamples, descErrors, descSkipped, descPolls, descFailures,
		descAllPolls, descAllFailures, descAllSkipped, descTargets, descTargetsDown} {
		ch <- d
	}
}

func (hc *healthCollector) Collect(ch chan<- prometheus.Metric) {
	hc.mu.Lock()
	scheds := append([]*Scheduler(nil), hc.scheds...)
	hc.mu.Unlock()
	var all PollTotals
	for _, s := range scheds {
		t := s.Totals()
		all.Polls += t.Polls
		all.Failures += t.Failures
		all.Skipped += t.Skipped
		all.Targets += t.Targets
		all.Down += t.Down
	}
	ch <- prometheus.MustNewConstMetric(descAllPolls, prometheus.CounterValue, float64(all.Polls))
	ch <- prometheus.MustNewConstMetric(descAllFailures, prometheus.CounterValue, float64(all.Failures))
	ch <- prometheus.MustNewConstMetric(descAllSkipped, prometheus.CounterValue, float64(all.Skipped))
	ch <- prometheus.MustNewConstMetric(descTargets, prometheus.GaugeValue, float64(all.Targets))
	ch <- prometheus.MustNewConstMetric(descTargetsDown, prometheus.GaugeValue, float64(all.Down))
	for _, s := range scheds {
		s.mu.Lock()
		loops := make([]*loop, 0, len(s.loops))
		for _, l := range s.loops {
			loops = append(loops, l)
		}
		s.mu.Unlock()
		for _, l := range loops {
			h := l.snapshot()
			if h.Polls == 0 && h.Skipped == 0 {
				continue // not polled yet: no series, as before its first poll
			}
			lv := []string{h.Name, h.Device}
			gauge := func(d *prometheus.Desc, v float64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
			}
			counter := func(d *prometheus.Desc, v float64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, lv...)
			}
			counter(descSkipped, float64(h.Skipped))
			if h.Polls == 0 {
				continue
			}
			ok := 0.0
			if h.LastErrors == 0 {
				ok = 1
			}
			gauge(descSuccess, ok)
			gauge(descDuration, h.LastDuration.Seconds())
			gauge(descSamples, float64(h.LastSamples))
			gauge(descErrors, float64(h.LastErrors))
			counter(descPolls, float64(h.Polls))
			counter(descFailures, float64(h.Failures))
		}
	}
}

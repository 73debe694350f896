package poller

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// promMetrics are the scheduler's metrics on /metrics, labelled by target
// and device. They carry the same names as the stored health series.
type promMetrics struct {
	success  *prometheus.GaugeVec
	duration *prometheus.GaugeVec
	samples  *prometheus.GaugeVec
	errs     *prometheus.GaugeVec
	skip     *prometheus.CounterVec
	polls    *prometheus.CounterVec
	failures *prometheus.CounterVec
}

func newPromMetrics(reg prometheus.Registerer, log *slog.Logger) *promMetrics {
	lbl := []string{TargetLabel, "device"}
	m := &promMetrics{
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: SuccessMetric,
			Help: "Whether the last poll of the target returned no error (1) or failed (0)."}, lbl),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: DurationMetric,
			Help: "Wall time of the last poll of the target."}, lbl),
		samples: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: SamplesMetric,
			Help: "Samples returned by the last poll of the target."}, lbl),
		errs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ErrorsMetric,
			Help: "Problems reported by the last poll of the target (0 when it succeeded)."}, lbl),
		skip: prometheus.NewCounterVec(prometheus.CounterOpts{Name: SkippedMetric,
			Help: "Ticks skipped because the previous poll of the target still ran."}, lbl),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "saguaro_polls_total",
			Help: "Finished polls of the target."}, lbl),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "saguaro_poll_failures_total",
			Help: "Finished polls of the target that returned an error."}, lbl),
	}
	if reg == nil {
		return m
	}
	register := func(c prometheus.Collector) prometheus.Collector {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		switch {
		case err == nil:
		case errors.As(err, &are):
			return are.ExistingCollector // a second scheduler on the same registry shares them
		default:
			log.Error("register_metrics_failed", "err", err)
		}
		return c
	}
	m.success = register(m.success).(*prometheus.GaugeVec)
	m.duration = register(m.duration).(*prometheus.GaugeVec)
	m.samples = register(m.samples).(*prometheus.GaugeVec)
	m.errs = register(m.errs).(*prometheus.GaugeVec)
	m.skip = register(m.skip).(*prometheus.CounterVec)
	m.polls = register(m.polls).(*prometheus.CounterVec)
	m.failures = register(m.failures).(*prometheus.CounterVec)
	return m
}

func (m *promMetrics) observe(t Target, errs int, dur time.Duration, n int) {
	v := 0.0
	if errs == 0 {
		v = 1
	} else {
		m.failures.WithLabelValues(t.Name, t.Device).Inc()
	}
	m.errs.WithLabelValues(t.Name, t.Device).Set(float64(errs))
	m.success.WithLabelValues(t.Name, t.Device).Set(v)
	m.duration.WithLabelValues(t.Name, t.Device).Set(dur.Seconds())
	m.samples.WithLabelValues(t.Name, t.Device).Set(float64(n))
	m.polls.WithLabelValues(t.Name, t.Device).Inc()
	m.skip.WithLabelValues(t.Name, t.Device).Add(0) // present from the first poll on
}

func (m *promMetrics) skipped(t Target, n uint64) {
	m.skip.WithLabelValues(t.Name, t.Device).Add(float64(n))
}

// forget drops a removed target's series from /metrics.
func (m *promMetrics) forget(t Target) {
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.success, m.duration, m.samples, m.errs, m.skip, m.polls, m.failures} {
		v.DeleteLabelValues(t.Name, t.Device)
	}
}

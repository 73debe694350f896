package storage

import "github.com/prometheus/client_golang/prometheus"

// dbMetrics are storage's own metrics, served on Saguaro's /metrics.
type dbMetrics struct {
	reg           prometheus.Registerer
	cs            []prometheus.Collector
	samples       prometheus.Counter
	rejected      prometheus.Counter
	rows          prometheus.Counter
	appendErrors  prometheus.Counter
	journalBytes  prometheus.Counter
	checkpoints   prometheus.Counter
	series        prometheus.Gauge
	appendSeconds prometheus.Histogram
}

func newDBMetrics(db *DB, reg prometheus.Registerer) *dbMetrics {
	m := &dbMetrics{
		reg: reg,
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_samples_appended_total", Help: "Readings accepted by storage.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_samples_rejected_total", Help: "Readings rejected as bad input.",
		}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_values_stored_total", Help: "Raw values and tier rows written to the archives.",
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_append_errors_total", Help: "Append calls that failed to store some values.",
		}),
		journalBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_journal_bytes_total", Help: "Bytes written to the state journal.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saguaro_storage_checkpoints_total", Help: "State checkpoints written.",
		}),
		series: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "saguaro_storage_series", Help: "Series with in-memory state.",
		}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "saguaro_storage_append_duration_seconds", Help: "Time to store one batch.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10),
		}),
	}
	m.cs = []prometheus.Collector{m.samples, m.rejected, m.rows, m.appendErrors, m.journalBytes, m.checkpoints, m.series, m.appendSeconds}
	if reg != nil {
		for _, c := range m.cs {
			if err := reg.Register(c); err != nil {
				db.log.Warn("storage_metric_not_registered", "err", err)
			}
		}
	}
	return m
}

func (m *dbMetrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.cs {
		m.reg.Unregister(c)
	}
}

// Package poller runs Saguaro's polls: a timer per target whose goroutine
// runs the poll (no goroutine waits between polls), a stable start offset
// per target, every poll under a timeout shorter than the
// interval, overlapping ticks skipped and counted, dead targets backed off,
// optional bounds on concurrent polls (over all targets and per device),
// and health samples
// (saguaro_poll_success, _duration_seconds, _samples, _errors,
// _skipped_total) recorded for every tick.
//
// A Collector knows one protocol: poller/snmp (SNMP v1/v2c/v3),
// poller/httpsrc (Prometheus text, JSON, Apache and nginx status, probes),
// poller/script (commands) and poller/latency (round-trip probes). A Sink
// is where samples go (storage, wired in cmd). The scheduler imports
// neither.
package poller

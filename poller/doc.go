// Package poller runs Saguaro's polls: one goroutine per target, a stable
// start offset per target, every poll under a timeout shorter than the
// interval, overlapping ticks skipped and counted, and health samples
// recorded for every poll.
//
// A Collector knows one protocol (poller/snmp, poller/httpsrc); a Sink is
// where samples go (storage, in cmd). The scheduler imports neither.
package poller

// Package httpsrc polls HTTP endpoints: the Prometheus text exposition
// format (counters become DDERIVE with Min 0, so a reset reads as unknown,
// not as a spike; gauges and untyped values become GAUGE), with a body
// size limit and a timeout.
package httpsrc

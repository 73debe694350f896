// Package httpsrc polls HTTP endpoints, with a body size limit, a timeout,
// per-target headers, basic auth and TLS options:
//
//   - the Prometheus text exposition format (counters become DDERIVE with
//     Min 0, so a reset reads as unknown, not as a spike; gauges and untyped
//     values become GAUGE);
//   - JSON documents, numbers picked by a path per metric (Jolokia-style JMX
//     reads, application counters), with {label} wildcards;
//   - Apache httpd's server-status?auto and nginx's stub_status pages;
//   - a probe: only the response's status and time.
package httpsrc

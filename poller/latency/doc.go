// Package latency measures round trips SmokePing style: several probes per
// poll (TCP connect, HTTP GET, or ICMP echo where the process may open ICMP
// sockets), stored as median, minimum, maximum, chosen percentiles and the
// share of probes lost. A lost probe is a finding, not a failed poll.
package latency

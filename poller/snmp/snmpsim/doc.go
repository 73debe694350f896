// Package snmpsim serves many virtual SNMPv1/v2c agents on loopback for
// tests and benchmarks at scale.
//
// Each virtual device replays an `snmpwalk -On` capture (see ParseWalk) and
// answers GET, GETNEXT and GETBULK as a real agent does, including
// noSuchObject, noSuchInstance and endOfMibView. Counters advance with time
// at a per-device rate derived deterministically from a seed, Counter32
// wraps at 2^32, and a simulated reboot sends sysUpTime back to zero and
// restarts the counters. A configurable share of devices never answers or
// answers late, and some may renumber their ifIndex at every reboot.
//
// Devices are served either one UDP port each or many per port, told apart
// by community; the latter is what lets one process stand in for 100,000
// devices. Each socket is served by one goroutine that decodes and encodes
// BER itself into preallocated buffers (no allocation per request), plus
// one goroutine that sends the delayed replies of slow devices.
package snmpsim

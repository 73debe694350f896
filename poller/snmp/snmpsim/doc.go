// Package snmpsim serves many virtual SNMPv1/v2c agents on loopback for
// tests and benchmarks at scale.
//
// Each virtual device replays an `snmpwalk -On` capture (see ParseWalk;
// captures of a real net-snmp agent live in poller/snmp/testdata/walks)
// and answers GET, GETNEXT and GETBULK as a real agent does, including
// noSuchObject, noSuchInstance, endOfMibView, tooBig and SNMPv1's
// noSuchName. Counters advance with time at a per-device rate derived
// deterministically from a seed (0.5x to 1.5x the capture's mean rate),
// Counter32 wraps at 2^32 (and the ifTable's 32-bit counters stay the low
// half of the ifXTable's 64-bit ones), and a reboot sends sysUpTime back
// to zero and restarts the counters. A configurable share of devices never
// answers or answers late, and some renumber their ifIndexes at every
// reboot while names and counters stay with their interface.
//
// Devices are served either one UDP port each or many per port, told apart
// by community; the latter is what lets one process stand in for 100,000
// devices. Each socket is served by one goroutine that decodes and encodes
// BER itself into preallocated buffers (no allocation per request), plus
// one goroutine that sends the delayed replies of slow devices.
//
// New and Run serve until a context ends; Serve does the same for a test,
// with ManualClock to move time by hand, Reboot, SetDead and SetSlow to
// change devices while they are polled. `saguaro simulate` is the command
// line front end, and bench/poller-scale.sh its benchmark.
package snmpsim

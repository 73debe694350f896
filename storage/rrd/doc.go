// Package rrd owns Saguaro's RRD arithmetic: rrdtool 1.7's rules for
// turning polled readings into rates, time-weighting them into step slots
// (primary data points, PDPs) and consolidating those into coarser rows
// (AVERAGE, MIN, MAX, LAST with an x-files factor), in memory and without
// I/O.
//
// DS is the state of one data source; Update feeds one reading and emits
// every PDP it completes, stamped with the slot's end (a multiple of the
// step since the epoch). RRA consolidates PDPs into rows aligned to the
// epoch. Both states serialise with MarshalBinary so that storage can
// persist them and resume without losing the open slot or row.
//
// RRD combines them behind rrdtool's own create, update and fetch
// arguments; it is what the conformance test compares, row for row,
// against real rrdtool (go test ./storage/rrd -run RRDConformance, cases
// in storage/testdata/rrd and the directory named by RRD_CASES).
//
// rrdtool's arithmetic is kept where it surprises, because users compare
// Saguaro's numbers with the graphs they had:
//
//   - A counter wrap adds 2^32-1, not 2^32, so a wrapped 32-bit counter
//     reads one less than the true difference; when still negative
//     2^64-2^32 is added in float64, which loses the small true
//     difference of a 64-bit wrap entirely.
//   - COUNTER and DERIVE readings whose signs differ give an unknown
//     difference (rrdtool subtracts the decimal strings and gives up).
//   - Only the unknown seconds of earlier updates count towards "more than
//     half of a slot unknown". The unknown part of the update that closes
//     the slot does not: a slot with 10 known seconds followed by a gap
//     beyond the heartbeat gets the average of those 10 seconds.
//   - An update that closes several slots closes the first, partly filled
//     one on its own; the heartbeat is then checked against that part
//     only, and the remaining slots share one value.
//   - Fetch moves the end up by a whole row even when it is aligned, and
//     may answer an AVERAGE fetch from a one-PDP MIN, MAX or LAST archive.
//   - A refused reading of one data source still leaves the readings of
//     the data sources before it stored as the base of their next
//     difference (RRD.Update follows this; DS has no such coupling).
//
// The package depends on the standard library and pkg/metric only.
package rrd

// Package rrd owns Saguaro's RRD arithmetic: rrdtool 1.7's rules for
// turning polled readings into rates, time-weighting them into step slots
// (primary data points, PDPs) and consolidating those into coarser rows
// (AVERAGE, MIN, MAX, LAST with an x-files factor), in memory and without
// I/O.
//
// DS is the state of one data source; Update feeds one reading and emits
// every PDP it completes. RRA consolidates PDPs into rows aligned to the
// epoch. Both states serialise with MarshalBinary so that storage can
// persist them and resume without losing the open slot or row.
//
// RRD combines them behind rrdtool's own create, update and fetch
// arguments; it is what the conformance test compares, row for row,
// against real rrdtool (go test ./storage/rrd -run RRDConformance, cases
// in storage/testdata/rrd and the directory named by RRD_CASES).
//
// The package depends on the standard library and pkg/metric only.
package rrd

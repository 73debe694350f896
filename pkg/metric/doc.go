// Package metric is Saguaro's shared vocabulary: samples as the poller
// produces them, data-source types with their RRD meaning, label sets,
// selectors and the regular-grid series that storage returns and graphs draw.
//
// It depends on the standard library only, so every other package can use it
// without pulling in a protocol, a storage engine or a renderer.
package metric

// Package storage is Saguaro's time-series store and the only user of
// prometheus/tsdb in the project.
//
// Polled readings arrive as metric.Sample batches (DB.Append). Storage turns
// them into rates exactly as rrdtool does for the sample's data source
// (GAUGE, COUNTER with 32/64-bit wrap, DERIVE, ABSOLUTE, ...), keeps every
// polled value in a raw archive, and consolidates step-aligned primary data
// points into tiers with xff, each with its own retention and its own
// consolidation functions (Tier.CFs; default AVERAGE and MAX). Each archive
// is its own tsdb.DB under the data directory.
// The per-series RRD state is journaled before a batch is acknowledged and
// checkpointed periodically, so a crash loses no acknowledged reading.
//
// Reads (DB.Select) return regular-grid metric.Series at the step of the
// finest tier that covers the range at the requested step, consolidated on
// read from the finest archive that covers the range and keeps the
// requested consolidation function, so the newest (partial) row is never
// missing; DB.Raw returns the raw values;
// DB.Series and DB.LabelValues are the series catalogue.
//
// See docs/storage.md for the layout and the reasons behind it.
package storage

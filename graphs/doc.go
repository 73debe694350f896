// Package graphs turns graph templates into pictures and exports.
//
// It owns the template language (rrdtool's DEF, CDEF, VDEF and drawing
// items, written as YAML and validated at load), the Plan that queries the
// series of one graph instance onto one grid of about one row per pixel
// column, and the outputs drawn from a plan: PNG (gonum/plot) and CSV. The
// Catalog lists the graph instances of devices, one per distinct value of a
// template's `per` labels.
//
// graphs reads series through the small Querier interface it declares; it
// knows nothing of the storage engine, the poller or the web server.
package graphs

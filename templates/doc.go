// Package templates owns device templates (what to poll from a kind of
// device: SNMP scalars and tables, HTTP scrapes, and which graphs to draw)
// and loads them, together with graph templates, from YAML: the built-in
// set embedded in the binary and any directories the configuration names.
//
// Templates are checked strictly when they are loaded (unknown keys, bad
// OIDs, unknown data-source types, graph references, RPN), so a bad template
// stops check-config and start-up instead of failing a poll or a render.
package templates

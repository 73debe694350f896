// Package snmp polls devices over SNMP v1, v2c and v3 with gosnmp: scalars
// by GET, split into requests of at most MaxOIDs, and tables by GETBULK
// walks (GETNEXT for v1), each row becoming samples labelled by its index
// and label columns.
//
// It is the only package that imports gosnmp. A Collector owns one
// *gosnmp.GoSNMP and never shares it: a gosnmp client shared between
// goroutines mixes up replies.
//
// One failed request costs that request only: the remaining requests of
// the poll are still sent while the poll's context lasts, and the poll
// returns what answered along with an error listing what did not.
package snmp

// Package snmp polls devices over SNMP v1, v2c and v3 with gosnmp: scalars
// by GET, split into requests of at most MaxOIDs, and tables by GETBULK
// walks (GETNEXT for v1), each row becoming samples labelled by its index
// and label columns.
//
// It is the only package that imports gosnmp. A poll owns one
// *gosnmp.GoSNMP and never shares it: a gosnmp client shared between
// goroutines mixes up replies. Up to SetMaxOpenSockets collectors keep
// their client and socket between polls; past that, a poll takes an idle
// client, with the 64 KiB receive buffer gosnmp gives every client and
// its UDP socket (connected again to the poll's device, its queue and
// pending error cleared), and leaves it for the next poll of any device.
//
// Devices with the same objects (those of one template) share the
// compiled list of requests and objects; a sample's labels are put
// together when it is read: at 20,000 devices a collector and its
// scheduler state take about 1.4 KB.
//
// One failed request costs that request only: the remaining requests of
// the poll are still sent while the poll's context lasts, and the poll
// returns what answered along with an error listing what did not.
package snmp

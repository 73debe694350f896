// Package graphs turns graph templates into pictures and exports.
//
// It owns the template language (rrdtool's DEF, CDEF, VDEF and drawing
// items, written as YAML and validated at load), the Plan that queries the
// series of one graph instance onto one grid of about one row per pixel
// column, and the outputs drawn from a plan: PNG and SVG (gonum/plot), CSV
// and JSON. One plan feeds them all, so exports always hold the numbers the
// picture shows. The Catalog lists the graph instances of devices, one per
// distinct value of a template's `per` labels.
//
// graphs reads series through the small Querier interface it declares; it
// knows nothing of the storage engine, the poller or the web server.
//
// # Template reference
//
//	name: interface_traffic          # unique; a-z, 0-9, _ and -
//	title: "{device} - traffic on {ifName}"   # {device} and `per` labels
//	vertical_label: bits per second
//	base: 1000                       # 1024 for bytes: SI prefixes in powers of 1024
//	lower_limit: 0                   # optional; the axis widens past it unless rigid
//	upper_limit: 100                 # optional
//	rigid: false                     # true: the limits are the axis, data is clipped
//	logarithmic: false               # log10 axis; values at or below zero are gaps
//	unit: b                          # appended after the SI prefix in legends
//	right_axis: {scale: 0.125, shift: 0, label: bytes per second}   # second scale on the right
//	per: [ifName]                    # one graph per value of these labels
//	labels: [ifAlias]                # series labels usable as {ifAlias} in titles and legends
//	future: 30d                      # extend the time axis for FORECAST (d, w, y or a Go duration)
//	defs:                            # __name__=metric, device=<device>, per labels, plus match
//	  - {name: in, metric: if_in_octets, cf: AVERAGE, match: {direction: in}}
//	  - {name: all, metric: if_in_octets, match: {ifName: "~eth.*"}}   # "~": regex; matches are summed
//	  - {name: wan, metric: if_in_octets, device: "~core-.*", match: {ifName: wan0}}  # across devices
//	cdefs:                           # rrdtool RPN over defs and earlier cdefs
//	  - {name: in_bits, rpn: "in,8,*"}
//	vdefs:                           # one value per series (and a time for MAXIMUM, MINIMUM, FIRST, LAST)
//	  - {name: p95, ref: in_bits, func: PERCENT, arg: 95}
//	  - {name: p95bill, ref: in_bits, func: PERCENT, arg: 95, raw: true}   # over storage's finest rows
//	items:
//	  - {type: AREA, ref: in_bits, color: "#00CF00", legend: Inbound}
//	  - {type: STACK, ref: x, color: "#FF000080", legend: "..."}   # on the previous AREA/LINE/STACK
//	  - {type: AREA, ref: all, each: true, color: "#00CF00", legend: "{ifName}"}  # one per series, stacked
//	  - {type: LINE, ref: x, color: "#002A97", width: 2, dashes: [4, 2], legend: "..."}
//	  - {type: TICK, ref: x, color: "#FF8800"}          # marks where x is known and not 0
//	  - {type: HRULE, ref: p95, color: "#FF00FF", legend: 95th}   # or value: 1e6
//	  - {type: VRULE, ref: peak, color: "#0088FF"}      # at a vdef's time
//	  - {type: GPRINT, ref: p95, format: "%8.2lf%s\n"}  # rrdtool printf; %s is the SI prefix
//	  - {type: COMMENT, legend: "text\n"}               # "\n" ends a legend line
//	  - {type: SMOKE, ref: rtt, color: "#000000", legend: RTT}   # SmokePing: probes' spread, median by loss
//	  - {type: FORECAST, ref: x, color: "#CC0000", threshold: 1e9, legend: Trend}   # least squares
//	  - {type: FORECAST, ref: x, method: holt-winters, season: 1d, threshold: 1e9, color: "#880000"}
//
// Colours are #RRGGBB or #RRGGBBAA. Without GPRINT or COMMENT items the
// legend is Cacti's table (Current, Average, Maximum per series); with them
// it is rrdtool's, built from the items in order.
//
// CDEF operators: + - * / % LT LE GT GE EQ NE MIN MAX MINNAN MAXNAN ADDNAN
// ATAN2 POW, UN ISINF SIN COS LOG EXP SQRT ATAN FLOOR CEIL ABS DEG2RAD
// RAD2DEG, IF LIMIT, DUP POP EXC DEPTH, UNKN INF NEGINF, TIME LTIME NOW
// STEPWIDTH COUNT PREV PREV(name) NEWDAY NEWWEEK NEWMONTH NEWYEAR, the
// counted stack operators SORT REV AVG MEDIAN STDEV SMIN SMAX COPY INDEX
// ROLL PERCENT, TREND TRENDNAN and PREDICT PREDICTSIGMA PREDICTPERC (plans
// fetch the history their windows and shifts reach back to). VDEF functions: MAXIMUM MINIMUM AVERAGE
// STDEV LAST FIRST TOTAL PERCENT PERCENTNAN LSLSLOPE LSLINT LSLCORREL. Their
// results are checked against rrdtool 1.7 in the tests; see package rpn for
// the few deliberate differences.
//
// Every error is reported at load by Validate, naming the template, the
// element and, for RPN, the token: a template that loads always renders.
package graphs

// Package rpn compiles and evaluates rrdtool's reverse-Polish CDEF language
// over regular-grid series.
//
// An expression is checked once, when a graph template is loaded: every
// token must be a number, a known variable or an operator, counted stack
// operators (SORT, AVG, PERCENT, ...) need a literal count, and the stack
// must never underflow and must end with exactly one value. Evaluation can
// then neither fail nor panic.
//
// Unknown values (NaN) and infinities follow rrdtool's rules, checked
// against rrdtool 1.7 itself (see the graphs package tests): arithmetic and
// comparisons with an unknown are unknown, IF treats unknown as false,
// x/0 is ±Inf and 0/0 unknown, % is C's fmod, the *NAN variants skip
// unknowns, TREND windows cover ceil(window/step) rows and are unknown where
// they reach before the first row. PREDICT, PREDICTSIGMA and PREDICTPERC
// follow rrdtool's documentation (rrdtool 1.7's xport does not fetch the
// history they need, so it could not serve as the oracle): the value at t
// pools the known values in (t-shift-window, t-shift] over every shift;
// SIGMA is the sample deviation; a positive percentile interpolates, a
// negative one takes the closest rank. Deliberate differences: DEG2RAD uses
// pi/180 (rrdtool 1.7's constant is wrong in the eighth digit), PERCENT with
// a percentile at or below 0 gives the smallest value (rrdtool reads before
// its array), and expressions without variables are allowed.
package rpn

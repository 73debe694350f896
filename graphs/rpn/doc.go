// Package rpn compiles and evaluates rrdtool's reverse-Polish CDEF language
// over regular-grid series.
//
// An expression is checked once, when a graph template is loaded: every
// token must be a number, a known variable or an operator, and the stack
// must never underflow and must end with exactly one value. Evaluation can
// then neither fail nor panic; unknown values (NaN) and infinities follow
// rrdtool's rules, which were checked against rrdtool 1.7 itself.
package rpn

// Package script polls a command, as Cacti's script data input does: it
// runs a program (no shell) that prints either one number or
// "name:value name:value ..." pairs, with a timeout after which the whole
// process group is killed.
package script

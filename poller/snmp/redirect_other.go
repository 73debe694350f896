//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package snmp

import (
	"errors"
	"net"
)

// redirect is not done here: a poll past the open-socket bound dials a
// socket of its own.
func redirect(net.Conn, string, uint16) (net.Conn, error) { return nil, errors.ErrUnsupported }

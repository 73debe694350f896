//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package snmp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// redirect points conn, a UDP socket connected before to another device,
// at host:port (host an IP address), so that a poll past the open-socket
// bound costs no socket of its own. A UDP socket may be connected again;
// from then on the kernel passes it datagrams of the new peer only. What
// the old peer left behind goes: a pending ICMP error (port unreachable
// after a poll of a closed port would fail the next device's first
// request) and datagrams already queued (a late answer, which gosnmp would
// take as this device's if its request ID were 0).
//
// It returns the socket to use from now on: one whose errors name the new
// peer (net.UDPConn keeps the address it was dialed with).
func redirect(conn net.Conn, host string, port uint16) (net.Conn, error) {
	var uc *net.UDPConn
	switch c := conn.(type) {
	case *net.UDPConn:
		uc = c
	case *peerConn:
		uc = c.uc
	default:
		return nil, errors.ErrUnsupported
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return nil, errors.ErrUnsupported // a name (the dialer resolves it) or a zone
	}
	ip = ip.Unmap()
	// A deadline left from the last poll would fail the reads below.
	if err := uc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		s := int(fd)
		cur, err := syscall.Getsockname(s)
		if err != nil {
			opErr = err
			return
		}
		var sa syscall.Sockaddr
		switch cur.(type) {
		case *syscall.SockaddrInet4:
			if ip.Is4() {
				sa = &syscall.SockaddrInet4{Port: int(port), Addr: ip.As4()}
			}
		case *syscall.SockaddrInet6:
			if ip.Is6() {
				sa = &syscall.SockaddrInet6{Port: int(port), Addr: ip.As16()}
			}
		}
		if sa == nil {
			opErr = errors.ErrUnsupported // another address family
			return
		}
		if opErr = syscall.Connect(s, sa); opErr != nil {
			return
		}
		// Reading SO_ERROR clears it.
		_, opErr = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_ERROR)
	})
	if err == nil {
		err = opErr
	}
	if err != nil {
		return nil, err
	}
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Bounded: datagrams of the new peer cannot come yet (nothing has
		// been sent to it from here), so the queue only shrinks.
		for range maxStale {
			_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT)
			if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
				break
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return &peerConn{uc: uc, peer: net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port))}, nil
}

// peerConn is a redirected UDP socket. It is deliberately no
// net.PacketConn: gosnmp then reads and writes it as the connected socket
// it is (no source address per read).
type peerConn struct {
	uc   *net.UDPConn
	peer net.Addr
}

func (c *peerConn) Read(b []byte) (int, error) {
	n, err := c.uc.Read(b)
	return n, c.named(err)
}

func (c *peerConn) Write(b []byte) (int, error) {
	n, err := c.uc.Write(b)
	return n, c.named(err)
}

// named makes an error of the socket name the present peer.
func (c *peerConn) named(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe
		e.Addr = c.peer
		return &e
	}
	return err
}

func (c *peerConn) Close() error                       { return c.uc.Close() }
func (c *peerConn) LocalAddr() net.Addr                { return c.uc.LocalAddr() }
func (c *peerConn) RemoteAddr() net.Addr               { return c.peer }
func (c *peerConn) SetDeadline(t time.Time) error      { return c.uc.SetDeadline(t) }
func (c *peerConn) SetReadDeadline(t time.Time) error  { return c.uc.SetReadDeadline(t) }
func (c *peerConn) SetWriteDeadline(t time.Time) error { return c.uc.SetWriteDeadline(t) }

// maxStale bounds the queued datagrams redirect drops.
const maxStale = 4096

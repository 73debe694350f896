package snmpsim

import (
	"errors"
	"math/bits"
)

// BER tags used by SNMP (RFC 3416, RFC 2578).
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagIPAddress   = 0x40
	tagCounter32   = 0x41
	tagGauge32     = 0x42
	tagTimeTicks   = 0x43
	tagOpaque      = 0x44
	tagCounter64   = 0x46
	tagUInteger32  = 0x47

	tagNoSuchObject   = 0x80
	tagNoSuchInstance = 0x81
	tagEndOfMibView   = 0x82

	pduGet      = 0xa0
	pduGetNext  = 0xa1
	pduResponse = 0xa2
	pduSet      = 0xa3
	pduGetBulk  = 0xa5
)

// Error statuses.
const (
	errTooBig     = 1
	errNoSuchName = 2
	errReadOnly   = 4
	errNoAccess   = 6
)

var errBER = errors.New("malformed BER")

// readTLV splits b into the tag, the contents and the rest. Only definite
// lengths of up to 4 bytes are accepted, as SNMP uses.
func readTLV(b []byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errBER
	}
	tag = b[0]
	n := int(b[1])
	i := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errBER
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if n < 0 || n > len(b)-i {
		return 0, nil, nil, errBER
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// readInt decodes a two's-complement INTEGER body of at most 8 bytes.
func readInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, errBER
	}
	x := int64(int8(v[0]))
	for _, c := range v[1:] {
		x = x<<8 | int64(c)
	}
	return x, nil
}

// decodeOID appends the arcs of an OID body to arcs.
func decodeOID(arcs []uint32, v []byte) ([]uint32, error) {
	if len(v) == 0 {
		return arcs, errBER
	}
	var x uint64
	first := true
	for i, c := range v {
		x = x<<7 | uint64(c&0x7f)
		if x > 0xffffffff+80 {
			return arcs, errBER
		}
		if c&0x80 != 0 {
			if i == len(v)-1 {
				return arcs, errBER
			}
			continue
		}
		if first {
			switch {
			case x < 40:
				arcs = append(arcs, 0, uint32(x))
			case x < 80:
				arcs = append(arcs, 1, uint32(x-40))
			default:
				arcs = append(arcs, 2, uint32(x-80))
			}
			first = false
		} else {
			if x > 0xffffffff {
				return arcs, errBER
			}
			arcs = append(arcs, uint32(x))
		}
		x = 0
	}
	return arcs, nil
}

// appendLen appends a BER definite length.
func appendLen(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendUint appends a TLV holding a non-negative integer in the fewest
// bytes (a leading zero byte when the top bit would read as a sign).
func appendUint(b []byte, tag byte, x uint64) []byte {
	n := (bits.Len64(x) + 8) / 8 // room for a sign bit
	if n > 9 {
		n = 9
	}
	b = append(b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		if i >= 8 {
			b = append(b, 0)
			continue
		}
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// appendInt appends an INTEGER TLV in two's complement, fewest bytes.
func appendInt(b []byte, tag byte, x int64) []byte {
	n := 1
	for n < 8 {
		lo := int64(-1) << (8*n - 1)
		if x >= lo && x < -lo {
			break
		}
		n++
	}
	b = append(b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// appendOIDBody appends the BER body of an OID given as arcs.
func appendOIDBody(b []byte, arcs []uint32) []byte {
	if len(arcs) == 0 {
		return append(b, 0)
	}
	first := uint64(arcs[0]) * 40
	rest := arcs[1:]
	if len(arcs) > 1 {
		first += uint64(arcs[1])
		rest = arcs[2:]
	}
	b = appendBase128(b, first)
	for _, a := range rest {
		b = appendBase128(b, uint64(a))
	}
	return b
}

func appendBase128(b []byte, x uint64) []byte {
	n := 1
	for y := x >> 7; y != 0; y >>= 7 {
		n++
	}
	for i := n - 1; i > 0; i-- {
		b = append(b, byte(x>>(7*i))|0x80)
	}
	return append(b, byte(x&0x7f))
}

// appendOIDTLV appends a complete OID TLV.
func appendOIDTLV(b []byte, arcs []uint32) []byte {
	body := appendOIDBody(nil, arcs)
	b = append(b, tagOID)
	b = appendLen(b, len(body))
	return append(b, body...)
}

// putLenBefore writes a BER length ending just before position end of b
// and returns the position where it starts.
func putLenBefore(b []byte, end, n int) int {
	switch {
	case n < 0x80:
		b[end-1] = byte(n)
		return end - 1
	case n < 0x100:
		b[end-2], b[end-1] = 0x81, byte(n)
		return end - 2
	case n < 0x10000:
		b[end-3], b[end-2], b[end-1] = 0x82, byte(n>>8), byte(n)
		return end - 3
	default:
		b[end-4], b[end-3], b[end-2], b[end-1] = 0x83, byte(n>>16), byte(n>>8), byte(n)
		return end - 4
	}
}

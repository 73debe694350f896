package snmp

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// FuzzConvert feeds every value shape gosnmp can hand us under every type
// tag: conversion returns a finite number or an error, never a panic.
func FuzzConvert(f *testing.F) {
	f.Add(byte(gosnmp.OctetString), byte(0), []byte("0.15"), int64(0), uint64(0), 0.0)
	f.Add(byte(gosnmp.Counter64), byte(2), []byte{}, int64(0), uint64(math.MaxUint64), 0.0)
	f.Add(byte(gosnmp.Integer), byte(1), []byte{}, int64(-5), uint64(0), 0.0)
	f.Add(byte(gosnmp.OpaqueFloat), byte(4), []byte{}, int64(0), uint64(0), math.Inf(1))
	f.Add(byte(gosnmp.OctetString), byte(0), []byte(" 1e308\x00"), int64(0), uint64(0), 0.0)
	f.Fuzz(func(t *testing.T, typ, shape byte, b []byte, i int64, u uint64, fl float64) {
		var v any
		switch shape % 9 {
		case 0:
			v = b
		case 1:
			v = int(i)
		case 2:
			v = u
		case 3:
			v = uint(u)
		case 4:
			v = float32(fl)
		case 5:
			v = fl
		case 6:
			v = string(b)
		case 7:
			v = uint32(u)
		case 8:
			v = nil
		}
		r, err := convert(gosnmp.Asn1BER(typ), v)
		if err == nil && (math.IsNaN(r.value) || math.IsInf(r.value, 0)) {
			t.Fatalf("convert(%v, %#v) = %v without error", gosnmp.Asn1BER(typ), v, r.value)
		}
		if err == nil && r.exact && float64(r.count) != r.value {
			t.Fatalf("exact count %d disagrees with value %v", r.count, r.value)
		}
		_, _ = labelValue(gosnmp.Asn1BER(typ), v)
	})
}

// FuzzNumericString: strings agents send as numbers.
func FuzzNumericString(f *testing.F) {
	for _, s := range []string{"0.15", "  12 ", "1e3", "NaN", "-Inf", "0x10", "1_000", "", "\x00", "3.5\x00\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseNumericString(s)
		if err == nil && (math.IsNaN(r.value) || math.IsInf(r.value, 0)) {
			t.Fatalf("%q parsed as %v", s, r.value)
		}
	})
}

// FuzzOIDCompare: oidCompare orders OIDs as their arcs do, numerically and
// arc by arc, whatever the arcs' lengths.
func FuzzOIDCompare(f *testing.F) {
	f.Add([]byte{1, 3, 6, 1}, []byte{1, 3, 6, 1, 0}, uint32(7))
	f.Add([]byte{1, 3, 6, 10}, []byte{1, 3, 6, 9, 99}, uint32(100))
	f.Add([]byte{1, 3}, []byte{1, 3}, uint32(0))
	f.Fuzz(func(t *testing.T, a, b []byte, scale uint32) {
		arcs := func(bs []byte) []uint64 {
			out := make([]uint64, len(bs))
			for i, x := range bs {
				// Spread the arcs over several lengths of decimal digits.
				out[i] = uint64(x) * uint64(scale%1000+1) * uint64(i%3*1000+1)
			}
			return out
		}
		render := func(xs []uint64) string {
			var s strings.Builder
			for _, x := range xs {
				s.WriteString("." + strconv.FormatUint(x, 10))
			}
			return s.String()
		}
		x, y := arcs(a), arcs(b)
		want := 0
		for i := 0; i < min(len(x), len(y)) && want == 0; i++ {
			switch {
			case x[i] < y[i]:
				want = -1
			case x[i] > y[i]:
				want = 1
			}
		}
		if want == 0 {
			switch {
			case len(x) < len(y):
				want = -1
			case len(x) > len(y):
				want = 1
			}
		}
		sa, sb := render(x), render(y)
		if got := oidCompare(sa, sb); got != want {
			t.Fatalf("oidCompare(%s, %s) = %d, want %d", sa, sb, got, want)
		}
		if got := oidCompare(sb, sa); got != -want {
			t.Fatalf("oidCompare(%s, %s) = %d, want %d", sb, sa, got, -want)
		}
	})
}

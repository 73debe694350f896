package snmpsim

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseWalk(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  []Value // in OID order
		inErr string  // substring of the error, when it must fail
	}{
		{name: "types", in: `.1.3.6.1.2.1.1.3.0 = Timeticks: (123) 0:00:01.23
.1.3.6.1.2.1.1.1.0 = STRING: "Linux \"box\" \\ 1"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10
.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24
.1.3.6.1.2.1.2.2.1.7.1 = INTEGER: up(1)
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 10000000
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 4294967295
.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615
.1.3.6.1.2.1.4.20.1.1.127.0.0.1 = IpAddress: 127.0.0.1
.1.3.6.1.2.1.2.2.1.6.1 = ""
.1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: CE EB CF F2 81 E6
.1.3.6.1.2.1.2.2.1.22.1 = OID: .0.0
.1.3.6.1.4.1.2021.10.1.6.1 = Opaque: Float: 0.125000
.1.3.6.1.2.1.2.2.1.1.1 = INTEGER: -5
`, want: []Value{
			{".1.3.6.1.2.1.1.1.0", "STRING", `Linux "box" \ 1`},
			{".1.3.6.1.2.1.1.2.0", "OID", ".1.3.6.1.4.1.8072.3.2.10"},
			{".1.3.6.1.2.1.1.3.0", "Timeticks", "123"},
			{".1.3.6.1.2.1.2.2.1.1.1", "INTEGER", "-5"},
			{".1.3.6.1.2.1.2.2.1.3.1", "INTEGER", "24"},
			{".1.3.6.1.2.1.2.2.1.5.1", "Gauge32", "10000000"},
			{".1.3.6.1.2.1.2.2.1.6.1", "STRING", ""},
			{".1.3.6.1.2.1.2.2.1.6.2", "STRING", "\xce\xeb\xcf\xf2\x81\xe6"},
			{".1.3.6.1.2.1.2.2.1.7.1", "INTEGER", "1"},
			{".1.3.6.1.2.1.2.2.1.10.1", "Counter32", "4294967295"},
			{".1.3.6.1.2.1.2.2.1.22.1", "OID", ".0.0"},
			{".1.3.6.1.2.1.4.20.1.1.127.0.0.1", "IpAddress", "127.0.0.1"},
			{".1.3.6.1.2.1.31.1.1.1.6.1", "Counter64", "18446744073709551615"},
			{".1.3.6.1.4.1.2021.10.1.6.1", "Opaque", "Float: 0.125000"},
		}},
		{name: "multi-line string and wrapped hex", in: `.1.3.6.1.2.1.1.1.0 = STRING: "first line
second line"
.1.3.6.1.2.1.1.9.1.3.1 = Hex-STRING: 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 
10 11 
.1.3.6.1.2.1.1.5.0 = STRING: host
`, want: []Value{
			{".1.3.6.1.2.1.1.1.0", "STRING", "first line\nsecond line"},
			{".1.3.6.1.2.1.1.5.0", "STRING", "host"},
			{".1.3.6.1.2.1.1.9.1.3.1", "STRING", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"},
		}},
		{name: "end of view and exceptions skipped", in: `.1.3.6.1.2.1.1.5.0 = STRING: "x"
.1.3.6.1.2.1.1.6.0 = No Such Object available on this agent at this OID
.1.3.6.1.2.1.1.5.0 = No more variables left in this MIB View (It is past the end of the MIB tree)
`, want: []Value{{".1.3.6.1.2.1.1.5.0", "STRING", "x"}}},
		{name: "symbolic OIDs", in: "SNMPv2-MIB::sysName.0 = STRING: x\n", inErr: "line 1: \"SNMPv2-MIB::sysName.0"},
		{name: "duplicate", in: ".1.3.6.1.2.1.1.5.0 = STRING: x\n.1.3.6.1.2.1.1.5.0 = STRING: y\n", inErr: "appears twice"},
		{name: "counter overflow", in: ".1.3.6.1.2.1.2.2.1.10.1 = Counter32: 4294967296\n", inErr: "line 1: .1.3.6.1.2.1.2.2.1.10.1: Counter32"},
		{name: "unknown type", in: ".1.3.6.1.2.1.1.5.0 = STRING: x\n.1.3.6.1.2.1.1.6.0 = Frobnicator: 3\n", inErr: `line 2: .1.3.6.1.2.1.1.6.0: unknown type "Frobnicator"`},
		{name: "bad OID arc", in: ".1.3.6.1.99999999999 = INTEGER: 1\n", inErr: "not a 32-bit number"},
		{name: "unclosed string", in: ".1.3.6.1.2.1.1.5.0 = STRING: \"x\n", inErr: "not closed"},
		{name: "bad hex", in: ".1.3.6.1.2.1.1.5.0 = Hex-STRING: 0G\n", inErr: "two hex digits"},
		{name: "empty", in: "\n\n", inErr: "no OIDs"},
		{name: "bad timeticks", in: ".1.3.6.1.2.1.1.3.0 = Timeticks: 12\n", inErr: "(ticks)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWalk(strings.NewReader(tc.in), tc.name)
			if tc.inErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.inErr) || !errors.Is(err, ErrWalk) {
					t.Fatalf("error %v, want one containing %q wrapping ErrWalk", err, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := w.Values()
			if len(got) != len(tc.want) {
				t.Fatalf("%d values, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("value %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestCaptureFiles checks every capture in testdata parses and has what
// the default device template polls.
func TestCaptureFiles(t *testing.T) {
	w := loadCapture(t)
	m := byOID(w.Values())
	for _, oid := range []string{sysUpTime0, ".1.3.6.1.2.1.31.1.1.1.10.4", ".1.3.6.1.2.1.2.2.1.14.1", ".1.3.6.1.2.1.31.1.1.1.18.1",
		".1.3.6.1.4.1.2021.10.1.3.1", ".1.3.6.1.4.1.2021.11.50.0", ".1.3.6.1.4.1.2021.4.6.0"} {
		if _, ok := m[oid]; !ok {
			t.Errorf("capture lacks %s", oid)
		}
	}
	if len(w.ifIndexes) != 4 {
		t.Errorf("ifIndexes %v, want 4 interfaces", w.ifIndexes)
	}
	entries, err := os.ReadDir("../testdata/walks")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := LoadWalk("../testdata/walks/" + e.Name()); err != nil {
			t.Error(err)
		}
	}
}

func FuzzParseWalk(f *testing.F) {
	if b, err := os.ReadFile(capturePath); err == nil {
		f.Add(string(b[:min(len(b), 2000)]))
	}
	f.Add(".1.3.6.1.2.1.1.1.0 = STRING: \"a\nb\"\n.1.3.6.1.2.1.1.9.1.3.1 = Hex-STRING: 00 01\n02\n")
	f.Add(".1.3.6.1.4.1.2021.10.1.6.1 = Opaque: Float: 0.125000\n.1.3.6.1.2.1.1.3.0 = Timeticks: (1) 0:0\n")
	f.Fuzz(func(t *testing.T, in string) {
		w, err := ParseWalk(strings.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrWalk) {
				t.Fatalf("error does not wrap ErrWalk: %v", err)
			}
			return
		}
		if w.Len() == 0 {
			t.Fatal("parsed walk is empty")
		}
		for k := 1; k < 4; k++ {
			_ = w.renumbered(k)
		}
		_ = w.Values()
	})
}

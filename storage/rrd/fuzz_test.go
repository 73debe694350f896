package rrd

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// FuzzParseCase feeds arbitrary case files through the case parser and
// the engine: bad input must come back as an error, never a panic or a
// hang.
func FuzzParseCase(f *testing.F) {
	f.Add("create --step 60 DS:x:COUNTER:120:0:U RRA:AVERAGE:0.5:1:1440 RRA:MAX:0.5:5:600\nupdate 1700000000:100 1700000060:250 1700000125:U 1700000200:18446744073709551000\nfetch AVERAGE --start 1700000000 --end 1700003600\nfetch MAX --start 1700000000 --end 1700086400 --resolution 300\n")
	f.Add("# comment\ncreate --start 1700000000 DS:a:GAUGE:1m:-1e3:1e3 DS:b:DERIVE:600:U:U RRA:LAST:0:1h:1d\nupdate 1700000001.5:1:-5 1700000002:U:U\nfetch LAST -s 1700000000 -e 1700000000 -a -r 1h\n")
	f.Add("create DS:x:DCOUNTER:120:U:U RRA:MIN:0.99:3:10\nupdate 1700000000:nan 1700000010:inf 1700000020:-inf 1700000030:1e400\n")
	f.Add("update 1:2\ncreate\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := parseCase("fuzz", src)
		if err != nil {
			return
		}
		saved := maxCells
		maxCells = 1 << 16
		defer func() { maxCells = saved }()
		r, err := Create(c.create...)
		if err != nil {
			return
		}
		for _, op := range c.ops {
			switch op.verb {
			case "update":
				before := r.LastUpdate()
				if err := r.Update(op.args...); err == nil && !r.LastUpdate().After(before) {
					t.Fatalf("accepted update %q did not advance the last update", op.input)
				}
			case "fetch":
				res, err := r.Fetch(op.args...)
				if err != nil {
					continue
				}
				if len(res.Values) != int(res.End.Sub(res.Start)/res.Step) {
					t.Fatalf("fetch %q: %d rows for %v..%v step %v", op.input, len(res.Values), res.Start, res.End, res.Step)
				}
			}
		}
	})
}

// FuzzUpdateArgs feeds arbitrary update arguments to an RRD of every data
// source type.
func FuzzUpdateArgs(f *testing.F) {
	for _, s := range []string{"1700000060:1:2:3:4:5:6", "1700000060:U:U:U:U:U:U", "1700000060.25:-1:-2:-3:-4:-5:-6",
		"N:1:1:1:1:1:1", "1700000060@1", "1700000060:1e5:18446744073709551615:99999999999999999999999:1.5:x:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		r, err := Create("--step", "60", "--start", "1700000000", "DS:g:GAUGE:120:U:U", "DS:c:COUNTER:120:U:U", "DS:d:DERIVE:120:U:U",
			"DS:a:ABSOLUTE:120:U:U", "DS:f:DCOUNTER:120:U:U", "DS:e:DDERIVE:120:U:U", "RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.5:2:10")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Update("1700000030:1:1:1:1:1:1"); err != nil {
			t.Fatal(err)
		}
		for _, a := range strings.Fields(arg) {
			_ = r.Update(a)
		}
		_ = r.Update(arg)
		if _, err := r.Fetch("AVERAGE", "--start", "1700000000", "--end", "1700000600"); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzUnmarshalState checks that any byte string either fails to decode
// with an error or decodes into a state that encodes back to the same
// bytes and keeps working.
func FuzzUnmarshalState(f *testing.F) {
	d, _ := NewDS(metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()}, time.Minute, time.Unix(1700000000, 0))
	b, _ := d.MarshalBinary()
	f.Add(b)
	ra, _ := NewRRA(metric.Average, 0.5, 5, time.Minute)
	b, _ = ra.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var d DS
		if d.UnmarshalBinary(b) == nil {
			out, _ := d.MarshalBinary()
			if !bytes.Equal(out, b) {
				t.Fatalf("round trip changed the state")
			}
			_ = d.Update(d.LastUpdate().Add(90e9), Float(1), func(time.Time, float64) {})
		}
		var r RRA
		if r.UnmarshalBinary(b) == nil {
			out, _ := r.MarshalBinary()
			if !bytes.Equal(out, b) {
				t.Fatalf("round trip changed the state")
			}
			_ = r.Add(time.Unix(r.next+r.step*r.steps*2, 0), math.NaN(), func(time.Time, float64) {})
		}
	})
}

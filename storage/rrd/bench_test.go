package rrd

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// BenchmarkUpdate measures one reading of a 64-bit counter polled every
// step (with jitter), including consolidation into four archives like a
// storage tier set: 1 min, 5 min, 1 h and 1 day rows.
func BenchmarkUpdate(b *testing.B) {
	d, err := NewDS(metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()}, time.Minute, time.Unix(1700000000, 0))
	if err != nil {
		b.Fatal(err)
	}
	var rras []*RRA
	for _, a := range []struct {
		cf    metric.CF
		steps int
	}{{metric.Average, 1}, {metric.Average, 5}, {metric.Max, 60}, {metric.Average, 1440}} {
		r, err := NewRRA(a.cf, 0.5, a.steps, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		rras = append(rras, r)
	}
	var rows int
	var sink float64
	row := func(_ time.Time, v float64) { rows++; sink += v }
	emit := func(end time.Time, v float64) {
		for _, r := range rras {
			if err := r.Add(end, v, row); err != nil {
				b.Fatal(err)
			}
		}
	}
	var count uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		count += 123456789 + uint64(i%7)*1000
		t := time.Unix(1700000060+int64(i)*60+int64(i%5), 0)
		if err := d.Update(t, Int(count), emit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if rows < b.N {
		b.Fatalf("only %d rows for %d readings", rows, b.N)
	}
	_ = sink
}

// BenchmarkRRDUpdate measures the rrdtool-compatible front end: parsing an
// update argument and writing the rows of four archives.
func BenchmarkRRDUpdate(b *testing.B) {
	r, err := Create("--step", "60", "--start", "1700000000", "DS:x:COUNTER:120:0:U",
		"RRA:AVERAGE:0.5:1:20160", "RRA:AVERAGE:0.5:5:25920", "RRA:MAX:0.5:60:17520", "RRA:AVERAGE:0.5:1440:3650")
	if err != nil {
		b.Fatal(err)
	}
	args := make([]string, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(args) == 0 {
			b.StopTimer()
			for j := range args {
				k := i + j
				args[j] = strconv.FormatInt(1700000060+int64(k)*60, 10) + ":" + strconv.FormatUint(uint64(k)*1000, 10)
			}
			b.StartTimer()
		}
		if err := r.Update(args[i%len(args)]); err != nil {
			b.Fatal(err)
		}
	}
}

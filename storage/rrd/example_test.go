package rrd_test

import (
	"fmt"
	"math"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/storage/rrd"
)

// A 32-bit octet counter polled every minute, kept as one-minute PDPs and
// consolidated into five-minute averages.
func Example() {
	spec := metric.DS{Type: metric.Counter, Heartbeat: 2 * time.Minute, Min: 0, Max: math.NaN()}
	start := time.Unix(1700000100, 0) // a multiple of 5 minutes
	ds, err := rrd.NewDS(spec, time.Minute, start)
	if err != nil {
		panic(err)
	}
	avg5, err := rrd.NewRRA(metric.Average, 0.5, 5, time.Minute)
	if err != nil {
		panic(err)
	}
	row := func(end time.Time, v float64) { fmt.Printf("5m row %d: %.2f\n", end.Unix(), v) }
	pdp := func(end time.Time, v float64) {
		fmt.Printf("pdp %d: %.2f\n", end.Unix(), v)
		if err := avg5.Add(end, v, row); err != nil {
			panic(err)
		}
	}
	count := uint64(4294960000)
	for i := 1; i <= 6; i++ {
		count = (count + 6000) % (1 << 32) // wraps at the second poll
		if err := ds.Update(start.Add(time.Duration(i)*time.Minute), rrd.Int(count), pdp); err != nil {
			panic(err)
		}
	}
	// The first poll has nothing to difference against; the wrap reads
	// 5999 octets where 6000 passed, as rrdtool adds 2^32-1.

	// Output:
	// pdp 1700000160: NaN
	// pdp 1700000220: 99.98
	// pdp 1700000280: 100.00
	// pdp 1700000340: 100.00
	// pdp 1700000400: 100.00
	// 5m row 1700000400: 100.00
	// pdp 1700000460: 100.00
}

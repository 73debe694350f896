package rrd

import (
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

func TestPick(t *testing.T) {
	arcs := []ArchiveDef{
		{CF: metric.Average, Steps: 1, Rows: 60},  // 1 h of minutes
		{CF: metric.Average, Steps: 5, Rows: 288}, // 1 day of 5 min
		{CF: metric.Max, Steps: 5, Rows: 288},
		{CF: metric.Average, Steps: 60, Rows: 24 * 30}, // 30 days of hours
	}
	last := time.Unix(1700006400, 0) // a multiple of an hour
	h := time.Hour
	tests := []struct {
		name       string
		cf         metric.CF
		start, end time.Time
		res        time.Duration
		want       int
	}{
		{"last half hour, finest", metric.Average, last.Add(-h / 2), last, time.Second, 0},
		{"last half hour at 5 min", metric.Average, last.Add(-h / 2), last, 5 * time.Minute, 1},
		{"last day", metric.Average, last.Add(-20 * h), last, time.Second, 1},
		{"last week", metric.Average, last.Add(-7 * 24 * h), last, time.Second, 3},
		{"beyond all: most coverage", metric.Average, last.Add(-365 * 24 * h), last, time.Second, 3},
		{"max", metric.Max, last.Add(-20 * h), last, time.Second, 2},
		{"min from the 1-step average", metric.Min, last.Add(-h / 2), last, time.Second, 0},
		{"min beyond the 1-step archive", metric.Min, last.Add(-20 * h), last, time.Second, 0},
		{"last week of max: partial", metric.Max, last.Add(-7 * 24 * h), last, time.Second, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pick(time.Minute, arcs, last, tc.cf, tc.start, tc.end, tc.res); got != tc.want {
				t.Fatalf("Pick = %d, want %d", got, tc.want)
			}
		})
	}
	if got := Pick(time.Minute, arcs[1:2], last, metric.Last, last.Add(-h), last, 0); got != -1 {
		t.Fatalf("no archive for LAST: Pick = %d, want -1", got)
	}
}

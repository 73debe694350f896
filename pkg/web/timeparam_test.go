package web

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "now", want: now},
		{in: "-1d", want: now.Add(-24 * time.Hour)},
		{in: "-6h", want: now.Add(-6 * time.Hour)},
		{in: "now-2w", want: now.Add(-14 * 24 * time.Hour)},
		{in: "-1y", want: now.Add(-365 * 24 * time.Hour)},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "2026-11-01T00:00:00Z", want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{in: "", wantErr: "empty"},
		{in: "-1x", wantErr: "not a relative time"},
		{in: "-0h", wantErr: "not a relative time"},
		{in: "yesterday", wantErr: "not a time"},
		{in: "99999999999999", wantErr: "out of range"},
		{in: "2026-13-01T00:00:00Z", wantErr: "not a time"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v (%v)", tc.wantErr, err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "-1d", "now-6h", "1700000000", "2026-11-01T00:00:00Z"} {
		f.Add(s)
	}
	now := time.Unix(1800000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTime(s, now)
	})
}

package graphs

import "testing"

func TestAxisScale(t *testing.T) {
	cases := []struct {
		v, base float64
		div     float64
		prefix  string
	}{
		{1, 1000, 1, ""},    // an empty graph's 0..1 axis: "1", not "1000 m"
		{1000, 1000, 1, ""}, // up to "1000", not "1.0 k"
		{1500, 1000, 1000, "k"},
		{0.5, 1000, 1e-3, "m"},
		{1024, 1024, 1, ""},
		{2e6, 1000, 1e6, "M"},
	}
	for _, tc := range cases {
		div, p := axisScale(tc.v, tc.base)
		if div != tc.div || p != tc.prefix {
			t.Errorf("axisScale(%v, %v) = %v %q, want %v %q", tc.v, tc.base, div, p, tc.div, tc.prefix)
		}
	}
}

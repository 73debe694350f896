package graphs

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// CSV writes the plotted series: comment lines with the title, step, range,
// row counts, vdef results and forecasts, then a header "time,<legends>" and one row per grid row
// with the Unix time stamp of the row's end and each drawn item's own
// (not stacked) value. Unknown values are empty fields.
func (p *Plan) CSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	cols := p.exportColumns()
	unknown := 0
	for i := 0; i < p.Rows; i++ {
		all := true
		for _, c := range cols {
			if !math.IsNaN(c.values[i]) {
				all = false
				break
			}
		}
		if all {
			unknown++
		}
	}
	fmt.Fprintf(bw, "# title: %s\n", oneLine(p.Title))
	fmt.Fprintf(bw, "# step: %d\n", int64(p.Step/time.Second))
	fmt.Fprintf(bw, "# start: %s\n", p.Start.UTC().Format(time.RFC3339))
	fmt.Fprintf(bw, "# end: %s\n", p.End().UTC().Format(time.RFC3339))
	fmt.Fprintf(bw, "# rows: %d\n", p.Rows)
	fmt.Fprintf(bw, "# unknown rows: %d\n", unknown)
	// VDEF results (percentiles, totals, ...) in template order.
	for _, vd := range p.tmpl.VDefs {
		v := p.VDefs[vd.Name]
		fmt.Fprintf(bw, "# %s %s(%s): %s (over %ds rows)\n", vd.Name, strings.ToUpper(vd.Func), vd.Ref,
			strconv.FormatFloat(v.Value, 'g', -1, 64), int64(v.Step/time.Second))
	}
	for _, f := range p.Forecasts {
		fmt.Fprintf(bw, "# forecast %s: %s\n", f.Name, f.Text)
	}
	bw.WriteString("time")
	for _, c := range cols {
		bw.WriteByte(',')
		bw.WriteString(csvField(c.name))
	}
	bw.WriteByte('\n')
	var buf []byte
	for i := 0; i < p.Rows; i++ {
		buf = strconv.AppendInt(buf[:0], p.Time(i).Unix(), 10)
		for _, c := range cols {
			buf = append(buf, ',')
			if v := c.values[i]; !math.IsNaN(v) {
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			}
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("graph %q: write csv: %w", p.tmpl.Name, err)
	}
	return nil
}

type exportColumn struct {
	name   string
	values []float64
	series *PlanSeries
}

// exportColumns names the drawn series by legend, falling back to the
// series name, made unique.
func (p *Plan) exportColumns() []exportColumn {
	seen := map[string]int{}
	var cols []exportColumn
	for i := range p.Series {
		s := &p.Series[i]
		name := strings.TrimSpace(s.Legend)
		if name == "" {
			name = s.Name
		}
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s (%d)", name, n)
		}
		cols = append(cols, exportColumn{name: name, values: s.Values, series: s})
		if s.Type == TypeSmoke {
			cols = append(cols, exportColumn{name: name + " loss", values: s.Loss, series: s})
		}
	}
	return cols
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// csvField quotes a header field when it needs it (RFC 4180).
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

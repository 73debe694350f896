package graphs

import (
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"
	"strings"
)

// buildLegend lays out the text under the plot. A template without GPRINT
// or COMMENT items gets Cacti's table: one line per series with a legend,
// "Current / Average / Maximum" with SI prefixes. Otherwise the legend is
// rrdtool's: each drawn item with a legend starts a line, GPRINTs and
// COMMENTs add cells to it, and text ending in "\n" ends the line.
func (p *Plan) buildLegend(vars map[string]string) []LegendLine {
	t := p.tmpl
	printing := slices.ContainsFunc(t.Items, func(it Item) bool {
		return it.Type == TypeGPrint || it.Type == TypeComment
	})
	if !printing {
		return p.statsLegend()
	}
	var lines []LegendLine
	var cur *LegendLine
	flush := func() {
		if cur != nil {
			lines = append(lines, *cur)
			cur = nil
		}
	}
	add := func(text string) {
		end := strings.HasSuffix(text, `\n`) || strings.HasSuffix(text, "\n")
		text = strings.TrimSuffix(strings.TrimSuffix(text, `\n`), "\n")
		if cur == nil {
			cur = &LegendLine{}
		}
		if text != "" {
			cur.Cells = append(cur.Cells, text)
		}
		if end {
			flush()
		}
	}
	si, ri, fi := 0, 0, 0 // next plan series, rule and forecast
	for i, it := range t.Items {
		switch it.Type {
		case TypeArea, TypeLine, TypeStack, TypeTick, TypeSmoke:
			for _, s := range p.Series[si : si+p.itemSeries[i]] {
				if it.Legend != "" || it.Each {
					flush()
					col := s.Color
					cur = &LegendLine{Color: &col, Dashed: len(s.Dashes) > 0, Line: s.Type == TypeLine}
					add(s.Legend)
				}
			}
			si += p.itemSeries[i]
		case TypeHRule, TypeVRule:
			r := p.Rules[ri]
			ri++
			if it.Legend != "" {
				flush()
				col := r.Color
				cur = &LegendLine{Color: &col, Dashed: len(r.Dashes) > 0, Line: true}
				add(r.Legend)
			}
		case TypeForecast:
			f := p.Forecasts[fi]
			fi++
			flush()
			col := f.Color
			cur = &LegendLine{Color: &col, Dashed: true, Line: true}
			if f.Legend != "" {
				add(f.Legend)
			}
			add(f.Text)
		case TypeGPrint:
			g, _ := parseFormat(it.Format) // checked at load
			add(g.format(p.VDefs[it.Ref].Value, p.Base))
		case TypeComment:
			add(expand(it.Legend, vars))
		}
	}
	flush()
	return lines
}

func (p *Plan) statsLegend() []LegendLine {
	unit := p.tmpl.Unit
	var lines []LegendLine
	for _, s := range p.Series {
		if s.Legend == "" || s.Type == TypeTick {
			continue
		}
		col := s.Color
		if s.Type == TypeSmoke {
			lines = append(lines, smokeLegend(s, p.Base, unit)...)
			continue
		}
		lines = append(lines, LegendLine{Color: &col, Dashed: len(s.Dashes) > 0, Line: s.Type == TypeLine, Cells: []string{
			s.Legend,
			"Current: " + formatSI(s.Current, p.Base, 2, unit),
			"Average: " + formatSI(s.Average, p.Base, 2, unit),
			"Maximum: " + formatSI(s.Maximum, p.Base, 2, unit),
		}})
	}
	for _, f := range p.Forecasts {
		col := f.Color
		l := LegendLine{Color: &col, Dashed: true}
		if f.Legend != "" {
			l.Cells = append(l.Cells, f.Legend)
		}
		lines = append(lines, LegendLine{Color: l.Color, Dashed: true, Line: true, Cells: append(l.Cells, f.Text)})
	}
	for _, r := range p.Rules {
		if r.Legend == "" {
			continue
		}
		col := r.Color
		l := LegendLine{Color: &col, Dashed: len(r.Dashes) > 0, Line: true, Cells: []string{r.Legend}}
		if r.Type == TypeHRule && !math.IsNaN(r.Value) {
			l.Cells = append(l.Cells, formatSI(r.Value, p.Base, 2, unit))
		}
		lines = append(lines, l)
	}
	return lines
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// smokeLegend is the median's statistics and the loss colour key.
func smokeLegend(s PlanSeries, base float64, unit string) []LegendLine {
	green := lossColors[0].col
	var sum float64
	n := 0
	for _, l := range s.Loss {
		if !math.IsNaN(l) {
			sum += l
			n++
		}
	}
	avgLoss := math.NaN()
	if n > 0 {
		avgLoss = sum / float64(n)
	}
	lines := []LegendLine{{Color: &green, Line: true, Cells: []string{
		s.Legend + " (median)",
		"Current: " + formatSI(s.Current, base, 2, unit),
		"Average: " + formatSI(s.Average, base, 2, unit),
		"Maximum: " + formatSI(s.Maximum, base, 2, unit),
		fmt.Sprintf("Loss: %.1f %%", avgLoss*100),
	}}}
	key := LegendLine{Cells: []string{"probes lost"}, CellColors: []*color.NRGBA{nil}}
	for i, lc := range lossColors {
		lo := 0.0
		if i > 0 {
			lo = lossColors[i-1].upTo
		}
		label := "0"
		if lc.upTo > 0 {
			label = fmt.Sprintf("%.0f-%.0f %%", lo*100, lc.upTo*100)
		}
		c := lc.col
		key.Cells = append(key.Cells, label)
		key.CellColors = append(key.CellColors, &c)
	}
	return append(lines, key)
}

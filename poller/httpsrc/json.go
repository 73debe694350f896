package httpsrc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// JSONMetric picks numbers out of a JSON document (Format "json").
//
// Path is a dotted path from the document root: `value.HeapMemoryUsage.used`,
// `items[2].count`, `["key.with.dots"].n`. A segment `{name}` matches every
// key of an object or index of an array and sets the label name to it:
// `queues.{queue}.depth` gives one sample per queue, labelled queue=<key>.
// A leading `$` or `$.` is allowed.
type JSONMetric struct {
	Path   string
	Metric string
	DS     metric.DS
	Labels metric.Labels
}

type segKind uint8

const (
	segKey segKind = iota
	segIndex
	segWild
)

type pathSeg struct {
	kind  segKind
	key   string // key, or label name of a wildcard
	index int
}

// ErrPath is wrapped by path syntax errors.
var ErrPath = errors.New("bad JSON path")

// parsePath compiles a JSONMetric path.
func parsePath(p string) ([]pathSeg, error) {
	orig := p
	bad := func(format string, args ...any) ([]pathSeg, error) {
		return nil, fmt.Errorf("%w %q: %s", ErrPath, orig, fmt.Sprintf(format, args...))
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
	var segs []pathSeg
	for p != "" {
		if p[0] == '[' {
			if len(p) > 1 && p[1] == '"' {
				// A quoted key may hold ']' and '.': find the closing quote.
				q := 2
				for q < len(p) && p[q] != '"' {
					if p[q] == '\\' {
						q++
					}
					q++
				}
				if q+1 >= len(p) || p[q+1] != ']' {
					return bad("unterminated quoted key")
				}
				key, err := strconv.Unquote(p[1 : q+1])
				if err != nil {
					return bad("quoted key: %v", err)
				}
				segs = append(segs, pathSeg{kind: segKey, key: key})
				p = p[q+2:]
			} else {
				end := strings.IndexByte(p, ']')
				if end < 0 {
					return bad("missing ]")
				}
				in := p[1:end]
				p = p[end+1:]
				if s, ok := wildcard(in); ok {
					segs = append(segs, s)
				} else if n, err := strconv.Atoi(in); err == nil && n >= 0 && in[0] != '+' {
					segs = append(segs, pathSeg{kind: segIndex, index: n})
				} else {
					return bad("index %q is neither a non-negative number nor {label}", in)
				}
			}
		} else {
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			name := p[:end]
			p = p[end:]
			if name == "" {
				return bad("empty segment")
			}
			if s, ok := wildcard(name); ok {
				segs = append(segs, s)
			} else if strings.ContainsAny(name, "{}\"]") {
				return bad("unexpected character in %q", name)
			} else {
				segs = append(segs, pathSeg{kind: segKey, key: name})
			}
		}
		switch {
		case p == "":
		case p[0] == '.':
			p = p[1:]
			if p == "" || p[0] == '.' || p[0] == '[' {
				return bad("empty segment")
			}
		case p[0] == '[':
		default:
			return bad("expected . or [ before %q", p)
		}
	}
	if len(segs) == 0 {
		return bad("empty path")
	}
	seen := map[string]bool{}
	for _, s := range segs {
		if s.kind == segWild {
			if !labelNameRe.MatchString(s.key) {
				return bad("label %q is not a valid label name", s.key)
			}
			if seen[s.key] {
				return bad("label %q bound twice", s.key)
			}
			seen[s.key] = true
		}
	}
	return segs, nil
}

func wildcard(s string) (pathSeg, bool) {
	if len(s) >= 3 && s[0] == '{' && s[len(s)-1] == '}' {
		return pathSeg{kind: segWild, key: s[1 : len(s)-1]}, true
	}
	return pathSeg{}, false
}

// maxJSONMatches bounds the samples one path can yield from one document.
const maxJSONMatches = 100000

type jsonMatch struct {
	v      any
	labels []metric.Label
}

// evalPath returns every value the path reaches, with wildcard labels.
func evalPath(doc any, segs []pathSeg) ([]jsonMatch, error) {
	cur := []jsonMatch{{v: doc}}
	for i, s := range segs {
		var next []jsonMatch
		for _, m := range cur {
			switch s.kind {
			case segKey:
				obj, ok := m.v.(map[string]any)
				if !ok {
					continue
				}
				if v, ok := obj[s.key]; ok {
					next = append(next, jsonMatch{v, m.labels})
				}
			case segIndex:
				arr, ok := m.v.([]any)
				if ok && s.index < len(arr) {
					next = append(next, jsonMatch{arr[s.index], m.labels})
				}
			case segWild:
				switch x := m.v.(type) {
				case map[string]any:
					keys := make([]string, 0, len(x))
					for k := range x {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					for _, k := range keys {
						next = append(next, jsonMatch{x[k], withLabel(m.labels, s.key, k)})
					}
				case []any:
					for j, v := range x {
						next = append(next, jsonMatch{v, withLabel(m.labels, s.key, strconv.Itoa(j))})
					}
				}
			}
			if len(next) > maxJSONMatches {
				return nil, fmt.Errorf("more than %d matches at segment %d", maxJSONMatches, i+1)
			}
		}
		cur = next
	}
	return cur, nil
}

func withLabel(ls []metric.Label, name, value string) []metric.Label {
	out := make([]metric.Label, len(ls), len(ls)+1)
	copy(out, ls)
	return append(out, metric.Label{Name: name, Value: value})
}

// jsonNumber reads a JSON leaf as a number. Integers of counting types are
// kept exactly in Count.
func jsonNumber(v any, ds metric.DS) (metric.Sample, error) {
	var s metric.Sample
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return s, fmt.Errorf("number %s out of range", x)
		}
		s.Value = f
		if ds.Type.IsCounting() {
			if n, err := strconv.ParseUint(string(x), 10, 64); err == nil {
				s.Count, s.Exact = n, true
			}
		}
	case string:
		t := strings.TrimSpace(x)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(t, "xXpP_") {
			return s, fmt.Errorf("string %s is not a number", quote(x))
		}
		s.Value = f
	case bool:
		if x {
			s.Value = 1
		}
	case nil:
		return s, errors.New("value is null")
	case map[string]any:
		return s, errors.New("value is an object, not a number")
	case []any:
		return s, errors.New("value is an array, not a number")
	default:
		return s, fmt.Errorf("value of type %T is not a number", v)
	}
	return s, nil
}

type compiledJSON struct {
	m    JSONMetric
	segs []pathSeg
	base metric.Labels // common + m.Labels + name
}

// parseJSON decodes a document and extracts every configured metric. It
// returns what it found together with an error listing what it did not.
func parseJSON(body []byte, metrics []compiledJSON) ([]metric.Sample, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: JSON: %v", ErrFormat, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: JSON: data after the document", ErrFormat)
	}
	var out []metric.Sample
	var errs []error
	for _, cm := range metrics {
		matches, err := evalPath(doc, cm.segs)
		if err != nil {
			errs = append(errs, fmt.Errorf("path %s: %w", cm.m.Path, err))
			continue
		}
		if len(matches) == 0 {
			errs = append(errs, fmt.Errorf("path %s: %w", cm.m.Path, ErrNotFound))
			continue
		}
		for _, m := range matches {
			s, err := jsonNumber(m.v, cm.m.DS)
			if err != nil {
				errs = append(errs, fmt.Errorf("path %s%s: %w", cm.m.Path, describe(m.labels), err))
				continue
			}
			s.DS = cm.m.DS
			s.Labels = cm.base
			if len(m.labels) > 0 {
				// Wildcard labels never override the device or the name.
				s.Labels = metric.Labels(m.labels).Merge(cm.base)
			}
			out = append(out, s)
		}
	}
	return out, joinCapped(errs)
}

func describe(ls []metric.Label) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.Name + "=" + strconv.Quote(l.Value)
	}
	return " {" + strings.Join(parts, ", ") + "}"
}

// ErrNotFound: a configured JSON path or status field is not in the document.
var ErrNotFound = errors.New("not found in the response")

// joinCapped joins errors, keeping the first few and counting the rest.
func joinCapped(errs []error) error {
	const keep = 8
	if len(errs) <= keep {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:keep:keep], fmt.Errorf("and %d more problems", len(errs)-keep))...)
}

package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/graphs"
	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

func TestBuiltinTemplatesLoad(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	host, ok := s.Devices["net-snmp-host"]
	if !ok || host.SNMP == nil || len(host.SNMP.Tables) == 0 {
		t.Fatalf("net-snmp-host missing or empty: %+v", host)
	}
	for _, g := range host.Graphs {
		if _, ok := s.Graphs[g]; !ok {
			t.Errorf("net-snmp-host names graph %q that does not exist", g)
		}
	}
	// Interface octets are 64-bit counters that must never go negative.
	var found bool
	for _, c := range host.SNMP.Tables[0].Columns {
		if c.Metric == "if_in_octets" {
			found = true
			ds := c.DS(2 * time.Minute)
			if ds.Type != metric.Counter || ds.Min != 0 || ds.Heartbeat != 2*time.Minute {
				t.Errorf("if_in_octets DS %+v", ds)
			}
		}
	}
	if !found {
		t.Error("if_in_octets column missing")
	}
	if s.Source("graph/interface_traffic") != "builtin:net-snmp.yaml" {
		t.Errorf("source %q", s.Source("graph/interface_traffic"))
	}
	files, err := BuiltinFiles()
	if err != nil || len(files) < 2 {
		t.Errorf("builtin files: %v %d", err, len(files))
	}
}

func TestLoadDirectory(t *testing.T) {
	s, err := Load("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	ups := s.Devices["ups"]
	if ups == nil || len(s.Devices) < 3 {
		t.Fatalf("ups not added: %v", s.DeviceNames())
	}
	ds := ups.SNMP.Scalars[0].DS(time.Minute)
	if ds.Min != -40 || ds.Max != 120 {
		t.Errorf("limits %+v", ds)
	}
	if s.Source("device/ups") != filepath.Join("testdata/good", "custom.yaml") {
		t.Errorf("source %q", s.Source("device/ups"))
	}
}

func TestBadTemplatesReportEveryProblem(t *testing.T) {
	_, err := Load("testdata/bad")
	if err == nil {
		t.Fatal("bad templates loaded")
	}
	for _, want := range []string{
		`testdata/bad/broken.yaml: device template "bad-dev": snmp.scalars[0].metric: "9lives" is not a metric name`,
		`snmp.scalars[0].oid: "1.3.x" is not a numeric OID`,
		`snmp.scalars[0].type: unknown data source type "GAUGES"`,
		`snmp.scalars[0]: min 5 must be below max 1`,
		`snmp.tables[0].index_label: "if-index" is not a label name`,
		`snmp.tables[0].columns: a table needs at least one column`,
		`http.format: unknown format "xml"`,
		`http.include[0]: error parsing regexp`,
		`graphs[0]: no graph template named "no_such_graph"`,
		`graph template "bad_graph"`,
		`FOO`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q\ngot:\n%v", want, err)
		}
	}
}

func TestUnknownKeysAndMissingDirs(t *testing.T) {
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/unknown-key.yaml")
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "field scalar not found") || !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("unknown key: %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dir: %v", err)
	}
}

func FuzzTemplateFile(f *testing.F) {
	names, err := fs.Glob(builtin, "builtin/*.yaml")
	if err != nil || len(names) == 0 {
		f.Fatalf("builtin files: %v", err)
	}
	for _, p := range append(names, "testdata/good/inputs.yaml", "testdata/bad/inputs.yaml") {
		b, err := builtin.ReadFile(p)
		if strings.HasPrefix(p, "testdata/") {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("graphs: [{name: x, defs: [{name: a, metric: m}], cdefs: [{name: b, rpn: 'a,a,/,IF'}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Set{Devices: map[string]*Device{}, Graphs: map[string]*graphs.Template{}, Sources: map[string]string{}}
		if s.addFile("fuzz.yaml", data) == nil {
			_ = s.check()
		}
	})
}

func TestDataInputTemplates(t *testing.T) {
	s, err := Load("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	q := s.Devices["queue-json"]
	if q == nil || !q.Has("http") || q.Has("snmp") || len(q.HTTP.JSON) != 2 {
		t.Fatalf("queue-json %+v", q)
	}
	if ds := q.HTTP.JSON[1].DS(time.Minute); ds.Type != metric.Derive || ds.Min != 0 || ds.Heartbeat != time.Minute {
		t.Errorf("json DS %+v", ds)
	}
	sc := s.Devices["logged-in"]
	if sc == nil || !sc.Has("script") || sc.Script.Fields[0].Name != "ttys" || sc.Script.DS(time.Minute).Type != metric.Gauge {
		t.Fatalf("logged-in %+v", sc)
	}
	p := s.Devices["ssh-latency"]
	if p == nil || p.Probe.Count != 10 || time.Duration(p.Probe.Spacing) != 100*time.Millisecond || p.Protocols()[0] != "probe" {
		t.Fatalf("ssh-latency %+v", p)
	}
}

func TestBadDataInputTemplates(t *testing.T) {
	_, err := Load("testdata/bad")
	if err == nil {
		t.Fatal("bad templates loaded")
	}
	for _, want := range []string{
		`testdata/bad/inputs.yaml: device template "bad-json": http.json[0].path: bad JSON path "value..used": empty segment`,
		`device template "bad-json": http.json[1].metric: "bad name" is not a metric name`,
		`device template "bad-json": http.json[1].type: unknown data source type "COUNTR"`,
		`device template "bad-json": http.json[1].path: bad JSON path "a.{x}.{x}": label "x" bound twice`,
		`device template "json-without-paths": http.json: format json needs at least one path`,
		`device template "paths-without-json": http.json: paths need format json, not "nginx"`,
		`device template "bad-script": script.metric: "" is not a metric name`,
		`device template "bad-script": script.fields[0].name: "a b" is not an output name`,
		`device template "bad-script": script.fields[1]: min 10 must be below max 1`,
		`device template "bad-script": script.fields[2].name: "users" is listed twice`,
		`device template "bad-probe": probe.kind: "udp" is not a probe kind`,
		`device template "bad-probe": probe.count: must be between 1 and 100, got 1000`,
		`device template "bad-probe": probe.percentiles[1]: must be a percentile between 0 and 100 (exclusive), got 150`,
		`device template "empty": (template): needs an snmp, http, script or probe section`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q\ngot:\n%v", want, err)
		}
	}
}

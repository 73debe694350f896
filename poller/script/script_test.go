package script

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
	"github.com/saguaro-monitoring/saguaro/poller"
)

var _ poller.Collector = (*Collector)(nil)

// writeScript writes an executable shell script into a temp dir.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNew(t *testing.T, cfg Config) *Collector {
	t.Helper()
	if cfg.Device == "" {
		cfg.Device = "host1"
	}
	if cfg.Metric == "" {
		cfg.Metric = "script_value"
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSingleValueAndPairs(t *testing.T) {
	c := mustNew(t, Config{Command: []string{writeScript(t, `echo "  42.5 "`)}, DS: metric.Gauges(0)})
	s, err := c.Poll(t.Context(), time.Now())
	if err != nil || len(s) != 1 || s[0].Value != 42.5 || s[0].Labels.String() != `script_value{device="host1"}` {
		t.Fatalf("single value: %v %v", s, err)
	}
	c = mustNew(t, Config{
		Command: []string{writeScript(t, `echo "users:$1 load:0.25 gone:U"`), "7"},
		Fields:  map[string]Field{"load": {Metric: "host_load", DS: metric.Gauges(0)}},
		Labels:  metric.New("site", "lab"),
	})
	s, err = c.Poll(t.Context(), time.Now())
	if err != nil || len(s) != 3 {
		t.Fatalf("pairs: %v %v", s, err)
	}
	got := map[string]float64{}
	for _, x := range s {
		got[x.Labels.String()] = x.Value
	}
	if got[`script_value{device="host1", field="users", site="lab"}`] != 7 || got[`host_load{device="host1", site="lab"}`] != 0.25 ||
		!math.IsNaN(got[`script_value{device="host1", field="gone", site="lab"}`]) {
		t.Fatalf("pairs: %v", got)
	}
}

func TestBadScripts(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
		samples    int
	}{
		{"no output", `true`, "no output", 0},
		{"words", `echo hello`, `"hello" is not a number`, 0},
		{"half good", `echo "a:1 b:x c:3"`, `token 2 (b)`, 2},
		{"repeated", `echo "a:1 a:2"`, `repeated`, 1},
		{"exit 3", `echo "a:1"; echo oops >&2; exit 3`, `exit status 3 (stderr: "oops")`, 1},
		{"infinity", `echo 1e999`, "not a number", 0},
		{"huge output", `yes 1 | head -c 2000000`, "more than 1048576 bytes", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, Config{Command: []string{writeScript(t, tc.body)}})
			s, err := c.Poll(t.Context(), time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "host1") {
				t.Fatalf("error %v, want %q and the device", err, tc.want)
			}
			if len(s) != tc.samples {
				t.Errorf("%d samples, want %d", len(s), tc.samples)
			}
		})
	}
	c := mustNew(t, Config{Command: []string{filepath.Join(t.TempDir(), "missing")}})
	if _, err := c.Poll(t.Context(), time.Now()); err == nil {
		t.Error("missing program: no error")
	}
}

// A script that hangs is killed with its children at the timeout.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	body := `sleep 60 & echo $! > ` + pidFile + `
sleep 60`
	c := mustNew(t, Config{Command: []string{writeScript(t, body)}, Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := c.Poll(t.Context(), start)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("error %v, want a kill at the deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("poll took %v with a 300ms timeout", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for i := 0; i < 50; i++ { // the kernel may take a moment to reap it
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			return // killed, waiting for its parent (init) to reap it
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL) // the test's own child: do not leave it behind
	t.Fatalf("grandchild %d survived the timeout", pid)
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Metric: "1bad", Fields: map[string]Field{"a-b": {Metric: ""}}, Env: []string{"NOEQUALS"}, Timeout: -1})
	for _, want := range []string{"device:", "command:", "metric:", `fields:`, "fields.a-b.metric:", "env[0]:", "timeout:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"42", "a:1 b:2", "a:U", " x:1e3\n", "a:", ":1", "a:1:2", "NaN", "a:0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := Parse(s)
		if err == nil && len(vals) == 0 {
			t.Fatalf("%q: no values and no error", s)
		}
		for _, v := range vals {
			if math.IsInf(v.Value, 0) {
				t.Fatalf("%q: infinite value", s)
			}
		}
	})
}

package snmpsim

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const capturePath = "../testdata/walks/net-snmp-host.walk"

func loadCapture(t testing.TB) *Walk {
	t.Helper()
	w, err := LoadWalk(capturePath)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newFakeClock() *ManualClock {
	return NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// startSim serves opts (the net-snmp host capture by default) until the
// test ends.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	if len(opts.Walks) == 0 {
		opts.Walks = []*Walk{loadCapture(t)}
	}
	return Serve(t, opts)
}

// requireTool fails in CI and skips elsewhere when a net-snmp client is missing.
func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; install it with: apt-get install -y snmp", name)
	}
	t.Skipf("%s not found (apt-get install -y snmp); skipping outside CI", name)
}

// netsnmp runs a net-snmp client with numeric output and a bounded
// timeout and returns its stdout, stderr and error.
func netsnmp(t testing.TB, tool string, args ...string) (string, string, error) {
	t.Helper()
	requireTool(t, tool)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = append(os.Environ(), "MIBS=") // numeric OIDs, no MIB warnings
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// mustWalk runs a client that must succeed and parses its -On output.
func mustWalk(t testing.TB, tool string, args ...string) []Value {
	t.Helper()
	out, stderr, err := netsnmp(t, tool, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, stderr, out)
	}
	return valuesInOutputOrder(t, out)
}

// valuesInOutputOrder parses -On output keeping the order the agent gave.
func valuesInOutputOrder(t testing.TB, out string) []Value {
	t.Helper()
	var vals []Value
	for _, line := range strings.Split(out, "\n") {
		if line == "" || !strings.HasPrefix(line, ".") {
			continue
		}
		w, err := ParseWalk(strings.NewReader(line), "line")
		if err != nil {
			if strings.Contains(line, "No more variables") || strings.Contains(line, "No Such") {
				oid, rest, _ := strings.Cut(line, " = ")
				vals = append(vals, Value{OID: oid, Type: "exception", Text: rest})
				continue
			}
			t.Fatalf("line %q: %v", line, err)
		}
		vals = append(vals, w.Values()...)
	}
	return vals
}

func byOID(vals []Value) map[string]Value {
	m := make(map[string]Value, len(vals))
	for _, v := range vals {
		m[v.OID] = v
	}
	return m
}

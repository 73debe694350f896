package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/saguaro-monitoring/saguaro/pkg/config"
	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestDiscoverRealAgent(t *testing.T) {
	agent := snmpdtest.Start(t)
	dead := "127.0.0.1:" + strconv.Itoa(freeClosedPort(t))
	code, out, errOut := runCmd("discover", "--request-timeout", "300ms", "--timeout", "5s", agent.Addr, dead)
	if code != 1 {
		t.Errorf("exit %d with a dead host, want 1; stderr %s", code, errOut)
	}
	for _, want := range []string{
		"# " + dead + ": no SNMP answer",
		`sysName "saguaro-test-agent", sysObjectID .1.3.6.1.4.1.8072.`,
		"(net-snmp)",
		"proposed: template net-snmp-host",
		"table interfaces: ",
		"ifName: lo",
		"table storage: ",
		"hrStorageDescr: Physical memory",
		"- name: saguaro-test-agent",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// What it prints is a valid devices: section.
	cfg, err := config.Parse([]byte(out))
	if err != nil {
		t.Fatalf("printed YAML does not load: %v\n%s", err, out)
	}
	d := cfg.Devices[0]
	if len(cfg.Devices) != 1 || d.Template != "net-snmp-host" || d.SNMP.Address != agent.Addr || d.SNMP.Community.Reveal() != snmpdtest.Community {
		t.Errorf("devices %+v", cfg.Devices)
	}
}

func TestDiscoverApply(t *testing.T) {
	agent := snmpdtest.Start(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "saguaro.yaml")
	orig := `# my site
listen: 127.0.0.1:9090
devices:
  # the core switch
  - {name: saguaro-test-agent, template: net-snmp-host, snmp: {address: "10.0.0.1", community: c}}
`
	writeFile(t, file, orig)
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("discover", "--apply", file, "--timeout", "5s", agent.Addr)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	data, _ := os.ReadFile(file)
	text := string(data)
	for _, want := range []string{"# my site", "# the core switch", "listen: 127.0.0.1:9090", "proposed: template net-snmp-host", "name: saguaro-test-agent-2"} {
		if !strings.Contains(text, want) {
			t.Errorf("file lacks %q:\n%s", want, text)
		}
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	if code, _, e := runCmd("check-config", file); code != 0 {
		t.Fatalf("applied file does not check: %s", e)
	}
	cfg, err := config.Load(file)
	if err != nil || len(cfg.Devices) != 2 || cfg.Devices[1].SNMP.Address != agent.Addr {
		t.Fatalf("applied devices: %v %+v", err, cfg)
	}
	// Again: the address is configured, nothing changes.
	code, out, _ = runCmd("discover", "--apply", file, agent.Addr)
	if code != 0 || !strings.Contains(out, `already configured as device "saguaro-test-agent-2"`) {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, data) {
		t.Errorf("file changed on the second run:\n%s", again)
	}
	// A file that is not valid now is not touched.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "devices:\n  - {name: x, template: net-snmp-host, snmp: {address: h, comunity: c}}\n")
	code, _, errOut = runCmd("discover", "--apply", bad, agent.Addr)
	if code != 1 || !strings.Contains(errOut, "must be valid before devices are added") || !strings.Contains(errOut, "comunity") {
		t.Errorf("invalid file: exit %d: %s", code, errOut)
	}
	// A new file is created with only the discovered devices, private.
	fresh := filepath.Join(dir, "new.yaml")
	if code, _, e := runCmd("discover", "--apply", fresh, agent.Addr); code != 0 {
		t.Fatalf("new file: %s", e)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v %v", err, st)
	}
	if _, err := config.Load(fresh); err != nil {
		t.Error(err)
	}
}

// An entry that would make the file invalid is refused and the file kept.
func TestApplyDevicesValidatesFirst(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	orig := "devices: []\n"
	writeFile(t, file, orig)
	var n yaml.Node
	if err := n.Encode(discoveredDevice{Name: "x", Template: "no-such-template", SNMP: discoveredSNMP{Address: "127.0.0.1:161", Version: "2c", Community: "c"}}); err != nil {
		t.Fatal(err)
	}
	err := applyDevices(file, []*yaml.Node{&n})
	if err == nil || !strings.Contains(err.Error(), "left unchanged") || !strings.Contains(err.Error(), `no device template named "no-such-template"`) || strings.Contains(err.Error(), ".new-") {
		t.Errorf("err %v", err)
	}
	if data, _ := os.ReadFile(file); string(data) != orig {
		t.Errorf("file changed: %s", data)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".c.yaml.new-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// The simulator replays a net-snmp capture, several devices on one port
// told apart by community.
func TestDiscoverSimulator(t *testing.T) {
	f, err := os.Open("../../poller/snmp/testdata/walks/net-snmp-host.walk")
	if err != nil {
		t.Fatal(err)
	}
	w, err := snmpsim.ParseWalk(f, "net-snmp-host")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sim := snmpsim.Serve(t, snmpsim.Options{Devices: 3, PerPort: 3, Walks: []*snmpsim.Walk{w}, Seed: 7})
	dev := sim.Device(2)
	code, out, errOut := runCmd("discover", "--community", dev.Community, "--timeout", "5s", dev.Addr)
	if code != 0 || !strings.Contains(out, "template: net-snmp-host") || !strings.Contains(out, "table interfaces: ") {
		t.Errorf("exit %d: %s\n%s", code, errOut, out)
	}
}

func TestDiscoverFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"discover"}, "Usage: saguaro discover"},
		{[]string{"discover", "--version", "4", "h"}, `--version "4"`},
		{[]string{"discover", "--version", "3", "h"}, "--username is needed"},
		{[]string{"discover", "--version", "3", "--username", "u", "--security-level", "x", "h"}, `--security-level "x"`},
		{[]string{"discover", "--timeout", "1s", "--request-timeout", "2s", "h"}, "must be longer"},
	} {
		code, _, errOut := runCmd(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}

func TestDeviceName(t *testing.T) {
	taken := map[string]bool{"core": true}
	for _, tc := range []struct{ sys, host, want string }{
		{"core", "10.0.0.1", "core-2"},
		{"Edge Router #1", "10.0.0.2", "Edge-Router-1"},
		{"", "10.0.0.3:1161", "10.0.0.3"},
		{"---", "[::1]:161", "device"},
	} {
		if got := deviceName(tc.sys, tc.host, taken); got != tc.want {
			t.Errorf("deviceName(%q, %q) = %q, want %q", tc.sys, tc.host, got, tc.want)
		}
	}
}

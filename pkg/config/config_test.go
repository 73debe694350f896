package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := Load("")
	if err != nil {
		t.Fatalf("embedded default: %v", err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.DataDir != "./data" {
		t.Errorf("listen %q data_dir %q", cfg.Listen, cfg.DataDir)
	}
	if len(cfg.Devices) != 2 {
		t.Fatalf("want 2 default devices, got %d", len(cfg.Devices))
	}
	snmp := cfg.Devices[0]
	if snmp.SNMP == nil || snmp.SNMP.Address != "127.0.0.1:11161" || snmp.Interval != time.Minute {
		t.Errorf("default snmp device: %+v", snmp)
	}
	if got := cfg.ExpandURL(cfg.Devices[1].HTTP.URL); got != "http://127.0.0.1:8080/metrics" {
		t.Errorf("self URL %q", got)
	}
}

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Each bad file lists the messages it must produce as "# want:" lines.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("bad file without # want: lines")
			}
			_, err = Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q; got:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), f) {
				t.Errorf("error does not name the file %s: %v", f, err)
			}
		})
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Setenv("SAGUARO_LISTEN", "127.0.0.1:9999")
	t.Setenv("SAGUARO_POLLER_INTERVAL", "30s")
	t.Setenv("SAGUARO_DATA_DIR", "/tmp/x")
	t.Setenv("SAGUARO_AUTH_ANONYMOUS", "true")
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Auth.Anonymous || cfg.Auth.SessionTTL != 12*time.Hour {
		t.Errorf("auth from env: %+v", cfg.Auth)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.Poller.Interval != 30*time.Second || cfg.DataDir != "/tmp/x" {
		t.Errorf("env not applied: listen %q interval %v data %q", cfg.Listen, cfg.Poller.Interval, cfg.DataDir)
	}
	// Devices inherit the overridden poller interval.
	if cfg.Devices[0].Interval != 30*time.Second {
		t.Errorf("device interval %v", cfg.Devices[0].Interval)
	}
	if got := cfg.ExpandURL(cfg.Devices[1].HTTP.URL); got != "http://127.0.0.1:9999/metrics" {
		t.Errorf("self URL %q", got)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := Parse([]byte("devices:\n  - {name: a, template: t, snmp: {address: h, community: topsecret}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg.Devices[0].SNMP), fmt.Sprintf("%+v", *cfg.Devices[0].SNMP), fmt.Sprintf("%#v", cfg.Devices[0].SNMP.Community)} {
		if strings.Contains(s, "topsecret") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if cfg.Devices[0].SNMP.Community.Reveal() != "topsecret" {
		t.Error("Reveal lost the value")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("devices: [{name: a}]"))
	f.Add([]byte("poller: {interval: -1s}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data) // must not panic
	})
}

func TestDataInputsDecode(t *testing.T) {
	cfg, err := Load("testdata/inputs.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Device{}
	for _, d := range cfg.Devices {
		byName[d.Name] = d
	}
	billing := byName["billing"].HTTP
	// viper lowercases map keys; HTTP header names are case-insensitive.
	if got := billing.Headers["authorization"].Reveal(); got != "Bearer abc.def" {
		t.Errorf("authorization header %q (headers %v)", got, billing.Headers)
	}
	if !billing.TLS.InsecureSkipVerify || billing.TLS.KeyFile != "/etc/saguaro/client.key" {
		t.Errorf("tls %+v", billing.TLS)
	}
	apache := byName["web1-apache"].HTTP
	if apache.Username != "monitor" || apache.Password.Reveal() != "s3cret-pass" || apache.TLS.ServerName != "web1.internal" {
		t.Errorf("apache %+v", apache)
	}
	for _, s := range []string{fmt.Sprintf("%+v", *billing), fmt.Sprintf("%v", *apache)} {
		if strings.Contains(s, "abc.def") || strings.Contains(s, "s3cret") {
			t.Errorf("secret printed: %s", s)
		}
	}
	sc := byName["users-online"].Script
	if sc.Command != "/usr/local/bin/users-online" || len(sc.Args) != 2 || sc.Timeout != 15*time.Second {
		t.Errorf("script %+v", sc)
	}
	if d := byName["gw-latency"]; d.Protocol() != "probe" || d.Probe.Count != 20 || d.Probe.Spacing != 200*time.Millisecond || len(d.Probe.Percentiles) != 2 {
		t.Errorf("probe %+v", d.Probe)
	}
	// Unset probe numbers stay zero: the template's values apply.
	if p := byName["dns-latency"].Probe; p.Count != 0 || p.Timeout != 0 {
		t.Errorf("dns probe defaults %+v", p)
	}
	// A script's timeout defaults to the device's poll timeout.
	cfg2, err := Parse([]byte("devices:\n  - {name: s, template: t, timeout: 7s, script: {command: /bin/echo}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg2.Devices[0].Script.Timeout; got != 7*time.Second {
		t.Errorf("script timeout default %v", got)
	}
}

func TestConcurrencyLimitsAndBackoff(t *testing.T) {
	def, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p := def.Poller
	if p.MaxConcurrent != 0 || p.DeviceMaxConcurrent != 0 || p.DownAfter != 3 || p.MaxBackoff != 10*time.Minute {
		t.Errorf("default poller %+v", p)
	}
	if got := def.Devices[0].PollLimit(); got != 0 || def.Devices[0].MaxConcurrent == nil {
		t.Errorf("default device limit %d (set: %v)", got, def.Devices[0].MaxConcurrent != nil)
	}

	cfg, err := Load("testdata/limits.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p = cfg.Poller
	if p.MaxConcurrent != 500 || p.DeviceMaxConcurrent != 2 || p.DownAfter != 5 || p.MaxBackoff != 30*time.Minute {
		t.Errorf("poller %+v", p)
	}
	// Inherited, overridden, and lifted by an explicit 0.
	for i, want := range []int{2, 1, 0} {
		if got := cfg.Devices[i].PollLimit(); got != want {
			t.Errorf("%s: limit %d, want %d", cfg.Devices[i].Name, got, want)
		}
	}
	// The view of a device shows an explicit 0, so that it reads back as
	// an override rather than as "inherit".
	v := DeviceView(cfg.Devices[2])
	if v["max_concurrent"] != 0 {
		t.Errorf("view max_concurrent %v (%T)", v["max_concurrent"], v["max_concurrent"])
	}
	b, _ := json.Marshal(v)
	back, err := DecodeDevice(decodeJSON(t, string(b)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DeviceDefaults(&back)
	if back.PollLimit() != 0 {
		t.Errorf("read back limit %d from %s", back.PollLimit(), b)
	}
	// A device added on its own inherits the poller's default too.
	d, err := DecodeDevice(decodeJSON(t, `{"name":"n","template":"t","snmp":{"address":"a","community":"c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DeviceDefaults(&d)
	if d.PollLimit() != 2 {
		t.Errorf("API device limit %d, want poller.device_max_concurrent 2", d.PollLimit())
	}

	t.Setenv("SAGUARO_POLLER_MAX_CONCURRENT", "64")
	t.Setenv("SAGUARO_POLLER_DEVICE_MAX_CONCURRENT", "3")
	t.Setenv("SAGUARO_POLLER_DOWN_AFTER", "0")
	t.Setenv("SAGUARO_POLLER_MAX_BACKOFF", "1h")
	env, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if p := env.Poller; p.MaxConcurrent != 64 || p.DeviceMaxConcurrent != 3 || p.DownAfter != 0 || p.MaxBackoff != time.Hour {
		t.Errorf("poller from env %+v", p)
	}
	if got := env.Devices[0].PollLimit(); got != 3 {
		t.Errorf("device limit from env default %d", got)
	}
}

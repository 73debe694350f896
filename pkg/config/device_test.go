package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeviceOnItsOwn(t *testing.T) {
	cfg, err := Parse([]byte("poller: {interval: 30s, timeout: 5s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, json string
		paths      []string // expected FieldError paths; none: valid
	}{
		{"snmp defaults", `{"name":"r1","template":"t","snmp":{"address":"10.0.0.1","community":"c"}}`, nil},
		{"durations as text", `{"name":"r1","template":"t","interval":"2m","timeout":"20s","http":{"url":"http://x/"}}`, nil},
		{"no community", `{"name":"r1","template":"t","snmp":{"address":"10.0.0.1"}}`, []string{"snmp.community"}},
		{"bad name and no template", `{"name":"a b","probe":{"kind":"tcp","target":"x:1"}}`, []string{"name", "template"}},
		{"two sections", `{"name":"r1","template":"t","snmp":{"address":"a","community":"c"},"http":{"url":"http://x"}}`, []string{"(device)"}},
		{"no section", `{"name":"r1","template":"t"}`, []string{"(device)"}},
		{"interval", `{"name":"r1","template":"t","interval":"1s","probe":{"kind":"tcp","target":"x:1"}}`, []string{"interval", "timeout"}},
		{"unknown key", `{"name":"r1","template":"t","snmp":{"address":"a","community":"c","comunity":"x"}}`, []string{"snmp.comunity"}},
		{"unknown top key", `{"name":"r1","template":"t","colour":"red","snmp":{"address":"a","community":"c"}}`, []string{"colour"}},
		{"bad duration", `{"name":"r1","template":"t","interval":"soon","snmp":{"address":"a","community":"c"}}`, []string{"interval"}},
		{"site", `{"name":"r1","template":"t","site":"emea/fra1","snmp":{"address":"a","community":"c"}}`, nil},
		{"bad site", `{"name":"r1","template":"t","site":"emea/../x","snmp":{"address":"a","community":"c"}}`, []string{"site"}},
		{"max_concurrent", `{"name":"r1","template":"t","max_concurrent":2,"snmp":{"address":"a","community":"c"}}`, nil},
		{"negative max_concurrent", `{"name":"r1","template":"t","max_concurrent":-1,"snmp":{"address":"a","community":"c"}}`, []string{"max_concurrent"}},
		{"v3 short pass", `{"name":"r1","template":"t","snmp":{"address":"a","version":"3","username":"u","security_level":"authNoPriv","auth_protocol":"SHA","auth_password":"short"}}`, []string{"snmp.auth_password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeDevice(decodeJSON(t, tc.json))
			if err == nil {
				cfg.DeviceDefaults(&d)
				err = cfg.ValidateDevice(d)
			}
			var got []string
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("not a FieldError: %v", e)
				}
				got = append(got, fe.Path)
			}
			if strings.Join(got, ",") != strings.Join(tc.paths, ",") {
				t.Errorf("paths %v, want %v (%v)", got, tc.paths, err)
			}
		})
	}
	if d, err := DecodeDevice(decodeJSON(t, `{"name":"r1","template":"t","site":"emea/fra1","snmp":{"address":"a","community":"c"}}`)); err != nil || d.Site != "emea/fra1" || DeviceView(d)["site"] != "emea/fra1" {
		t.Errorf("site decoded as %q, view %v (%v)", d.Site, DeviceView(d)["site"], err)
	}
	d, _ := DecodeDevice(decodeJSON(t, `{"name":"r1","template":"t","snmp":{"address":"10.0.0.1","community":"c"}}`))
	cfg.DeviceDefaults(&d)
	if d.Interval != 30*time.Second || d.Timeout != 5*time.Second || d.SNMP.Version != "2c" || d.SNMP.Timeout != 2*time.Second {
		t.Errorf("defaults: %+v %+v", d, *d.SNMP)
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestDeviceViewHidesSecrets(t *testing.T) {
	d := Device{Name: "w", Template: "t", Interval: time.Minute,
		SNMP: &SNMP{Address: "a", Version: "3", Community: "pub-secret", AuthPassword: "auth-secret", PrivPassword: "priv-secret", Username: "u"}}
	v := DeviceView(d)
	b, _ := json.Marshal(v)
	for _, s := range []string{"pub-secret", "auth-secret", "priv-secret"} {
		if strings.Contains(string(b), s) {
			t.Errorf("view shows %s: %s", s, b)
		}
	}
	snmp := v["snmp"].(map[string]any)
	if snmp["community"] != SecretMask || snmp["username"] != "u" || v["interval"] != "1m0s" || v["timeout"] != nil || v["http"] != nil {
		t.Errorf("view: %s", b)
	}
	h := DeviceView(Device{Name: "h", HTTP: &HTTP{URL: "http://x", Password: "pw", Headers: map[string]Secret{"X-Token": "tok"}}})
	hb, _ := json.Marshal(h)
	if strings.Contains(string(hb), "pw\"") || strings.Contains(string(hb), "tok") || !strings.Contains(string(hb), `"X-Token":"\u003csecret\u003e"`) {
		t.Errorf("http view: %s", hb)
	}
	// The view reads back as the same device, secrets aside.
	back, err := DecodeDevice(decodeJSON(t, string(b)))
	if err != nil || back.Interval != time.Minute || back.SNMP.Username != "u" {
		t.Errorf("read back: %v %+v", err, back)
	}
	// Sent back with masks, the stored secrets stay.
	upd := decodeJSON(t, string(b))
	KeepSecrets(upd, map[string]any{"snmp": map[string]any{"community": "pub-secret", "auth_password": "auth-secret"}})
	s := upd["snmp"].(map[string]any)
	if s["community"] != "pub-secret" || s["auth_password"] != "auth-secret" || s["priv_password"] != SecretMask {
		t.Errorf("kept secrets: %v", s)
	}
}

func TestMaskedPath(t *testing.T) {
	if p := MaskedPath(map[string]any{"name": "x", "snmp": map[string]any{"community": SecretMask}}); p != "snmp.community" {
		t.Errorf("masked path %q", p)
	}
	if p := MaskedPath(map[string]any{"snmp": map[string]any{"community": "c"}}); p != "" {
		t.Errorf("masked path %q", p)
	}
}

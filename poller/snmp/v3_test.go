package snmp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/snmpdtest"
)

// v3Users are created in the agent's configuration; each row is also a
// client configuration that must poll successfully.
var v3Users = []struct {
	user, level, auth, priv string
}{
	{"noauth", "noAuthNoPriv", "", ""},
	{"md5only", "authNoPriv", "MD5", ""},
	{"shaonly", "authNoPriv", "SHA", ""},
	{"sha256only", "authNoPriv", "SHA256", ""},
	{"sha512only", "authNoPriv", "SHA512", ""},
	{"shaaes", "authPriv", "SHA", "AES"},
	{"md5des", "authPriv", "MD5", "DES"},
	{"sha224aes", "authPriv", "SHA224", "AES"},
	{"sha384aes256", "authPriv", "SHA384", "AES256"},
	{"sha256aes192", "authPriv", "SHA256", "AES192"},
	{"sha512aes256c", "authPriv", "SHA512", "AES256C"},
	// Auth keys shorter than the privacy key need a key extension; net-snmp
	// uses Blumenthal's (gosnmp's AES192/AES256, not the "C" variants).
	{"shaaes256", "authPriv", "SHA", "AES256"},
	{"md5aes192", "authPriv", "MD5", "AES192"},
}

const (
	v3AuthPass = "auth-pass-123"
	v3PrivPass = "priv-pass-456"
)

func v3Conf() []string {
	var lines []string
	for _, u := range v3Users {
		l := "createUser " + u.user
		if u.auth != "" {
			l += fmt.Sprintf(" %s %s", strings.Replace(u.auth, "SHA", "SHA-", 1), v3AuthPass)
			if u.auth == "SHA" || u.auth == "MD5" {
				l = "createUser " + u.user + " " + u.auth + " " + v3AuthPass
			}
		}
		if u.priv != "" {
			p := u.priv
			if strings.HasPrefix(p, "AES") && p != "AES" {
				p = "AES-" + strings.TrimSuffix(p[3:], "C")
			}
			l += fmt.Sprintf(" %s %s", p, v3PrivPass)
		}
		lines = append(lines, l, fmt.Sprintf("rouser %s %s", u.user, strings.ToLower(map[string]string{
			"noAuthNoPriv": "noauth", "authNoPriv": "auth", "authPriv": "priv"}[u.level])))
	}
	return lines
}

func TestSNMPv3AgainstNetSNMP(t *testing.T) {
	a := snmpdtest.Start(t, v3Conf()...)
	for _, u := range v3Users {
		t.Run(u.user, func(t *testing.T) {
			cfg := defaultTemplate("v3agent", a.Addr)
			cfg.Version, cfg.Community = "3", ""
			cfg.SecurityLevel, cfg.Username = u.level, u.user
			cfg.AuthProtocol, cfg.AuthPassword = u.auth, v3AuthPass
			cfg.PrivProtocol, cfg.PrivPassword = u.priv, v3PrivPass
			c := mustNew(t, cfg)
			for i := 0; i < 2; i++ { // the second poll reuses the discovered engine
				s, err := c.Poll(t.Context(), time.Now())
				if err != nil {
					t.Fatalf("poll %d: %v\nagent log:\n%s", i, err, a.Log())
				}
				if n := len(byName(s, "if_in_octets")); n == 0 || len(s) < len(cfg.Scalars) {
					t.Fatalf("poll %d: %d samples, %d interfaces", i, len(s), n)
				}
			}
		})
	}
	t.Run("Reeder key extension where net-snmp uses Blumenthal's", func(t *testing.T) {
		cfg := defaultTemplate("v3agent", a.Addr)
		cfg.Version, cfg.Community, cfg.Timeout, cfg.Retries = "3", "", 200*time.Millisecond, 0
		cfg.SecurityLevel, cfg.Username = "authPriv", "shaaes256"
		cfg.AuthProtocol, cfg.AuthPassword, cfg.PrivProtocol, cfg.PrivPassword = "SHA", v3AuthPass, "AES256C", v3PrivPass
		cfg.Tables = nil
		c := mustNew(t, cfg)
		if s, err := c.Poll(t.Context(), time.Now()); err == nil || len(s) != 0 {
			t.Fatalf("mismatched key extension: %d samples, error %v", len(s), err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := defaultTemplate("v3agent", a.Addr)
		cfg.Version, cfg.Community, cfg.Timeout, cfg.Retries = "3", "", 300*time.Millisecond, 0
		cfg.SecurityLevel, cfg.Username, cfg.AuthProtocol, cfg.AuthPassword = "authNoPriv", "shaonly", "SHA", "not-the-password"
		c := mustNew(t, cfg)
		s, err := c.Poll(t.Context(), time.Now())
		if err == nil || len(s) != 0 {
			t.Fatalf("wrong password: %d samples, error %v", len(s), err)
		}
	})
}

// Package snmpdtest starts a real net-snmp agent (Debian's snmpd) for tests:
// on a free loopback UDP port, with its own configuration and persistent
// directory, stopped by PID when the test ends.
//
// It speaks just enough SNMP itself (one hand-built v2c GET) to know when the
// agent answers, so it depends on no SNMP library.
package snmpdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian installs the agent.
const Binary = "/usr/sbin/snmpd"

// Community is the read-only v1/v2c community the agent accepts from 127.0.0.1.
const Community = "public"

// StartTimeout bounds how long Start waits for the agent's first answer.
const StartTimeout = 10 * time.Second

// Agent is a running snmpd.
type Agent struct {
	Addr     string // "127.0.0.1:PORT"
	Port     int
	PID      int
	ConfPath string // the configuration file the agent reads
	LogPath  string // its stdout and stderr
	Dir      string // SNMP_PERSISTENT_DIR and the files above

	extra []string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has been reaped
}

// baseConf mirrors the project's agent configuration: loopback only,
// community public from 127.0.0.1, the full MIB view.
const baseConf = `agentAddress  udp:127.0.0.1:%d
rocommunity   public  127.0.0.1
sysLocation   saguaro-test-lab
sysContact    test@localhost
sysName       saguaro-test-agent
`

// Start writes a configuration (plus extraConf lines, e.g. createUser and
// rouser for SNMPv3), starts snmpd on a free loopback UDP port and waits until
// sysUpTime.0 answers. The agent is killed by PID in tb.Cleanup.
//
// When snmpd is not installed the test fails if CI is set and is skipped
// otherwise.
func Start(tb testing.TB, extraConf ...string) *Agent {
	tb.Helper()
	Require(tb)
	a := &Agent{Dir: tb.TempDir(), extra: extraConf}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = a.start(); lastErr == nil {
			tb.Cleanup(a.stop)
			return a
		}
	}
	tb.Fatalf("snmpdtest: %v", lastErr)
	return nil
}

// Require fails (CI set) or skips the test when snmpd is not installed.
func Require(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(Binary); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("snmpdtest: %s not found; install it with: apt-get install -y snmpd snmp", Binary)
	}
	tb.Skipf("snmpdtest: %s not found (apt-get install -y snmpd snmp); skipping outside CI", Binary)
}

// Restart stops the agent and starts it again on the same port with the same
// configuration, as a device reboot does: sysUpTime starts from zero.
func (a *Agent) Restart(tb testing.TB) {
	tb.Helper()
	a.stop()
	port := a.Port
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = a.startOn(port); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the old socket may linger for a moment
	}
	tb.Fatalf("snmpdtest: restart: %v", err)
}

func (a *Agent) start() error {
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	return a.startOn(port)
}

func (a *Agent) startOn(port int) error {
	a.Port = port
	a.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	a.ConfPath = filepath.Join(a.Dir, "snmpd.conf")
	a.LogPath = filepath.Join(a.Dir, "snmpd.log")
	conf := fmt.Sprintf(baseConf, port) + strings.Join(a.extra, "\n") + "\n"
	if err := os.WriteFile(a.ConfPath, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", a.ConfPath, err)
	}
	persist := filepath.Join(a.Dir, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(a.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	// -f foreground, -Lo log to stdout, -C read no other config files.
	cmd := exec.Command(Binary, "-f", "-Lo", "-C", "-c", a.ConfPath)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "MIBS=")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	a.cmd, a.PID = cmd, cmd.Process.Pid
	a.done = make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(a.done)

	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-a.done:
			return fmt.Errorf("snmpd (pid %d) exited before answering on %s; log:\n%s", a.PID, a.Addr, a.logTail())
		default:
		}
		if _, err := SysUpTime(a.Addr, Community, 200*time.Millisecond); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.stop()
	return fmt.Errorf("snmpd (pid %d) did not answer sysUpTime.0 on %s within %v; log:\n%s", a.PID, a.Addr, StartTimeout, a.logTail())
}

// stop ends the agent by its PID: SIGTERM, then SIGKILL after two seconds.
func (a *Agent) stop() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(2 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
}

// Log returns what the agent has written so far.
func (a *Agent) Log() string {
	b, _ := os.ReadFile(a.LogPath)
	return string(b)
}

func (a *Agent) logTail() string {
	s := a.Log()
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free UDP port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// SysUpTime sends one SNMPv2c GET of sysUpTime.0 to addr and returns the
// agent's uptime. It is what Start uses to see that the agent is up.
func SysUpTime(addr, community string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	const reqID = 0x5a6b
	if _, err := c.Write(getSysUpTime(community, reqID)); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return 0, err
	}
	return parseSysUpTime(buf[:n], reqID)
}

// sysUpTime.0 = 1.3.6.1.2.1.1.3.0, BER-encoded.
var sysUpTimeOID = []byte{0x2b, 6, 1, 2, 1, 1, 3, 0}

func tlv(tag byte, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	if len(b) > 127 {
		panic("snmpdtest: TLV too long for short-form length") // fixed, small packets only
	}
	return append([]byte{tag, byte(len(b))}, b...)
}

func getSysUpTime(community string, reqID uint16) []byte {
	varbind := tlv(0x30, tlv(0x06, sysUpTimeOID), []byte{0x05, 0x00})
	pdu := tlv(0xa0, // GetRequest
		tlv(0x02, []byte{byte(reqID >> 8), byte(reqID)}),
		tlv(0x02, []byte{0}), tlv(0x02, []byte{0}),
		tlv(0x30, varbind))
	return tlv(0x30, tlv(0x02, []byte{1}) /* v2c */, tlv(0x04, []byte(community)), pdu)
}

var errBadReply = errors.New("malformed SNMP reply")

// parseSysUpTime finds the TimeTicks value in a reply; it checks the
// request id and that the reply carries the OID asked for, nothing more.
func parseSysUpTime(b []byte, reqID uint16) (time.Duration, error) {
	i := bytes.Index(b, append([]byte{0x06, byte(len(sysUpTimeOID))}, sysUpTimeOID...))
	if i < 0 || !bytes.Contains(b, []byte{0x02, 0x02, byte(reqID >> 8), byte(reqID)}) {
		return 0, errBadReply
	}
	v := b[i+2+len(sysUpTimeOID):]
	if len(v) < 2 || v[0] != 0x43 || int(v[1]) > len(v)-2 || v[1] > 5 {
		return 0, fmt.Errorf("%w: sysUpTime.0 is not TimeTicks", errBadReply)
	}
	var ticks uint64
	for _, c := range v[2 : 2+int(v[1])] {
		ticks = ticks<<8 | uint64(c)
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

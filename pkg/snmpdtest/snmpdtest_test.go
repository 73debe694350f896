package snmpdtest

import (
	"testing"
	"time"
)

func TestStartAnswersAndRestartResetsUptime(t *testing.T) {
	a := Start(t)
	if a.PID <= 0 || a.Port <= 0 {
		t.Fatalf("agent not started: %+v", a)
	}
	time.Sleep(1100 * time.Millisecond) // let the uptime grow past one second
	up1, err := SysUpTime(a.Addr, Community, time.Second)
	if err != nil {
		t.Fatalf("sysUpTime: %v", err)
	}
	if up1 < time.Second {
		t.Fatalf("uptime %v, want at least 1s after waiting", up1)
	}
	old := a.PID
	a.Restart(t)
	if a.PID == old {
		t.Fatalf("restart kept pid %d", old)
	}
	up2, err := SysUpTime(a.Addr, Community, time.Second)
	if err != nil {
		t.Fatalf("sysUpTime after restart: %v", err)
	}
	if up2 >= up1 {
		t.Fatalf("uptime after restart %v, want below %v", up2, up1)
	}
}

func TestWrongCommunityGetsNoAnswer(t *testing.T) {
	a := Start(t)
	if _, err := SysUpTime(a.Addr, "wrong", 300*time.Millisecond); err == nil {
		t.Fatal("agent answered an unknown community")
	}
}

func TestParseSysUpTimeRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {0x30}, []byte("hello world"), append(getSysUpTime("public", 1), 0x43, 0x09)} {
		if _, err := parseSysUpTime(b, 1); err == nil {
			t.Errorf("parseSysUpTime(% x) succeeded", b)
		}
	}
}

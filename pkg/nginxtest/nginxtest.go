// Package nginxtest starts a real nginx (Debian's nginx-light) for tests: on
// a free loopback port, with stub_status at /stub and "hello" everywhere
// else, stopped by PID when the test ends.
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian installs nginx.
const Binary = "/usr/sbin/nginx"

// StartTimeout bounds how long Start waits for nginx to listen.
const StartTimeout = 10 * time.Second

const conf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location = /stub { stub_status; }
    location / { return 200 "hello\n"; }
  }
}
`

// Start runs nginx and returns its base URL ("http://127.0.0.1:PORT").
// Without nginx the test fails when CI is set and is skipped otherwise.
func Start(tb testing.TB) string {
	tb.Helper()
	bin := Binary
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nginx"); err != nil {
			if os.Getenv("CI") != "" {
				tb.Fatal("nginx not found; install it with: apt-get install -y nginx-light")
			}
			tb.Skip("nginx not found (apt-get install -y nginx-light); skipping outside CI")
		}
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := tb.TempDir()
	cp := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cp, []byte(fmt.Sprintf(conf, dir, addr)), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", cp)
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(StartTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			tb.Fatalf("nginx exited: %s", log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
	}
	tb.Fatalf("nginx did not listen within %v", StartTimeout)
	return ""
}

// Command saguaro polls devices, stores their metrics and serves trend graphs.
//
//	saguaro [serve] [--config FILE] [--listen ADDR] [--data DIR]
//	saguaro check-config [FILE]
//	saguaro simulate [flags]
//	saguaro user list|add|passwd|role|token|revoke|...
//	saguaro version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/saguaro-monitoring/saguaro/poller"
	"github.com/saguaro-monitoring/saguaro/storage"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serveCmd(args, stderr)
	case "check-config":
		return checkConfigCmd(args, stdout, stderr)
	case "simulate":
		return simulateCmd(args, stdout, stderr)
	case "discover":
		return discoverCmd(args, stdout, stderr)
	case "user":
		return userCmd(args, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "saguaro %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "saguaro: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  saguaro [serve] [--config FILE] [--listen ADDR] [--data DIR]
                               poll, store and serve graphs (default command)
  saguaro check-config [FILE]  check a configuration and its templates; exit 1 on problems
  saguaro simulate [flags]     serve many simulated SNMP agents on loopback (see -h)
  saguaro discover [--community C] [--version 2c] [--apply FILE] HOST[:PORT]...
                               propose device templates for SNMP agents; --apply adds them to FILE
  saguaro user SUBCOMMAND      manage users and API tokens (list, add, passwd, token, ...)
  saguaro version              print the version

Without --config the embedded default configuration is used. Every setting
can also be set by environment, e.g. SAGUARO_LISTEN, SAGUARO_DATA_DIR,
SAGUARO_POLLER_INTERVAL.
`)
}

func serveCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "configuration file (default: the embedded default)")
	listen := fs.String("listen", "", "web listen address, overrides the config's listen")
	data := fs.String("data", "", "data directory, overrides the config's data_dir")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(storage.GCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := serve(ctx, serveOptions{ConfigFile: *cfgFile, Listen: *listen, DataDir: *data, Stderr: stderr})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "saguaro: %v\n", err)
		return 1
	}
	return 0
}

func checkConfigCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: saguaro check-config [FILE]")
		return 2
	}
	file := ""
	if len(args) == 1 {
		file = args[0]
	}
	name := file
	if name == "" {
		name = "embedded default config"
	}
	cfg, set, err := loadAll(file)
	if err == nil {
		// Building the collectors reads what they need from disk (CA
		// files, scripts) without contacting any device, so check-config
		// refuses what serve would.
		var targets []poller.Target
		if targets, err = buildTargets(cfg, set); err == nil {
			closeTargets(targets)
		} else {
			err = fmt.Errorf("%s: %w", name, err)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d devices, %d device templates, %d graph templates)\n",
		name, len(cfg.Devices), len(set.Devices), len(set.Graphs))
	return 0
}

// closeTargets releases collectors that hold resources.
func closeTargets(targets []poller.Target) {
	for _, t := range targets {
		if c, ok := t.Collector.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

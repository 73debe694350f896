package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/saguaro-monitoring/saguaro/poller/snmp/snmpsim"
)

// walkFlags collects repeated --walk flags.
type walkFlags []string

func (w *walkFlags) String() string     { return strings.Join(*w, ",") }
func (w *walkFlags) Set(s string) error { *w = append(*w, s); return nil }

// simulateCmd runs `saguaro simulate`: many virtual SNMP agents on
// loopback replaying snmpwalk captures, until interrupted (or --duration).
func simulateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: saguaro simulate --walk FILE [--walk FILE ...] [flags]

Serves virtual SNMPv1/v2c agents on loopback that replay "snmpwalk -On"
captures, with counters that advance, wrap and reset on reboots, and a share
of devices that never answer or answer late. Runs until interrupted.

Example: 20,000 devices, 100 per UDP port from 30000, 10 % dead, and a
device list to paste into Saguaro's configuration:

  saguaro simulate --walk poller/snmp/testdata/walks/net-snmp-host.walk \
    --devices 20000 --per-port 100 --port-base 30000 --dead 0.1 \
    --devices-yaml devices.yaml

Flags:
`)
		fs.PrintDefaults()
	}
	var walks walkFlags
	fs.Var(&walks, "walk", "a `FILE` captured with snmpwalk -On; repeat to mix device kinds (device i replays walk i mod n)")
	devices := fs.Int("devices", 100, "number of virtual devices")
	listen := fs.String("listen", "127.0.0.1", "IP address to listen on")
	portBase := fs.Int("port-base", 20000, "UDP port of the first socket; socket j uses port-base+j (0: ports chosen by the system)")
	perPort := fs.Int("per-port", 1, "devices per UDP port, told apart by community COMMUNITY-INDEX when above 1")
	community := fs.String("community", "public", "community (or community prefix with --per-port above 1)")
	seed := fs.Uint64("seed", 1, "seed for rates, reboot phases and the choice of dead, slow and renumbering devices")
	dead := fs.Float64("dead", 0, "share of devices that never answer (0..1)")
	slow := fs.Float64("slow", 0, "share of devices that answer after --slow-delay (0..1)")
	slowDelay := fs.Duration("slow-delay", 2*time.Second, "reply delay of slow devices")
	rebootEvery := fs.Duration("reboot-every", 0, "reboot each device once per period, at its own phase (0: never)")
	renumber := fs.Float64("renumber", 0, "share of devices whose ifIndexes change at every reboot (0..1)")
	rateScale := fs.Float64("rate-scale", 1, "multiplies every counter's rate")
	maxMsg := fs.Int("max-msg-size", snmpsim.MaxUDPPayload, "largest reply in bytes; GETBULK replies are cut to fit")
	maxVB := fs.Int("max-varbinds", 0, "most varbinds per request, as devices that answer more with tooBig (0: 1024)")
	out := fs.String("devices-yaml", "", "write the devices to this YAML `FILE`, a devices: list for Saguaro's config")
	template := fs.String("template", "net-snmp-host", "device template named in --devices-yaml")
	withDead := fs.Bool("yaml-dead", true, "include the dead devices in --devices-yaml")
	list := fs.Bool("list", false, "print every device: name, address, community and state")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	statsEvery := fs.Duration("stats-every", 0, "print request counters to stderr this often (0: only at the end)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "saguaro simulate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *renumber > 0 && *rebootEvery == 0 {
		fmt.Fprintln(stderr, "saguaro simulate: --renumber changes ifIndexes at reboots; give --reboot-every too")
		return 2
	}
	if len(walks) == 0 {
		fmt.Fprintln(stderr, "saguaro simulate: give at least one --walk FILE (an `snmpwalk -On` capture)")
		return 2
	}
	opts := snmpsim.Options{
		Devices: *devices, ListenIP: *listen, PortBase: *portBase, PerPort: *perPort,
		Community: *community, Seed: *seed, Dead: *dead, Slow: *slow, SlowDelay: *slowDelay,
		RebootEvery: *rebootEvery, Renumber: *renumber, RateScale: *rateScale, MaxMsgSize: *maxMsg, MaxVarbinds: *maxVB,
	}
	for _, p := range walks {
		w, err := snmpsim.LoadWalk(p)
		if err != nil {
			fmt.Fprintf(stderr, "saguaro simulate: %v\n", err)
			return 1
		}
		opts.Walks = append(opts.Walks, w)
	}
	sim, err := snmpsim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "saguaro simulate: %v\n", err)
		return 1
	}
	if *out != "" {
		if err := writeDeviceYAML(sim, *out, *template, *withDead); err != nil {
			sim.Close()
			fmt.Fprintf(stderr, "saguaro simulate: %v\n", err)
			return 1
		}
	}
	devs := sim.Devices()
	var nDead, nSlow, nRen int
	for _, d := range devs {
		if d.Dead {
			nDead++
		}
		if d.Slow {
			nSlow++
		}
		if d.Renumbered {
			nRen++
		}
		if *list {
			state := "ok"
			switch {
			case d.Dead:
				state = "dead"
			case d.Slow:
				state = "slow"
			}
			fmt.Fprintf(stdout, "%s %s %s %s\n", d.Name, d.Addr, d.Community, state)
		}
	}
	first, last := devs[0], devs[len(devs)-1]
	fmt.Fprintf(stdout, "simulating %d devices (%d dead, %d slow, %d renumbering) on %s .. %s, %d per port; communities %s .. %s\n",
		len(devs), nDead, nSlow, nRen, first.Addr, last.Addr, *perPort, first.Community, last.Community)
	if *out != "" {
		fmt.Fprintf(stdout, "device list written to %s\n", *out)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if *statsEvery > 0 {
		go func() {
			t := time.NewTicker(*statsEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					printSimStats(stderr, sim.Stats())
				}
			}
		}()
	}
	if err := sim.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "saguaro simulate: %v\n", err)
		return 1
	}
	printSimStats(stderr, sim.Stats())
	return 0
}

func printSimStats(w io.Writer, st snmpsim.Stats) {
	fmt.Fprintf(w, "simulate: requests=%d responses=%d varbinds=%d dropped=%d malformed=%d slow_pending=%d\n",
		st.Requests, st.Responses, st.Varbinds, st.Dropped, st.BadPackets, st.SlowPending)
}

func writeDeviceYAML(sim *snmpsim.Sim, path, template string, withDead bool) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("devices yaml: %w", err)
	}
	if err := sim.WriteDeviceList(f, template, withDead); err != nil {
		f.Close()
		return fmt.Errorf("devices yaml %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devices yaml %s: %w", path, err)
	}
	return nil
}

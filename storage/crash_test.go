package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saguaro-monitoring/saguaro/pkg/metric"
)

// The crash test runs a writer in a child process (this test binary,
// re-executed), kills it with SIGKILL at random points, restarts it, and
// finally checks that every acknowledged batch reads back exactly once in
// the raw archive and in every tier.

const (
	crashEnvDir   = "SAGUARO_STORAGE_CRASH_DIR"
	crashEnvStart = "SAGUARO_STORAGE_CRASH_START"
	crashSeries   = 40
	crashMaxPolls = 3000
)

// crashBatch is poll k of the writer: gauges and exact counters, off the
// step boundary so that every kill interrupts a PDP.
func crashBatch(k int) []metric.Sample {
	ts := base.Add(time.Duration(k)*time.Minute + 23*time.Second)
	out := make([]metric.Sample, 0, crashSeries)
	for i := 0; i < crashSeries/2; i++ {
		dev := fmt.Sprintf("dev%02d", i)
		out = append(out,
			gauge("temp", dev, ts, float64((k*7+i)%50)),
			counter("octets", dev, ts, uint64(k)*uint64(k+i)*13))
	}
	return out
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnvDir); dir != "" {
		crashWriter(dir)
	}
	os.Exit(m.Run())
}

// crashWriter is the child process: it appends polls from
// SAGUARO_STORAGE_CRASH_START on and prints each acknowledgement.
func crashWriter(dir string) {
	start, _ := strconv.Atoi(os.Getenv(crashEnvStart))
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	for k := start; k < crashMaxPolls; k++ {
		err := db.Append(context.Background(), crashBatch(k))
		// A batch journaled just before the previous kill was stored but
		// not acknowledged; sent again, every sample is rejected as not
		// newer. A batch is journaled whole or not at all.
		if err != nil && !(k == start && errors.Is(err, ErrBadSample) && strings.Count(err.Error(), "is not after") >= 10) {
			fmt.Printf("error %v\n", err)
			os.Exit(4)
		}
		fmt.Printf("ack %d\n", k)
	}
	db.Close()
	os.Exit(0)
}

func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const rounds = 8
	deadline := time.Now().Add(60 * time.Second)
	next := 0 // first poll not yet acknowledged
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		// Kill after a random number of acknowledgements; round 1 right
		// after the restart, round 2 during Open (replay).
		killAfter := rng.IntN(150)
		switch round {
		case 1:
			killAfter = 0
		case 2:
			killAfter = -1
		}
		acked, err := runCrashChild(t, dir, next, killAfter, rng)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: started at poll %d, killed after %d acknowledged batches", round, next, acked-next)
		next = acked
	}
	if next == 0 {
		t.Fatal("no batch was acknowledged")
	}
	verifyCrashed(t, dir, next)
}

// runCrashChild runs the writer from poll start and kills it after
// killAfter acknowledgements (-1: a few milliseconds after it starts). It
// returns the first poll not acknowledged.
func runCrashChild(t *testing.T, dir string, start, killAfter int, rng *rand.Rand) (int, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvStart+"="+strconv.Itoa(start))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return start, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return start, err
	}
	kill := func() {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	timer := time.AfterFunc(30*time.Second, kill)
	defer timer.Stop()
	if killAfter < 0 {
		time.AfterFunc(time.Duration(rng.IntN(40))*time.Millisecond, kill)
	}
	next := start
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ready":
			if killAfter == 0 {
				kill()
			}
		case strings.HasPrefix(line, "ack "):
			k, _ := strconv.Atoi(strings.TrimPrefix(line, "ack "))
			if k != next {
				kill()
				return next, fmt.Errorf("acknowledged poll %d, expected %d", k, next)
			}
			next++
			n++
			if n == killAfter {
				kill()
			}
		case strings.HasPrefix(line, "error "):
			kill()
			cmd.Wait()
			return next, fmt.Errorf("writer: %s", line)
		}
	}
	werr := cmd.Wait()
	var ee *exec.ExitError
	if werr != nil && !(errors.As(werr, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL) {
		return next, fmt.Errorf("writer ended: %v", werr)
	}
	return next, nil
}

// verifyCrashed compares the crashed store with one that was fed the same
// polls without interruption.
func verifyCrashed(t *testing.T, dir string, acked int) {
	db := openTest(t, dir)
	ctx := context.Background()
	end := base.Add(crashMaxPolls * time.Minute)
	raw, err := db.Raw(ctx, nil, base, end)
	if err != nil {
		t.Fatal(err)
	}
	// The batch in flight at the last kill may have been stored too.
	stored := 0
	for _, rs := range raw {
		if rs.Labels.Get(metric.NameLabel) == "temp" {
			stored = max(stored, len(rs.Values))
		}
	}
	if stored < acked || stored > acked+1 {
		t.Fatalf("%d polls stored, %d acknowledged", stored, acked)
	}
	ref := openTest(t, t.TempDir())
	for k := 0; k < stored; k++ {
		mustAppend(t, ref, crashBatch(k)...)
	}
	want, err := ref.Raw(ctx, nil, base, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(want) {
		t.Fatalf("raw: %d series, want %d", len(raw), len(want))
	}
	for i := range raw {
		if d := firstDiff(raw[i].Values, want[i].Values); d != "" || !raw[i].Labels.Equal(want[i].Labels) {
			t.Fatalf("raw %s differs from %s: %s", raw[i].Labels, want[i].Labels, d)
		}
	}
	last := base.Add(time.Duration(stored) * time.Minute)
	for _, step := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour} {
		for cf := metric.Average; cf <= metric.Last; cf++ {
			q := metric.Query{From: base, To: last, Step: step, CF: cf}
			got, err := db.Select(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := ref.Select(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(exp) {
				t.Fatalf("step %v %v: %d series, want %d", step, cf, len(got), len(exp))
			}
			for i := range got {
				if d := firstDiff(got[i].Values, exp[i].Values); d != "" || !got[i].Start.Equal(exp[i].Start) {
					t.Fatalf("step %v %v, %s differs after crashes: %s", step, cf, got[i].Labels, d)
				}
			}
		}
	}
	t.Logf("%d polls of %d series acknowledged, all read back once", acked, crashSeries)
}

// firstDiff describes the first difference of two value lists, or is empty.
func firstDiff(got, want []float64) string {
	for i := range min(len(got), len(want)) {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			return fmt.Sprintf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	return ""
}

#!/usr/bin/env bash
# storage.sh — Saguaro's storage against rrdtool and rrdcached, in one run on
# one machine, printed as ratios.
#
#   rrdtool:   the poller pattern (one value per data source per cycle)
#              through one `rrdtool -` process, N_FILES Cacti-like RRDs
#              (1 GAUGE DS, step 60, AVERAGE+MAX at 1m/5m/30m/2h), CYCLES
#              cycles; the same through rrdcached (enqueue, then FLUSHALL
#              until its queue is empty). rrdcached runs on a unix socket
#              in the work dir, -w 3600 -z 1 so that nothing is written
#              before the flush; missing, it is installed with apt-get
#              when running as root, else its figures are skipped.
#   Saguaro:   go test -bench in ./storage: ingest of 10,000 data sources
#              including every tier, read of one data source for 1 day and
#              1 year at about 800 points, bytes per raw value on disk after
#              compaction (the benchmark fleet, and per kind of data source:
#              idle interface, busy interface, load, memory, a device-like
#              mix, with a year-of-operation estimate per 1,000 data
#              sources against rrdtool's fixed file size), peak RSS during
#              the ingest and over 26 hours of polls with compaction,
#              heap per data source.
#
# Every figure has a wall and a CPU-second rate where it applies: the
# machine may be shared, and CPU-based figures are the steadier ones.
# Bounded: each command runs under `timeout`, loops are bounded by N_FILES
# and CYCLES, benchmarks by -benchtime. Work dir: a mktemp directory,
# removed at exit; rrdcached is started and stopped by its PID.
#
# Usage: bench/storage.sh            (N_FILES=1000 CYCLES=10 BENCHTIME=30x)
# (BENCHTIME applies to the ingest and read benchmarks; the disk one runs once.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N_FILES:-1000}
CYC=${CYCLES:-10}
BT=${BENCHTIME:-30x}
TO=600
W=$(mktemp -d /tmp/saguaro-storage-bench.XXXXXX)
D=$W/d
CACHED_PID=""
cleanup() {
  if [ -n "$CACHED_PID" ]; then kill "$CACHED_PID" 2>/dev/null || true; wait "$CACHED_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$D"

for b in rrdtool go bc awk; do
  command -v $b >/dev/null || { echo "storage.sh: $b is not installed (make test installs rrdtool)" >&2; exit 1; }
done

TCK=$(getconf CLK_TCK)
now_ns() { date +%s%N; }
ms_since() { echo "scale=3; ($(date +%s%N) - $1) / 1000000" | bc; }
child_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }
cpu_since() { echo "scale=3; ($(child_ticks) - $1) / $TCK" | bc; }
per_s() { echo "scale=0; $1 * 1000 / $2" | bc; }     # per_s COUNT MS
per_cpu() { echo "scale=0; $1 / $2" | bc; }           # per_cpu COUNT CPU_S
ratio() { echo "scale=1; $1 / $2" | bc; }
noerr() { ! grep -m1 ERROR >&2; }

echo "# bench/storage.sh N_FILES=$N CYCLES=$CYC BENCHTIME=$BT"
echo "# $(rrdtool --version | head -1); $(go version)"
echo "# host: $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

# ---------- rrdtool: poller pattern ----------
END=1767225600
T0=$((END - 86400 - 60))
RRAS="RRA:AVERAGE:0.5:1:1440 RRA:AVERAGE:0.5:5:2016 RRA:AVERAGE:0.5:30:1488 RRA:AVERAGE:0.5:120:4380
      RRA:MAX:0.5:1:1440 RRA:MAX:0.5:5:2016 RRA:MAX:0.5:30:1488 RRA:MAX:0.5:120:4380"
rrdtool create "$W/tmpl.rrd" --start $T0 --step 60 DS:val:GAUGE:120:U:U $RRAS
reset_files() { rm -f "$D"/*.rrd; for ((i = 0; i < N; i++)); do cp "$W/tmpl.rrd" "$D/f$i.rrd"; done; sync; }
awk -v n=$N -v c=$CYC -v t0=$((END - 86400)) -v d="$D" 'BEGIN { srand(7);
  for (k = 1; k <= c; k++) for (i = 0; i < n; i++)
    printf "%s/f%d.rrd %d:%.3f\n", d, i, t0 + 60 * k, 50 + 40 * rand() }' > "$W/cycles.txt"
UP=$((N * CYC))
reset_files
t=$(now_ns); c=$(child_ticks)
sed 's/^/update /' "$W/cycles.txt" | timeout $TO rrdtool - | noerr
ms=$(ms_since "$t"); cs=$(cpu_since "$c")
RRD_WALL=$(per_s $UP "$ms"); RRD_CPU=$(per_cpu $UP "$cs")
echo "rrdtool poller pattern ($CYC cycles x $N files, one 'rrdtool -'): $RRD_WALL updates/s wall, $RRD_CPU /CPU-s"
RRD_FILE=$(stat -c %s "$W/tmpl.rrd")
echo "rrdtool file per data source: $RRD_FILE bytes"

CACHED_WALL=""
if ! command -v rrdcached >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "# rrdcached is missing: apt-get install -y rrdcached" >&2
    timeout 300 apt-get install -y -q rrdcached >"$W/apt.log" 2>&1 || { tail -5 "$W/apt.log" >&2; echo "storage.sh: could not install rrdcached" >&2; }
    # The package starts a system daemon; this script runs its own.
    command -v systemctl >/dev/null && systemctl stop rrdcached 2>/dev/null || true
  else
    echo "# rrdcached is missing and this is not root: no rrdcached figures (apt-get install rrdcached)" >&2
  fi
fi
if command -v rrdcached >/dev/null; then
  reset_files
  SOCK=$W/rrdcached.sock
  rrdcached -g -F -l "unix:$SOCK" -b "$D" -B -w 3600 -z 1 -f 7200 -t 4 -p "$W/rrdcached.pid" >"$W/rrdcached.log" 2>&1 &
  CACHED_PID=$!
  for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && break; sleep 0.05; done
  [ -S "$SOCK" ] || { echo "rrdcached did not start" >&2; exit 1; }
  t=$(now_ns); c=$(child_ticks)
  sed "s|^|update --daemon unix:$SOCK |" "$W/cycles.txt" | timeout $TO rrdtool - | noerr
  # FLUSHALL, then wait (bounded) until the daemon's queue is empty.
  timeout 120 python3 - "$SOCK" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def cmd(c):
    f.write(c + "\n"); f.flush(); head = f.readline().split(" ", 1)
    return [f.readline().strip() for _ in range(max(int(head[0]), 0))]
cmd("FLUSHALL")
for _ in range(12000):
    st = dict(l.split(": ", 1) for l in cmd("STATS"))
    if st.get("QueueLength") == "0" and st.get("TreesQueued", "0") == "0":
        break
    time.sleep(0.01)
EOF
  ms=$(ms_since "$t")
  kill "$CACHED_PID"; wait "$CACHED_PID" 2>/dev/null || true; CACHED_PID=""
  cs=$(cpu_since "$c")
  CACHED_WALL=$(per_s $UP "$ms"); CACHED_CPU=$(per_cpu $UP "$cs")
  echo "rrdcached poller pattern (enqueue + flush): $CACHED_WALL updates/s wall, $CACHED_CPU /CPU-s (client + daemon)"
else
  echo "rrdcached: not available, no rrdcached figures"
fi

# ---------- Saguaro ----------
cd "$ROOT"
OUT=$W/go-bench.txt
gobench() { timeout $TO go test -run '^$' -bench "$1" -benchtime "$2" -count 1 ./storage/ >> "$OUT" 2>&1 || { cat "$OUT" >&2; exit 1; }; }
gobench 'Ingest' "$BT"
gobench 'Select' "$BT"
gobench 'Disk$' 1x   # one day of 1,000 data sources, compacted
gobench 'DiskKinds' 1x
gobench 'SeriesMemory' 1x
gobench 'SteadyMemory' 1x   # 10,000 data sources, 26 h of polls, hourly compaction
grep -E '^Benchmark' "$OUT"
metric() { # metric BENCH_REGEX UNIT -> value
  awk -v b="$1" -v u="$2" '$1 ~ b { for (i = 3; i < NF; i++) if ($(i+1) == u) { print $i; exit } }' "$OUT"
}
ING=$(metric '^BenchmarkIngest' 'samples/s'); ING_CPU=$(metric '^BenchmarkIngest' 'samples/cpu-s')
RSS=$(metric '^BenchmarkIngest' 'peak-RSS-MiB')
DAY_NS=$(metric 'span=24h0m0s' 'ns/op'); YEAR_NS=$(metric 'span=8760h0m0s' 'ns/op')
RAWB=$(metric '^BenchmarkDisk-' 'raw-bytes/sample'); ALLB=$(metric '^BenchmarkDisk-' 'all-bytes/sample')
HEAPB=$(metric '^BenchmarkSeriesMemory' 'heap-bytes/series')
SRSS=$(metric '^BenchmarkSteadyMemory' 'peak-RSS-MiB'); SRSS_NOW=$(metric '^BenchmarkSteadyMemory' 'RSS-MiB')
ms() { echo "scale=3; $1 / 1000000" | bc; }

echo
echo "== Saguaro storage vs rrdtool (same run, same machine) =="
printf '%-52s %14s %14s %s\n' "figure" "Saguaro" "reference" "ratio / target"
printf '%-52s %14s %14s %sx (target >= 10x)\n' "ingest incl. tiers, 10k series, samples/s wall" "$ING" "$RRD_WALL" "$(ratio "$ING" "$RRD_WALL")"
printf '%-52s %14s %14s %sx\n' "ingest, samples per CPU-second" "$ING_CPU" "$RRD_CPU" "$(ratio "$ING_CPU" "$RRD_CPU")"
[ -n "$CACHED_WALL" ] && printf '%-52s %14s %14s %sx\n' "ingest vs rrdcached (enqueue + flush), wall" "$ING" "$CACHED_WALL" "$(ratio "$ING" "$CACHED_WALL")"
printf '%-52s %14s %14s %s\n' "ingest, absolute (target >= 1,000,000/s)" "$ING" "1000000" "$(ratio "$ING" 1000000)x of target"
printf '%-52s %14s %14s %s\n' "read 1 series, 1 day, ~800 points, ms" "$(ms "$DAY_NS")" "1" "(target < 1 ms)"
printf '%-52s %14s %14s %s\n' "read 1 series, 1 year, ~800 points, ms" "$(ms "$YEAR_NS")" "2" "(target < 2 ms)"
printf '%-52s %14s %14s %s\n' "disk, bytes per raw value after compaction" "$RAWB" "2" "(target < 2)"
printf '%-52s %14s %14s %s\n' "disk, bytes per raw value incl. all tiers" "$ALLB" "-" ""
printf '%-52s %14s %14s %s\n' "peak RSS during 10k-series ingest, MiB" "$RSS" "300" "(target < 300)"
printf '%-52s %14s %14s %s\n' "peak RSS, 10k series, 26 h of polls + compaction, MiB" "$SRSS" "300" "(target < 300; RSS at the end: $SRSS_NOW)"
printf '%-52s %14s %14s %s\n' "live heap per data source after creation, bytes" "$HEAPB" "-" ""

# Disk per kind of data source (BenchmarkDiskKinds: 200 data sources x one
# day of one-minute polls each, default tiers, compacted).
RRD_MB=$(echo "scale=1; $RRD_FILE * 1000 / 1000000" | bc)
echo
echo "== disk per kind of data source (rrdtool: $RRD_FILE bytes per file = $RRD_MB MB per 1,000 data sources, 8 B per row, any kind) =="
printf '%-14s %10s %10s %10s %10s %14s %12s %s\n' "kind" "raw B/val" "1m B/row" "5m B/row" "all B/poll" "year MB/1kDS" "vs rrdtool" "(targets: raw < 2 B, year < 40 MB)"
for k in idle-counter busy-counter load-gauge memory-gauge mix; do
  r='^BenchmarkDiskKinds/kind='"$k"'-'
  Y=$(metric "$r" 'year-MB/1kDS')
  printf '%-14s %10s %10s %10s %10s %14s %11sx\n' "$k" "$(metric "$r" 'raw-B/value')" "$(metric "$r" 't60-B/row')" \
    "$(metric "$r" 't300-B/row')" "$(metric "$r" 'all-B/poll')" "$Y" "$(echo "scale=2; $Y / $RRD_MB" | bc)"
done
echo "(year: 35 d raw, 14 d of 1-min rows, 90 d of 5-min and 1 y of hourly and daily rows, AVERAGE+MAX; rrdtool's file keeps"
echo " 1 d of 1-min, 7 d of 5-min, 31 d of 30-min and 1 y of 2-h rows and no raw values)"

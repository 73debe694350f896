#!/usr/bin/env bash
# poller.sh — Saguaro's SNMP poller beside net-snmp's own snmpbulkwalk, in the same run,
# against the same real net-snmp agent (Debian snmpd) on a free loopback UDP port.
#
# Measures, for a GETBULK walk of ROOT at MAXREP repetitions:
#   net-snmp: REPS runs of `snmpbulkwalk -Cr$MAXREP`, client CPU per varbind (user+sys of the
#             finished children of this script, /proc/$$/stat cutime+cstime, summed over all runs
#             so that 10 ms tick rounding does not hide short processes), both as measured and
#             minus the per-process start-up cost (REPS runs of a one-OID snmpget), plus the
#             agent's CPU per walk;
#   Saguaro:  the same walk REPS times in one process (BenchmarkWalk in poller/snmp), process CPU
#             per varbind from getrusage, plus the agent's CPU per walk;
# and then Saguaro's poll of the default device template (BenchmarkPollDefaultTemplate,
# BenchmarkPollParallel) for polls/s and CPU per poll.
# Everything is bounded: REPS runs, `timeout` on every command, the agent killed by PID.
# The benchmark binary is built with the tags of `make build` (GOTAGS, default gosnmp_nodebug:
# gosnmp's per-packet debug formatting compiled out), so it measures the poller users run;
# GOTAGS= measures it with the debug formatting left in.
# Usage: [GOTAGS=gosnmp_nodebug] bench/poller.sh [REPS=30] [ROOT=.1.3.6.1.2.1] [MAXREP=25] [BENCHTIME=2s]
set -euo pipefail
REPS=${1:-30}; ROOT=${2:-.1.3.6.1.2.1}; MAXREP=${3:-25}; BENCHTIME=${4:-2s}; GOTAGS=${GOTAGS-gosnmp_nodebug}
HERE=$(cd "$(dirname "$0")" && pwd); REPO=$(cd "$HERE/.." && pwd)
for bin in /usr/sbin/snmpd snmpbulkwalk snmpget go python3 bc; do
  command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install -y snmpd snmp bc python3; Go 1.26)" >&2; exit 1; }
done
TMP=$(mktemp -d); SNMPD_PID=""
cleanup() { [ -n "$SNMPD_PID" ] && kill "$SNMPD_PID" 2>/dev/null && wait "$SNMPD_PID" 2>/dev/null; rm -rf "$TMP"; true; }
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AGENT=127.0.0.1:$PORT
cat > "$TMP/snmpd.conf" <<CONF
agentAddress  udp:$AGENT
rocommunity   public  127.0.0.1
sysName       saguaro-bench-agent
CONF
mkdir -p "$TMP/persist"
echo "# poller.sh REPS=$REPS ROOT=$ROOT MAXREP=$MAXREP BENCHTIME=$BENCHTIME GOTAGS=$GOTAGS  $(snmpd -v 2>/dev/null | grep -i version | tr -s ' ')  $(go version)"
echo "# host: $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
SNMP_PERSISTENT_DIR=$TMP/persist MIBS= /usr/sbin/snmpd -f -Lo -C -c "$TMP/snmpd.conf" >"$TMP/snmpd.log" 2>&1 &
SNMPD_PID=$!
C=(-v2c -c public -On -t 5 -r 1)
for ((i = 0; i < 100; i++)); do
  snmpget "${C[@]}" -t 1 -r 0 "$AGENT" .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && break; sleep 0.1
done
snmpget "${C[@]}" "$AGENT" .1.3.6.1.2.1.1.3.0 >/dev/null || { echo "snmpd did not answer; log:" >&2; cat "$TMP/snmpd.log" >&2; exit 1; }
echo "snmpd pid $SNMPD_PID on $AGENT"

echo "building the poller's benchmark binary..."
(cd "$REPO" && timeout 300 go test -c ${GOTAGS:+-tags "$GOTAGS"} -o "$TMP/snmp.test" ./poller/snmp)

agent_ticks() { awk '{print $14 + $15}' /proc/$SNMPD_PID/stat; }
# user+sys clock ticks of this script's finished children
child_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }

timeout 120 snmpbulkwalk "${C[@]}" -Cr50 "$AGENT" "$ROOT" >/dev/null  # warm the agent's caches

# 1. net-snmp per-process start-up cost: a one-OID snmpget
k0=$(child_ticks)
for ((i = 0; i < REPS; i++)); do
  timeout 20 snmpget "${C[@]}" "$AGENT" .1.3.6.1.2.1.1.3.0 >/dev/null
done
start_cpu=$(echo "($(child_ticks) - $k0) / $TCK" | bc -l)

# 2. net-snmp walks
ns_vb=0; a0=$(agent_ticks); t0=$(date +%s%N); k0=$(child_ticks)
for ((i = 0; i < REPS; i++)); do
  timeout 120 snmpbulkwalk "${C[@]}" -Cr"$MAXREP" "$AGENT" "$ROOT" >"$TMP/walk.$i"
done
ns_cpu=$(echo "($(child_ticks) - $k0) / $TCK" | bc -l)
for ((i = 0; i < REPS; i++)); do ns_vb=$((ns_vb + $(grep -c '^\.' "$TMP/walk.$i"))); done
ns_wall_ms=$(( ($(date +%s%N) - t0) / 1000000 )); ns_agent=$(( $(agent_ticks) - a0 ))

# 3. Saguaro walks, in one process
a0=$(agent_ticks); k0=$(child_ticks)
SAGUARO_BENCH_AGENT=$AGENT SAGUARO_BENCH_ROOT=$ROOT SAGUARO_BENCH_REPS=$MAXREP \
  timeout 300 "$TMP/snmp.test" -test.run '^$' -test.bench 'BenchmarkWalk$' \
  -test.benchtime "${REPS}x" -test.count 1 > "$TMP/sg"
sg_agent=$(( $(agent_ticks) - a0 )); sg_proc_cpu=$(echo "($(child_ticks) - $k0) / $TCK" | bc -l)
sg_line=$(grep '^BenchmarkWalk' "$TMP/sg") || { cat "$TMP/sg"; exit 1; }
field() { echo "$sg_line" | awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($(i) == u) print $(i-1)}'; }
sg_vbw=$(field varbinds/walk); sg_nspv=$(field cpu-ns/varbind); sg_nsop=$(field ns/op)

ns_vbw=$((ns_vb / REPS))
[ "$ns_vbw" = "${sg_vbw%.*}" ] || echo "NOTE: varbinds per walk differ: net-snmp $ns_vbw, Saguaro $sg_vbw"
ns_nspv=$(echo "$ns_cpu * 1000000000 / $ns_vb" | bc -l)
ns_nspv_net=$(echo "($ns_cpu - $start_cpu) * 1000000000 / $ns_vb" | bc -l)
printf 'walk %s, -Cr%s, %d walks of %d varbinds:\n' "$ROOT" "$MAXREP" "$REPS" "$ns_vbw"
printf '  net-snmp snmpbulkwalk: client CPU %.0f ns/varbind (%.0f ns/varbind without its start-up of %.1f ms CPU per process), %.1f ms wall/walk, agent CPU %.1f ms/walk\n' \
  "$ns_nspv" "$ns_nspv_net" "$(echo "$start_cpu * 1000 / $REPS" | bc -l)" "$(echo "$ns_wall_ms / $REPS" | bc -l)" \
  "$(echo "$ns_agent * 1000 / $TCK / $REPS" | bc -l)"
printf '  Saguaro poller/snmp:   client CPU %.0f ns/varbind (getrusage over the walks; whole test process %.2f s CPU), %.1f ms wall/walk, agent CPU %.1f ms/walk\n' \
  "$sg_nspv" "$sg_proc_cpu" "$(echo "$sg_nsop / 1000000" | bc -l)" "$(echo "$sg_agent * 1000 / $TCK / $REPS" | bc -l)"
printf '  ratio Saguaro/net-snmp CPU per varbind: %.2f (as measured), %.2f (net-snmp without start-up)\n' \
  "$(echo "$sg_nspv / $ns_nspv" | bc -l)" "$(echo "$sg_nspv / $ns_nspv_net" | bc -l)"

# 4. Saguaro polls of the default device template (11 scalars + ifTable/ifXTable, 4 columns)
echo "default-template polls (Go benchmark, benchtime $BENCHTIME):"
SAGUARO_BENCH_AGENT=$AGENT timeout 300 "$TMP/snmp.test" -test.run '^$' -test.bench 'BenchmarkPoll' \
  -test.benchtime "$BENCHTIME" -test.count 1 | grep '^Benchmark' | sed 's/^/  /'
kill "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null || true; SNMPD_PID=""
echo "snmpd stopped."

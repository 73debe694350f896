#!/usr/bin/env bash
# render.sh — Saguaro's graph renderer side by side with `rrdtool graph`.
#
# Creates one RRD (4 GAUGE DS, step 60, Cacti-like RRAs 1m x 1d, 5m x 1w,
# 30m x 1mo, 2h x 1y, AVERAGE and MAX) filled with one year of synthetic
# 5-minute data, then renders the same 800x300 graph — AREA, 2x STACK,
# LINE2, GPRINT LAST/AVERAGE/MAX per series, 95th percentile HRULE — for a
# 1-day and a 1-year range:
#   rrdtool: one process per render (median) and one `rrdtool -` pipe (mean);
#   Saguaro: graphs.NewPlan + Plan.PNG in one Go process (median), over the
#            RRD's own RRA rows served by an in-memory storage.
# It also checks that Saguaro's plan values equal `rrdtool xport` of the
# RRD at the plan's step (1e-9 relative), and prints the ratios.
# Note: rrdtool's -w/-h size the plot area (its image is larger); Saguaro's
# 800x300 is the whole image, legend included.
# Usage: bench/render.sh [GRAPH_RUNS=20]        (bounded: every command has a timeout)
set -euo pipefail
RUNS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v rrdtool >/dev/null || { echo "rrdtool not found (apt-get install rrdtool)" >&2; exit 1; }
command -v go >/dev/null || { echo "go not found" >&2; exit 1; }
W=$(mktemp -d /tmp/saguaro-render.XXXXXX)
trap 'rm -rf "$W"' EXIT
TO=300
END=1767225600                 # 2026-01-01T00:00:00Z
DAY=86400; YEAR=$((365 * DAY))
G=$W/g.rrd

now_ns() { date +%s%N; }
ms_since() { echo "scale=3; ($(date +%s%N) - $1) / 1000000" | bc; }
# CPU of finished children (user+sys), robust against other work on the box.
TCK=$(getconf CLK_TCK)
child_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }
median() { sort -n | awk '{a[NR]=$1} END { if (NR==0) {print "nan"; exit}
  m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m }'; }

echo "# render.sh RUNS=$RUNS, $(rrdtool --version | head -1), $(go version | cut -d' ' -f3)"
echo "# host: $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

# ---------- the data ----------
RRAS="RRA:AVERAGE:0.5:1:1440 RRA:AVERAGE:0.5:5:2016 RRA:AVERAGE:0.5:30:1488 RRA:AVERAGE:0.5:120:4380
      RRA:MAX:0.5:1:1440 RRA:MAX:0.5:5:2016 RRA:MAX:0.5:30:1488 RRA:MAX:0.5:120:4380"
rrdtool create "$G" --start $((END - YEAR - 300)) --step 60 \
  DS:a:GAUGE:600:U:U DS:b:GAUGE:600:U:U DS:c:GAUGE:600:U:U DS:d:GAUGE:600:U:U $RRAS
awk -v t0=$((END - YEAR)) -v g="$G" 'BEGIN { srand(1); n = 365 * 288;
  for (k = 1; k <= n; k++) { if (k % 1000 == 1) printf "%supdate %s", (k > 1 ? "\n" : ""), g;
    t = t0 + 300 * k; day = sin(6.2831853 * t / 86400); yr = 1 + 0.5 * (t - t0) / 31536000;
    a = yr * (3e6 + 2e6 * day) * (0.9 + 0.2 * rand()); b = yr * (1e6 + 8e5 * day) * (0.9 + 0.2 * rand());
    c = 2e5 * rand() + (rand() < 0.001 ? 3e6 : 0); d = 6e6 + 2e6 * (t - t0) / 31536000;
    printf " %d:%.0f:%.0f:%.0f:%.0f", t, a, b, c, d }
  printf "\n" }' > "$W/year.txt"
timeout $TO rrdtool - < "$W/year.txt" | { ! grep -m1 ERROR >&2; }
echo "filled $G: 1 year of 5-minute data (105120 updates)"
# The RRA rows, as Saguaro's storage would hold them.
for cf in AVERAGE MAX; do
  for r in "60 $DAY" "300 $((7 * DAY))" "1800 $((31 * DAY))" "7200 $YEAR"; do
    set -- $r
    timeout $TO rrdtool fetch "$G" $cf -r "$1" -s $((END - $2)) -e $END > "$W/fetch-$cf-$1.txt"
  done
done

# ---------- rrdtool graph ----------
GARGS=(--imgformat PNG --width 800 --height 300 --end $END
  --title "anchor 4 series" --vertical-label "bits per second" --lower-limit 0
  "DEF:a=$G:a:AVERAGE" "DEF:b=$G:b:AVERAGE" "DEF:c=$G:c:AVERAGE" "DEF:d=$G:d:AVERAGE"
  "DEF:amax=$G:a:MAX" "DEF:bmax=$G:b:MAX" "DEF:cmax=$G:c:MAX" "DEF:dmax=$G:d:MAX"
  "CDEF:tot=a,b,+,c,+" "VDEF:p95=tot,95,PERCENT")
for s in a b c d; do GARGS+=("VDEF:${s}l=$s,LAST" "VDEF:${s}v=$s,AVERAGE" "VDEF:${s}x=${s}max,MAXIMUM"); done
leg() { echo "GPRINT:${1}l:Cur\:%8.2lf%s" "GPRINT:${1}v:Avg\:%8.2lf%s" "GPRINT:${1}x:Max\:%8.2lf%s\n"; }
GARGS+=("AREA:a#00CF00:Inbound   " $(leg a)
        "AREA:b#002A97:Outbound  :STACK" $(leg b)
        "AREA:c#FFD660:Errors    :STACK" $(leg c)
        "LINE2:d#FF0000:Limit     " $(leg d)
        "HRULE:p95#FF00FF:95th pct of total " "GPRINT:p95:%8.2lf%s\n")
declare -A RRD_PROC RRD_PIPE RRD_CPU
for range in 1d 1y; do
  [ $range = 1d ] && S=$((END - DAY)) || S=$((END - YEAR))
  out=$W/rrdtool-$range.png
  timeout $TO rrdtool graph "$out" --start $S "${GARGS[@]}" > /dev/null
  vals=()
  for ((i = 0; i < RUNS; i++)); do
    t=$(now_ns); timeout $TO rrdtool graph "$out" --start $S "${GARGS[@]}" > /dev/null; vals+=("$(ms_since "$t")")
  done
  RRD_PROC[$range]=$(printf '%s\n' "${vals[@]}" | median)
  line="graph $out --start $S"; for a in "${GARGS[@]}"; do line+=" \"$a\""; done
  t=$(now_ns); c=$(child_ticks)
  for ((i = 0; i < RUNS; i++)); do echo "$line"; done | timeout $TO rrdtool - | { ! grep -m1 ERROR >&2; }
  RRD_PIPE[$range]=$(echo "scale=2; $(ms_since "$t") / $RUNS" | bc)
  RRD_CPU[$range]=$(echo "scale=2; ($(child_ticks) - $c) * 1000 / $TCK / $RUNS" | bc)
  echo "rrdtool graph $range: process per render median ${RRD_PROC[$range]} ms; one 'rrdtool -' pipe mean ${RRD_PIPE[$range]} ms/render, cpu ${RRD_CPU[$range]} ms/render; $(file -b "$out" | grep -o '[0-9]* x [0-9]*'), $(stat -c %s "$out") bytes"
done

# ---------- Saguaro ----------
cd "$ROOT"
SAGUARO_RRDBENCH_DIR=$W SAGUARO_RRDBENCH_RUNS=$RUNS SAGUARO_RRDBENCH_END=$END \
  timeout $TO go test ./graphs/ -run '^TestRRDAnchorRender$' -count=1 -v > "$W/go.txt" 2>&1 || { cat "$W/go.txt" >&2; exit 1; }
grep '^saguaro' "$W/go.txt"
for range in 1d 1y; do
  l=$(grep "^saguaro graph $range:" "$W/go.txt")
  s=$(echo "$l" | sed 's/.*median=\([0-9.]*\).*/\1/'); sc=$(echo "$l" | sed 's/.*cpu median \([0-9.]*\).*/\1/')
  echo "ratio $range: saguaro/rrdtool wall = $(echo "scale=3; $s / ${RRD_PIPE[$range]}" | bc) (vs persistent pipe), $(echo "scale=3; $s / ${RRD_PROC[$range]}" | bc) (vs process per render); cpu = $(echo "scale=3; $sc / ${RRD_CPU[$range]}" | bc) (vs persistent pipe)"
done
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$W"/*.png "$W"/*.csv "$KEEP"/ && echo "images and CSV kept in $KEEP"; fi
echo "# end: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

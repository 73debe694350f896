#!/usr/bin/env bash
# Make sure an SNMP agent answers on 127.0.0.1:11161 for the default
# configuration: use one that already answers, or install Debian's snmpd
# when missing and start it with templates/agent/snmpd.conf.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${1:-./data/snmpd}
addr=127.0.0.1:11161

answers() { command -v snmpget >/dev/null && snmpget -v2c -c public -t 1 -r 0 -On "$addr" .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; }

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing $* (Debian packages)"
  $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@"; }
}

if ! command -v snmpget >/dev/null || ! command -v snmpd >/dev/null; then
  pkgs=()
  command -v snmpd >/dev/null || [ -x /usr/sbin/snmpd ] || pkgs+=(snmpd)
  command -v snmpget >/dev/null || pkgs+=(snmp)
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
fi

if answers; then
  echo "SNMP agent answers on $addr"
  exit 0
fi

mkdir -p "$state"
state=$(cd "$state" && pwd)
snmpd=$(command -v snmpd || echo /usr/sbin/snmpd)
SNMP_PERSISTENT_DIR="$state" MIBS= "$snmpd" -C -c "$here/snmpd.conf" -Lf "$state/snmpd.log" -p "$state/snmpd.pid"
# The agent reads CPU ticks (ssCpuRawIdle) a few seconds after start and
# answers 0 until then; wait for them so the first poll is not a spike.
cpu_ready() { v=$(snmpget -v2c -c public -t 1 -r 0 -Oqv "$addr" .1.3.6.1.4.1.2021.11.53.0 2>/dev/null) && [ -n "$v" ] && [ "$v" != 0 ]; }
for _ in $(seq 1 75); do
  if answers && cpu_ready; then
    echo "started net-snmp agent on $addr (pid $(cat "$state/snmpd.pid"), log $state/snmpd.log)"
    exit 0
  fi
  sleep 0.2
done
echo "net-snmp agent did not answer on $addr within 15 s; see $state/snmpd.log" >&2
exit 1

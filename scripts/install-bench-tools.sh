#!/usr/bin/env bash
# Installs what the benchmarks drive: wrk (the load generator of bench/http-bench.ts and
# bench/cluster-bench.ts) and etcd 3.4 (Debian etcd-server), the system the cluster benchmark
# compares shoal against. Safe to run again: when everything is present it installs nothing.
#
# The benchmark starts its own etcd members on 127.0.0.71-73 with throwaway data directories.
# The package's service (etcd on localhost:2379, data in /var/lib/etcd) is kept from starting
# and disabled, so that no system etcd competes for CPU and disk while the benchmark measures.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/bin/etcd ] || need+=(etcd-server)

if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Maintainer scripts ask invoke-rc.d / deb-systemd-invoke whether they may start a service,
  # and both answer from policy-rc.d: while a "deny" policy is in place the postinst enables
  # nothing it starts. An existing policy (container images ship one) is left as it is.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  if [ -n "$own_policy" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
fi

# Also covers an etcd-server installed earlier by other means, whose service may be running.
if [ -x /usr/bin/etcd ]; then
  if command -v systemctl >/dev/null 2>&1; then
    # disable works without a running systemd too (it only removes the unit's symlinks), so a
    # later boot under systemd does not start etcd either.
    $sudo systemctl disable etcd.service >/dev/null 2>&1 || true
    [ ! -d /run/systemd/system ] || $sudo systemctl stop etcd.service >/dev/null 2>&1 || true
  fi
  if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/etcd ]; then
    # No systemd: keep the SysV service from starting at boot, and stop it if it runs.
    # (The init script stops only the daemon it started, through its pid file.)
    $sudo update-rc.d etcd disable >/dev/null 2>&1 || true
    if [ -e /var/run/etcd.pid ] || [ -e /run/etcd.pid ]; then
      $sudo /etc/init.d/etcd stop >/dev/null 2>&1 || true
    fi
  fi
fi

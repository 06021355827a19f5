#!/usr/bin/env bash
# Installs the real tools the tests talk to: promtool and prometheus (Debian prometheus) check
# and scrape /metrics, dnsmasq answers cluster DNS for discovery tests, iptables cuts the network
# between nodes for the fault test, libfaketime (faketime) runs a node with its clock ahead, and
# podman + runc + debootstrap build and run the container image (scripts/build-image.sh). Safe to run again:
# when everything is present it installs nothing and returns at once.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

need=()
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || need+=(prometheus)
[ -x /usr/sbin/dnsmasq ] || command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need+=(iptables)
ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || need+=(faketime)
command -v podman >/dev/null 2>&1 || need+=(podman)
# crun, podman's default runtime on Debian, fails on hybrid cgroup hosts; the scripts and tests
# run every container with --runtime runc.
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/sbin/debootstrap ] || command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)

if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Without this, runc fails to start containers on hosts where podman's default rlimits cannot be
# applied. Written only when the file does not exist: an administrator's own file is left alone.
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  $sudo mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = []\n' | $sudo tee "$conf" >/dev/null
fi

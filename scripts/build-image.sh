#!/usr/bin/env bash
# Builds the shoal image with podman, on a machine that reaches no image registry:
#
#   1. the base image localhost/node-base:test, a stand-in for node:*-bookworm-slim: a Debian
#      bookworm minbase root filesystem (debootstrap, cached as a tarball under .tools/) with this
#      machine's node and npm copied in and a `node` user (uid 1000), as the official image has.
#      Built only when absent or when this machine's node version changed.
#   2. localhost/shoal:test from the top-level Dockerfile with NODE_IMAGE set to that base; the
#      build's npm reaches the registry through this machine's CA bundle. podman's layer cache
#      makes a rebuild with unchanged sources quick.
#
# Usage: scripts/build-image.sh [IMAGE]   (default localhost/shoal:test)
# Needs root, podman, runc and debootstrap (scripts/install-test-tools.sh installs them).
# Prints timings of each step on stderr.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
image="${1:-localhost/shoal:test}"
base_image="${NODE_BASE_IMAGE:-localhost/node-base:test}"
suite=bookworm
tools="$root/.tools"
rootfs_tar="$tools/debootstrap-$suite-minbase-$(dpkg --print-architecture).tar"
# crun fails on hybrid cgroup hosts; runc works everywhere podman does.
podman=(podman --runtime runc)

log() { echo "build-image: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$tools"
# Scratch directories (a root filesystem each), removed however the script ends.
scratch=()
trap 'rm -rf "${scratch[@]}" "$rootfs_tar.partial"' EXIT
# One build at a time: a second caller waits, then finds the base image and the layer cache.
exec 9>"$tools/build-image.lock"
flock 9

node_bin="$(command -v node)"
node_version="$("$node_bin" --version)"

base_version() {
  "${podman[@]}" image inspect --format '{{index .Labels "org.shoal.node-version"}}' \
    "$base_image" 2>/dev/null || true
}

build_rootfs_tar() {
  local started dir
  started="$(now)"
  dir="$(mktemp -d "$tools/rootfs.XXXXXX")"
  scratch+=("$dir" "$dir.log")
  log "debootstrap --variant=minbase $suite (first run only; cached in $rootfs_tar)"
  if ! debootstrap --variant=minbase "$suite" "$dir" >"$dir.log" 2>&1; then
    tail -n 30 "$dir.log" >&2
    return 1
  fi
  # Downloaded packages and package lists are not needed in an image; leave them out.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  # Written to a temporary name and renamed, so an interrupted run never leaves half a tarball.
  tar --numeric-owner -C "$dir" -cf "$rootfs_tar.partial" .
  mv -f "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$dir" "$dir.log"
  log "debootstrap: $(since "$started") s"
}

build_base_image() {
  local started dir npm_dir
  started="$(now)"
  if [ ! -s "$rootfs_tar" ]; then build_rootfs_tar; fi
  dir="$(mktemp -d "$tools/base.XXXXXX")"
  scratch+=("$dir")
  tar --numeric-owner -C "$dir" -xf "$rootfs_tar"

  # What node:*-slim trims: documentation, manuals, translations and apt's package lists.
  rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin

  # node where the official image has it; npm beside it, started by small wrappers.
  install -m 0755 "$node_bin" "$dir/usr/local/bin/node"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$dir/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$dir/usr/local/lib/node_modules/npm"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' \
      "$tool" >"$dir/usr/local/bin/$tool"
    chmod 0755 "$dir/usr/local/bin/$tool"
  done

  # The official image's unprivileged user.
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$dir/etc/passwd"
  echo 'node:x:1000:' >>"$dir/etc/group"
  echo 'node:*:19000:0:99999:7:::' >>"$dir/etc/shadow"
  install -d -o 1000 -g 1000 -m 0755 "$dir/home/node"

  tar --numeric-owner -C "$dir" -c . | "${podman[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change "LABEL org.shoal.node-version=$node_version" \
    --change 'CMD ["node"]' \
    - "$base_image" >/dev/null
  log "base image $base_image (node $node_version): $(since "$started") s"
}

if [ "$(base_version)" != "$node_version" ]; then
  build_base_image
else
  log "base image $base_image (node $node_version) present"
fi

started="$(now)"
old_id="$("${podman[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
build_args=(--build-arg "NODE_IMAGE=$base_image")
mounts=()
if [ -r "$ca_bundle" ]; then
  build_args+=(--build-arg "NODE_EXTRA_CA_CERTS=$ca_bundle")
  mounts+=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
fi
"${podman[@]}" build --network=host "${mounts[@]}" "${build_args[@]}" \
  --tag "$image" --file "$root/Dockerfile" "$root" >&2
new_id="$("${podman[@]}" image inspect --format '{{.Id}}' "$image")"
# The image this build replaced is untagged now; remove it unless a container still uses it.
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  "${podman[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi
log "image $image: $(since "$started") s"

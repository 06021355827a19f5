#!/usr/bin/env bash
# Installs helm into .tools/bin (what the chart tests and scripts/render-deploy.sh run), built
# from source with the Go toolchain, since the test machines reach the Go module proxy but no
# binary download site. Safe to run again: it returns at once when that version is there.
#
# The -X flags are the ones helm's own Makefile sets: without them `helm version` prints only
# "v3.16" and `.Capabilities.KubeVersion` falls back to v1.20 instead of the Kubernetes version
# the client libraries were built for.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.16.4}"
# helm v3.16 is built against k8s.io/client-go v0.31, i.e. Kubernetes 1.31.
KUBE_VERSION_MAJOR=1
KUBE_VERSION_MINOR=31

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
helm="$bin/helm"

if [ -x "$helm" ] && [ "$("$helm" version --template '{{.Version}}' 2>/dev/null || true)" = "$HELM_VERSION" ]; then
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: the Go toolchain (go) is needed to build helm $HELM_VERSION" >&2
  exit 1
fi

echo "install-helm: building helm $HELM_VERSION into $bin (takes a few minutes the first time)" >&2
mkdir -p "$bin"
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags+=" -X $pkg.k8sVersionMajor=$KUBE_VERSION_MAJOR -X $pkg.k8sVersionMinor=$KUBE_VERSION_MINOR"
done
# Build into a temporary directory and move into place, so an interrupted build never leaves
# a half-written binary behind.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" CGO_ENABLED=0 go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mv -f "$tmp/helm" "$helm"
"$helm" version --short

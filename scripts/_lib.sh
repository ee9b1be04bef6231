# shellcheck shell=bash
# Helpers shared by scripts/test.sh and scripts/install-helm.sh. Source it; do not run it.
#
# Why a library: both scripts need "install these Debian packages if their binaries are
# missing", and apt must be updated at most once per run and must survive another process
# holding the dpkg lock (engineers and CI run the suite concurrently on one machine).

REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TOOLS_DIR="$REPO_ROOT/.tools"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# Run as root, or through sudo when we are not root (a developer laptop).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

# Retry an apt-get command while another process holds the apt/dpkg lock; any other
# failure is reported at once with apt's own output.
apt_retry() {
    local out attempt
    for attempt in $(seq 1 20); do
        if out=$(as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1); then
            return 0
        fi
        if grep -qiE 'could not get lock|unable to lock|is held by process|dpkg was interrupted' <<<"$out"; then
            if grep -qi 'dpkg was interrupted' <<<"$out"; then
                as_root env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >&2 || true
            fi
            log "apt is busy (attempt $attempt), waiting..."
            sleep 5
            continue
        fi
        printf '%s\n' "$out" >&2
        return 1
    done
    log "gave up waiting for the apt lock"
    return 1
}

# apt_install PACKAGE... — install packages; `apt-get update` runs at most once per run
# (APT_UPDATED is exported, so scripts started from this one skip it too).
apt_install() {
    log "installing Debian packages: $*"
    if [ "${APT_UPDATED:-0}" != 1 ]; then
        apt_retry update -q
        export APT_UPDATED=1
    fi
    # Packages such as prometheus-pushgateway start a system service from their postinst.
    # Tests start their own instances, so forbid that the standard Debian way (policy-rc.d
    # exiting 101) unless the machine already has a policy (Docker images ship one).
    local made_policy=0 rc=0
    if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt_retry install -y -q --no-install-recommends "$@" || rc=$?
    if [ "$made_policy" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    return "$rc"
}

# ensure_apt BINARY:PACKAGE... — install the packages whose binaries are missing.
ensure_apt() {
    local pair bin pkg missing=()
    for pair in "$@"; do
        bin="${pair%%:*}"
        pkg="${pair#*:}"
        if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/bin/$bin" ] && [ ! -x "/usr/sbin/$bin" ]; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

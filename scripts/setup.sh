# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: install what the project needs when it is
# missing (Debian packages, helm, the package with its test extra), then leave PYTHON and PATH
# set. Every step is skipped when already satisfied.
#
# Environment: PYTHON (default python3) selects the interpreter.

# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
cd "$REPO_ROOT"
mkdir -p "$TOOLS_DIR"

# One setup at a time on this machine: engineers and CI may start the suite concurrently,
# and two pip installs into one site-packages would trip over each other.
exec 9>"$TOOLS_DIR/setup.lock"
flock 9

# --- Debian packages (binary:package) ------------------------------------------------------
ensure_apt \
    docker-registry:docker-registry \
    skopeo:skopeo \
    htpasswd:apache2-utils \
    git:git \
    tmux:tmux \
    openssl:openssl \
    prometheus-pushgateway:prometheus-pushgateway

# --- helm --------------------------------------------------------------------------------
"$REPO_ROOT/scripts/install-helm.sh" >/dev/null
export PATH="$TOOLS_DIR/bin:$PATH"

# --- Python ------------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    ensure_apt python3:python3
    PYTHON=python3
fi
# Debian's own python3 refuses `pip install` into the system (PEP 668). Then use a venv in
# <repo>/.venv (gitignored); pyenv or an already activated venv are used as they are.
if "$PYTHON" - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)
PY
then
    if [ ! -x "$REPO_ROOT/.venv/bin/python" ]; then
        # Debian splits ensurepip into python3-venv; its absence shows only as a failed venv.
        "$PYTHON" -m venv "$REPO_ROOT/.venv" 2>/dev/null || {
            rm -rf "$REPO_ROOT/.venv"
            apt_install python3-venv
            "$PYTHON" -m venv "$REPO_ROOT/.venv"
        }
    fi
    PYTHON="$REPO_ROOT/.venv/bin/python"
    export PATH="$REPO_ROOT/.venv/bin:$PATH"
fi

stamp="$TOOLS_DIR/pip-install.stamp"
interp="$("$PYTHON" -c 'import sys; print(sys.executable)')"
# The editable install must point at THIS checkout: CI runs from a fresh clone elsewhere and
# re-points the shared site-packages, so check from outside the tree (cwd would shadow it).
installed_here() {
    (cd / && "$PYTHON" -c 'import os, sys, mirror, pytest
sys.exit(os.path.realpath(os.path.dirname(mirror.__file__)) != os.path.realpath(sys.argv[1]))' \
        "$REPO_ROOT/mirror") >/dev/null 2>&1
}
if ! installed_here \
    || [ ! -f "$stamp" ] \
    || [ pyproject.toml -nt "$stamp" ] \
    || [ "$(cat "$stamp")" != "$interp" ]; then
    log "installing the project and its test dependencies with $interp"
    "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'
    printf '%s\n' "$interp" >"$stamp"
fi

flock -u 9
exec 9>&-


#!/usr/bin/env bash
# The main job, end to end, on this machine with nothing but this repository: installs what
# is missing, starts two loopback registries and a local GitHub API, then runs
# `discover --apply`, `sync` (live dashboard on a terminal) and `compare` on the example
# images-list and config.json (copied to .demo/). See scripts/demo.py.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec "$PYTHON" "$REPO_ROOT/scripts/demo.py" "$@"

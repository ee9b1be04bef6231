#!/usr/bin/env bash
# THE test command: install whatever the suite needs, then run pytest.
#
#   scripts/test.sh                      # whole suite
#   scripts/test.sh -q tests/unit        # any pytest arguments pass through
#
# Why it installs things: tests use the real components (CNCF distribution registry, skopeo,
# htpasswd, openssl, helm, git, tmux, pushgateway) rather than fakes, and a fresh Debian 12
# machine (CI included) has none of them. Every step is skipped when already satisfied, so
# a warm run costs well under a second before pytest starts.
#
# Environment: PYTHON (default python3) selects the interpreter (see scripts/setup.sh).
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

exec "$PYTHON" -m pytest "$@"

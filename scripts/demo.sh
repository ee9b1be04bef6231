#!/usr/bin/env bash
# The main job, end to end, on this machine with nothing but this repository.
# (Grows into the full local-registry demo: discover --apply, sync, compare.)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import mirror' 2>/dev/null || [ pyproject.toml -nt .tools/.installed ]; then
  python3 -m pip install -q -e . && mkdir -p .tools && touch .tools/.installed
fi
image-mirror validate
image-mirror sort --check

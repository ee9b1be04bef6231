"""Where the shared Rancher data lives: ``shared/data`` beside the repository (CI lays a copy
there too). Read it from there; never copy it into the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("IMAGE_MIRROR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
REAL_LIST = SHARED_DATA / "rancher-images-list-2024-12.txt"
REAL_CONFIG = SHARED_DATA / "rancher-config-2024-12.json"
RANCHER_2026 = SHARED_DATA / "rancher-2026-02"
REAL_ARTIFACTS = RANCHER_2026 / "config.yaml"
REAL_REGSYNC = RANCHER_2026 / "regsync.yaml"
REAL_AUTOUPDATE = RANCHER_2026 / "autoupdate.yaml"

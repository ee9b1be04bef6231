"""A run's first command loads its modules with no garbage collection, then freezes them."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import gc, io, json, contextlib
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
import mirror.cli
before = len(collections)
with contextlib.redirect_stdout(io.StringIO()):
    code = mirror.cli.main(["discover", "--help"])  # loads the discover command's modules
print(json.dumps({"code": code, "during": len(collections) - before, "enabled": gc.isenabled(),
                  "frozen": gc.get_freeze_count(), "loaded": "mirror.runtime" in __import__("sys").modules}))
"""


def test_the_command_modules_load_without_collections_and_are_frozen_after() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0 and seen["loaded"]  # the heavy modules did load...
    assert seen["during"] == 0  # ...with no collection while they did (without the guard: dozens)
    assert seen["enabled"] and seen["frozen"] > 10_000  # collections are back; what loaded is frozen

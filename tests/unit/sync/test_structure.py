"""The engine's shape, held by a test: small modules, and a scheduler that knows only the
public faces of the registry client and the copiers (so either can change behind them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mirror

PACKAGE = Path(mirror.__file__).parent
ENGINE = sorted([*PACKAGE.glob("pipeline/*.py"), *PACKAGE.glob("copy/*.py")])
LIMIT = 300


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_engine_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{path.relative_to(PACKAGE)} has {lines} lines (engine modules stay under {LIMIT})"


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from X import name`` in ``path``, X resolved from the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module or "")))
            found.extend((module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, "") for alias in node.names)
    return found


def test_the_scheduler_imports_nothing_private_from_registry_or_copy() -> None:
    imports = _imports(PACKAGE / "pipeline" / "sync.py")
    assert imports, "no imports parsed"
    offending = [
        f"{module}.{name}" for module, name in imports
        if module.startswith(("mirror.registry", "mirror.copy"))
        and (name.startswith("_") or any(part.startswith("_") for part in module.split(".")))
    ]
    assert offending == []
    # It does use both, through their public names.
    assert {m for m, _ in imports} >= {"mirror.copy", "mirror.registry.client"}

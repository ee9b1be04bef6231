"""The architecture's rule, checked over the source tree: all HTTP goes through ``mirror/transport/``.

One ``aiohttp.ClientSession(`` in ``mirror/`` (the run's one session), and errors built from an
HTTP status in one function only (:func:`mirror.transport.status.status_error`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from mirror import errors

MIRROR = Path(__file__).resolve().parents[3] / "mirror"
SESSION_MODULE = "transport/session.py"
STATUS_MODULE = "transport/status.py"
ERROR_TYPES = frozenset(errors.__all__)


def sources() -> dict[str, str]:
    return {str(path.relative_to(MIRROR)): path.read_text(encoding="utf-8") for path in sorted(MIRROR.rglob("*.py"))}


def test_one_client_session_is_made_in_mirror() -> None:
    makers = {name: text.count("aiohttp.ClientSession(") for name, text in sources().items()}
    made = {name for name, count in makers.items() if count}
    assert makers[SESSION_MODULE] == 1
    assert made == {SESSION_MODULE}


def _status_errors(tree: ast.AST) -> list[int]:
    """Lines where a mirror error is constructed with a ``status=`` that is not a literal."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in ERROR_TYPES:
            continue
        if any(k.arg == "status" and not isinstance(k.value, ast.Constant) for k in node.keywords):
            lines.append(node.lineno)
    return lines


def test_only_the_status_function_builds_errors_from_a_status_code() -> None:
    found = {name: _status_errors(ast.parse(text)) for name, text in sources().items()}
    builders = {name for name, lines in found.items() if lines}
    assert builders == {STATUS_MODULE}
    status_module = ast.parse(sources()[STATUS_MODULE])
    public = [n.name for n in status_module.body if isinstance(n, ast.FunctionDef) and _status_errors(n)]
    private = {n.name for n in status_module.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_")}
    assert set(public) - private <= {"status_error", "quota_exhausted"}
    callers = {name for name, text in sources().items() if "status_error(" in text}
    assert "github.py" not in callers and "registry/client.py" not in callers
    assert sum(text.count("def status_error(") for text in sources().values()) == 1


def test_no_module_outside_the_transport_sends_with_the_session() -> None:
    senders = {name for name, text in sources().items() if ".session.request(" in text or "session.get(" in text}
    assert senders <= {"transport/core.py"}

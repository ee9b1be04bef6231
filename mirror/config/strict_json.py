"""config.json read as strict JSON: what Python's ``json`` accepts and JSON does not, or
silently resolves, becomes a problem naming the entry and field.

* a key given twice in one object (``json.load`` would keep the last one; the seed's own
  example had two ``longhorn`` keys);
* ``NaN`` / ``Infinity``, numbers out of range, integers of more than :data:`MAX_DIGITS` digits;
* nesting deeper than :data:`~mirror.userfile.NESTING_LIMIT` (checked without recursion).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import ConfigError
from ..userfile import NESTING_LIMIT, quote
from ..value import frozen

__all__ = ["MAX_DIGITS", "load_json", "location"]

MAX_DIGITS = 100


class _Object(dict):  # type: ignore[type-arg]
    duplicates: list[str]


@frozen
class _Rejected:
    """Stands in for a JSON value the file may not hold (``NaN``, a 5000-digit number), so
    the walk can name the entry and field it was found in."""

    reason: str


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = _Object()
    result.duplicates = []
    for key, value in pairs:
        if key in result:
            result.duplicates.append(key)
        else:
            result[key] = value
    return result


def _constant(name: str) -> _Rejected:
    return _Rejected(f"{name} is not valid JSON (JSON numbers are finite)")


def _integer(text: str) -> int | _Rejected:
    if len(text) > MAX_DIGITS:
        return _Rejected(f"a number of {len(text)} digits is too long")
    return int(text)


def _float(text: str) -> float | _Rejected:
    value = float(text)
    if not math.isfinite(value):
        return _Rejected(f"the number {quote(text)} is out of range")
    return value


def location(where: list[str]) -> str:
    if not where:
        return "the top level"
    if len(where) == 1:
        return f"entry {quote(where[0])}"
    return f"entry {quote(where[0])} field {quote('.'.join(where[1:]))}"


def structure_problems(data: Any, path: str) -> list[str]:
    """Nesting too deep, keys given twice and rejected values, in document order.

    Iterative, so a deep document cannot exhaust the stack here; the depth limit then keeps
    the rest of the parser's (recursive) code safe too.
    """
    found: list[str] = []
    stack: list[tuple[Any, list[str], int]] = [(data, [], 1)]
    while stack:
        value, where, depth = stack.pop()
        if depth > NESTING_LIMIT:
            return [f"{path}: nested more than {NESTING_LIMIT} levels deep"]
        if isinstance(value, _Rejected):
            found.append(f"{path}: {location(where)}: {value.reason}")
        elif isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                if not where:
                    found.append(f"{path}: key {quote(key)} appears more than once")
                else:
                    found.append(f"{path}: {location([*where, key])}: appears more than once")
            stack.extend((child, [*where, key], depth + 1) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((child, where, depth + 1) for child in reversed(value))
    return found


def load_json(text: str, path: str) -> Any:
    """The document in ``text``; every structural problem raised at once as :class:`ConfigError`."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_constant,
                          parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: nested more than {NESTING_LIMIT} levels deep"]) from None
    problems = structure_problems(data, path)
    if problems:
        raise ConfigError(problems)
    return data

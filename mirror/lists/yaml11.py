"""What go-yaml v2 (YAML 1.1) reads an untagged plain scalar as.

Two users: the formatter (:mod:`mirror.lists.goyaml`) must double-quote a string exactly when
go-yaml would read it back as something else (``3.10`` a float, ``yes`` a bool, ``0755`` an
int, ``2024-01-02`` a timestamp, ``1:20`` a base-60 float), and the reader
(:mod:`mirror.lists.artifacts_read`) reads bools and ints the way Rancher's Go code does. The
rules are go-yaml v2.4's ``resolve`` (its table of hints, ``strconv.ParseInt(s, 0, 64)``,
``ParseFloat`` that fails on overflow, ``time.Parse`` with its four timestamp layouts), not
PyYAML's, which differ (PyYAML has no ``y``/``n`` bools, reads ``1e400`` as a float). Pure.
"""

from __future__ import annotations

import math
import re

__all__ = ["is_base60_float", "resolve"]

_BOOL = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF".split()
)
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_SPECIAL_FLOAT = frozenset(
    ".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()
)
_MAP_HINT = frozenset("yYnNtTfFoO~")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?\Z")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_CLOCK = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?"
_TIMESTAMPS = (
    re.compile(_DATE + r"\Z"),
    re.compile(_DATE + r" " + _CLOCK + r"\Z"),
    re.compile(_DATE + r"[Tt]" + _CLOCK + r"(?:Z|[-+]([0-9]{2}):([0-9]{2}))\Z"),
)
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_BINARY = re.compile(r"[-+]?[01]+\Z")
_INT64 = 1 << 63


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _is_timestamp(text: str) -> bool:
    """go-yaml's ``parseTimestamp``: Go's ``time.Parse`` with its four layouts, ranges checked."""
    for pattern in _TIMESTAMPS:
        match = pattern.match(text)
        if match is None:
            continue
        year, month, day, *clock = (int(group) for group in match.groups() if group is not None)
        if not 1 <= month <= 12 or not 1 <= day <= _days_in(month, year):
            return False
        if clock and (clock[0] > 23 or clock[1] > 59 or clock[2] > 59):
            return False
        return len(clock) < 5 or (clock[3] <= 24 and clock[4] <= 60)
    return False


def _is_go_int(text: str) -> bool:
    """``strconv.ParseInt(s, 0, 64)`` or, failing that, ``ParseUint(s, 0, 64)`` succeeds."""
    if not _GO_INT.match(text):
        return False
    value = int(text, 8) if re.match(r"[-+]?0[0-7]", text) else int(text, 0)
    return -_INT64 <= value < _INT64 or (text[0] not in "+-" and value < 2 * _INT64)


def _is_binary(text: str) -> bool:
    """go-yaml's ``0b`` / ``-0b`` fallbacks after ``ParseInt``: the rest parses in base 2."""
    if text.startswith("0b"):
        rest = text[2:]
    elif text.startswith("-0b"):
        rest = "-" + text[3:]
    else:
        return False
    if not _BINARY.match(rest):
        return False
    value = int(rest, 2)
    return -_INT64 <= value < _INT64 or (rest[0] not in "+-" and value < 2 * _INT64)


def _is_float(text: str) -> bool:
    return math.isfinite(float(text))


def resolve(text: str) -> str:
    """The tag go-yaml v2 gives ``text`` as an untagged plain scalar: ``str``, ``bool``, ``int``,
    ``float``, ``null``, ``timestamp`` or ``merge`` (its ``resolve("", text)``)."""
    hint = text[:1]
    if hint == "":
        return "null"
    if not (hint in _MAP_HINT or hint in "+-." or hint.isdigit() and hint.isascii()):
        return "str"
    if text in _BOOL:
        return "bool"
    if text in _NULL:
        return "null"
    if text in _SPECIAL_FLOAT:
        return "float"
    if hint in _MAP_HINT:
        return "str"
    if hint == ".":
        return "float" if _DOT_FLOAT.match(text) and _is_float(text.replace("_", "")) else "str"
    if _is_timestamp(text):
        return "timestamp"
    plain = text.replace("_", "")
    if _is_go_int(plain) or _is_binary(plain):
        return "int"
    if _YAML_FLOAT.match(plain) and _is_float(plain):
        return "float"
    return "str"


def is_base60_float(text: str) -> bool:
    """go-yaml's ``isBase60Float``: not resolved any more, but still quoted on the way out."""
    return ":" in text and _BASE60.match(text) is not None

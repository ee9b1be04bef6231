"""Emit YAML exactly as Go's ``sigs.k8s.io/yaml`` over go-yaml v2 does.

Rancher's pull-request checks re-format ``config.yaml`` with ``sigs.k8s.io/yaml`` and fail on
any difference, so "close enough" YAML is not enough: this module reproduces go-yaml v2.4's
choices byte for byte for the shapes those files have (mappings, sequences, strings, bools,
ints, null):

* keys sorted with go-yaml's ``keyList`` order (letters by code point, digit runs by value);
* two-space indent, a sequence under a key not indented (``key:\\n- item``), empty
  collections as ``[]`` / ``{}``, no line wrapping (go-yaml >= 2.3 never wraps);
* a string plain when go-yaml's resolver reads it back as a string *and* libyaml's scalar
  analysis allows it plain; double-quoted when it would resolve to something else (bool,
  int, float, null, timestamp, a base-60 float); single-quoted when it cannot be plain (an
  indicator such as ``{`` or ``- `` at the start, ``: `` or `` #`` inside, edge spaces);
  double-quoted with escapes when it holds characters libyaml will not print raw.

:func:`resolve` is also the reader's rule for plain scalars in bool and int fields, so a
file means to us what it means to Rancher's Go code. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Union

__all__ = ["Node", "dump", "go_key_less", "quote", "resolve"]

#: A value go-yaml can emit here: what ``json.Marshal`` of Rancher's structs decodes to.
Node = Union[str, bool, int, None, Sequence["Node"], Mapping[str, "Node"]]

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
_BREAKS = "\n\r\x85\u2028\u2029"


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


def _is_base60_float(text: str) -> bool:
    return ":" in text and _BASE60.match(text) is not None


def _printable(char: str) -> bool:
    """libyaml's ``is_printable`` as go-yaml ports it (astral code points count as not)."""
    code = ord(char)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


def _styles_allowed(text: str) -> tuple[bool, bool]:
    """libyaml's ``analyze_scalar`` in block context: (plain allowed, single quotes allowed)."""
    if text == "":
        return True, True
    indicators = text.startswith(("---", "..."))
    special = leading = trailing = False
    for index, char in enumerate(text):
        after = text[index + 1 : index + 2]
        followed_by_space = after in ("", " ", "\t", "\n", "\r")
        if index == 0:
            if char in "#,[]{}&*!|>'\"%@`" or char in "?:-" and followed_by_space:
                indicators = True
        elif char == ":" and followed_by_space or char == "#" and text[index - 1] in " \t":
            indicators = True
        if not _printable(char):
            special = True
        if char == " " and index == 0:
            leading = True
        if char == " " and index == len(text) - 1:
            trailing = True
    if special:
        return False, False
    return not (indicators or leading or trailing), True


def quote(text: str) -> str:
    """``text`` as go-yaml v2 writes a string value: plain, ``'single'`` or ``"double"``.

    Line breaks are refused (``ValueError``): go-yaml writes those as literal blocks, which
    nothing here needs, since the readers reject line breaks inside values.
    """
    if any(char in _BREAKS for char in text):
        raise ValueError(f"cannot emit a string with a line break as go-yaml does: {text!r}")
    plain_ok, single_ok = _styles_allowed(text)
    if resolve(text) != "str" or _is_base60_float(text):
        return _double(text)
    if plain_ok:
        return text
    if single_ok:
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def _double(text: str) -> str:
    out = []
    for char in text:
        if _printable(char) and char not in _ESCAPES:
            out.append(char)
            continue
        code = ord(char)
        if char in _ESCAPES:
            out.append("\\" + _ESCAPES[char])
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def go_key_less(a: str, b: str) -> bool:
    """go-yaml v2's ``keyList.Less`` for string keys: letters by code point, before
    non-letters, and runs of digits compared by their numeric value."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        x_letter, y_letter = x.isalpha(), y.isalpha()
        if x_letter and y_letter:
            return x < y
        if x_letter or y_letter:
            return y_letter
        start = 0
        if x == "0" or y == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    start = 1
                    break
                j -= 1
        a_end, a_num = _digits(a, i, start)
        b_end, b_num = _digits(b, i, start)
        if a_num != b_num:
            return a_num < b_num
        if a_end != b_end:
            return a_end < b_end
        return x < y
    return len(a) < len(b)


def _digits(text: str, begin: int, number: int) -> tuple[int, int]:
    end = begin
    while end < len(text) and text[end].isdecimal():
        number = number * 10 + int(text[end])
        end += 1
    return end, number


def _sorted_keys(mapping: Mapping[str, Node]) -> list[str]:
    keys: list[str] = []
    for key in mapping:  # insertion sort: a handful of keys, and keyList.Less is not a key function
        index = len(keys)
        while index > 0 and go_key_less(key, keys[index - 1]):
            index -= 1
        keys.insert(index, key)
    return keys


def _scalar(value: Node) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, Sequence) and not value:
        return "[]"
    return None


def _emit(value: Node, indent: str, out: list[str]) -> None:
    """Append the block lines of a non-empty mapping or sequence at ``indent``."""
    if isinstance(value, Mapping):
        for key in _sorted_keys(value):
            item = value[key]
            scalar = _scalar(item)
            if scalar is not None:
                out.append(f"{indent}{quote(key)}: {scalar}")
            else:
                out.append(f"{indent}{quote(key)}:")
                # A sequence under a key is not indented; a mapping is.
                _emit(item, indent + "  " if isinstance(item, Mapping) else indent, out)
        return
    assert isinstance(value, Sequence) and not isinstance(value, str)
    for item in value:
        scalar = _scalar(item)
        if scalar is not None:
            out.append(f"{indent}- {scalar}")
            continue
        # A collection in a sequence starts on the dash's line, the rest indented under it.
        nested: list[str] = []
        _emit(item, indent + "  ", nested)
        out.append(f"{indent}- {nested[0][len(indent) + 2 :]}")
        out.extend(nested[1:])


def dump(value: Node) -> str:
    """One YAML document as ``yaml.Marshal`` writes it (no ``---``, final newline)."""
    scalar = _scalar(value)
    if scalar is not None:
        return scalar + "\n"
    out: list[str] = []
    _emit(value, "", out)
    return "\n".join(out) + "\n"

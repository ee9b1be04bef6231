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

The resolver lives in :mod:`mirror.lists.yaml11`. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

from .yaml11 import is_base60_float, resolve

__all__ = ["Node", "dump", "go_key_less", "quote"]

_BREAKS = "\n\r\x85\u2028\u2029"

#: A value go-yaml can emit here: what ``json.Marshal`` of Rancher's structs decodes to.
Node = Union[str, bool, int, None, Sequence["Node"], Mapping[str, "Node"]]


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
    if resolve(text) != "str" or is_base60_float(text):
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

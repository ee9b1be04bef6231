"""Reading a file the user wrote (config.json, the registries file) without trusting it.

A hand-edited file can be anything: not UTF-8, a smuggled bidi control in a comment, a
10 MB line, a nesting bomb. The readers turn each into one short message naming the file,
line and column (exit 2), never a traceback or a message as long as the input:

* :func:`read_text` decodes strictly and names the line and column of the first byte that is
  not UTF-8 (Python's own error gives a byte offset no editor shows).
* :func:`forbidden_characters` applies :func:`mirror.text.first_forbidden` to every line.
  Lines end at ``\\n`` only (a ``\\r`` before it is allowed), so the line numbers are the ones
  ``grep -n`` and an editor show, whatever U+2028 or form feed the text holds.
* :func:`long_lines` bounds the line length of YAML files, whose pure-Python parser takes
  seconds per megabyte: a settings file has no business with a 10 MB line.
* :func:`quote` is how a user's value appears in a message: escaped and cut by
  :func:`mirror.text.excerpt`.

:class:`UserFileError` is not a :class:`~mirror.errors.MirrorError`: each reader wraps its
``problems`` in its own typed error (``ConfigError``, ``RegistriesFileError``).
"""

from __future__ import annotations

import reprlib
from pathlib import Path

from .text import excerpt, first_forbidden

__all__ = [
    "MAX_LINE",
    "MAX_PROBLEMS",
    "NESTING_LIMIT",
    "UserFileError",
    "decode_strict",
    "forbidden_characters",
    "long_lines",
    "quote",
    "read_bytes",
    "read_text",
]

# Enough to see a pattern; a file full of control characters must not print a line per line.
MAX_PROBLEMS = 20
# Deeper than any real config or registries file, far below Python's recursion limit.
NESTING_LIMIT = 64
# Far longer than any host, URL or path in a YAML settings file.
MAX_LINE = 4096

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 200


class UserFileError(ValueError):
    """Problems reading a user's file, each ``path[:line:column]: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def read_text(path: str | Path) -> str:
    """The file's text, decoded as strict UTF-8 (blocking)."""
    return decode_strict(read_bytes(path), str(path))


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes (blocking); a missing or unreadable file is one problem naming it."""
    name = str(path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserFileError([f"{name}: cannot read: file not found"]) from None
    except OSError as exc:
        raise UserFileError([f"{name}: cannot read: {exc.strerror or type(exc).__name__}"]) from None


def decode_strict(data: bytes, name: str) -> str:
    """``data`` as UTF-8; the first byte that is not is a problem naming its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line_start = before.rfind(b"\n") + 1
        line = before.count(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        raise UserFileError(
            [f"{name}:{line}:{column}: not UTF-8 text (byte 0x{data[exc.start]:02x})"]
        ) from None


def forbidden_characters(text: str, path: str) -> list[str]:
    """One ``path:line:column`` problem per line holding a forbidden character (at most
    :data:`MAX_PROBLEMS`, then a count of the rest)."""
    problems: list[str] = []
    more = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        found = first_forbidden(line.removesuffix("\r"))
        if found is None:
            continue
        if len(problems) == MAX_PROBLEMS:
            more += 1
            continue
        column, name = found
        problems.append(f"{path}:{lineno}:{column}: character {name} is not allowed "
                        "(control, line separator, byte-order mark or bidi control)")
    if more:
        problems.append(f"{path}: {more} more line(s) with such characters")
    return problems


def long_lines(text: str, path: str, limit: int = MAX_LINE) -> list[str]:
    """A ``path:line`` problem for the first line longer than ``limit`` characters, if any."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        if len(line) > limit:
            return [f"{path}:{lineno}: line is {len(line)} characters long (at most {limit})"]
    return []


def quote(value: object) -> str:
    """A user's value for a message: a string quoted, escaped and cut; anything else a
    bounded repr."""
    if isinstance(value, str):
        return f"'{excerpt(value)}'"
    return excerpt(_REPR.repr(value))

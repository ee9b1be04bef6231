"""Untrusted text: what a user's file may not contain, and how outside text is shown.

Two rules, one table of characters:

* **Files the user supplies** (images-list, config.json, config.yaml, autoupdate.yaml, the
  registries file) may not carry invisible or terminal-steering characters in their entries:
  C0 controls other than tab, DEL, C1 controls, the Unicode line/paragraph separators, the
  byte-order mark and the bidi controls. Such a character can make a line look like a comment
  in review while a tool reads an entry in it ("trojan source"), so :func:`first_forbidden`
  finds it and the reader fails with the line and column.
* **Text from outside** (a registry's error body, GitHub's ``message``, a tag, an exception) is
  data. Before it reaches a terminal or Markdown, :func:`escape` turns the same characters (and
  every C0 control, tab included) into visible escapes such as ``\\x1b`` or ``\\u2028``, so a
  server cannot retitle the window, clear the screen or hide text. :func:`excerpt` also bounds
  the length, so a 10 MB line gives a short message.

Pure functions, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["escape", "excerpt", "first_forbidden", "is_forbidden"]

# Bidi embedding/override/isolate controls and the marks that steer display order.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SEPARATORS = "\u2028\u2029\ufeff"

# Forbidden in a user's file: C0 except tab, DEL, C1, separators, BOM, bidi controls.
_FORBIDDEN_IN_FILES = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}]")
# Escaped on output: every C0 (tab too), DEL, C1, separators, BOM, bidi controls.
_ESCAPED = re.compile(f"[\x00-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}]")
_ESCAPED_MULTILINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}]")

EXCERPT_LIMIT = 120


def is_forbidden(char: str) -> bool:
    """True for a character no entry of a user's file may contain."""
    return _FORBIDDEN_IN_FILES.match(char) is not None


def first_forbidden(text: str) -> tuple[int, str] | None:
    """The 1-based column and the escaped name of the first forbidden character, or None.

    ``text`` is one line without its line ending (``\\n``, or ``\\r\\n`` already removed).
    """
    match = _FORBIDDEN_IN_FILES.search(text)
    if match is None:
        return None
    return match.start() + 1, _visible(match.group())


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control, separator and bidi character shown as an escape.

    ``multiline`` keeps ``\\n`` (a multi-line error body stays readable); everything else that
    could steer a terminal becomes ``\\xNN`` / ``\\uNNNN``.
    """
    pattern = _ESCAPED_MULTILINE if multiline else _ESCAPED
    return pattern.sub(lambda m: _visible(m.group()), text)


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """``text`` escaped and cut to ``limit`` characters, then ``… (N bytes)`` for the whole.

    For quoting a user's line or a server's body in a message: the message stays short
    whatever the input, and says how long the input really was.
    """
    if len(text) <= limit:
        return escape(text)
    size = len(text.encode("utf-8", "surrogatepass"))
    return f"{escape(text[:limit])}… ({size} bytes)"

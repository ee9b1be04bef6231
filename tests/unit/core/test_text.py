"""The untrusted-text rules: what a user's file may not contain, how outside text is shown."""

from __future__ import annotations

import pytest

from mirror.text import escape, excerpt, first_forbidden


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("flannel/flannel rancher/mirrored-flannel-flannel v0.25.1", None),
        ("a\tb c", None),  # tab separates fields
        ("# comment\u2028a b c", (10, "\\u2028")),
        ("a b c\x1b[2J", (6, "\\x1b")),
        ("a b\u202e c", (4, "\\u202e")),
        ("\ufeffa b c", (1, "\\ufeff")),
        ("a b c\x85", (6, "\\x85")),
        ("a b c\x7f", (6, "\\x7f")),
        ("a\x0cb c", (2, "\\x0c")),
    ],
)
def test_first_forbidden_names_the_column(line: str, expected: tuple[int, str] | None) -> None:
    assert first_forbidden(line) == expected


def test_escape_makes_terminal_sequences_visible() -> None:
    hostile = "denied\x1b]0;X\x07\x1b[2J\u2028\u2066"
    shown = escape(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\u2028" not in shown
    assert shown == "denied\\x1b]0;X\\x07\\x1b[2J\\u2028\\u2066"


def test_escape_multiline_keeps_newlines_only() -> None:
    assert escape("a\nb\tc\r", multiline=True) == "a\nb\\x09c\\x0d"
    assert escape("a\nb") == "a\\x0ab"


def test_excerpt_bounds_a_huge_line() -> None:
    line = "x" * 10_000_000
    shown = excerpt(line)
    assert len(shown) < 200
    assert shown.endswith("… (10000000 bytes)")
    assert excerpt("short") == "short"

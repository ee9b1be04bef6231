"""go-yaml v2's scalar quoting, key order and block layout, on tables of cases."""

from __future__ import annotations

import pytest

from mirror.lists.goyaml import dump, go_key_less, quote
from mirror.lists.yaml11 import resolve

QUOTING = [
    # plain: resolves to a string and libyaml may write it bare
    ("v1.2.3", "v1.2.3"),
    ("3.10.0", "3.10.0"),
    ("1.0-rc1", "1.0-rc1"),
    ("a:b", "a:b"),
    ("a#b", "a#b"),
    ("-a", "-a"),
    ("it's", "it's"),
    ("tRue", "tRue"),
    ("2024-13-02", "2024-13-02"),  # not a date: month 13
    ("1e400", "1e400"),  # ParseFloat overflows, so go-yaml reads a string
    ("<<", "<<"),
    ("+", "+"),
    ("é", "é"),
    # double: a YAML 1.1 reader would take them for something else
    ("3.10", '"3.10"'),
    ("18.09", '"18.09"'),
    ("1e3", '"1e3"'),
    ("0755", '"0755"'),
    ("08", '"08"'),
    ("0x1F", '"0x1F"'),
    ("0b101", '"0b101"'),
    ("1_000", '"1_000"'),
    ("99999999999999999999", '"99999999999999999999"'),
    ("1:20", '"1:20"'),  # sexagesimal
    ("-1:20:30.5", '"-1:20:30.5"'),
    ("yes", '"yes"'),
    ("on", '"on"'),
    ("y", '"y"'),
    ("N", '"N"'),
    ("True", '"True"'),
    ("OFF", '"OFF"'),
    ("null", '"null"'),
    ("~", '"~"'),
    ("", '""'),
    (".5", '".5"'),
    (".inf", '".inf"'),
    ("-.Inf", '"-.Inf"'),
    ("2024-01-02", '"2024-01-02"'),
    ("2024-1-2 3:04:05", '"2024-1-2 3:04:05"'),
    ("2024-01-02T03:04:05Z", '"2024-01-02T03:04:05Z"'),
    # single: a string that cannot be plain
    ('{{ env "X" }}', "'{{ env \"X\" }}'"),
    ("- a", "'- a'"),
    ("-", "'-'"),
    ("a: b", "'a: b'"),
    ("a #b", "'a #b'"),
    (" x", "' x'"),
    ("x ", "'x '"),
    ("@x", "'@x'"),
    ("%x", "'%x'"),
    ("---x", "'---x'"),
    ("'q'", "'''q'''"),
    # double with escapes: characters libyaml does not print raw
    ("tab\there", '"tab\\there"'),
    ("\U0001f600", '"\\U0001F600"'),
    ("\ufeffx", '"\\uFEFFx"'),
    ('a"b\\\tc', '"a\\"b\\\\\\tc"'),
]


@pytest.mark.parametrize(("text", "expected"), QUOTING)
def test_quote_follows_go_yaml_v2(text: str, expected: str) -> None:
    assert quote(text) == expected


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("3.10", "float"), ("yes", "bool"), ("y", "bool"), ("0755", "int"), ("-12", "int"),
        ("+0x1f", "int"), ("", "null"), ("~", "null"), ("1:20", "str"), ("2006-01-02", "timestamp"),
        ("2006-02-30", "str"), ("v1", "str"), (".", "str"), ("Yes", "bool"), ("yES", "str"),
    ],
)  # fmt: skip
def test_resolve_is_go_yaml_v2s_plain_scalar_rule(text: str, tag: str) -> None:
    assert resolve(text) == tag


def test_line_breaks_are_refused_rather_than_written_differently_from_go() -> None:
    with pytest.raises(ValueError, match="line break"):
        quote("a\nb")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Tags", "TargetArtifactName"), ("RepoAuth", "ReqConcurrent"), ("a2", "a10"), ("1", "a"),
     ("B", "a"), ("ab", "abc"), ("x1", "x01")],
)  # fmt: skip
def test_key_order_is_go_yamls_key_list(a: str, b: str) -> None:
    """Letters by code point, non-letters before letters, digit runs by value."""
    assert go_key_less(a, b)
    assert not go_key_less(b, a)


def test_dump_layout_two_spaces_sequences_not_indented_empty_collections_inline() -> None:
    document = {
        "b": [{"x": "1", "a": []}, {"y": {"z": True}}, ["p", "q"]],
        "a": None,
        "c": {},
        "m": 3,
    }
    assert dump(document) == (
        "a: null\n"
        "b:\n"
        "- a: []\n"
        '  x: "1"\n'
        '- "y":\n'
        "    z: true\n"
        "- - p\n"
        "  - q\n"
        "c: {}\n"
        "m: 3\n"
    )


def test_keys_are_quoted_by_the_same_rule() -> None:
    assert dump({"n": 1, "3.10": 2}) == '"3.10": 2\n"n": 1\n'


def test_no_line_wrapping() -> None:
    long = "x" * 200 + " " + "y" * 200
    assert dump({"k": long}) == f"k: {long}\n"

"""Hostile config.json and registries files, as a user runs ``image-mirror validate``: exit 2,
one short message naming file, line and column (or entry/host and field), never a traceback.

Most cases run ``mirror.cli.main`` in-process (an escaping exception fails the test, and the
stderr it wrote is measured); the nesting bombs run ``python -m mirror`` in a subprocess, so
they meet the real interpreter's recursion limit, not pytest's deeper stack.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from mirror.cli import main

GOOD_CONFIG = {"pause": {"images": ["registry.k8s.io/pause"], "versionSource": "registry"}}
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Result:
    returncode: int
    stderr: str


def validate(tmp_path: Path, *, config: bytes | None = None, registries: bytes | None = None,
             in_subprocess: bool = False) -> Result:
    images_list = tmp_path / "images-list"
    images_list.write_text("# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n")
    config_path = tmp_path / "config.json"
    config_path.write_bytes(config if config is not None else json.dumps(GOOD_CONFIG).encode())
    argv = ["--log-format", "plain", "validate", "--images-list", str(images_list), "--config", str(config_path)]
    if registries is not None:
        (tmp_path / "registries.yaml").write_bytes(registries)
        argv += ["--registries", str(tmp_path / "registries.yaml")]
    if in_subprocess:
        done = subprocess.run([sys.executable, "-m", "mirror", *argv], capture_output=True, check=False,
                              text=True, timeout=120, errors="backslashreplace")
        return Result(done.returncode, done.stderr)
    stderr = io.StringIO()
    with redirect_stderr(stderr), redirect_stdout(io.StringIO()):
        code = main(argv)
    return Result(code, stderr.getvalue())


def assert_rejected(result: Result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len(result.stderr.encode()) < 4096, result.stderr[:2000]
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# ---- nesting bombs ------------------------------------------------------------------------


def test_deeply_nested_json_config(tmp_path: Path) -> None:
    result = validate(tmp_path, config=b"[" * 100_000, in_subprocess=True)
    assert_rejected(result, f"{tmp_path / 'config.json'}: nested more than 64 levels deep")


def test_nested_json_under_the_recursion_limit_is_still_refused(tmp_path: Path) -> None:
    deep = '{"x": {"versionSource": "registry", "images": ' + "[" * 500 + "]" * 500 + "}}"
    assert_rejected(validate(tmp_path, config=deep.encode(), in_subprocess=True), "config.json: nested more than 64 levels deep")


def test_deeply_nested_yaml_registries_file(tmp_path: Path) -> None:
    result = validate(tmp_path, registries=b"docker.io:\n  rate: " + (b"[" * 1000 + b"\n") * 100, in_subprocess=True)
    assert_rejected(result, f"{tmp_path / 'registries.yaml'}: invalid YAML: nested too deeply")


# ---- NaN, infinity, negative --------------------------------------------------------------


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "-1", "0", "1e400"])
def test_registries_rate_must_be_a_finite_positive_number(tmp_path: Path, value: str) -> None:
    result = validate(tmp_path, registries=f"quay.io:\n  rate: {value}\n".encode())
    assert_rejected(result, "registries.yaml: host 'quay.io' field 'rate' must be a finite number > 0")


def test_registries_concurrency_huge_or_nan(tmp_path: Path) -> None:
    result = validate(tmp_path, registries=b"quay.io:\n  concurrency: .nan\n")
    assert_rejected(result, "host 'quay.io' field 'concurrency' must be a whole number >= 1")
    result = validate(tmp_path, registries=b"quay.io:\n  concurrency: " + b"9" * 5000 + b"\n")
    assert_rejected(result, "registries.yaml:2: line is 5015 characters long (at most 4096)")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_literals_are_rejected(tmp_path: Path, literal: str) -> None:
    config = '{"pause": {"versionSource": "registry", "images": ["registry.k8s.io/pause"], "latest": %s}}' % literal
    assert_rejected(validate(tmp_path, config=config.encode()),
                    f"config.json: entry 'pause' field 'latest': {literal} is not valid JSON")


def test_json_out_of_range_numbers_are_rejected(tmp_path: Path) -> None:
    config = '{"pause": {"versionSource": "registry", "latest": 1e400, "latest_entry": %s}}' % ("7" * 5000)
    assert_rejected(validate(tmp_path, config=config.encode()),
                    "entry 'pause' field 'latest': the number '1e400' is out of range",
                    "entry 'pause' field 'latest_entry': a number of 5000 digits is too long")


# ---- not UTF-8 ----------------------------------------------------------------------------


def test_non_utf8_config_names_line_and_column(tmp_path: Path) -> None:
    config = b'{\n  "pause": {\n    "versionSource": "r\xc3\xa9gistr\xff"\n  }\n}\n'
    assert_rejected(validate(tmp_path, config=config),
                    f"{tmp_path / 'config.json'}:3:30: not UTF-8 text (byte 0xff)")


def test_non_utf8_registries_file_names_line_and_column(tmp_path: Path) -> None:
    result = validate(tmp_path, registries=b"# r\xc3\xa9gistries\nquay.io:\n  endpoint: \xc0\xaf\n")
    assert_rejected(result, f"{tmp_path / 'registries.yaml'}:3:13: not UTF-8 text (byte 0xc0)")


# ---- forbidden characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "shown"),
    [("\x1b", "\\x1b"), ("\u2028", "\\u2028"), ("\ufeff", "\\ufeff"), ("\u202e", "\\u202e"),
     ("\x85", "\\x85"), ("\x0c", "\\x0c")],
)
def test_forbidden_character_in_config_names_file_line_column(tmp_path: Path, char: str, shown: str) -> None:
    config = '{\n  "pause": {\n    "versionSource": "registry", "images": ["registry.k8s.io/pause"]\n  }' \
             f'\n  , "x{char}": 1\n}}\n'
    assert_rejected(validate(tmp_path, config=config.encode()),
                    f"{tmp_path / 'config.json'}:5:7: character {shown} is not allowed")


def test_forbidden_character_in_a_registries_comment(tmp_path: Path) -> None:
    # In review this is one comment line; a reader splitting on U+2028 would see a host.
    registries = "# hosts\nquay.io: {}\n# note\u2028evil.example: {endpoint: http://x}\n"
    result = validate(tmp_path, registries=registries.encode())
    assert_rejected(result, f"{tmp_path / 'registries.yaml'}:3:7: character \\u2028 is not allowed")


def test_crlf_config_and_registries_are_accepted(tmp_path: Path) -> None:
    config = json.dumps(GOOD_CONFIG, indent=2).replace("\n", "\r\n").encode()
    result = validate(tmp_path, config=config, registries=b"quay.io:\r\n  rate: 5\r\n")
    assert result.returncode == 0, result.stderr


def test_many_bad_lines_give_a_bounded_message(tmp_path: Path) -> None:
    config = "{}\n" + "\x07\n" * 100_000
    result = validate(tmp_path, config=config.encode())
    assert_rejected(result, "config.json:2:1: character \\x07", "config.json: 99980 more line(s)")


# ---- huge values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        {"versionSource": "registry", "images": ["a" * TEN_MB]},
        {"versionSource": "registry", "images": ["registry.k8s.io/pause"], "versionFilter": "(" * TEN_MB},
        {"versionSource": "github-releases:" + "o/" * (TEN_MB // 2), "images": ["registry.k8s.io/pause"]},
        {"versionSource": "registry" + "x" * TEN_MB},
        {"versionSource": "registry", "images": ["registry.k8s.io/pause"], "f" * TEN_MB: 1},
    ],
    ids=["image", "regex", "owner-repo", "source-kind", "field-name"],
)
def test_ten_megabyte_config_value_gives_a_short_message(tmp_path: Path, entry: dict[str, object]) -> None:
    result = validate(tmp_path, config=json.dumps({"big": entry}).encode())
    assert_rejected(result, "config.json: entry 'big' field", " bytes)")


def test_ten_megabyte_entry_key(tmp_path: Path) -> None:
    result = validate(tmp_path, config=json.dumps({"k" * TEN_MB: []}).encode())
    assert_rejected(result, "config.json: entry 'kkkk", f"… ({TEN_MB} bytes)': must be an object")


@pytest.mark.parametrize(
    "registries",
    [
        b"h" * TEN_MB + b".example: {}\n",
        b"quay.io:\n  " + b"f" * TEN_MB + b": 1\n",
        b"quay.io:\n  ca_file: /nonexistent/" + b"c" * TEN_MB + b"\n",
        b"quay.io: [" + b"x" * TEN_MB + b"\n",
    ],
    ids=["host", "field-name", "ca-file", "yaml-error"],
)
def test_ten_megabyte_registries_line_gives_a_short_message(tmp_path: Path, registries: bytes) -> None:
    # YAML's pure-Python parser takes seconds per megabyte, so long lines are refused first.
    assert_rejected(validate(tmp_path, registries=registries), "registries.yaml:", "characters long (at most 4096)")


# ---- imagesFilePath -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../secrets/images.txt", "must not contain '..'"),
        ("deploy/../../x.txt", "must not contain '..'"),
        ("/etc/passwd", "must be relative to the repository root"),
        ("deploy//images.txt", "must not contain '..', '.' or empty path components"),
        ("deploy/./images.txt", "must not contain '..', '.' or empty path components"),
        ("", "must be a file path inside the repository"),
    ],
)
def test_validate_rejects_images_file_path_outside_the_repository(tmp_path: Path, path: str, reason: str) -> None:
    config = {"longhorn": {"versionSource": "github-tagged-images-file:longhorn/longhorn", "imagesFilePath": path}}
    result = validate(tmp_path, config=json.dumps(config).encode())
    shown = f"'{path}' " if path else ""
    assert_rejected(result, f"config.json: entry 'longhorn' field 'imagesFilePath': {shown}{reason}")
    assert "needs imagesFilePath" not in result.stderr

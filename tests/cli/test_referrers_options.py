"""``--referrers`` / ``--referrers-types`` and ``referrers: true``: what cannot work exits 2 before any
request (nothing listens on 127.0.0.1:9, so a request would fail differently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.sync.helpers import cli, write_list

LINE = "127.0.0.1:9/a/b 127.0.0.1:9/c/d 1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "--referrers", "--copier", "skopeo"], "--referrers cannot be used with --copier skopeo"),
        (["sync", "--referrers", "--copier", "oras"], "--referrers cannot be used with --copier oras"),
        (["sync", "--referrers", "--referrers-types", "signatures"], "--referrers-types: 'signatures' is neither"),
        (["sync", "--referrers", "--referrers-types", ","], "--referrers-types: give at least one"),
        (["sync", "--referrers-types", "sig"], "--referrers-types: no line copies referrers"),
        (["compare", "--referrers-types", "sig"], "--referrers-types: no line copies referrers"),
        (["compare", "--referrers", "--referrers-types", "x"], "--referrers-types: 'x' is neither"),
    ],
)
def test_bad_referrer_options_exit_2(args: list[str], message: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(write_list(tmp_path, [LINE]), *args) == 2
    assert message in capsys.readouterr().err


def test_referrers_true_for_a_destination_with_another_copier_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registries = tmp_path / "registries.yaml"
    registries.write_text("127.0.0.1:9:\n  referrers: true\n")
    assert cli(write_list(tmp_path, [LINE]), "sync", "--copier", "skopeo", registries=registries) == 2
    assert "referrers: true in the registries file cannot be used with --copier skopeo" in capsys.readouterr().err


def test_a_bad_referrers_value_in_the_registries_file_names_host_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registries = tmp_path / "registries.yaml"
    registries.write_text("ghcr.io:\n  referrers: sometimes\n")
    assert cli(write_list(tmp_path, [LINE]), "sync", registries=registries) == 2
    assert "host 'ghcr.io' field 'referrers' must be true or false" in capsys.readouterr().err

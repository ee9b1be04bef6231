"""Start-up loads only what the command needs; a bug is reported as an internal error, exit 3.

The import checks run the CLI in a fresh interpreter (``sys.modules`` of this test process has
everything loaded already) and read back which modules were loaded when ``main`` returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirror import cli
from mirror.cli import COMMANDS, find_command, main
from mirror.errors import CopyError, InputError
from mirror.exitcodes import EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, worst

REPO_ROOT = Path(__file__).resolve().parents[2]

#: What a light command must never pay for.
HEAVY = ("aiohttp", "rich.live", "mirror.registry.client", "mirror.github", "mirror.helm")

#: ``mirror.cli.main(argv)``, then the names in sys.modules as JSON into the file $MODULES_FILE.
WRAPPER = """
import json, os, sys
from mirror.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open(os.environ["MODULES_FILE"], "w") as handle:
        json.dump(sorted(sys.modules), handle)
sys.exit(code)
"""

LIST = "# header\nbusybox rancher/mirrored-library-busybox 1.36.1\nregistry.k8s.io/pause rancher/mirrored-pause 3.9\n"
CONFIG = {"pause": {"images": ["registry.k8s.io/pause"], "versionSource": "registry"}}


def loaded_after(argv: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    (cwd / "images-list").write_text(LIST)
    (cwd / "config.json").write_text(json.dumps(CONFIG))
    modules_file = cwd / "modules.json"
    env = {**os.environ, "MODULES_FILE": str(modules_file),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", WRAPPER, *argv], cwd=cwd, env=env, capture_output=True,
                            text=True, check=False, timeout=60)
    return result, set(json.loads(modules_file.read_text()))


@pytest.mark.parametrize(
    ("argv", "command_module"),
    [(["--version"], None), (["--help"], None), (["sort", "--check"], "sort"), (["validate"], "validate"),
     (["-v", "--config", "sync", "sort", "--check"], "sort")],
)
def test_light_commands_never_import_the_network_stack(tmp_path: Path, argv: list[str],
                                                       command_module: str | None) -> None:
    result, modules = loaded_after(argv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [name for name in HEAVY if name in modules] == []
    # Only the chosen command's module, none of the others.
    commands = {name for name in modules if name.startswith("mirror.commands.")}
    assert commands == ({f"mirror.commands.{command_module}"} if command_module else set())


def test_discover_starts_without_the_pull_request_or_autoupdate_machinery(tmp_path: Path) -> None:
    # Paid by every discover before its first request; only --open-prs and autoupdate.yaml need them,
    # and the list readers are imported where the list is parsed (in a worker, while requests fly).
    result, modules = loaded_after(["discover", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    unwanted = ("mirror.pipeline.prs", "mirror.autoupdate", "mirror.commands._open_prs", "mirror.layouts",
                "mirror.lists", "mirror.artifactsfile")
    assert [name for name in unwanted if name in modules] == []


def test_a_config_json_discover_of_an_images_list_loads_neither_other_layout(tmp_path: Path) -> None:
    # --config and --images-list are sniffed by content (mirror.sniff): the autoupdate.yaml readers
    # and pipeline (about thirty modules, before the first request) and the config.yaml machinery
    # (about fifteen, in the worker that parses the list while the first requests fly) are not
    # loaded for a config.json and an images-list.
    (tmp_path / "empty.json").write_text("{}")
    result, modules = loaded_after(["--config", "empty.json", "--log-format", "json", "discover"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}
    assert "mirror.layouts.images" in modules  # the list was read
    unwanted = ("mirror.autoupdate", "mirror.pipeline.autoupdate", "mirror.sources.autoupdate",
                "mirror.commands._discover_autoupdate", "mirror.pipeline.prs", "mirror.lists",
                "mirror.layouts.artifacts", "mirror.artifactsfile",
                "mirror.ui.plain", "mirror.ui.summary", "mirror.tally",  # only the renderer chosen
                "mirror.events.sync", "mirror.registry.blobs", "mirror.registry.transfer")  # discover moves no blob
    assert [name for name in unwanted if name in modules] == []


def test_version_and_help_need_no_rich_console(tmp_path: Path) -> None:
    for argv in (["--version"], ["--help"]):
        _, modules = loaded_after(argv, tmp_path)
        assert "rich.console" not in modules and "mirror.output" not in modules


def test_help_lists_every_command_from_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for spec in COMMANDS:
        assert spec.name in out
    assert "3 internal error" in out and "2 wins over 3, and 3 over 1" in out


@pytest.mark.parametrize(("command", "option"), [("sort", "--check"), ("sync", "--copier"), ("compare", "--json"),
                                                 ("discover", "--apply"), ("add-tag", "--tags"),
                                                 ("add-full-image", "--full-images"), ("check-new-images", "--base"),
                                                 ("validate", "--registries")])
def test_each_command_help_shows_its_options(command: str, option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: image-mirror {command}" in out
    assert option in out and "common options" in out


def test_the_table_names_every_command_module() -> None:
    modules = {path.stem for path in (REPO_ROOT / "mirror" / "commands").glob("*.py")
               if not path.stem.startswith("_")}
    assert {spec.module for spec in COMMANDS} == modules


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sort"], "sort"),
        (["-v", "sort", "--check"], "sort"),
        (["--config", "sort", "validate"], "validate"),  # a value that looks like a command
        (["--config=sort", "validate"], "validate"),
        (["--images", "sync", "compare"], "compare"),  # an abbreviated option still takes its value
        (["--max-wait", "5", "--log-format", "json", "sync"], "sync"),
        (["sort", "--images-list", "validate"], "sort"),
        (["--version"], None),
        (["--help"], None),
        ([], None),
        (["bogus"], None),
        (["--log-format", "bogus", "sort"], None),  # left to the full parser, which says why
        (["--images-list"], None),
    ],
)
def test_find_command_skips_values_of_common_options(argv: list[str], expected: str | None) -> None:
    assert find_command(argv) == expected


def test_bad_arguments_still_exit_2_with_argparse_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log-format", "bogus", "sort"]) == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
    assert main(["sort", "--no-such-option"]) == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


# ---- internal errors ---------------------------------------------------------------------------


def crash_sort(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """A programming error inside the sort command's handler."""
    from mirror.commands import sort

    def run(*_: object) -> int:
        raise error

    monkeypatch.setattr(sort, "run", run)


def test_internal_error_exits_3_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    crash_sort(monkeypatch, KeyError("platform"))
    assert main(["sort", "--log-format", "plain", "--images-list", str(tmp_path / "l")]) == EXIT_INTERNAL
    captured = capsys.readouterr()
    assert "internal error: KeyError: 'platform'" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_internal_error_traceback_with_verbose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    crash_sort(monkeypatch, KeyError("platform"))
    assert main(["-v", "sort", "--log-format", "plain", "--images-list", str(tmp_path / "l")]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error: KeyError: 'platform'" in err
    assert "Traceback (most recent call last)" in err and "in run" in err


def test_internal_error_in_json_mode_keeps_stderr_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    crash_sort(monkeypatch, KeyError("platform"))
    assert main(["-v", "--log-format", "json", "sort", "--images-list", str(tmp_path / "l")]) == EXIT_INTERNAL
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["message"] for e in events if e["event"] == "error"] == ["internal error: KeyError: 'platform'"]
    assert any("Traceback" in e["message"] for e in events if e["event"] == "debug")


def test_internal_error_message_is_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    crash_sort(monkeypatch, RuntimeError("body \x1b]0;owned\x07 \x1b[2J end"))
    assert main(["-v", "sort", "--log-format", "plain", "--images-list", str(tmp_path / "l")]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "internal error: RuntimeError: body \\x1b]0;owned\\x07 \\x1b[2J end" in err


@pytest.mark.parametrize(
    ("errors", "code"),
    [([CopyError("copy failed"), KeyError("k")], EXIT_INTERNAL),
     ([InputError("bad line"), KeyError("k")], EXIT_INPUT),
     ([CopyError("copy failed")], EXIT_FAILED)],
)
def test_grouped_errors_report_each_and_exit_with_the_worst(
    errors: list[Exception], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crash_sort(monkeypatch, ExceptionGroup("task group", errors))
    assert main(["sort", "--log-format", "plain", "--images-list", str(tmp_path / "l")]) == code
    err = capsys.readouterr().err
    for error in errors:
        assert str(error) in err
    assert ("internal error: KeyError" in err) == any(isinstance(e, KeyError) for e in errors)


def test_mirror_errors_keep_their_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crash_sort(monkeypatch, InputError("bad"))
    assert main(["sort", "--images-list", str(tmp_path / "l")]) == EXIT_INPUT
    crash_sort(monkeypatch, CopyError("failed"))
    assert main(["sort", "--images-list", str(tmp_path / "l")]) == EXIT_FAILED


@pytest.mark.parametrize(
    ("codes", "expected"),
    [((), EXIT_OK), ((0,), 0), ((0, 1), 1), ((1, 0), 1), ((1, 3), 3), ((3, 1), 3), ((3, 2), 2), ((2, 3), 2),
     ((1, 2), 2), ((2, 1, 3, 0), 2), ((0, 0), 0), ((3, 3), 3), ((2, 130), 130)],
)
def test_worst_orders_input_over_internal_over_failed(codes: tuple[int, ...], expected: int) -> None:
    assert worst(*codes) == expected


def test_cli_exports_the_codes() -> None:
    assert (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_INPUT, cli.EXIT_INTERNAL) == (0, 1, 2, 3)

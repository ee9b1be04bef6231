"""The live dashboard as a terminal user sees it, and JSON lines when nobody is watching.

The dashboard test runs ``image-mirror discover`` inside tmux (a real terminal emulator)
on a fixed 160x50 screen and reads the screen after the process has exited. No sleeping:
the command signals a tmux ``wait-for`` channel when it ends.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.discover.helpers import (
    cli_env,
    run_cli,
    stderr_json_lines,
    write_registries,
)
from tests.support.seed import SeededRegistry

HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
ENTRIES = [
    "alpine rancher/mirrored-library-alpine 3.19.1",
    "busybox rancher/mirrored-library-busybox 1.36.0",
]
CONFIG = {
    "busybox-registry": {"images": ["busybox"], "versionSource": "registry"},
    "alpine-registry": {"images": ["alpine"], "versionSource": "registry"},
}
EXPECTED = {
    "busybox-registry": {"images": ["busybox"], "tags": ["1.36.1", "1.37.0"]},
    "alpine-registry": {"images": ["alpine"], "tags": ["3.20.0"]},
}
COLUMNS, LINES = 160, 50


@pytest.fixture
def workspace(tmp_path: Path, source_registry: SeededRegistry) -> Path:
    (tmp_path / "images-list").write_text(HEADER + "".join(f"{line}\n" for line in ENTRIES))
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": source_registry.url, "concurrency": 3}})
    return tmp_path


def discover_args(workspace: Path, log_format: str) -> list[str]:
    return ["--images-list", str(workspace / "images-list"), "--config", str(workspace / "config.json"),
            "--registries", str(workspace / "registries.yaml"), "--no-cache", "--log-format", log_format, "discover"]


def run_in_terminal(workspace: Path, args: list[str]) -> tuple[str, int, str]:
    """Run ``python -m mirror ARGS`` in a tmux pane of COLUMNS x LINES with stdout to a file;
    return (the screen with its scrollback, exit code, stdout)."""
    tmux = shutil.which("tmux")
    assert tmux, "tmux is not installed (Debian package tmux; scripts/test.sh installs it)"
    socket = workspace / "tmux.sock"
    conf = workspace / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\n")
    out, rc = workspace / "stdout.json", workspace / "exit-code"
    command = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "mirror", *args])
    script = workspace / "run.sh"
    script.write_text(
        f"cd {shlex.quote(str(workspace))}\n"
        f"{command} > {shlex.quote(str(out))}\n"
        f"echo $? > {shlex.quote(str(rc))}\n"
        f"{shlex.quote(tmux)} -S {shlex.quote(str(socket))} wait-for -S finished\n"
    )
    base = [tmux, "-S", str(socket), "-f", str(conf)]
    env = cli_env({"TERM": "xterm-256color"})
    env.pop("TMUX", None)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    try:
        subprocess.run([*base, "new-session", "-d", "-s", "dash", "-x", str(COLUMNS), "-y", str(LINES),
                        f"sh {shlex.quote(str(script))}"], env=env, check=True, timeout=30)
        subprocess.run([*base, "wait-for", "finished"], env=env, check=True, timeout=180)
        screen = subprocess.run([*base, "capture-pane", "-p", "-J", "-t", "dash", "-S", "-"], env=env,
                                check=True, timeout=30, capture_output=True, text=True).stdout
        width = subprocess.run([*base, "display-message", "-p", "-t", "dash", "#{pane_width}x#{pane_height}"],
                               env=env, check=True, timeout=30, capture_output=True, text=True).stdout.strip()
    finally:
        subprocess.run([*base, "kill-server"], env=env, check=False, timeout=30, capture_output=True)
    assert width == f"{COLUMNS}x{LINES}"
    return screen, int(rc.read_text().strip()), out.read_text()


@pytest.mark.parametrize("log_format", ["rich", "auto"])
def test_dashboard_on_a_terminal(workspace: Path, log_format: str) -> None:
    screen, code, stdout = run_in_terminal(workspace, discover_args(workspace, log_format))
    assert code == 0, screen
    assert json.loads(stdout) == EXPECTED  # the data still goes to stdout, untouched
    # No JSON event lines on the terminal: the dashboard replaced them.
    assert '"event"' not in screen, screen
    # A row per entry, with its source.
    for key in CONFIG:
        assert key in screen, screen
    assert "entries" in screen
    # The host panel: the host as written in image references, in flight / limit (3 from the
    # registries file; nothing in flight once the run is over).
    assert "hosts" in screen
    assert "in flight / limit" in screen
    host_rows = [line for line in screen.splitlines() if "docker.io" in line]
    assert host_rows, screen
    assert any("0 / 3" in line for line in host_rows), host_rows
    # The final totals line.
    totals = [line for line in screen.splitlines() if "totals:" in line]
    assert totals, screen
    assert "totals: 2 done, 0 failed, 3 new of 2 entries" in totals[-1]
    # Nothing was wider than the terminal (tmux would have wrapped it into a broken frame).
    assert all(len(line) <= COLUMNS for line in screen.splitlines())


def test_without_a_terminal_stderr_is_json_lines(workspace: Path) -> None:
    result = run_cli(discover_args(workspace, "auto"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    records = stderr_json_lines(result.stderr)  # every line parses
    assert records
    for record in records:
        assert isinstance(record["ts"], str) and record["ts"].endswith("Z"), record
        assert isinstance(record["event"], str), record
    events = [r["event"] for r in records]
    assert events.count("discover.entry.start") == 2
    assert events.count("discover.entry.done") == 2
    assert events[-1] == "discover.done"
    done = {r["entry"]: r for r in records if r["event"] == "discover.entry.done"}
    assert done["busybox-registry"]["new"] == 2 and done["alpine-registry"]["new"] == 1


def test_json_lines_stay_json_when_an_entry_fails(workspace: Path) -> None:
    """``--log-format json`` promises JSON lines on stderr: a failed entry (and the final
    error report) must not put plain text lines between them."""
    config = dict(CONFIG, missing={"images": ["library/nothing-here"], "versionSource": "registry"})
    (workspace / "config.json").write_text(json.dumps(config))
    result = run_cli(discover_args(workspace, "json"))
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    records = stderr_json_lines(result.stderr)  # every line parses
    assert all("ts" in r and "event" in r for r in records)
    failed = [r for r in records if r["event"] == "discover.entry.failed"]
    assert [r["entry"] for r in failed] == ["missing"]

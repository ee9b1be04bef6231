"""What a user on a terminal sees: outside text never steers it, and the final screen says it all.

* A registry whose error body carries ``ESC ] 0 ; X BEL`` (set the window title) and
  ``ESC [ 2 J`` (clear the screen): ``discover`` runs on a pseudo-terminal (``pty.fork``,
  120x40 set with TIOCSWINSZ before the program starts) and every byte it wrote is read
  after it exited. The raw sequences are not among them, no OSC at all is (so the title
  is unchanged), and their escaped text (``\\x1b]0;X\\x07``) is.
* The dashboard's final screen of a sync with a conflict and a failure, in tmux (a real
  terminal emulator, as in test_dashboard.py): both are shown with their lines.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import struct
import sys
import termios
from typing import Any
from pathlib import Path

import pytest

from tests.cli.test_dashboard import COLUMNS, run_in_terminal
from tests.integration.discover.helpers import cli_env, write_registries
from tests.support.hostile import CLEAR, TITLE, HostileRegistry
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

ROWS, COLS = 40, 120


def run_on_pty(args: list[str], cwd: Path) -> tuple[bytes, int]:
    """``python -m mirror ARGS`` with stdin/stdout/stderr on a pseudo-terminal; (all bytes, exit code)."""
    env = cli_env({"TERM": "xterm-256color"})
    for name in ("COLUMNS", "LINES", "TMUX"):
        env.pop(name, None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal first, then become the program
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "mirror", *args], env)
        finally:
            os._exit(127)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as exc:  # EIO: the child closed the terminal (it exited)
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("log_format", ["rich", "plain"])
def test_a_hostile_error_body_never_reaches_the_terminal_raw(tmp_path: Path, log_format: str) -> None:
    (tmp_path / "images-list").write_text("# list\nalpine rancher/mirrored-library-alpine 3.19.1\n")
    (tmp_path / "config.json").write_text(json.dumps({"alpine-registry": {"images": ["alpine"],
                                                                          "versionSource": "registry"}}))
    with HostileRegistry(403) as front:
        write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": f"http://{front.host}"}})
        output, code = run_on_pty(["--no-cache", "--registries", "registries.yaml", "--log-format", log_format,
                                   "discover"], tmp_path)
    text = output.decode("utf-8", "replace")
    assert code == 1, text
    assert TITLE.encode() not in output and CLEAR.encode() not in output, text
    assert b"\x1b]" not in output, text  # no OSC of any kind: the window title is what it was
    assert b"\x07" not in output, text
    escaped = r"\x1b]0;X\x07owned\x1b[2J"
    assert escaped in text, text  # the user sees what the server sent, as text
    assert "alpine-registry" in text and "access denied" in text


def test_the_final_screen_shows_every_conflict_and_failure_with_their_lines(
    tmp_path: Path, source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    src, dst = source_registry.host, dest_registry.host
    (tmp_path / "images-list").write_text(
        "# test list\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 1.36.1\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 9.9.9\n"
        f"{src}/library/alpine {dst}/rancher/mirrored-conflict 3.20.0\n"
        f"{src}/flannel/flannel {dst}/rancher/mirrored-conflict 3.20.0\n"
        f"{src}/library/alpine {dst}/rancher/mirrored-other 3.20.0\n"
        f"{src}/calico/node {dst}/rancher/mirrored-other 3.20.0\n"
    )
    screen, code, _ = run_in_terminal(tmp_path, ["--images-list", str(tmp_path / "images-list"), "--no-cache",
                                                 "--log-format", "rich", "sync"])
    assert code == 1, screen
    # A long line wraps inside the panel: its text without the frame, as one line.
    flat = " ".join(" ".join(line.strip().strip("│").split()) for line in screen.splitlines())
    for loser, winner, winner_source, repo in ((4, 5, "flannel/flannel", "conflict"), (6, 7, "calico/node", "other")):
        assert (f"conflict: line {loser}: {src}/library/alpine:3.20.0 -> {dst}/rancher/mirrored-{repo}:3.20.0 "
                f"is superseded by line {winner} ({src}/{winner_source}:3.20.0)") in flat, screen
    assert f"failed: line 3: {src}/library/busybox:9.9.9 -> {dst}/rancher/mirrored-library-busybox:9.9.9" in flat
    for loser in (5, 7):
        assert f"failed: line {loser}: " in flat, screen  # neither winner exists upstream either
    assert "lines" in screen and "6/6" in flat, screen
    assert "bytes sent" in screen
    totals = [line for line in screen.splitlines() if "totals:" in line]
    assert totals and "1 copied" in totals[-1] and "3 failed" in totals[-1] and "2 skipped" in totals[-1], screen
    panel = [line for line in screen.splitlines() if line[:1] in "╭│╰"]
    assert panel and all(len(line) <= COLUMNS for line in panel)  # the frame fits the terminal


def test_the_final_screen_of_a_sync_to_three_targets_has_a_row_per_target(
    tmp_path: Path, source_registry: SeededRegistry, dest_registry: RegistryServer, registry_factory: Any
) -> None:
    """Two targets on one registry (two paths) and a third that refuses every write: each
    target's row counts its own lines, and the failures are the third target's, named."""
    src, dst = source_registry.host, dest_registry.host
    refusing: RegistryServer = registry_factory(read_only=True)
    (tmp_path / "images-list").write_text(
        "# test list\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 1.36.1\n"
        f"{src}/calico/node {dst}/rancher/mirrored-calico-node v3.29.0\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 9.9.9\n"
    )
    targets = (f"{dst}/mirror-a", f"{dst}/team/sub", refusing.host)
    screen, code, _ = run_in_terminal(tmp_path, ["--images-list", str(tmp_path / "images-list"), "--no-cache",
                                                 "--log-format", "rich", "sync",
                                                 *(arg for target in targets for arg in ("--target", target))])
    assert code == 1, screen
    flat = " ".join(" ".join(line.strip().strip("│").split()) for line in screen.splitlines())
    lines = screen.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("│ targets ")):]
    table = table[:next(i for i, line in enumerate(table) if "└" in line)]  # its rows, up to its bottom
    rows = {target: [cell.strip() for cell in line.split("│") if cell.strip()]
            for line in table for target in targets if f"│ {target} " in line}
    assert set(rows) == set(targets), screen
    for target in targets[:2]:  # two copied, 9.9.9 does not exist upstream: 3 done, none copying
        assert rows[target][2:7] == ["3/3", "2", "0", "1", "0"], rows[target]
    # The blobs went to one path of the registry and were mounted into the other.
    assert sorted(rows[target][7].split()[1] for target in targets[:2]) == ["B", "KiB"], rows
    assert rows[refusing.host][2:] == ["3/3", "0", "0", "3", "0", "0 B"], rows[refusing.host]
    for line, source, repo, tag in ((2, "library/busybox", "library-busybox", "1.36.1"),
                                    (3, "calico/node", "calico-node", "v3.29.0")):
        assert (f"failed at {refusing.host}: line {line}: {src}/{source}:{tag} -> "
                f"{refusing.host}/rancher/mirrored-{repo}:{tag}") in flat, screen
    assert f"failed at {targets[0]}: line 4: {src}/library/busybox:9.9.9" in flat, screen
    assert "9/9 over 3 targets" in flat, screen
    status = [line for line in screen.splitlines() if line.startswith("sync: ")]
    assert status and f"; per target: {targets[0]} 2 copied, 0 skipped, 1 failed" in " ".join(status), screen
    panel = [line for line in screen.splitlines() if line[:1] in "╭│╰"]
    assert panel and all(len(line) <= COLUMNS for line in panel)

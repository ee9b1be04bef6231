"""Helpers for tests that drive ``image-mirror`` as a user does: a real process, real servers.

* :func:`run_cli` runs ``python -m mirror …`` in a subprocess with the test's environment
  (the autouse fixture has already isolated HOME and cleared the tool's variables).
* :func:`write_registries` writes a registries file.
* :class:`LoopThread` runs asyncio servers (the fake GitHub, a fake distribution server) in
  a background thread, so a synchronous test can start the CLI while they serve.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import yaml

from tests.fakes.github import FakeGitHub

__all__ = ["LoopThread", "cli_env", "json_records", "run_cli", "serve_github", "stderr_json_lines", "write_registries"]

T = TypeVar("T")


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current (already isolated) environment plus ``extra``; no proxies (all loopback)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra or {})
    return env


def run_cli(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``python -m mirror ARGS`` with pipes (so stdout/stderr are not terminals)."""
    return subprocess.run(
        [sys.executable, "-m", "mirror", *args],
        capture_output=True,
        text=True,
        env=cli_env(env),
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def write_registries(path: Path, hosts: Mapping[str, Mapping[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({k: dict(v) for k, v in hosts.items()}, sort_keys=False))
    return path


def stderr_json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line parsed as JSON; fails on a line that is not a JSON object."""
    records = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stderr line is not JSON: {line!r}") from exc
        assert isinstance(record, dict), line
        records.append(record)
    return records


def json_records(stderr: str) -> list[dict[str, Any]]:
    """The JSON event lines of stderr (lines starting with ``{``), ignoring any other line."""
    return stderr_json_lines("\n".join(line for line in stderr.splitlines() if line.startswith("{")))


class LoopThread:
    """An asyncio event loop in a daemon thread; :meth:`call` runs a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="test-servers", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> Self:
        self._thread.start()
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve_github(token: str, populate: Callable[[FakeGitHub], None]) -> Iterator[FakeGitHub]:
    """The fake GitHub, populated, serving from a background thread (the CLI runs in the foreground)."""
    with LoopThread() as thread:
        gh = FakeGitHub(tokens={token})
        populate(gh)
        thread.call(gh.start())
        try:
            yield gh
        finally:
            thread.call(gh.close())

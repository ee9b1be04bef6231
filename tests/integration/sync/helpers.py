"""Small helpers for the sync/compare tests: images-list files, CLI runs, destination names."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from mirror.cli import main


def mirrored(repo: str) -> str:
    """``calico/node`` -> ``rancher/mirrored-calico-node`` (the list's usual mapping)."""
    return "rancher/mirrored-" + repo.replace("/", "-")


def write_list(directory: Path, lines: Sequence[str], name: str = "images-list") -> Path:
    path = directory / name
    path.write_text("# test list\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def cli(images_list: Path, *args: str, registries: Path | None = None) -> int:
    argv = ["--images-list", str(images_list), "--log-format", "json"]
    if registries is not None:
        argv += ["--registries", str(registries)]
    return main([*argv, *args])


async def cli_in_thread(images_list: Path, *args: str, registries: Path | None = None) -> int:
    """Run the CLI (which starts its own event loop) while this loop keeps serving proxies."""
    return await anyio.to_thread.run_sync(functools.partial(cli, images_list, *args, registries=registries))


def events(stderr: str) -> list[dict[str, Any]]:
    """The JSON-lines events a ``--log-format json`` run wrote to stderr."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def docker_config(directory: Path, monkeypatch: pytest.MonkeyPatch, auths: dict[str, tuple[str, str]]) -> Path:
    """Write ``config.json`` with ``auths`` and point ``DOCKER_CONFIG`` at it."""
    import base64

    config_dir = directory / "docker"
    config_dir.mkdir(exist_ok=True)
    data = {"auths": {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in auths.items()}}
    (config_dir / "config.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    return config_dir

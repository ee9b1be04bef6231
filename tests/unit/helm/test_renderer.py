"""HelmRenderer against fake ``helm`` executables: lookup, arguments, environment, limits.

A fake is a small Python script named ``helm``; it lets these tests see exactly
what the renderer hands to the OS, and run without the real helm.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from mirror.errors import HelmError
from mirror.helm import HelmRenderer


def fake_helm(directory: Path, body: str) -> Path:
    """Write an executable ``helm`` whose behaviour is ``body`` (Python, ``argv`` is
    ``sys.argv[1:]``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "helm"
    path.write_text(f"#!{sys.executable}\nimport json, os, sys, time\nargv = sys.argv[1:]\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.anyio
async def test_missing_helm_names_the_path_searched(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    async with HelmRenderer(env={"PATH": str(empty)}) as helm:
        with pytest.raises(HelmError, match=r"helm executable not found: looked for 'helm' on PATH \(.*empty-bin\)"):
            await helm.template(tmp_path / "chart")


@pytest.mark.anyio
async def test_missing_explicit_binary(tmp_path: Path) -> None:
    async with HelmRenderer(str(tmp_path / "nope" / "helm")) as helm:
        with pytest.raises(HelmError, match="helm executable not found: looked for .*nope/helm"):
            await helm.show_values(tmp_path)


@pytest.mark.anyio
async def test_arguments_are_a_list_and_helm_homes_are_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_helm(
        bin_dir,
        "env = {k: v for k, v in os.environ.items() if k.startswith('HELM_')}\n"
        "print(json.dumps({'argv': argv, 'env': env, 'cwd': os.getcwd(), 'gogc': os.environ.get('GOGC')}))",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.setenv("HELM_NAMESPACE", "users-namespace")
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", "/users/registry.json")
    value = "note=$(touch /tmp/x); `id` | cat > y"
    async with HelmRenderer() as helm:
        home = helm.home
        out = json.loads(
            await helm.template(tmp_path / "chart.tgz", values=[value, "-a=b"], kube_version="1.30.2")
        )
    assert out["argv"] == [
        "template",
        "image-mirror",
        str(tmp_path / "chart.tgz"),
        "--namespace=default",
        "--kube-version=1.30.2",
        f"--set={value}",
        "--set=-a=b",
    ]
    assert out["env"] == {
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    assert out["gogc"] == "400", "helm collects garbage a quarter as often as Go's default"
    assert not home.exists(), "the temporary helm home is removed on exit"


@pytest.mark.anyio
async def test_the_callers_gogc_wins(tmp_path: Path) -> None:
    helm_bin = fake_helm(tmp_path, "print(os.environ.get('GOGC'))")
    async with HelmRenderer(str(helm_bin), env={**os.environ, "GOGC": "50"}) as helm:
        assert (await helm.template(tmp_path)).strip() == "50"


@pytest.mark.anyio
async def test_failure_keeps_trimmed_stderr(tmp_path: Path) -> None:
    helm_bin = fake_helm(
        tmp_path,
        "sys.stderr.write('noise\\n' * 2000 + 'Error: template: demo/templates/x.yaml:3: boom')\nsys.exit(1)",
    )
    async with HelmRenderer(str(helm_bin)) as helm:
        with pytest.raises(HelmError) as info:
            await helm.template(tmp_path, what="rendering demo 1.0.0")
    message = str(info.value)
    assert message.startswith("rendering demo 1.0.0: helm exited with code 1: …")
    assert message.endswith("Error: template: demo/templates/x.yaml:3: boom")
    assert len(message) < 2200


@pytest.mark.anyio
async def test_a_hanging_helm_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    helm_bin = fake_helm(tmp_path / "bin", f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    async with HelmRenderer(str(helm_bin), timeout=0.5) as helm:
        with pytest.raises(HelmError, match="helm did not finish within 0.5 s and was stopped"):
            await helm.show_values(tmp_path)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: no such process


@pytest.mark.anyio
async def test_concurrency_is_bounded_by_the_limiter(tmp_path: Path) -> None:
    # Each fake run marks itself active with a file, records how many are active, and
    # stays a moment so that unbounded runs would overlap.
    active = tmp_path / "active"
    active.mkdir()
    peaks = tmp_path / "peaks"
    helm_bin = fake_helm(
        tmp_path / "bin",
        f"me = os.path.join({str(active)!r}, str(os.getpid()))\n"
        "open(me, 'w').close()\n"
        f"open({str(peaks)!r}, 'a').write(str(len(os.listdir({str(active)!r}))) + '\\n')\n"
        "time.sleep(0.1)\n"
        "os.unlink(me)",
    )
    async with HelmRenderer(str(helm_bin), concurrency=2) as helm, anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(helm.show_values, tmp_path)
    counts = [int(line) for line in peaks.read_text().split()]
    assert len(counts) == 6
    assert max(counts) <= 2


def test_default_concurrency_is_the_cpu_count() -> None:
    assert HelmRenderer().limiter.total_tokens == (os.cpu_count() or 2)

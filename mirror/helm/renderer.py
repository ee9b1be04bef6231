"""Running the ``helm`` binary on local chart files, and nothing else."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio

from ..errors import HelmError
from ..tempdir import private_tempdir

__all__ = ["DEFAULT_TIMEOUT", "HelmRenderer"]

#: Seconds one ``helm`` invocation may take before it is killed.
DEFAULT_TIMEOUT = 120.0
#: How much of helm's stderr goes into an error message (the end is where the error is).
_STDERR_LIMIT = 2000
#: Go's GC target for helm unless the caller's environment sets ``GOGC``. A ``helm template`` of a
#: small chart spends a good part of its 35-45 ms of CPU collecting the garbage of its own
#: start-up; at 400 (Go's default is 100) it collects a quarter as often. Measured with the
#: discovery bench's four renders, two at a time (median of 21): 86 ms at 200, 77 ms at 400.
#: A big chart's render is template work whatever the target; its peak RSS grows a little:
#: 300 templates 77 / 96 / 99 MB at 100 / 200 / 400, 600 templates 152 / 186 / 204 MB.
HELM_GOGC = "400"


def _trim(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    if len(text) > _STDERR_LIMIT:
        text = "…" + text[-_STDERR_LIMIT:]
    return text or "(no output on stderr)"


class HelmRenderer:
    """Runs the ``helm`` binary on local chart files, and nothing else.

    Why a class: one run shares one binary lookup, one set of isolated helm
    home directories (so the user's repositories, registry logins and plugins
    cannot change what we render, and we never write to them) and one limiter
    that bounds how many helm processes run at once.

    Use it as an async context manager; it creates the helm homes in a temporary
    directory and removes them on exit. Pass ``home`` to use (and keep) a given
    directory instead. ``binary`` is a path or a name looked up on ``PATH``
    (default ``helm``); the lookup happens at the first render, so a run
    without Helm entries never needs helm installed.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        concurrency: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._binary_spec = binary or "helm"
        self._binary: str | None = None
        self.timeout = timeout
        self.limiter = anyio.CapacityLimiter(max(1, concurrency or os.cpu_count() or 2))
        self._base_env = dict(os.environ if env is None else env)
        self._home = home
        self._own_home = False

    # -- lifecycle

    async def __aenter__(self) -> Self:
        if self._home is None:
            with anyio.CancelScope(shield=True):  # a cancellation here would lose the path, not the directory
                self._home = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="image-mirror-helm-")))
            self._own_home = True
        home = self.home
        for sub in ("config", "cache", "data", "work"):
            await anyio.Path(home / sub).mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._own_home and self._home is not None:
            home, self._home, self._own_home = self._home, None, False
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(home, ignore_errors=True))

    @property
    def home(self) -> Path:
        if self._home is None:
            raise RuntimeError("HelmRenderer used outside 'async with'")
        return self._home

    @asynccontextmanager
    async def workdir(self) -> AsyncIterator[Path]:
        """A fresh directory for chart files, removed afterwards (one per config entry)."""
        await anyio.Path(self.home / "work").mkdir(parents=True, exist_ok=True)
        async with private_tempdir("chart-", parent=self.home / "work") as path:
            yield path

    # -- the binary

    def locate(self) -> str:
        """The helm executable; raise :class:`HelmError` saying how to get one."""
        if self._binary is not None:
            return self._binary
        spec = self._binary_spec
        path_var = self._base_env.get("PATH", os.defpath)
        if os.sep in spec:
            found = spec if os.path.isfile(spec) and os.access(spec, os.X_OK) else None
            where = spec
        else:
            found = shutil.which(spec, path=path_var)
            where = f"{spec!r} on PATH ({path_var})"
        if found is None:
            raise HelmError(
                f"helm executable not found: looked for {where}. Helm sources need helm 3 "
                "to render charts: install it and put it on PATH (in a checkout of this "
                "project, scripts/install-helm.sh installs one into .tools/bin)"
            )
        self._binary = found
        return found

    def _env(self) -> dict[str, str]:
        # Drop every HELM_* the caller had (namespace, kube context, registry config, plugins…)
        # so a render depends on the chart and our arguments only.
        env = {k: v for k, v in self._base_env.items() if not k.startswith("HELM_")}
        env["HELM_CONFIG_HOME"] = str(self.home / "config")
        env["HELM_CACHE_HOME"] = str(self.home / "cache")
        env["HELM_DATA_HOME"] = str(self.home / "data")
        env.setdefault("GOGC", HELM_GOGC)
        return env

    async def run(self, args: Sequence[str], *, what: str) -> str:
        """Run ``helm <args>`` and return stdout; ``what`` names the job in errors.

        Arguments are a list handed to the OS as is: no shell ever sees a value.
        """
        binary = self.locate()
        command = [binary, *args]
        env = self._env()
        async with self.limiter:
            try:
                with anyio.fail_after(self.timeout):
                    result = await anyio.run_process(
                        command, check=False, env=env, stdin=subprocess.DEVNULL, cwd=str(self.home)
                    )
            except TimeoutError:
                raise HelmError(f"{what}: helm did not finish within {self.timeout:g} s and was stopped") from None
            except OSError as exc:
                raise HelmError(f"{what}: could not run {binary}: {exc.strerror or exc}") from None
        if result.returncode != 0:
            raise HelmError(f"{what}: helm exited with code {result.returncode}: {_trim(result.stderr)}")
        return result.stdout.decode("utf-8", "replace")

    async def template(
        self, chart: Path, *, values: Sequence[str] = (), kube_version: str | None = None, what: str = ""
    ) -> str:
        """``helm template`` a local chart (archive or directory), offline.

        Each of ``values`` is one ``--set`` (the seed's semantics: ``a.b=true`` is
        a boolean); ``kube_version`` sets ``.Capabilities.KubeVersion`` (helm
        3.17 defaults to v1.32.0). The ``--flag=value`` form keeps a value
        starting with ``-`` from being read as a flag. Release name and
        namespace are fixed so a render never depends on the user's kube context.
        """
        args = ["template", "image-mirror", str(chart), "--namespace=default"]
        if kube_version:
            args.append(f"--kube-version={kube_version}")
        args.extend(f"--set={value}" for value in values)
        return await self.run(args, what=what or f"helm template {chart.name}")

    async def show_values(self, chart: Path, *, what: str = "") -> str:
        """``helm show values`` of a local chart: its default ``values.yaml``."""
        return await self.run(["show", "values", str(chart)], what=what or f"helm show values {chart.name}")

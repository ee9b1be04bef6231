"""Helm charts for tests: build them, package them, serve them, push them.

Why build charts in code: each test states exactly which images each chart
version names, so an assertion can tell which version (and which
``chartConfig``) was rendered. Packaging uses :mod:`tarfile` directly — a chart
archive is just ``<name>/Chart.yaml``, ``<name>/values.yaml`` and
``<name>/templates/…`` in a gzip tar — so building needs no helm.

A chart repository is an ``index.yaml`` plus ``.tgz`` files over HTTP:
:class:`ChartRepoServer` serves one from a stdlib HTTP server on a free loopback
port (in a thread, so it works under any async backend), with chart URLs that
are relative to the repository or absolute on another path, as real
repositories have both. It records every path requested.

:class:`UrllibFetcher` is a test-side ``mirror.helm.Fetcher`` on the stdlib, so
the chart-repository tests do not depend on the product's registry client (the
OCI tests use that client, which is both ``Fetcher`` and ``OciReader``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, NamedTuple, Self

import anyio
import yaml

from mirror.errors import NotFound, RegistryError

__all__ = [
    "ChartRepoServer",
    "ChartSpec",
    "UrllibFetcher",
    "deployment",
    "find_helm",
    "helm_env",
    "helm_push",
    "package_chart",
    "write_chart",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


# -- building charts -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """One chart version: metadata, default values and template files."""

    name: str
    version: str
    templates: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] | str = field(default_factory=dict)
    app_version: str | None = None

    def files(self) -> dict[str, bytes]:
        """``{path inside the chart: content}`` (paths without the chart directory)."""
        chart: dict[str, Any] = {"apiVersion": "v2", "name": self.name, "version": self.version, "type": "application"}
        if self.app_version:
            chart["appVersion"] = self.app_version
        values = self.values if isinstance(self.values, str) else yaml.safe_dump(dict(self.values), sort_keys=False)
        out = {
            "Chart.yaml": yaml.safe_dump(chart, sort_keys=False).encode(),
            "values.yaml": values.encode(),
        }
        for name, text in self.templates.items():
            out[f"templates/{name}"] = text.encode()
        return out

    @property
    def archive_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def write_chart(spec: ChartSpec, parent: Path) -> Path:
    """Write the chart as a directory ``parent/<name>``; return it."""
    root = parent / spec.name
    for rel, data in spec.files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def package_chart(spec: ChartSpec) -> bytes:
    """The chart as a ``.tgz`` archive (``<name>/…`` entries, fixed mtimes: reproducible)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel, data in sorted(spec.files().items()):
            info = tarfile.TarInfo(f"{spec.name}/{rel}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def deployment(name: str, images: list[str]) -> str:
    """A Deployment template with one container per image (each written as a JSON string,
    so any text, even an invalid reference, reaches the rendered YAML unchanged)."""
    lines = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        f"  name: {{{{ .Release.Name }}}}-{name}",
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
    ]
    for index, image in enumerate(images):
        lines += [
            f"        - name: c{index}",
            f"          image: {json.dumps(image)}",
            "          imagePullPolicy: IfNotPresent",
        ]
    return "\n".join(lines) + "\n"


# -- a chart repository over HTTP ------------------------------------------------------------


class _Served(NamedTuple):
    data: bytes
    content_type: str


class ChartRepoServer:
    """A Helm chart repository on ``http://127.0.0.1:PORT/repo``.

    ``add(spec, url="relative")`` serves the archive at ``/repo/charts/<file>`` and
    lists it as ``charts/<file>``; ``url="absolute"`` serves it at
    ``/downloads/<file>`` and lists the full URL. ``index.yaml`` is rebuilt on
    every ``add``. ``requests`` records every requested path in order.
    """

    def __init__(self) -> None:
        self._files: dict[str, _Served] = {}
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        if self._server is None:
            raise RuntimeError("chart repository not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The repository URL as written in config.json (``helm-latest:<url>``)."""
        return f"{self.base}/repo"

    def add(self, spec: ChartSpec, *, url: Literal["relative", "absolute"] = "relative") -> bytes:
        archive = package_chart(spec)
        if url == "relative":
            path, listed = f"/repo/charts/{spec.archive_name}", f"charts/{spec.archive_name}"
        else:
            path = f"/downloads/{spec.archive_name}"
            listed = self.base + path
        self._files[path] = _Served(archive, "application/gzip")
        entry: dict[str, Any] = {
            "apiVersion": "v2",
            "name": spec.name,
            "version": spec.version,
            "urls": [listed],
            "digest": hashlib.sha256(archive).hexdigest(),
            "created": "2024-12-01T00:00:00Z",
        }
        self._entries.setdefault(spec.name, []).insert(0, entry)
        self._files["/repo/index.yaml"] = _Served(self.index_yaml(), "application/x-yaml")
        return archive

    def index_yaml(self) -> bytes:
        doc = {"apiVersion": "v1", "entries": self._entries, "generated": "2024-12-01T00:00:00Z"}
        return yaml.safe_dump(doc, sort_keys=False).encode()

    def start(self) -> Self:
        files, requests = self._files, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                served = files.get(self.path.split("?", 1)[0])
                if served is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(len(served.data)))
                self.end_headers()
                self.wfile.write(served.data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), name="chart-repo", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- test-side clients -----------------------------------------------------------------------


class UrllibFetcher:
    """``mirror.helm.Fetcher`` with urllib in a worker thread (no proxies, no retries)."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.fetched: list[str] = []

    def _get(self, url: str) -> bytes:
        try:
            with self._opener.open(url, timeout=30) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFound(f"GET {url}: 404 not found", status=404) from None
            raise RegistryError(f"GET {url}: HTTP {exc.code}", status=exc.code) from None
        except OSError as exc:
            raise RegistryError(f"GET {url}: {exc}") from None

    async def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return await anyio.to_thread.run_sync(self._get, url)


# -- the helm CLI for test setup -------------------------------------------------------------


def find_helm() -> str:
    """The helm binary: PATH (tests put ``<repo>/.tools/bin`` first), else install it the
    way scripts/test.sh does. Never skips: a missing helm is a failure that says why."""
    found = shutil.which("helm") or (
        str(REPO_ROOT / ".tools/bin/helm") if os.access(REPO_ROOT / ".tools/bin/helm", os.X_OK) else None
    )
    if found:
        return found
    proc = subprocess.run(
        [str(REPO_ROOT / "scripts/install-helm.sh")], capture_output=True, text=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"helm is not installed and scripts/install-helm.sh failed: {proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def helm_env(home: Path) -> dict[str, str]:
    """The environment for a test-side helm: isolated HELM_* homes under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    for name in ("config", "cache", "data"):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[f"HELM_{name.upper()}_HOME"] = str(home / name)
    return env


def helm_push(archive: Path, oci_namespace: str, home: Path) -> str:
    """``helm push <archive> oci://HOST/NS --plain-http``; return helm's output."""
    proc = subprocess.run(
        [find_helm(), "push", str(archive), oci_namespace, "--plain-http"],
        capture_output=True,
        text=True,
        check=False,
        env=helm_env(home),
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"helm push {archive.name} to {oci_namespace} failed: {proc.stderr}")
    return proc.stdout + proc.stderr

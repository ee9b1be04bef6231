"""Discovery: a config shaped like Rancher's 2024-12 ``config.json``, its sources served here.

Every entry of the real config is kept (same keys, kinds, filters, images,
chart names and ``chartConfig`` sets); what answers is local, behind the same
latency and counts as the sync scenarios' proxies (here a middleware in front of each fake:
:class:`bench.proxy.LatencyFront`):

* registry tag lists (``versionSource: registry``) — a fake distribution front
  that pages ``tags/list`` 100 tags at a time with ``Link: rel="next"`` (as
  Docker Hub and most registries do; docker-registry 2.8 cannot), with
  hundreds of tags per repository;
* GitHub (``github-latest-release``, ``github-releases``,
  ``github-tagged-images-file``) — ``tests.fakes.github.FakeGitHub`` through
  ``GITHUB_API_URL``, with tens to hundreds of releases per repository and a
  Longhorn-like images file at every tag;
* Helm chart repositories (``helm-latest``) — ``index.yaml`` and ``.tgz``
  charts (built with ``tests.support.charts``), reached through the registries
  file's ``endpoint`` for ``docs.tigera.io`` and ``helm.cilium.io``; rendering
  uses the real helm binary.

Two shapes of the same engine are timed: default limits, and "every limit 1"
(``concurrency: 1`` for every host in the registries file, the GitHub API host
— the host of ``GITHUB_API_URL`` — included, and the helm renderer's own
limiter forced to 1 through :mod:`bench._cli`, since it is not configurable) —
the seed's sequential shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from . import timeline
from .proxy import LatencyFront, serve_app
from .runner import base_env, image_mirror_argv, run
from .sync import Measurement

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # pragma: no cover
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.support.data import SHARED_DATA  # noqa: E402
from tests.support.charts import ChartSpec, deployment, find_helm, package_chart  # noqa: E402

__all__ = ["DiscoveryBed"]

TAG_PAGE = 100
#: ``shared/data`` beside the repository (env IMAGE_MIRROR_SHARED_DATA); read there, never copied in.
CONFIG_SOURCE = SHARED_DATA / "rancher-config-2024-12.json"


# -- fake upstreams ------------------------------------------------------------------------------


def _tags_app(tags: dict[str, list[str]]) -> web.Application:
    """``/v2/<name>/tags/list`` paged ``TAG_PAGE`` at a time (``n`` is clamped), sorted."""

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        if path.rstrip("/") == "/v2":
            return web.json_response({})
        if not (path.startswith("/v2/") and path.endswith("/tags/list")):
            return web.json_response({"errors": [{"code": "UNSUPPORTED"}]}, status=404)
        name = path[len("/v2/"):-len("/tags/list")]
        if name not in tags:
            return web.json_response({"errors": [{"code": "NAME_UNKNOWN", "message": name}]}, status=404)
        every = tags[name]
        try:
            n = min(max(int(request.query.get("n", TAG_PAGE)), 1), TAG_PAGE)
        except ValueError:
            n = TAG_PAGE
        last = request.query.get("last")
        start = 0
        if last is not None:
            start = next((i + 1 for i, t in enumerate(every) if t == last), len(every))
        page = every[start:start + n]
        headers = {}
        if start + n < len(every):
            headers["Link"] = f'</v2/{name}/tags/list?last={page[-1]}&n={n}>; rel="next"'
        return web.json_response({"name": name, "tags": page}, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


def _static_app(files: dict[str, bytes]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        data = files.get(request.path)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


def _versions(major: int, minors: range, patches: int, prefix: str = "v") -> list[str]:
    return [f"{prefix}{major}.{minor}.{patch}" for minor in minors for patch in range(patches)]


def _registry_tags() -> dict[str, list[str]]:
    """Hundreds of tags, like the real repositories (traefik: ~700; cloud-provider-vsphere: ~150)."""
    traefik = []
    for major, minors in ((1, range(0, 8)), (2, range(0, 12)), (3, range(0, 3))):
        for minor in minors:
            for patch in range(12):
                traefik += [f"{major}.{minor}.{patch}", f"v{major}.{minor}.{patch}"]
                if patch % 3 == 0:
                    traefik.append(f"v{major}.{minor}.{patch}-rc1")
        traefik.append(f"{major}.{minor}")
    cpi = [f"v1.{minor}.{patch}" for minor in range(18, 32) for patch in range(8)]
    cpi += [f"v1.{minor}.0-alpha.1" for minor in range(18, 32)] + ["latest"]
    return {
        "docker.io/library/traefik": sorted(set(traefik)),
        "registry.k8s.io/cloud-pv-vsphere/cloud-provider-vsphere": sorted(set(cpi)),
    }


def _github(fake: FakeGitHub, config: dict[str, Any]) -> None:
    repos: dict[str, str] = {}
    for entry in config.values():
        source = entry["versionSource"]
        kind, _, target = source.partition(":")
        if kind.startswith("github"):
            repos[target] = kind
    for full_name, kind in sorted(repos.items()):
        repo = fake.add_repo(full_name)
        if full_name == "etcd-io/etcd":
            versions = _versions(3, range(0, 6), 40)  # 240 releases: three pages of 100
        elif full_name == "longhorn/longhorn":
            versions = _versions(1, range(0, 8), 6)  # 48 releases, >=1.4.0 keeps 24
        else:
            versions = _versions(0, range(20, 26), 5)  # 30 releases
        for number, version in enumerate(versions):
            repo.add_release(version, prerelease=number % 11 == 5)
            if kind == "github-tagged-images-file":
                images = [f"longhornio/longhorn-{part}:{version}" for part in
                          ("manager", "engine", "ui", "instance-manager", "share-manager", "backing-image-manager")]
                images += [f"longhornio/csi-{part}:v2.{number % 7}.0" for part in
                           ("attacher", "provisioner", "resizer", "snapshotter", "node-driver-registrar")]
                images += ["rancher/mirrored-longhornio-support-bundle-kit:v0.0.45",
                           f"longhornio/livenessprobe:v2.{number % 5}.0"]
                repo.add_file(version, "deploy/longhorn-images.txt", "\n".join(images) + "\n")


def _charts() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    import yaml

    def repo(base: str, name: str, versions: list[str], images: Any) -> None:
        entries = []
        for version in versions:
            spec = ChartSpec(name, version.lstrip("v"), templates={"deploy.yaml": deployment(name, images(version))},
                             values={"image": {"tag": version}, "eni": {"enabled": False}})
            archive = package_chart(spec)
            files[f"{base}/{spec.archive_name}"] = archive
            entries.append({"apiVersion": "v2", "name": name, "version": spec.version,
                            "urls": [spec.archive_name], "created": "2024-12-01T00:00:00Z"})
        doc = {"apiVersion": "v1", "entries": {name: entries}, "generated": "2024-12-01T00:00:00Z"}
        files[f"{base}/index.yaml"] = yaml.safe_dump(doc, sort_keys=False).encode()

    repo("/calico/charts", "tigera-operator", _versions(3, range(25, 30), 4),
         lambda v: [f"quay.io/tigera/operator:{v.replace('v3.', 'v1.3')}", f"quay.io/calico/node:{v}",
                    f"quay.io/calico/cni:{v}", f"quay.io/calico/typha:{v}"])
    repo("/cilium", "cilium", _versions(1, range(13, 17), 5),
         lambda v: [f"quay.io/cilium/cilium:{v}", f"quay.io/cilium/operator-generic:{v}",
                    f"quay.io/cilium/hubble-relay:{v}", "quay.io/cilium/hubble-ui:v0.13.1",
                    f"quay.io/cilium/cilium-envoy:{v}-1", f"quay.io/cilium/clustermesh-apiserver:{v}",
                    "docker.io/library/busybox:1.36.1"])
    return files


# -- the bed -------------------------------------------------------------------------------------


class DiscoveryBed:
    def __init__(self, *, rundir: Path, delay: float, images_list: Path, log: Any) -> None:
        self.rundir = rundir
        self.delay = delay
        self.images_list = images_list
        self.log = log
        self.config = json.loads(CONFIG_SOURCE.read_text())
        # Compact JSON: the fake stands for GitHub's servers, whose pretty-printing is not this machine's CPU.
        self.github = FakeGitHub(limit_authenticated=10**9, limit_anonymous=10**9, pretty=False)
        # The delay and counts sit in front of each fake as a middleware (no proxy hop: every
        # fake is in this process, and a second HTTP hop answered bursts late; bench.proxy).
        self.github_proxy = LatencyFront(delay=delay, name="github", timeline=True)
        self.tags_proxy = LatencyFront(delay=delay, name="tags", timeline=True)
        self.charts_proxy = LatencyFront(delay=delay, name="charts", timeline=True)
        self._runners: list[web.AppRunner] = []
        self.helm_dir: Path | None = None
        #: what the fakes serve (for the critical-path bound, :mod:`bench.discovery_run`)
        self.tags: dict[str, list[str]] = {}
        self.chart_files: dict[str, bytes] = {}

    @property
    def proxies(self) -> list[LatencyFront]:
        return [self.github_proxy, self.tags_proxy, self.charts_proxy]

    async def start(self) -> None:
        _github(self.github, self.config)
        await self.github.start(middlewares=[self.github_proxy.middleware])
        self.github_proxy.url = self.github.url
        self.tags = _registry_tags()
        self.chart_files = _charts()
        for front, app in ((self.tags_proxy, _tags_app(self.tags)), (self.charts_proxy, _static_app(self.chart_files))):
            app.middlewares.append(front.middleware)
            runner, front.url = await serve_app(app)
            self._runners.append(runner)
        helm = find_helm()
        self.helm_dir = Path(helm).parent
        (self.rundir / "discover.config.json").write_text(json.dumps(self.config, indent=2))

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        await self.github.close()

    def registries_file(self, concurrency: int | None, github_concurrency: int | None = None) -> Path:
        """``concurrency`` for every host (None: the defaults); the GitHub API host (the host of
        ``GITHUB_API_URL``, here its latency proxy) gets ``github_concurrency``, else the same
        ``concurrency`` (unlisted: the client's default of 4)."""
        limit = f"  concurrency: {concurrency}\n" if concurrency else ""
        text = (
            f"docker.io:\n  endpoint: {self.tags_proxy.url}\n  repository_prefix: docker.io\n{limit}"
            f"registry.k8s.io:\n  endpoint: {self.tags_proxy.url}\n  repository_prefix: registry.k8s.io\n{limit}"
            f"docs.tigera.io:\n  endpoint: {self.charts_proxy.url}\n{limit}"
            f"helm.cilium.io:\n  endpoint: {self.charts_proxy.url}/cilium\n{limit}"
        )
        github_limit = github_concurrency or concurrency
        if github_limit:
            text += f"{urlsplit(self.github_proxy.url).netloc}:\n  concurrency: {github_limit}\n"
        label = f"{concurrency or 'default'}" + (f"-github{github_concurrency}" if github_concurrency else "")
        path = self.rundir / f"discover-registries-{label}.yaml"
        path.write_text(text)
        return path

    async def discover(self, name: str, *, sequential: bool, github_concurrency: int | None = None,
                       tree: tuple[list[str], Path] | None = None) -> Measurement:
        """One ``image-mirror discover``; ``tree``: another checkout's code (the launcher's argv, the
        checkout), as :mod:`bench.commits` runs it."""
        registries = self.registries_file(1 if sequential else None, None if sequential else github_concurrency)
        extra = {"GITHUB_API_URL": self.github_proxy.url}
        assert self.helm_dir is not None
        extra["PATH"] = f"{self.helm_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        if sequential:
            extra["BENCH_SEQUENTIAL"] = "1"  # the helm renderer's limit (not configurable) to 1
        marks = self.rundir / "logs" / f"{name}.marks.json"
        extra["BENCH_TIMELINE"] = str(marks)
        env = base_env(self.rundir / "home", extra)
        args = ("--registries", str(registries), "--images-list", str(self.images_list),
                "--config", str(self.rundir / "discover.config.json"), "--no-cache", "--log-format", "json", "discover")
        argv, cwd = image_mirror_argv(*args), REPO_ROOT
        if tree is not None:
            argv, cwd = [*tree[0], *args], tree[1]
            env["BENCH_ROOT"] = str(tree[1])
        for proxy in self.proxies:
            proxy.reset()
        result = await run(argv, env=env, logdir=self.rundir / "logs", name=name, cwd=cwd)
        seen = {proxy.name: proxy.reset() for proxy in self.proxies}
        counts = {name: c.snapshot() for name, c in seen.items()}
        line = timeline.load(result.started_at, result.started_at + result.wall, marks, result.stderr,
                             {name: c.timeline for name, c in seen.items()})
        (self.rundir / "logs" / f"{name}.timeline.txt").write_text(line.render() + "\n")
        engine = line.phases().get("entries (engine)")  # first event to discover.done
        entries = 0
        digest = ""
        try:
            data = result.stdout.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            entries = len(json.loads(data))
        except (OSError, ValueError):
            pass
        ok = result.returncode == 0 and entries == len(self.config)
        tool = "image-mirror discover" + (" (every limit 1)" if sequential else " (default limits)")
        if github_concurrency and not sequential:
            tool = f"image-mirror discover (GitHub concurrency {github_concurrency}, experiment)"
        m = Measurement(tool, "discovery", result.wall, ok, len(self.config), engine, result.cpu, result.rss_mib,
                        extra={"requests": counts, "entries_in_output": entries, "phases": line.phases(),
                               "stdout_sha256": digest})
        m.source = {"total": sum(int(c["total"]) for c in counts.values())}
        if not ok:
            m.note = f"exit {result.returncode}, {entries}/{len(self.config)} entries: {result.tail(6)}"
        self.log(f"  {name}: {m.wall:.2f}s wall, engine {engine}s, {m.requests} requests, "
                 f"rss {m.rss_mib and round(m.rss_mib, 1)} MiB, ok={ok} {m.note[:400]}")
        return m


"""The Helm version sources: ``helm-latest``, ``helm-oci`` and ``helm-directory``.

For every chart of an entry this picks the chart versions to render (the
newest by semver, plus the newest match of each ``additionalVersionFilter``),
gets each as a local file, renders it once per ``chartConfig`` entry (or once
plainly) and reads its default values, then collects every image found:

* ``helm-latest:URL`` — the repository's ``<URL>/index.yaml`` and the chart
  ``.tgz`` come through the :class:`~mirror.helm.Fetcher`; a chart named
  ``oci://…`` (or a repository URL that is ``oci://…``) is an OCI chart;
* ``helm-oci`` — chart keys are ``oci://host/path/chart``: tags and the chart
  layer come through the :class:`~mirror.helm.OciReader`;
* ``helm-directory:/path`` — the chart directory ``/path/<chart>``, as it is
  (no versions to choose).

Fixed from the seed: the default values are read for every chart and version (the
seed ran ``helm show values`` only for the last chart of an entry; here the chart's
``values.yaml`` is read from the archive, the text that command prints, without a helm
process); an additional version
renders with its chart's own ``chartConfig`` (the seed reused the last
config's leftovers for charts without one); helm never sees the network or the
user's helm configuration.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import anyio

from .. import helm as helmlib
from ..config import ChartConfig, Entry, HelmChart, SourceKind
from ..errors import HelmError, MirrorError
from ..flight import gather
from ..helm import Fetcher, HelmRenderer, OciReader
from ..value import frozen
from .base import Clients, Found, Source, normalize_full_images

__all__ = ["SOURCE", "discover"]


@frozen
class _Target:
    """One chart version to render: a local archive or directory."""

    chart: HelmChart
    version: str | None  # None for a directory chart
    path: Path

    @property
    def label(self) -> str:
        return self.chart.name if self.version is None else f"{self.chart.name} {self.version}"


class _Run:
    """The state of one entry's discovery: where to write, what was found, what failed."""

    def __init__(self, entry: Entry, helm: HelmRenderer, fetcher: Fetcher, oci: OciReader | None,
                 stack: AsyncExitStack):
        self.entry = entry
        self.helm = helm
        self.fetcher = fetcher
        self.oci = oci
        self.candidates: list[str] = []
        self._files = 0
        self._stack = stack
        self._workdir: Path | None = None
        self._workdir_lock = anyio.Lock(fast_acquire=True)

    async def new_file(self, chart: str, version: str) -> Path:
        """A path for a downloaded archive, in the entry's work directory.

        The directory is made when the first archive arrives, not before the index is
        asked for: making it is a worker-thread call, and the index request is the first
        link of the entry's chain (index, archive, renders).
        """
        async with self._workdir_lock:
            if self._workdir is None:
                self._workdir = await self._stack.enter_async_context(self.helm.workdir())
        self._files += 1
        safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{chart.rsplit('/', 1)[-1]}-{version}")
        return self._workdir / f"{self._files:03d}-{safe}.tgz"

    def versions_for(self, chart: HelmChart, available: list[str], origin: str) -> list[str]:
        """The newest version, then the newest match of each additionalVersionFilter."""
        chosen: list[str] = []
        wanted: list[str | None] = [chart.version_filter, *self.entry.additional_version_filter]
        for index, constraint in enumerate(wanted):
            version = helmlib.select_version(available, devel=chart.devel, constraint=constraint)
            if version is None:
                if constraint:
                    field = "versionFilter" if index == 0 else "additionalVersionFilter"
                    rule = f"matches {field} {constraint!r}"
                elif chart.devel:
                    rule = "is a semantic version"
                else:
                    rule = "is a release (pre-releases need devel: true)"
                raise HelmError(f"chart {chart.name!r}: no version in {origin} {rule}; {len(available)} listed")
            if version not in chosen:
                chosen.append(version)
        return chosen


async def _fetch(run: _Run, url: str, what: str) -> bytes:
    try:
        return await run.fetcher.fetch(url)
    except HelmError:
        raise
    except MirrorError as exc:
        raise HelmError(f"fetching {what} from {url} failed: {exc}") from exc


async def _write(run: _Run, path: Path, data: bytes) -> None:
    try:
        await anyio.Path(path).write_bytes(data)
    except OSError as exc:
        raise HelmError(f"could not write {path}: {exc.strerror or exc}") from None


# -- getting chart files ---------------------------------------------------------------------


async def _repo_targets(run: _Run, repo_url: str) -> list[_Target]:
    """helm-latest: one index.yaml for the entry, then each chart's chosen versions."""
    oci_charts = [c for c in run.entry.helm_charts if c.name.startswith("oci://")]
    repo_charts = [c for c in run.entry.helm_charts if not c.name.startswith("oci://")]
    if repo_url.startswith("oci://"):
        # A repository URL that is itself an OCI namespace: its charts are OCI charts.
        oci_charts += [_as_oci(c, repo_url) for c in repo_charts]
        repo_charts = []
    targets = await _all_oci_targets(run, oci_charts)
    if not repo_charts:
        return targets
    index_url = repo_url.rstrip("/") + "/index.yaml"
    data = await _fetch(run, index_url, "the chart repository index")
    index = await anyio.to_thread.run_sync(lambda: helmlib.parse_index(data, source=index_url))
    downloads: list[tuple[HelmChart, str, str]] = []
    for chart in repo_charts:
        entries = index.get(chart.name)
        if not entries:
            raise HelmError(f"chart {chart.name!r} is not in {index_url}")
        by_version = {item.version: item for item in entries}
        for version in run.versions_for(chart, list(by_version), index_url):
            downloads.append((chart, version, helmlib.chart_url(repo_url, by_version[version].urls[0])))
    files: list[_Target] = []

    async def download(chart: HelmChart, version: str, url: str) -> None:
        data = await _fetch(run, url, f"chart {chart.name} {version}")
        path = await run.new_file(chart.name, version)
        await _write(run, path, data)
        files.append(_Target(chart, version, path))

    await gather([partial(download, c, v, u) for c, v, u in downloads])
    return targets + files


def _as_oci(chart: HelmChart, repo_url: str) -> HelmChart:
    return HelmChart(f"{repo_url.rstrip('/')}/{chart.name}", chart.devel, chart.version_filter, chart.chart_configs)


async def _all_oci_targets(run: _Run, charts: list[HelmChart]) -> list[_Target]:
    targets: list[_Target] = []

    async def one(chart: HelmChart) -> None:
        targets.extend(await _oci_targets(run, chart))

    await gather([partial(one, chart) for chart in charts])
    return targets


async def _oci_targets(run: _Run, chart: HelmChart) -> list[_Target]:
    """An OCI chart: list tags, choose versions, pull each chart layer."""
    if run.oci is None:
        raise HelmError(f"chart {chart.name!r} is an OCI chart but no registry client was given")
    ref = helmlib.oci_chart_ref(chart.name)
    oci = run.oci
    try:
        tags = await oci.list_tags(ref)
    except HelmError:
        raise
    except MirrorError as exc:
        raise HelmError(f"listing the tags of {chart.name} failed: {exc}") from exc
    by_version = helmlib.oci_chart_versions(tags)
    targets: list[_Target] = []

    async def pull(version: str) -> None:
        try:
            data = await helmlib.pull_oci_chart(oci, ref, by_version[version])
        except HelmError:
            raise
        except MirrorError as exc:
            raise HelmError(f"pulling {chart.name} {version} failed: {exc}") from exc
        path = await run.new_file(chart.name, version)
        await _write(run, path, data)
        targets.append(_Target(chart, version, path))

    versions = run.versions_for(chart, list(by_version), chart.name)
    await gather([partial(pull, v) for v in versions])
    return targets


async def _directory_targets(run: _Run, root: str) -> list[_Target]:
    """helm-directory: ``<root>/<chart>`` as it is."""
    targets = []
    for chart in run.entry.helm_charts:
        path = Path(root) / chart.name
        if not await anyio.Path(path / "Chart.yaml").is_file():
            raise HelmError(f"{path} is not a chart directory (no Chart.yaml)")
        targets.append(_Target(chart, None, path))
    return targets


# -- rendering -------------------------------------------------------------------------------


async def _render(run: _Run, target: _Target, config: ChartConfig | None) -> None:
    what = f"helm template of chart {target.label}"
    if config is not None:
        what += f" (chartConfig {config.name!r})"
    text = await run.helm.template(
        target.path,
        values=config.values if config else (),
        kube_version=config.kube_version if config else None,
        what=what,
    )
    images = await anyio.to_thread.run_sync(lambda: helmlib.images_from_manifests(text, what=what))
    run.candidates.extend(images)


def _images_in_values(path: Path, what: str) -> list[str]:
    return helmlib.images_from_values(helmlib.read_values(path, what), what=what)


async def _values(run: _Run, target: _Target) -> None:
    """The chart's own values.yaml (what ``helm show values`` prints), read in a worker thread."""
    images = await anyio.to_thread.run_sync(_images_in_values, target.path, f"values.yaml of chart {target.label}")
    run.candidates.extend(images)


async def discover(entry: Entry, helm: HelmRenderer, fetcher: Fetcher, oci: OciReader | None = None) -> Found:
    """Every image the entry's charts name, post-processed like the seed's output.

    ``helm`` must be entered (``async with HelmRenderer() as helm``). Raises
    :class:`~mirror.errors.HelmError` when anything fails: the entry then has
    no result, the other entries are unaffected. Messages name the chart (and
    version, chartConfig, URL) but not the entry: the pipeline reports them
    under the entry's key.
    """
    kind = entry.source.kind
    if not kind.is_helm:
        raise ValueError(f"entry {entry.key!r} is not a Helm source ({entry.source})")
    async with AsyncExitStack() as stack:
        run = _Run(entry, helm, fetcher, oci, stack)
        if kind is SourceKind.HELM_DIRECTORY:
            targets = await _directory_targets(run, entry.source.target or "")
        elif kind is SourceKind.HELM_OCI:
            targets = await _all_oci_targets(run, list(entry.helm_charts))
        else:
            targets = await _repo_targets(run, entry.source.target or "")
        jobs: list[Callable[[], Awaitable[None]]] = []
        for target in targets:
            configs: tuple[ChartConfig | None, ...] = target.chart.chart_configs or (None,)
            jobs += [partial(_render, run, target, config) for config in configs]
            jobs.append(partial(_values, run, target))
        await gather(jobs)
    raw = set(run.candidates)
    return Found(full_images=normalize_full_images(raw, entry.image_denylist), seen=len(raw))


class _HelmSource:
    """:func:`discover` as a :class:`~.base.Source` for the three Helm kinds: the run's helm
    renderer, and its registry client as the chart fetcher (so the registries file applies to
    chart repositories) and as the OCI chart reader."""

    async def discover(self, entry: Entry, clients: Clients) -> Found:
        return await discover(entry, clients.helm, clients.registry, clients.registry)


SOURCE: Source = _HelmSource()

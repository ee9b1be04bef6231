"""autoupdate.yaml's HelmLatest strategy: the latest stable chart, one render per environment.

Rancher's tool, on the machinery config.json's Helm sources use (:mod:`mirror.helm`): the
repository's ``index.yaml`` and the chart archive come through the run's :class:`Fetcher`
(so the registries file applies to the chart host), "latest" is the highest stable semantic
version in the index (no pre-releases; no ``devel`` switch in this format), and helm renders
the local archive once per environment with that environment's ``--set`` values, offline.
Images are then found as Rancher finds them (:func:`mirror.autoupdate.images_in_render`:
only keys named exactly ``image``; no ``helm show values``, unlike config.json's sources) and
mapped to the entry's artifacts by :func:`mirror.autoupdate.chart_artifact_tags`. All
charts of an entry and all their environments run concurrently (helm's own limiter bounds
the processes); the first failure fails the entry.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import anyio

from .. import helm as helmlib
from ..autoupdate import AutoupdateEntry, HelmChart, HelmEnvironment, HelmLatest, chart_artifact_tags, images_in_render
from ..errors import HelmError, MirrorError
from ..flight import gather
from ..helm import ChartVersion, Fetcher, HelmRenderer
from .autoupdate import ArtifactTags
from .base import Clients, StrategySource

__all__ = ["HELM_LATEST", "helm_latest"]


async def _fetch(fetcher: Fetcher, url: str, what: str) -> bytes:
    try:
        return await fetcher.fetch(url)
    except HelmError:
        raise
    except MirrorError as exc:
        raise HelmError(f"fetching {what} from {url} failed: {exc}") from exc


def _latest(chart: HelmChart, index: dict[str, list[ChartVersion]], index_url: str) -> ChartVersion:
    listed = index.get(chart.name)
    if not listed:
        raise HelmError(f"chart {chart.name!r} is not in {index_url}")
    by_version = {item.version: item for item in listed}
    version = helmlib.select_version(by_version)
    if version is None:
        raise HelmError(f"chart {chart.name!r}: no stable semantic version in {index_url}; {len(listed)} listed")
    return by_version[version]


async def _render(helm: HelmRenderer, archive: Path, label: str, environment: HelmEnvironment) -> list[str]:
    what = f"helm template of chart {label} (environment {environment.name!r})"
    text = await helm.template(archive, values=environment.values, what=what)
    documents = await anyio.to_thread.run_sync(helmlib.load_documents, text, what)
    return images_in_render(documents)


async def _chart_images(
    strategy: HelmLatest, chart: HelmChart, index: dict[str, list[ChartVersion]], index_url: str,
    helm: HelmRenderer, fetcher: Fetcher, workdir: Path,
) -> list[str]:
    latest = _latest(chart, index, index_url)
    label = f"{chart.name} {latest.version}"
    data = await _fetch(fetcher, helmlib.chart_url(strategy.helm_repo, latest.urls[0]), f"chart {label}")
    archive = workdir / (re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{chart.name}-{latest.version}") + ".tgz")
    try:
        await anyio.Path(archive).write_bytes(data)
    except OSError as exc:
        raise HelmError(f"could not write {archive}: {exc.strerror or exc}") from None
    renders = await gather([partial(_render, helm, archive, label, env) for env in chart.environments])
    return [image for images in renders for image in images]


async def helm_latest(entry: AutoupdateEntry, strategy: HelmLatest, helm: HelmRenderer, fetcher: Fetcher) -> ArtifactTags:
    """Tags per artifact from every chart's renders; ``seen`` counts the distinct images found."""
    index_url = strategy.helm_repo.rstrip("/") + "/index.yaml"
    data = await _fetch(fetcher, index_url, "the chart repository index")
    index = await anyio.to_thread.run_sync(lambda: helmlib.parse_index(data, source=index_url))
    async with helm.workdir() as workdir:
        per_chart = await gather([
            partial(_chart_images, strategy, chart, index, index_url, helm, fetcher, workdir)
            for chart in strategy.charts
        ])
    images = [image for found in per_chart for image in found]
    tags = chart_artifact_tags(entry.name, strategy, images)
    return ArtifactTags(tuple(tags.items()), seen=len(set(images)))


class _HelmLatestStrategy:
    """:func:`helm_latest` as a :class:`~.base.StrategySource`: the run's renderer, and its
    registry client fetching the index and the chart."""

    async def discover(self, entry: AutoupdateEntry, strategy: HelmLatest, clients: Clients) -> ArtifactTags:
        return await helm_latest(entry, strategy, clients.helm, clients.registry)


HELM_LATEST: StrategySource[HelmLatest] = _HelmLatestStrategy()

"""helm-latest against a chart repository served over HTTP, rendered by the real helm."""

from __future__ import annotations

from typing import Any

import pytest

from mirror.errors import HelmError
from mirror.helm import HelmRenderer
from mirror.sources.helm import discover
from tests.support.charts import ChartRepoServer, UrllibFetcher

from .conftest import demo_chart, entry


def app_and_values(version: str) -> list[str]:
    return [f"example.org/demo/app:v{version}", f"quay.io/demo/values-app:values-{version}"]


async def run(repo: ChartRepoServer, **fields: Any) -> tuple[list[str], int]:
    fields.setdefault("helmCharts", {"demo": {}})
    async with HelmRenderer() as helm:
        found = await discover(entry(versionSource=f"helm-latest:{repo.url}", **fields), helm, UrllibFetcher())
    return list(found.full_images), found.seen


@pytest.mark.anyio
async def test_newest_release_is_rendered_and_only_it_is_downloaded(chart_repo: ChartRepoServer) -> None:
    images, seen = await run(chart_repo)
    assert images == app_and_values("1.1.0")
    assert seen == 2
    # 1.1.0 is listed with an absolute URL on another path; nothing else was downloaded.
    assert chart_repo.requests == ["/repo/index.yaml", "/downloads/demo-1.1.0.tgz"]


@pytest.mark.anyio
async def test_devel_picks_the_prerelease(chart_repo: ChartRepoServer) -> None:
    images, _ = await run(chart_repo, helmCharts={"demo": {"devel": True}})
    assert images == app_and_values("1.2.0-rc.1")
    assert chart_repo.requests[-1] == "/repo/charts/demo-1.2.0-rc.1.tgz"  # a relative URL


@pytest.mark.anyio
async def test_version_filter_is_a_helm_constraint(chart_repo: ChartRepoServer) -> None:
    images, _ = await run(chart_repo, helmCharts={"demo": {"versionFilter": "v1.0.*"}})
    assert images == app_and_values("1.0.0")


@pytest.mark.anyio
async def test_additional_version_filters_render_those_versions_too(chart_repo: ChartRepoServer) -> None:
    images, _ = await run(chart_repo, additionalVersionFilter=["1.0.*", ">=1.2.0-rc.0"])
    assert images == sorted(app_and_values("1.0.0") + app_and_values("1.1.0") + app_and_values("1.2.0-rc.1"))


@pytest.mark.anyio
async def test_chart_config_values_and_kube_version(chart_repo: ChartRepoServer) -> None:
    plain, _ = await run(chart_repo)
    assert plain == app_and_values("1.1.0")
    configs = {
        "sidecar": {"values": ["sidecar.enabled=true", "sidecar.version=2.1.0"]},
        "k130": {"kubeVersion": "1.30.2"},
    }
    images, _ = await run(chart_repo, helmCharts={"demo": {"chartConfig": configs}})
    assert images == sorted(
        app_and_values("1.1.0") + ["ghcr.io/demo/sidecar:2.1.0", "registry.k8s.io/demo/k130-helper:v1.30.0"]
    )
    # Each chartConfig is its own render: the sidecar config alone does not get the 1.30 helper.
    only_sidecar, _ = await run(chart_repo, helmCharts={"demo": {"chartConfig": {"sidecar": configs["sidecar"]}}})
    assert only_sidecar == sorted(app_and_values("1.1.0") + ["ghcr.io/demo/sidecar:2.1.0"])


@pytest.mark.anyio
async def test_values_of_every_chart_are_read(chart_repo: ChartRepoServer) -> None:
    # The seed ran `helm show values` only for the last chart of an entry.
    chart_repo.add(demo_chart("3.0.0", name="other"))
    images, _ = await run(chart_repo, helmCharts={"demo": {}, "other": {}})
    assert images == sorted(
        app_and_values("1.1.0") + ["example.org/demo/app:v3.0.0", "quay.io/other/values-app:values-3.0.0"]
    )


@pytest.mark.anyio
async def test_unknown_chart_is_an_error(chart_repo: ChartRepoServer) -> None:
    with pytest.raises(HelmError, match=rf"chart 'missing' is not in {chart_repo.url}/index.yaml"):
        await run(chart_repo, helmCharts={"missing": {}})


@pytest.mark.anyio
async def test_additional_filter_matching_nothing_is_an_error(chart_repo: ChartRepoServer) -> None:
    with pytest.raises(HelmError, match=r"chart 'demo': no version in .* matches additionalVersionFilter '\^2'"):
        await run(chart_repo, additionalVersionFilter=["^2"])


@pytest.mark.anyio
async def test_unreachable_index_is_a_helm_error(chart_repo: ChartRepoServer) -> None:
    async with HelmRenderer() as helm:
        with pytest.raises(HelmError, match=r"fetching the chart repository index from .*/nowhere/index.yaml failed"):
            await discover(
                entry(versionSource=f"helm-latest:{chart_repo.base}/nowhere", helmCharts={"demo": {}}),
                helm,
                UrllibFetcher(),
            )

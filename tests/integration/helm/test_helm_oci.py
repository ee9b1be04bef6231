"""helm-oci: charts pushed with the real ``helm push`` to the real registry, found by tag
through the product's own RegistryClient (which is the ``OciReader`` and ``Fetcher``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mirror.config import Entry
from mirror.errors import HelmError
from mirror.helm import HelmRenderer
from mirror.registry.client import RegistryClient
from mirror.registry.credentials import CredentialStore
from mirror.sources.base import Found
from mirror.sources.helm import discover
from tests.support import images as stdimages
from tests.support.charts import ChartRepoServer, helm_push, package_chart
from tests.support.registry import RegistryServer

from .conftest import DEMO_VERSIONS, demo_chart, entry


@pytest.fixture
def oci_registry(dest_registry: RegistryServer, tmp_path: Path, helm_binary: str) -> RegistryServer:
    """dest_registry with charts/demo at every demo version, plus a non-semver tag."""
    for version in DEMO_VERSIONS:
        archive = tmp_path / f"demo-{version}.tgz"
        archive.write_bytes(package_chart(demo_chart(version)))
        helm_push(archive, f"oci://{dest_registry.host}/charts", tmp_path / "helm-home")
    manifest = stdimages.get_manifest(dest_registry.url, "charts/demo", "1.0.0")
    stdimages.push_manifest(dest_registry.url, "charts/demo", "latest", manifest.body, manifest.media_type)
    return dest_registry


async def discover_with_client(config_entry: Entry) -> Found:
    """discover() with the product's RegistryClient as both OciReader and Fetcher
    (loopback registries are spoken to over plain HTTP without configuration)."""
    async with RegistryClient.open(credentials=CredentialStore()) as client, HelmRenderer() as helm:
        return await discover(config_entry, helm, client, client)


async def run(registry: RegistryServer, chart: dict[str, Any], **fields: Any) -> list[str]:
    chart_ref = f"oci://{registry.host}/charts/demo"
    found = await discover_with_client(entry(versionSource="helm-oci", helmCharts={chart_ref: chart}, **fields))
    return list(found.full_images)


@pytest.mark.anyio
async def test_newest_release_by_tag(oci_registry: RegistryServer) -> None:
    assert sorted(stdimages.list_tags(oci_registry.url, "charts/demo")) == ["1.0.0", "1.1.0", "1.2.0-rc.1", "latest"]
    assert await run(oci_registry, {}) == ["example.org/demo/app:v1.1.0", "quay.io/demo/values-app:values-1.1.0"]


@pytest.mark.anyio
async def test_devel_filter_and_chart_config(oci_registry: RegistryServer) -> None:
    assert await run(oci_registry, {"devel": True}) == [
        "example.org/demo/app:v1.2.0-rc.1",
        "quay.io/demo/values-app:values-1.2.0-rc.1",
    ]
    config = {"versionFilter": "1.0.x", "chartConfig": {"s": {"values": ["sidecar.enabled=true"]}}}
    assert await run(oci_registry, config) == [
        "example.org/demo/app:v1.0.0",
        "ghcr.io/demo/sidecar:2.0.0",
        "quay.io/demo/values-app:values-1.0.0",
    ]


@pytest.mark.anyio
async def test_missing_repository_is_a_helm_error(oci_registry: RegistryServer) -> None:
    missing = entry(versionSource="helm-oci", helmCharts={f"oci://{oci_registry.host}/charts/nope": {}})
    with pytest.raises(HelmError, match=r"listing the tags of oci://.*/charts/nope failed"):
        await discover_with_client(missing)


@pytest.mark.anyio
async def test_helm_latest_with_an_oci_repository_url(oci_registry: RegistryServer) -> None:
    found = await discover_with_client(
        entry(versionSource=f"helm-latest:oci://{oci_registry.host}/charts", helmCharts={"demo": {}})
    )
    assert found.full_images == ("example.org/demo/app:v1.1.0", "quay.io/demo/values-app:values-1.1.0")


@pytest.mark.anyio
async def test_chart_repository_through_the_registry_client(chart_repo: ChartRepoServer) -> None:
    # The product's Fetcher for helm-latest is the same client (registries file applies).
    found = await discover_with_client(entry(versionSource=f"helm-latest:{chart_repo.url}", helmCharts={"demo": {}}))
    assert found.full_images == ("example.org/demo/app:v1.1.0", "quay.io/demo/values-app:values-1.1.0")
    assert chart_repo.requests == ["/repo/index.yaml", "/downloads/demo-1.1.0.tgz"]

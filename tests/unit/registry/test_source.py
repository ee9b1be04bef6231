"""The ``registry`` version source, against the fake registry."""

from __future__ import annotations

from typing import Any

import pytest

from mirror.config import Entry, SourceKind, VersionSource
from mirror.errors import NotFound
from mirror.sources.base import Found
from mirror.sources.registry import discover
from tests.fakes.distribution import FakeRegistry, make_image
from tests.unit.registry.conftest import MakeClient

TAGS = ["v1.9.0", "v1.10.0", "v1.10.1-rc.1", "v2.0.0", "latest", "v1.10.1", "nightly-2024"]


def _entry(fake: FakeRegistry, **fields: Any) -> Entry:
    return Entry(key="app", source=VersionSource(SourceKind.REGISTRY),
                 images=(f"{fake.host}/team/app", f"{fake.host}/mirror/app"), **fields)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, set(TAGS)),
        ({"version_filter": r"^v1\.10\."}, {"v1.10.0", "v1.10.1-rc.1", "v1.10.1"}),
        ({"version_constraint": ">=1.10.0"}, {"v1.10.0", "v1.10.1-rc.1", "v2.0.0", "v1.10.1"}),
        ({"version_filter": r"^v1\.", "version_constraint": ">=1.10.0,<1.10.1"}, {"v1.10.0"}),
        ({"latest": True}, {"v2.0.0"}),
        ({"version_filter": r"^v1\.", "latest": True}, {"v1.10.1"}),
    ],
)
async def test_filters(fake: FakeRegistry, make_client: MakeClient, fields: dict[str, Any], expected: set[str]) -> None:
    fake.add_tags("team/app", TAGS)
    fake.max_page = 3  # pagination is part of the path
    async with make_client() as client:
        found = await discover(_entry(fake, **fields), client)
    assert set(found.tags) == expected and len(found.tags) == len(expected)
    assert found.seen == len(TAGS)
    assert found.full_images == ()


@pytest.mark.anyio
async def test_latest_entry_reads_created_times_of_filtered_tags_only(
    fake: FakeRegistry, make_client: MakeClient
) -> None:
    dates = {"v1.0.0": "2024-03-01", "v1.1.0": "2024-02-01", "v2.0.0": "2024-04-01", "v0.9.0": "2024-05-01"}
    for tag, day in dates.items():
        fake.add_manifest("team/app", tag, *make_image(f"{day}T00:00:00Z", layer=tag.encode())[:3])
    async with make_client() as client:
        found = await discover(_entry(fake, version_filter=r"^v1\.", latest_entry=True), client)
    assert found == Found(tags=("v1.0.0",), seen=4)
    read = {r.path.rsplit("/", 1)[-1] for r in fake.requests if "/manifests/" in r.path}
    assert read == {"v1.0.0", "v1.1.0"}


@pytest.mark.anyio
async def test_latest_entry_with_nothing_left_asks_nothing_more(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", ["v1"])
    async with make_client() as client:
        found = await discover(_entry(fake, version_filter="^v9", latest_entry=True), client)
    assert found == Found(tags=(), seen=1)
    assert not any("/manifests/" in r.path for r in fake.requests)


@pytest.mark.anyio
async def test_missing_repository_fails_the_entry(fake: FakeRegistry, make_client: MakeClient) -> None:
    async with make_client() as client:
        with pytest.raises(NotFound, match="team/app"):
            await discover(_entry(fake), client)

"""``sync --referrers`` through registries that have the OCI 1.1 referrers API.

Both sides are real docker-registry 2.8 behind :class:`~tests.fakes.referrers.ReferrersFront`,
which adds the API as distribution spec 1.1 says: ``Link`` pages (one referrer per page here,
so the index's two referrers take two pages), ``OCI-Filters-Applied`` present or absent,
``OCI-Subject`` on a PUT of a manifest with a ``subject``, ``artifactType`` and annotations in
the descriptors. The seed goes through the source front (so it knows the referrers) and keeps
no referrers tags: a registry with the API does not need them.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.fakes.referrers import ReferrersFront
from tests.integration.sync.helpers import cli_in_thread, write_list
from tests.support.images import RegistryHTTPError, get_manifest, list_tags
from tests.support.referrers import IN_TOTO, push_signed_image, tag_of
from tests.support.registry import RegistryFactory

pytestmark = pytest.mark.anyio

REPO, DEST = "team/app", "mirror/app"


async def test_referrers_are_listed_page_by_page_and_indexed_by_the_destination(
    registry_factory: RegistryFactory, tmp_path: Path,
) -> None:
    source, dest = registry_factory(), registry_factory()
    async with ReferrersFront(source.url, page_size=1) as src, ReferrersFront(dest.url, page_size=1) as dst:
        image = await anyio.to_thread.run_sync(lambda: push_signed_image(src.url, REPO, "v1", tag_schema=False))
        images_list = write_list(tmp_path, [f"{src.host}/{REPO} {dst.host}/{DEST} v1"])
        src.reset()

        assert await cli_in_thread(images_list, "sync", "--referrers", "--report", str(tmp_path / "r.json")) == 0

        assert src.pages_served(image.image.digest) == 2  # the attestation, then (Link) the notary signature
        # (pushed side by side: in either order)
        assert sorted(dst.referrers[(DEST, image.image.digest)], key=lambda d: d["digest"]) == \
            sorted([image.att.descriptor(), image.notary.descriptor()], key=lambda d: d["digest"])
        assert dst.referrers[(DEST, image.amd64)] == [image.sbom.descriptor()]
        assert dst.referrers[(DEST, image.att.digest)] == [image.att_sig.descriptor()]
    for artifact in image.referrers:
        assert get_manifest(dest.url, DEST, artifact.digest).body == artifact.manifest
    # The destination answered OCI-Subject: no referrers tag was written there, only cosign's.
    assert sorted(list_tags(dest.url, DEST)) == [tag_of(image.image.digest) + ".sig", "v1"]
    result = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert (result["referrers_copied"], result["referrers_failed"]) == (5, [])


@pytest.mark.parametrize("filters", [True, False], ids=["filtered-by-the-registry", "filtered-by-the-client"])
async def test_one_artifact_type_is_asked_of_the_registry_and_checked_when_it_did_not_filter(
    registry_factory: RegistryFactory, tmp_path: Path, filters: bool,
) -> None:
    source, dest = registry_factory(), registry_factory()
    async with ReferrersFront(source.url, filters=filters) as src, ReferrersFront(dest.url) as dst:
        image = await anyio.to_thread.run_sync(lambda: push_signed_image(src.url, REPO, "v1", tag_schema=False))
        images_list = write_list(tmp_path, [f"{src.host}/{REPO} {dst.host}/{DEST} v1"])
        src.reset()

        assert await cli_in_thread(images_list, "sync", "--referrers", "--referrers-types", IN_TOTO) == 0

        asked = src.matching(method="GET", kind="referrers")
        assert asked and all(seen.query.get("artifactType") == IN_TOTO for seen in asked)
        assert list(dst.referrers) == [(DEST, image.image.digest)]
    assert get_manifest(dest.url, DEST, image.att.digest).body == image.att.manifest
    # Everything else is another type (and a media type selects no cosign tag).
    for artifact in (image.notary, image.sbom, image.att_sig, image.sig):
        with pytest.raises(RegistryHTTPError) as caught:
            get_manifest(dest.url, DEST, artifact.digest)
        assert caught.value.status == 404
    assert list_tags(dest.url, DEST) == ["v1"]


async def test_from_an_api_registry_to_one_without_the_destination_gets_referrers_tags(
    registry_factory: RegistryFactory, tmp_path: Path,
) -> None:
    source, dest = registry_factory(), registry_factory()
    async with ReferrersFront(source.url) as src:
        image = await anyio.to_thread.run_sync(lambda: push_signed_image(src.url, REPO, "v1", tag_schema=False))
        images_list = write_list(tmp_path, [f"{src.host}/{REPO} {dest.host}/{DEST} v1"])

        assert await cli_in_thread(images_list, "sync", "--referrers") == 0

    listed = json.loads(get_manifest(dest.url, DEST, tag_of(image.image.digest)).body)["manifests"]
    # The descriptors as the source's API listed them, artifactType and annotations included.
    assert listed == [image.att.descriptor(), image.notary.descriptor()]
    assert json.loads(get_manifest(dest.url, DEST, tag_of(image.att.digest)).body)["manifests"] == \
        [image.att_sig.descriptor()]

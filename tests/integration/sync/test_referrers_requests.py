"""What ``--referrers`` adds to a warm sync, request by request, at a proxy on each side.

The promise (README, "Signatures, attestations and SBOMs"): per repository at most one
``tags/list`` on each side (cosign's tags and the referrers tags are looked up in it; the
destination's only where there is something to look up); per mirrored digest one
referrers request at the source while it has the API (without it, the host's first 404 stands
for all, and a subject costs a GET of its referrers tag only when the tag list has one); per
cosign tag one HEAD at the source; one HEAD per referrer at the destination; the platform
digests read from the destination's index (it is identical) -- never a GET of a source
manifest, which would be a pull -- except where nothing can be attached to them (a source
without the API whose repository has no tag naming a digest).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import pytest

from tests.fakes.proxy import CountingProxy
from tests.fakes.referrers import ReferrersFront
from tests.integration.sync.helpers import cli_in_thread, write_list
from tests.support.images import push_image
from tests.support.referrers import push_signed_image
from tests.support.registry import RegistryFactory

pytestmark = pytest.mark.anyio

REPO, DEST = "team/app", "mirror/app"


def _requests(proxy: CountingProxy) -> Counter[tuple[str, str]]:
    return Counter((seen.method, seen.kind) for seen in proxy.seen)


async def _warm_difference(src: CountingProxy, dst: CountingProxy, tmp_path: Path
                           ) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Cold run with referrers; then what a warm run with ``--referrers`` sends beyond one without."""
    images_list = write_list(tmp_path, [f"{src.host}/{REPO} {dst.host}/{DEST} v1",
                                        f"{src.host}/{REPO} {dst.host}/{DEST} v2",
                                        f"{src.host}/team/plain {dst.host}/mirror/plain v1"])
    assert await cli_in_thread(images_list, "sync", "--referrers") == 0
    src.reset()
    dst.reset()
    assert await cli_in_thread(images_list, "sync") == 0
    plain = _requests(src), _requests(dst)
    src.reset()
    dst.reset()
    assert await cli_in_thread(images_list, "sync", "--referrers") == 0
    print(f"warm --referrers: source {src.summary()}, destination {dst.summary()}")
    return _requests(src) - plain[0], _requests(dst) - plain[1]


async def test_a_warm_run_without_the_referrers_api_adds_exactly_these_requests(
    registry_factory: RegistryFactory, tmp_path: Path,
) -> None:
    source, dest = registry_factory(), registry_factory()
    push_signed_image(source.url, REPO, "v1", tag_schema=True)
    push_image(source.url, REPO, "v2")  # nothing attached to it
    push_image(source.url, "team/plain", "v1")  # nothing attached to anything in its repository
    async with CountingProxy(source.url) as src, CountingProxy(dest.url) as dst:
        added_src, added_dst = await _warm_difference(src, dst, tmp_path)

    assert added_src == Counter({
        ("GET", "tags"): 2,  # two repositories
        ("GET", "referrers"): 1,  # 404: the host has no referrers API, for every subject after it
        ("GET", "manifest"): 3,  # the referrers tags listed: of the index, of amd64, of the attestation
        ("HEAD", "manifest"): 1,  # cosign's .sig tag: its digest
    })
    assert added_dst == Counter({
        ("GET", "tags"): 1,  # mirror/app, for cosign's tag; mirror/plain has nothing to check
        ("HEAD", "manifest"): 5,  # one per referrer (four by digest, the .sig by tag)
        ("GET", "manifest"): 2,  # team/app's indexes: their platform digests (team/plain's are not needed)
    })


async def test_a_warm_run_with_the_referrers_api_adds_exactly_these_requests(
    registry_factory: RegistryFactory, tmp_path: Path,
) -> None:
    source, dest = registry_factory(), registry_factory()
    async with ReferrersFront(source.url, page_size=1) as src, ReferrersFront(dest.url) as dst:
        await anyio.to_thread.run_sync(lambda: push_signed_image(src.url, REPO, "v1", tag_schema=False))
        await anyio.to_thread.run_sync(lambda: push_image(src.url, REPO, "v2"))
        await anyio.to_thread.run_sync(lambda: push_image(src.url, "team/plain", "v1"))
        added_src, added_dst = await _warm_difference(src, dst, tmp_path)

    assert added_src == Counter({
        ("GET", "tags"): 2,
        # Per mirrored digest (3 lines x index + 2 platforms) and per referrer found (5), one
        # request; the index of v1 has two referrers, one per page: one more page.
        ("GET", "referrers"): 9 + 5 + 1,
        ("HEAD", "manifest"): 1,
    })
    assert added_dst == Counter({
        ("GET", "tags"): 1,
        ("HEAD", "manifest"): 5,
        ("GET", "manifest"): 3,  # each line's index: its platform digests
    })

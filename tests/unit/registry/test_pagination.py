"""Tag lists: Link pagination, its guards, and repository existence."""

from __future__ import annotations

import pytest

from mirror import ref as imageref
from mirror.errors import NotFound, ProtocolError
from tests.fakes.distribution import FakeRegistry
from tests.unit.registry.conftest import MakeClient

TAGS = [f"v1.{i}.0" for i in range(10)]


def _ref(fake: FakeRegistry, name: str = "team/app") -> imageref.ImageRef:
    return imageref.parse(f"{fake.host}/{name}")


@pytest.mark.anyio
@pytest.mark.parametrize("style", ["relative", "absolute", "alternate"])
async def test_link_pagination_over_pages(fake: FakeRegistry, make_client: MakeClient, style: str) -> None:
    fake.add_tags("team/app", TAGS)
    fake.max_page = 3
    fake.link_style = style
    async with make_client() as client:
        tags = await client.list_tags(_ref(fake))
    assert sorted(tags) == sorted(TAGS)
    pages = [r for r in fake.requests if r.path.endswith("/tags/list")]
    assert len(pages) == 4  # 3 + 3 + 3 + 1
    assert pages[0].query["n"] == ["1000"]
    assert [p.query.get("last") for p in pages[1:]] == [[sorted(TAGS)[2]], [sorted(TAGS)[5]], [sorted(TAGS)[8]]]


@pytest.mark.anyio
async def test_link_to_another_host_is_refused(make_client: MakeClient) -> None:
    async with FakeRegistry() as fake, FakeRegistry() as other:
        fake.add_tags("team/app", TAGS)
        other.add_tags("team/app", TAGS)
        fake.max_page = 3
        fake.link_hook = lambda name, link: other.url + link
        async with make_client() as client:
            with pytest.raises(ProtocolError, match="leaves"):
                await client.list_tags(_ref(fake))
        assert other.requests == []


@pytest.mark.anyio
async def test_pagination_loop_is_an_error(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", TAGS)
    fake.max_page = 3
    fake.link_hook = lambda name, link: f"/v2/{name}/tags/list?n=3&last={sorted(TAGS)[2]}"
    async with make_client() as client:
        with pytest.raises(ProtocolError, match="loops"):
            await client.list_tags(_ref(fake))
    assert fake.count("GET", "tags/list") == 2  # the linked page links to itself: stop before asking again


@pytest.mark.anyio
async def test_page_cap_ends_an_endless_listing(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", TAGS)
    fake.max_page = 1
    async with make_client(max_pages=4) as client:
        with pytest.raises(ProtocolError, match="more than 4 pages"):
            await client.list_tags(_ref(fake))


@pytest.mark.anyio
async def test_unknown_repository_is_not_found_naming_it(fake: FakeRegistry, make_client: MakeClient) -> None:
    async with make_client() as client:
        with pytest.raises(NotFound) as caught:
            await client.list_tags(_ref(fake, "team/missing"))
        assert await client.repository_exists(_ref(fake, "team/missing")) is False
        fake.add_tags("team/app", ["v1"])
        assert await client.repository_exists(_ref(fake)) is True
    text = str(caught.value)
    assert f"{fake.host}/team/missing" in text
    assert "NAME_UNKNOWN" in text
    assert caught.value.status == 404


@pytest.mark.anyio
async def test_empty_repository_lists_no_tags(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.repo("team/empty")
    async with make_client() as client:
        assert await client.list_tags(_ref(fake, "team/empty")) == []

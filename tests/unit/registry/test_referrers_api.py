"""``RegistryClient.list_referrers``: pages, the filter header, 404 and the pagination guards,
against a small aiohttp server that answers as distribution spec 1.1 says (or breaks it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from mirror import ref as imageref
from mirror.errors import ProtocolError
from tests.unit.registry.conftest import MakeClient

pytestmark = pytest.mark.anyio

SUBJECT = "sha256:" + "5" * 64
INDEX = "application/vnd.oci.image.index.v1+json"

Handler = Callable[[web.Request], web.Response]


def _page(*digests: str, **headers: str) -> web.Response:
    body = {"schemaVersion": 2, "mediaType": INDEX,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": 1,
                           "artifactType": "application/example"} for d in digests]}
    return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": INDEX, **headers})


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if request.path == "/v2/":
            return web.Response(text="{}")
        return handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def _two_pages(second_filtered: bool) -> Handler:
    def handle(request: web.Request) -> web.Response:
        if request.query.get("page") == "2":
            return _page("sha256:b", **({"OCI-Filters-Applied": "artifactType"} if second_filtered else {}))
        link = f'</v2/team/app/referrers/{SUBJECT}?page=2&artifactType=application%2Fexample>; rel="next"'
        return _page("sha256:a", Link=link, **{"OCI-Filters-Applied": "artifactType"})
    return handle


@pytest.mark.parametrize("second_filtered", [True, False])
async def test_every_page_is_read_and_the_filter_trusted_only_when_every_page_says_so(
    make_client: MakeClient, second_filtered: bool,
) -> None:
    async with _server(_two_pages(second_filtered)) as (host, seen), make_client() as client:
        answer = await client.list_referrers(imageref.parse(f"{host}/team/app"), SUBJECT, "application/example")
    assert answer is not None
    assert [m["digest"] for m in answer.manifests] == ["sha256:a", "sha256:b"]
    assert answer.filters_applied == (frozenset({"artifactType"}) if second_filtered else frozenset())
    first = [r for r in seen if "referrers" in r.path][0]
    assert first.query["artifactType"] == "application/example" and first.headers["Accept"] == INDEX


async def test_a_registry_without_the_api_answers_none(make_client: MakeClient) -> None:
    async with _server(lambda request: web.Response(status=404)) as (host, _), make_client() as client:
        assert await client.list_referrers(imageref.parse(f"{host}/team/app"), SUBJECT) is None


async def test_a_next_page_on_another_host_is_refused(make_client: MakeClient) -> None:
    def handle(request: web.Request) -> web.Response:
        return _page("sha256:a", Link='<http://127.0.0.2:9/v2/team/app/referrers/x>; rel="next"')

    async with _server(handle) as (host, _), make_client() as client:
        with pytest.raises(ProtocolError, match="leaves"):
            await client.list_referrers(imageref.parse(f"{host}/team/app"), SUBJECT)


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"manifests": {}}', b'{"manifests": [1]}'])
async def test_an_answer_that_is_no_index_is_a_protocol_error(make_client: MakeClient, body: bytes) -> None:
    async with _server(lambda request: web.Response(body=body)) as (host, _), make_client() as client:
        with pytest.raises(ProtocolError, match="referrers of"):
            await client.list_referrers(imageref.parse(f"{host}/team/app"), SUBJECT)

"""Manifests, blob uploads and mounts, generic fetches and newest-first orders, against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from mirror import ref as imageref
from mirror.errors import NotFound, ProtocolError, RegistryError
from mirror.registry import OCI_INDEX, OCI_MANIFEST, Credential, CredentialStore
from tests.fakes.distribution import FakeRegistry, make_image, sha256
from tests.unit.registry.conftest import MakeClient


def _ref(fake: FakeRegistry, name: str = "team/app") -> imageref.ImageRef:
    return imageref.parse(f"{fake.host}/{name}")


@pytest.mark.anyio
@pytest.mark.parametrize("location", ["absolute", "relative"])
async def test_upload_blob_bytes_and_stream(fake: FakeRegistry, make_client: MakeClient, location: str) -> None:
    fake.upload_location = location  # both carry a ?_state= query that must survive
    small, large = b"config-json", b"x" * (3 * 1024 * 1024 + 17)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(large), 1024 * 1024):
            yield large[start : start + 1024 * 1024]

    async with make_client() as client:
        assert not await client.blob_exists(_ref(fake), sha256(small))
        await client.upload_blob(_ref(fake), sha256(small), small)
        await client.upload_blob(_ref(fake), sha256(large), chunks(), len(large))
        assert await client.blob_exists(_ref(fake), sha256(small))
        assert await client.read_blob(_ref(fake), sha256(small)) == small
        with pytest.raises(ProtocolError, match="the data has digest"):
            await client.upload_blob(_ref(fake), sha256(b"other"), small)
        assert client.stats.hosts[fake.host].bytes_sent == len(small) + len(large)
    assert fake.repos["team/app"].blobs[sha256(large)] == large
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert all(r.query["_state"] and r.query["digest"] for r in puts)


@pytest.mark.anyio
async def test_upload_of_a_wrong_stream_is_refused_by_the_registry(fake: FakeRegistry, make_client: MakeClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"not what the digest says"

    async with make_client() as client:
        with pytest.raises(RegistryError, match="DIGEST_INVALID"):
            await client.upload_blob(_ref(fake), sha256(b"something else"), chunks())
    assert fake.count("PUT", "uploads") == 1  # a stream is never replayed


@pytest.mark.anyio
async def test_mount_blob(fake: FakeRegistry, make_client: MakeClient) -> None:
    digest = fake.add_blob("team/base", b"shared layer")
    async with make_client() as client:
        assert await client.mount_blob(_ref(fake, "team/app"), digest, _ref(fake, "team/base")) is True
        assert await client.blob_exists(_ref(fake, "team/app"), digest)
        missing = sha256(b"nowhere")
        assert await client.mount_blob(_ref(fake, "team/app"), missing, _ref(fake, "team/base")) is False
        other_host = imageref.parse("quay.io/team/base")
        assert await client.mount_blob(_ref(fake, "team/app"), digest, other_host) is False
    mount_posts = [r for r in fake.requests if r.method == "POST"]
    assert mount_posts[0].query == {"mount": [digest], "from": ["team/base"]}
    assert fake.count("DELETE", "uploads") == 1  # the 202 upload session was cancelled


@pytest.mark.anyio
async def test_manifests_round_trip_byte_exact(fake: FakeRegistry, make_client: MakeClient) -> None:
    index, index_type, _, children = make_image(platforms=["linux/arm64", "linux/amd64"])
    async with make_client() as client:
        for child_digest, (child_type, child_data) in children.items():
            put = await client.put_manifest(_ref(fake).with_digest(child_digest), child_data, child_type)
            assert put == child_digest
        digest = await client.put_manifest(_ref(fake).with_tag("v1"), index, index_type)
        assert digest == sha256(index)
        head = await client.head_manifest(_ref(fake).with_tag("v1"))
        assert (head.digest, head.media_type, head.size) == (digest, OCI_INDEX, len(index))
        manifest = await client.get_manifest(_ref(fake).with_tag("v1"))
        assert manifest.data == index and manifest.digest == digest and manifest.is_index
        children_found = manifest.children()
        assert [str(c.platform) for c in children_found] == ["linux/arm64", "linux/amd64"]
        by_digest = await client.get_manifest(_ref(fake).with_digest(children_found[0].digest))
        assert by_digest.media_type == OCI_MANIFEST and by_digest.config() is not None
        with pytest.raises(NotFound, match="manifest .*:v2"):
            await client.get_manifest(_ref(fake).with_tag("v2"))


@pytest.mark.anyio
async def test_manifest_with_wrong_content_is_a_protocol_error(fake: FakeRegistry, make_client: MakeClient) -> None:
    data, media_type, _, _ = make_image()
    claimed = sha256(b"another manifest")
    fake.repo("team/app").manifests[claimed] = (media_type, data)
    async with make_client() as client:
        with pytest.raises(ProtocolError, match="content has digest"):
            await client.get_manifest(_ref(fake).with_digest(claimed))


@pytest.mark.anyio
async def test_fetch_follows_the_registries_file_and_credentials(make_client: MakeClient) -> None:
    async with FakeRegistry(basic=("chart", "reader")) as fake:
        async def index(request: web.Request) -> web.Response:
            return web.Response(text="apiVersion: v1\nentries: {}\n")

        fake.routes.append((r"^/stable/index\.yaml$", index))
        registries = {"charts.example.com": {"endpoint": fake.url}}
        credentials = CredentialStore.from_mapping({fake.host: Credential("chart", "reader")})
        async with make_client(registries, credentials=credentials) as client:
            body = await client.fetch("https://charts.example.com/stable/index.yaml")
            assert body.startswith(b"apiVersion: v1")
            assert client.stats.hosts["charts.example.com"].done == 2  # 401, then Basic
            with pytest.raises(NotFound):
                await client.fetch("https://charts.example.com/stable/missing.tgz")


def _hub_route(pages: list[list[str]]) -> tuple[str, object]:
    async def handler(request: web.Request) -> web.Response:
        page = int(request.query.get("page", "1"))
        assert request.query["page_size"] == "100" and request.query["ordering"] == "last_updated"
        base = f"http://{request.host}{request.path}"
        following = f"{base}?page_size=100&ordering=last_updated&page={page + 1}" if page < len(pages) else None
        return web.json_response({
            "count": sum(map(len, pages)), "next": following,
            "results": [{"name": tag, "last_updated": "2024-01-01T00:00:00Z"} for tag in pages[page - 1]],
        })  # fmt: skip

    return r"^/v2/namespaces/flannel/repositories/flannel/tags$", handler


@pytest.mark.anyio
async def test_newest_first_from_docker_hub_api(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.routes.append(_hub_route([["v0.26.0", "v0.25.1"], ["v0.25.0", "latest"], ["v0.24.0"]]))  # type: ignore[arg-type]
    async with make_client(hub_api=fake.url) as client:
        ref = imageref.parse("flannel/flannel")
        assert await client.tags_newest_first(ref) == ["v0.26.0", "v0.25.1", "v0.25.0", "latest", "v0.24.0"]
        hub_pages = len([r for r in fake.requests if "/namespaces/" in r.path])
        assert hub_pages == 3
        # with candidates: their order, and paging stops once all were seen
        assert await client.tags_newest_first(ref, ["v0.25.0", "v0.26.0"]) == ["v0.26.0", "v0.25.0"]
        assert len([r for r in fake.requests if "/namespaces/" in r.path]) == hub_pages + 2
        # a candidate the API does not list (yet) goes last
        assert await client.tags_newest_first(ref, ["v9", "v0.24.0"]) == ["v0.24.0", "v9"]


@pytest.mark.anyio
async def test_newest_first_from_quay_api(fake: FakeRegistry, make_client: MakeClient) -> None:
    pages = {1: [("v3.29.0", 300), ("v3.28.1", 200)], 2: [("v3.28.0", 100)]}

    async def handler(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        assert request.query["onlyActiveTags"] == "true" and request.query["limit"] == "100"
        return web.json_response({"page": page, "has_additional": page < 2,
                                  "tags": [{"name": n, "start_ts": ts} for n, ts in pages[page]]})

    fake.routes.append((r"^/api/v1/repository/calico/node/tag/$", handler))
    async with make_client(quay_api=fake.url) as client:
        assert await client.tags_newest_first(imageref.parse("quay.io/calico/node")) == [
            "v3.29.0", "v3.28.1", "v3.28.0"
        ]


@pytest.mark.anyio
async def test_newest_first_by_config_created_elsewhere(fake: FakeRegistry, make_client: MakeClient) -> None:
    for tag, created, platforms in [
        ("old", "2023-05-01T10:00:00Z", None),
        ("new", "2024-06-01T10:00:00.123456789Z", ["linux/arm64", "linux/amd64"]),
        ("mid", "2024-01-01T10:00:00+02:00", ["linux/arm64"]),
    ]:
        data, media_type, blobs, children = make_image(created, layer=tag.encode(), platforms=platforms)
        fake.add_manifest("team/app", tag, data, media_type, blobs, children)
    fake.add_manifest("team/app", "nodate", *make_image("0001-01-01T00:00:00Z", layer=b"z")[:3])
    async with make_client() as client:
        ordered = await client.tags_newest_first(_ref(fake))
        assert ordered == ["new", "mid", "old", "nodate"]
        fake.requests.clear()
        assert await client.tags_newest_first(_ref(fake), candidates=["old", "mid"]) == ["mid", "old"]
    # only the candidates' manifests and configs were read
    read = {r.path.rsplit("/", 1)[-1] for r in fake.requests if "/manifests/" in r.path}
    assert {"old", "mid"} <= read and not {"new", "nodate"} & read
    assert not any(r.path.endswith("tags/list") for r in fake.requests)


@pytest.mark.anyio
async def test_on_a_host_with_a_pull_floor_tags_are_headed_first_and_each_image_read_once(
    fake: FakeRegistry, make_client: MakeClient
) -> None:
    shared = make_image("2024-03-01T00:00:00Z", layer=b"shared", platforms=["linux/amd64"])
    for tag in ("1.2.3", "1.2", "1"):
        fake.add_manifest("team/app", tag, *shared)
    fake.add_manifest("team/app", "1.1.0", *make_image("2024-01-01T00:00:00Z", layer=b"old")[:3])
    async with make_client({fake.host: {"pull_floor": 10}}) as client:
        ordered = await client.tags_newest_first(_ref(fake), ["1.1.0", "1.2.3", "1.2", "1"])
        assert ordered == ["1.2.3", "1.2", "1", "1.1.0"]
        pulls = [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "GET" and "/manifests/" in r.path]
    assert all(ref.startswith("sha256:") for ref in pulls)  # never a GET by tag: HEADs planned them
    assert len(pulls) == len(set(pulls)) == 3  # the shared index, its child, the old image
    assert client.stats.hosts[fake.host].pulls == 3


@pytest.mark.anyio
async def test_docker_hub_redirected_by_an_endpoint_uses_created_times(make_client: MakeClient) -> None:
    async with FakeRegistry() as mirror_registry:
        for tag, created in [("v1", "2024-01-01T00:00:00Z"), ("v2", "2024-02-01T00:00:00Z")]:
            mirror_registry.add_manifest("dockerhub/flannel/flannel", tag, *make_image(created, layer=tag.encode())[:3])
        registries = {"docker.io": {"endpoint": mirror_registry.url, "repository_prefix": "dockerhub"}}
        async with make_client(registries, hub_api="http://127.0.0.1:9") as client:  # never asked
            ref = imageref.parse("flannel/flannel")
            assert await client.tags_newest_first(ref) == ["v2", "v1"]
            assert await client.created(ref.with_tag("v1")) is not None

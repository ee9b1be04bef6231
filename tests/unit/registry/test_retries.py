"""Retries, Retry-After, resets, redirects and per-host concurrency, against the fake."""

from __future__ import annotations

import email.utils
import time

import anyio
import pytest

from mirror import ref as imageref
from mirror.errors import ProtocolError, RateLimited, RegistryError
from mirror.events import Stats
from mirror.registry import Credential, CredentialStore
from mirror.transport import RetryPolicy
from tests.fakes.distribution import FakeRegistry, FakeTime, make_image, sha256
from tests.unit.registry.conftest import MakeClient


def _ref(fake: FakeRegistry, name: str = "team/app") -> imageref.ImageRef:
    return imageref.parse(f"{fake.host}/{name}")


@pytest.mark.anyio
async def test_429_retry_after_pauses_the_host_then_succeeds(
    fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.add_tags("team/app", ["v1"])
    fake.fail("tags/list", status=429, headers={"Retry-After": "1"})
    stats = Stats()
    async with make_client(stats=stats) as client:
        assert await client.list_tags(_ref(fake)) == ["v1"]
    assert fake_time.sleeps == [1.0]
    host = stats.hosts[fake.host]
    assert host.retries == 1
    assert host.waits == 1 and host.wait_seconds == 1.0
    assert host.by_status == {429: 1, 200: 1}


@pytest.mark.anyio
async def test_retry_after_as_http_date(fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime) -> None:
    fake.add_tags("team/app", ["v1"])
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake.fail("tags/list", status=503, headers={"Retry-After": when})
    async with make_client() as client:
        assert await client.list_tags(_ref(fake)) == ["v1"]
    assert len(fake_time.sleeps) == 1 and 27 <= fake_time.sleeps[0] <= 30


@pytest.mark.anyio
async def test_retry_after_beyond_patience_is_rate_limited(
    fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.add_tags("team/app", ["v1"])
    fake.fail("tags/list", status=429, headers={"Retry-After": "50"}, times=10)
    async with make_client(retry=RetryPolicy(jitter=False, total_seconds=60)) as client:
        with pytest.raises(RateLimited, match="rate limited") as caught:
            await client.list_tags(_ref(fake))
    assert caught.value.status == 429
    assert fake_time.sleeps == [50.0]  # a second wait of 50 s would pass the 60 s budget


@pytest.mark.anyio
async def test_503_twice_then_200(fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime) -> None:
    fake.add_tags("team/app", ["v1"])
    fake.fail("tags/list", status=503, times=2)
    async with make_client() as client:
        assert await client.list_tags(_ref(fake)) == ["v1"]
    assert fake_time.sleeps == [0.5, 1.0]  # exponential backoff (jitter off in tests)
    assert fake.count("GET", "tags/list") == 3


@pytest.mark.anyio
async def test_retries_are_bounded_by_attempts(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", ["v1"])
    fake.fail("tags/list", status=502, times=100)
    async with make_client(retry=RetryPolicy(attempts=3, jitter=False)) as client:
        with pytest.raises(RegistryError, match="HTTP 502 after 3 attempts") as caught:
            await client.list_tags(_ref(fake))
    assert caught.value.status == 502
    assert fake.count("GET", "tags/list") == 3


@pytest.mark.anyio
async def test_not_retried_client_errors(fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime) -> None:
    fake.add_tags("team/app", ["v1"])
    fake.fail("tags/list", status=400, body=b'{"errors":[{"code":"TAG_INVALID","message":"bad"}]}')
    async with make_client() as client:
        with pytest.raises(RegistryError, match="TAG_INVALID"):
            await client.list_tags(_ref(fake))
    assert fake_time.sleeps == []
    assert fake.count("GET", "tags/list") == 1


@pytest.mark.anyio
async def test_reset_connection_is_retried(fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime) -> None:
    fake.add_tags("team/app", ["v1"])
    # aiohttp itself resends an idempotent request once when a connection drops (RFC 9112
    # 9.3.1); the second reset reaches our retry policy.
    fake.fail("tags/list", reset=True, times=2)
    stats = Stats()
    async with make_client(stats=stats) as client:
        assert await client.list_tags(_ref(fake)) == ["v1"]
    assert fake.count("GET", "tags/list") == 3
    assert stats.hosts[fake.host].retries == 1
    assert fake_time.sleeps == [0.5]


@pytest.mark.anyio
async def test_unreachable_host_gives_up_with_a_clear_error(make_client: MakeClient) -> None:
    async with FakeRegistry() as gone:
        host = gone.host
    registries = {host: {"endpoint": f"http://{host}"}}
    async with make_client(registries, retry=RetryPolicy(attempts=2, jitter=False)) as client:
        with pytest.raises(RegistryError, match=f"cannot reach {host} after 2 attempts"):
            await client.list_tags(imageref.parse(f"{host}/team/app"))


@pytest.mark.anyio
async def test_blob_redirect_to_another_host_drops_authorization(make_client: MakeClient) -> None:
    async with FakeRegistry(basic=("alice", "pa55word")) as registry, FakeRegistry() as cdn:
        data = b"layer bytes" * 1000
        digest = registry.add_blob("team/app", data)
        cdn.add_blob("cdn-store", data)
        registry.redirect_blobs_to = cdn.url
        credentials = CredentialStore.from_mapping({registry.host: Credential("alice", "pa55word")})
        async with make_client(credentials=credentials) as client:
            async with client.get_blob(_ref(registry), digest) as blob:
                received = b"".join([chunk async for chunk in blob])
            assert received == data
            assert await client.read_blob(_ref(registry), digest) == data
        registry_blob_gets = [r for r in registry.requests if "/blobs/" in r.path and r.method == "GET"]
        assert registry_blob_gets and all("Authorization" in r.headers for r in registry_blob_gets[-1:])
        cdn_gets = [r for r in cdn.requests if r.path.startswith("/cdn/")]
        assert len(cdn_gets) == 2
        assert all("Authorization" not in r.headers for r in cdn_gets)


@pytest.mark.anyio
async def test_same_origin_redirect_keeps_authorization(make_client: MakeClient) -> None:
    async with FakeRegistry(basic=("alice", "pa55word")) as registry:
        data = b"config"
        digest = registry.add_blob("team/app", data)
        registry.redirect_blobs_to = registry.url
        credentials = CredentialStore.from_mapping({registry.host: Credential("alice", "pa55word")})
        async with make_client(credentials=credentials) as client:
            assert await client.read_blob(_ref(registry), digest) == data
        cdn_gets = [r for r in registry.requests if r.path.startswith("/cdn/")]
        assert cdn_gets and "Authorization" in cdn_gets[0].headers


@pytest.mark.anyio
async def test_streamed_blob_with_wrong_content_fails(fake: FakeRegistry, make_client: MakeClient) -> None:
    digest = sha256(b"expected")
    fake.repo("team/app").blobs[digest] = b"tampered"
    async with make_client() as client:
        with pytest.raises(ProtocolError, match="expected"):
            async with client.get_blob(_ref(fake), digest) as blob:
                async for _ in blob:
                    pass
        with pytest.raises(ProtocolError):
            await client.read_blob(_ref(fake), digest)


@pytest.mark.anyio
async def test_concurrency_limit_holds_at_the_server(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", ["v1", "v2"])
    fake.latency = 0.02  # server-side hold so requests overlap
    stats = Stats()
    results: list[list[str]] = []
    async with make_client({fake.host: {"concurrency": 5}}, stats=stats) as client:

        async def one() -> None:
            results.append(await client.list_tags(_ref(fake)))

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
    assert len(results) == 50 and all(sorted(r) == ["v1", "v2"] for r in results)
    assert fake.count("GET", "tags/list") == 50
    assert fake.peak_in_flight == 5  # never more than 5, and they did overlap
    assert stats.hosts[fake.host].peak_in_flight <= 5
    assert stats.hosts[fake.host].limit == 5


@pytest.mark.anyio
async def test_rate_ceiling_spaces_requests(fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime) -> None:
    fake.add_tags("team/app", ["v1"])
    async with make_client({fake.host: {"rate": 10, "endpoint": fake.url}}) as client:
        for _ in range(3):
            await client.list_tags(_ref(fake))
    assert fake_time.sleeps == pytest.approx([0.1, 0.1])


@pytest.mark.anyio
async def test_manifest_head_without_digest_header_falls_back_to_get(
    fake: FakeRegistry, make_client: MakeClient
) -> None:
    data, media_type, blobs, children = make_image(platforms=["linux/amd64", "linux/arm64"])
    digest = fake.add_manifest("team/app", "v1", data, media_type, blobs, children)
    fake.omit_digest_header = True
    async with make_client() as client:
        descriptor = await client.head_manifest(_ref(fake).with_tag("v1"))
    assert descriptor.digest == digest
    assert descriptor.media_type == media_type
    assert descriptor.size == len(data)
    assert fake.count("HEAD", "manifests") == 1 and fake.count("GET", "manifests") == 1


@pytest.mark.anyio
async def test_tls_handshake_failure_is_not_retried(
    fake: FakeRegistry, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.add_tags("team/app", ["v1"])
    async with make_client({fake.host: {"endpoint": f"https://{fake.host}"}}) as client:
        with pytest.raises(RegistryError, match=f"TLS handshake .* endpoint: http://{fake.host}"):
            await client.list_tags(_ref(fake))
    assert fake_time.sleeps == []


@pytest.mark.anyio
async def test_loopback_without_scheme_probes_https_then_uses_http(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_tags("team/app", ["v1"])
    async with make_client() as client:
        endpoint = await client.endpoint(fake.host)
        assert (endpoint.scheme, endpoint.may_fall_back, endpoint.tls_verify) == ("http", False, False)
        assert await client.endpoint(fake.host) is endpoint  # probed once per run
        assert await client.list_tags(_ref(fake)) == ["v1"]

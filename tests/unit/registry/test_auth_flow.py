"""Basic and Bearer challenges, the token cache, and secrets kept out of logs and errors."""

from __future__ import annotations

import logging

import anyio
import pytest

from mirror import ref as imageref
from mirror.errors import AuthError, MirrorError
from mirror.registry import Credential, CredentialStore
from tests.fakes.distribution import FakeRegistry, FakeTime
from tests.unit.registry.conftest import MakeClient

PASSWORD = "pa55-w0rd-XYZZY"
REFRESH = "refresh-tok-PLUGH"


def _ref(fake: FakeRegistry, name: str = "team/app") -> imageref.ImageRef:
    return imageref.parse(f"{fake.host}/{name}")


@pytest.mark.anyio
async def test_basic_auth_with_credentials(make_client: MakeClient) -> None:
    async with FakeRegistry(basic=("alice", PASSWORD)) as fake:
        fake.add_tags("team/app", ["v1"])
        credentials = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD)})
        async with make_client(credentials=credentials) as client:
            assert await client.list_tags(_ref(fake)) == ["v1"]
            assert await client.list_tags(_ref(fake)) == ["v1"]
        # one 401 to learn the scheme, then Basic is sent up front
        assert [("Authorization" in r.headers) for r in fake.requests] == [False, True, True]


@pytest.mark.anyio
async def test_basic_auth_bad_password_is_auth_error_without_the_password(make_client: MakeClient) -> None:
    async with FakeRegistry(basic=("alice", "right")) as fake:
        fake.add_tags("team/app", ["v1"])
        credentials = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD)})
        async with make_client(credentials=credentials) as client:
            with pytest.raises(AuthError) as caught:
                await client.list_tags(_ref(fake))
    text = str(caught.value)
    assert PASSWORD not in text and "alice" not in text.replace(fake.host, "")
    assert "rejected the credentials" in text and caught.value.status == 401


@pytest.mark.anyio
async def test_basic_auth_without_credentials_says_so(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.basic = ("alice", PASSWORD)
    fake.add_tags("team/app", ["v1"])
    async with make_client() as client:
        with pytest.raises(AuthError, match="no credentials are configured"):
            await client.list_tags(_ref(fake))


@pytest.mark.anyio
async def test_anonymous_bearer_token_is_cached_until_it_expires(make_client: MakeClient, fake_time: FakeTime) -> None:
    async with FakeRegistry(bearer_users={}, token_expires_in=None) as fake:  # no expires_in: 60 s
        fake.add_tags("team/app", ["v1"])
        async with make_client() as client:
            for _ in range(3):
                assert await client.list_tags(_ref(fake)) == ["v1"]
            assert len(fake.token_requests) == 1
            fake_time.now += 59
            await client.list_tags(_ref(fake))
            assert len(fake.token_requests) == 1
            fake_time.now += 2
            await client.list_tags(_ref(fake))
            assert len(fake.token_requests) == 2
        query = fake.token_requests[0].query
        assert query["service"] == ["fake"]
        assert query["scope"] == ["repository:team/app:pull"]
        assert "Authorization" not in fake.token_requests[0].headers
        # the first request met a 401; later ones carry the cached token
        assert [r.headers.get("Authorization", "")[:7] for r in fake.requests] == ["", "Bearer "] + ["Bearer "] * 4


@pytest.mark.anyio
async def test_token_per_scope_and_proactive_fetch(make_client: MakeClient) -> None:
    async with FakeRegistry(bearer_users={}) as fake:
        fake.add_tags("team/app", ["v1"])
        fake.add_tags("team/other", ["v2"])
        async with make_client() as client:
            await client.list_tags(_ref(fake))
            await client.list_tags(_ref(fake, "team/other"))
        scopes = [r.query["scope"] for r in fake.token_requests]
        assert scopes == [["repository:team/app:pull"], ["repository:team/other:pull"]]
        # the realm was known after the first challenge: the second repository needed no 401
        assert sum(1 for r in fake.requests if "Authorization" not in r.headers) == 1


@pytest.mark.anyio
async def test_bearer_with_password_and_with_identity_token(make_client: MakeClient) -> None:
    async with FakeRegistry(bearer_users={"alice": PASSWORD}, bearer_anonymous=False) as fake:
        fake.add_tags("team/app", ["v1"])
        store = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD)})
        async with make_client(credentials=store) as client:
            assert await client.list_tags(_ref(fake)) == ["v1"]
        assert fake.token_requests[-1].method == "GET"
        assert fake.token_requests[-1].query["account"] == ["alice"]
        assert fake.token_requests[-1].headers["Authorization"].startswith("Basic ")

        fake.bearer_users = {"oauth": REFRESH}
        store = CredentialStore.from_mapping({fake.host: Credential(identity_token=REFRESH)})
        async with make_client(credentials=store) as client:
            assert await client.list_tags(_ref(fake)) == ["v1"]
        assert fake.token_requests[-1].method == "POST"


@pytest.mark.anyio
async def test_token_server_refusal_is_auth_error(make_client: MakeClient) -> None:
    async with FakeRegistry(bearer_users={"alice": "right"}, bearer_anonymous=False) as fake:
        fake.add_tags("team/app", ["v1"])
        store = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD)})
        async with make_client(credentials=store) as client:
            with pytest.raises(AuthError, match="refused the credentials") as caught:
                await client.list_tags(_ref(fake))
        assert PASSWORD not in str(caught.value)


@pytest.mark.anyio
async def test_concurrent_requests_share_one_token_request(make_client: MakeClient) -> None:
    async with FakeRegistry(bearer_users={}) as fake:
        fake.add_tags("team/app", ["v1"])
        async with make_client() as client:
            await client.list_tags(_ref(fake))  # learn the realm
            fake.token_requests.clear()
            client.transport.auth._tokens.clear()  # force a refresh for everyone at once
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(client.list_tags, _ref(fake))
        assert len(fake.token_requests) == 1


@pytest.mark.anyio
async def test_no_secret_in_logs_errors_or_reprs(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with FakeRegistry(bearer_users={"alice": PASSWORD}, bearer_anonymous=False) as fake:
        fake.add_tags("team/app", ["v1"])
        data = b"blob"
        digest = fake.add_blob("team/app", data)
        async with FakeRegistry() as cdn:
            cdn.add_blob("x", data)
            fake.redirect_blobs_to = cdn.url  # the CDN URL carries ?sig=s3cr3t
            good = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD)})
            async with make_client(credentials=good) as client:
                await client.list_tags(_ref(fake))
                await client.read_blob(_ref(fake), digest)
                tokens = [t.value for t in client.transport.auth._tokens.values()]
                reprs = [repr(client), repr(client.transport.auth), repr(good),
                         repr(Credential("alice", PASSWORD, REFRESH)),
                         repr(list(client.transport.auth._tokens.values()))]
                cdn.fail("cdn", status=500, times=100)
                try:
                    await client.read_blob(_ref(fake), digest)
                except MirrorError as exc:
                    errors.append(str(exc))
            bad = CredentialStore.from_mapping({fake.host: Credential("alice", PASSWORD + "-wrong")})
            async with make_client(credentials=bad) as client:
                try:
                    await client.list_tags(_ref(fake))
                except MirrorError as exc:
                    errors.append(str(exc))
    assert tokens and len(errors) == 2
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert "tags/list" in log_text  # requests were logged at DEBUG...
    for secret in [PASSWORD, REFRESH, "s3cr3t", *tokens]:
        assert secret not in log_text  # ...but not their credentials, tokens or signed queries
        for text in errors + reprs:
            assert secret not in text

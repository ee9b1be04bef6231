"""The registry client against the real CNCF distribution registry (docker-registry 2.8).

Plain HTTP, htpasswd Basic auth with a docker config.json, token auth through the token
server, TLS with a CA file, endpoint + repository_prefix redirection, manifest digests of
every kind, blob upload and cross-repository mount, and the ``registry`` source end to end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from mirror import ref as imageref
from mirror.config import Entry, SourceKind, VersionSource
from mirror.errors import AuthError, NotFound, RegistryError
from mirror.events import Stats
from mirror.registry import RegistryClient, parse_registries
from mirror.sources.registry import discover
from tests.support.images import push_image
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.seed import SeededRegistry
from tests.support.tls import TLSFiles
from tests.support.tokenserver import TokenServerFactory

SECRET = "s3cret-Pa55-QUUX"


def _docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, user: str, password: str) -> None:
    """Write ``$DOCKER_CONFIG/config.json`` the way ``docker login`` does."""
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir(parents=True)
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {host: {"auth": encoded}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))


@pytest.mark.anyio
async def test_plain_http_tags_and_manifest_digests(source_registry: SeededRegistry) -> None:
    server = source_registry.server
    stats = Stats()
    async with RegistryClient.open(stats=stats) as client:
        endpoint = await client.endpoint(server.host)
        assert endpoint.base_url == f"http://{server.host}" and not endpoint.tls_verify
        busybox = imageref.parse(f"{server.host}/library/busybox")
        assert sorted(await client.list_tags(busybox)) == ["1.36.0", "1.36.1", "1.37.0"]
        kinds = ("library/busybox:1.36.0", "calico/node:v3.29.0", "flannel/flannel:v0.25.1", "library/alpine:3.20.0")
        for key in kinds:  # OCI index, Docker list, OCI manifest, Docker manifest
            pushed = source_registry.images[key]
            ref = imageref.parse(f"{server.host}/{key}")
            head = await client.head_manifest(ref)
            assert (head.digest, head.media_type, head.size) == (pushed.digest, pushed.media_type, len(pushed.manifest))
            manifest = await client.get_manifest(ref)
            assert manifest.data == pushed.manifest and manifest.digest == pushed.digest
            assert manifest.media_type == pushed.media_type
            if manifest.is_index:
                children = {str(c.platform): c.digest for c in manifest.children()}
                assert children == pushed.children
            else:
                config = manifest.config()
                assert config is not None
                blob = await client.read_blob(ref, config.digest)
                assert json.loads(blob)["created"].startswith("2024-01-")
        assert await client.repository_exists(busybox)
        assert not await client.repository_exists(imageref.parse(f"{server.host}/library/nothing"))
        with pytest.raises(NotFound, match="library/busybox:9.9"):
            await client.head_manifest(busybox.with_tag("9.9"))
    host_stats = stats.hosts[server.host]
    assert host_stats.in_flight == 0 and host_stats.done > 10 and host_stats.by_status[200] > 10


@pytest.mark.anyio
async def test_endpoint_and_repository_prefix(dest_registry: RegistryServer) -> None:
    pushed = push_image(dest_registry.url, "dockerhub/flannel/flannel", "v0.25.1", kind="oci-manifest")
    push_image(dest_registry.url, "dockerhub/library/busybox", "1.36.1", kind="docker-list")
    hosts = parse_registries({"docker.io": {"endpoint": dest_registry.url, "repository_prefix": "dockerhub"}})
    async with RegistryClient.open(hosts=hosts) as client:
        flannel = imageref.parse("docker.io/flannel/flannel:v0.25.1")
        assert await client.list_tags(flannel) == ["v0.25.1"]
        assert (await client.head_manifest(flannel)).digest == pushed.digest
        assert await client.list_tags(imageref.parse("busybox")) == ["1.36.1"]
        endpoint = await client.endpoint("docker.io")
        assert endpoint.remote_reference(flannel) == f"{dest_registry.host}/dockerhub/flannel/flannel:v0.25.1"
        assert client.stats.hosts["docker.io"].done >= 3  # counted under the name users write


@pytest.mark.anyio
async def test_htpasswd_basic_auth_from_docker_config(
    registry_factory: RegistryFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = registry_factory(htpasswd={"alice": SECRET})
    pushed = push_image(server.url, "team/app", "v1", kind="oci-index", auth=("alice", SECRET))
    ref = imageref.parse(f"{server.host}/team/app:v1")

    async with RegistryClient.open() as client:  # no docker config yet: anonymous
        with pytest.raises(AuthError, match="no credentials are configured") as anonymous:
            await client.list_tags(ref)

    _docker_config(tmp_path, monkeypatch, server.host, "alice", SECRET)
    async with RegistryClient.open() as client:
        assert await client.list_tags(ref) == ["v1"]
        assert (await client.head_manifest(ref)).digest == pushed.digest
        data = b"uploaded with basic auth"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        await client.upload_blob(ref, digest, data)
        assert await client.blob_exists(ref, digest)

    _docker_config(tmp_path / "wrong", monkeypatch, server.host, "alice", SECRET + "-wrong")
    async with RegistryClient.open() as client:
        with pytest.raises(AuthError) as wrong:
            await client.list_tags(ref)
    for text in [str(anonymous.value), str(wrong.value), caplog.text]:
        assert SECRET not in text
        assert base64.b64encode(f"alice:{SECRET}".encode()).decode() not in text


@pytest.mark.anyio
async def test_token_auth_through_the_token_server(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = token_server_factory({"alice": SECRET}, anonymous=True)
    server = registry_factory(token_auth=tokens.registry_auth())
    pushed = push_image(server.url, "team/app", "v1", kind="docker-list", auth=("alice", SECRET))
    source = imageref.parse(f"{server.host}/team/app:v1")
    target = imageref.parse(f"{server.host}/team/copy:v1")
    issued_before = tokens.issued

    async with RegistryClient.open() as client:  # anonymous: pull only
        assert await client.list_tags(source) == ["v1"]
        with pytest.raises(AuthError):
            await client.put_manifest(target, pushed.manifest, pushed.media_type)
    anonymous_requests = tokens.requests[issued_before:]
    assert anonymous_requests and all(r.user is None for r in anonymous_requests)

    _docker_config(tmp_path, monkeypatch, server.host, "alice", SECRET)
    issued_before = tokens.issued
    async with RegistryClient.open() as client:
        for _ in range(3):
            assert await client.list_tags(source) == ["v1"]
        manifest = await client.get_manifest(source)
        assert manifest.digest == pushed.digest
        tokens_for_reads = tokens.issued - issued_before
        assert tokens_for_reads == 1  # one token per scope, cached for the later requests
        for child in manifest.children():
            child_manifest = await client.get_manifest(source.with_digest(child.digest))
            blobs = [d.digest for d in child_manifest.layers()]
            config = child_manifest.config()
            assert config is not None
            for digest in [config.digest, *blobs]:
                assert await client.mount_blob(target, digest, source)
            await client.put_manifest(target.with_digest(child.digest), child_manifest.data, child_manifest.media_type)
        assert await client.put_manifest(target, manifest.data, manifest.media_type) == pushed.digest
        assert (await client.head_manifest(target)).digest == pushed.digest
    scopes = {access.name + ":" + ",".join(access.actions) for r in tokens.requests for access in r.requested}
    assert "team/copy:pull,push" in scopes and "team/app:pull" in scopes
    assert all(r.user == "alice" for r in tokens.requests[issued_before:])
    assert SECRET not in caplog.text


@pytest.mark.anyio
async def test_tls_with_a_ca_file(registry_factory: RegistryFactory, tls_files: TLSFiles) -> None:
    server = registry_factory(tls=tls_files)
    pushed = push_image(server.url, "team/app", "v1", kind="oci-manifest", ssl_context=tls_files.ssl_context())
    ref = imageref.parse(f"{server.host}/team/app:v1")

    hosts = parse_registries({server.host: {"ca_file": str(tls_files.ca_cert)}})
    async with RegistryClient.open(hosts=hosts) as client:
        endpoint = await client.endpoint(server.host)
        assert endpoint.base_url == f"https://{server.host}" and endpoint.tls_verify
        assert endpoint.ca_file == str(tls_files.ca_cert)
        assert await client.list_tags(ref) == ["v1"]
        assert (await client.get_manifest(ref)).digest == pushed.digest

    async with RegistryClient.open() as client:  # loopback, no CA: TLS is found but not trusted
        endpoint = await client.endpoint(server.host)
        assert endpoint.scheme == "https"
        with pytest.raises(RegistryError, match="not trusted.*ca_file or insecure"):
            await client.list_tags(ref)

    hosts = parse_registries({server.host: {"insecure": True}})
    async with RegistryClient.open(hosts=hosts) as client:
        endpoint = await client.endpoint(server.host)
        assert endpoint.scheme == "https" and not endpoint.tls_verify
        assert await client.list_tags(ref) == ["v1"]


@pytest.mark.anyio
async def test_blob_stream_upload_and_mount_between_repositories(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    pushed = source_registry.images["calico/node:v3.29.0"]
    source = imageref.parse(f"{source_registry.server.host}/calico/node:v3.29.0")
    first = imageref.parse(f"{dest_registry.host}/mirrored/calico-node:v3.29.0")
    second = imageref.parse(f"{dest_registry.host}/other/calico-node:v3.29.0")
    async with RegistryClient.open() as client:
        index = await client.get_manifest(source)
        for child in index.children():
            child_manifest = await client.get_manifest(source.with_digest(child.digest))
            config = child_manifest.config()
            assert config is not None
            for descriptor in [config, *child_manifest.layers()]:
                if await client.blob_exists(first, descriptor.digest):
                    continue  # the shared base layer of the other platform
                async with client.get_blob(source, descriptor.digest) as blob:
                    assert blob.size == descriptor.size
                    await client.upload_blob(first, descriptor.digest, blob.chunks(), blob.size)
                assert await client.mount_blob(second, descriptor.digest, first)
            for target in (first, second):
                await client.put_manifest(target.with_digest(child.digest), child_manifest.data,
                                          child_manifest.media_type)
        for target in (first, second):
            assert await client.put_manifest(target, index.data, index.media_type) == pushed.digest
            assert (await client.head_manifest(target)).digest == pushed.digest
        missing = "sha256:" + "0" * 64
        assert not await client.mount_blob(second, missing, first)
        assert not await client.blob_exists(second, missing)


async def _discover(server: RegistryServer, **fields: Any) -> tuple[tuple[str, ...], int]:
    entry = Entry(key="busybox", source=VersionSource(SourceKind.REGISTRY),
                  images=(f"{server.host}/library/busybox",), **fields)
    async with RegistryClient.open() as client:
        found = await discover(entry, client)
    return found.tags, found.seen


@pytest.mark.anyio
async def test_registry_source_end_to_end(source_registry: SeededRegistry) -> None:
    server = source_registry.server
    tags, seen = await _discover(server)
    assert sorted(tags) == ["1.36.0", "1.36.1", "1.37.0"] and seen == 3
    assert (await _discover(server, version_filter=r"^1\.36\."))[0] in {("1.36.0", "1.36.1"), ("1.36.1", "1.36.0")}
    assert await _discover(server, version_constraint=">=1.36.1") in {(("1.36.1", "1.37.0"), 3),
                                                                       (("1.37.0", "1.36.1"), 3)}
    assert await _discover(server, latest=True) == (("1.37.0",), 3)
    assert await _discover(server, version_filter=r"^1\.36", latest=True) == (("1.36.1",), 3)
    # latest_entry: the newest by image creation time (the seed dates tags in push order)
    assert await _discover(server, latest_entry=True) == (("1.37.0",), 3)
    assert await _discover(server, version_constraint="<1.37.0", latest_entry=True) == (("1.36.1",), 3)

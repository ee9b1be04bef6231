"""Push tiny images to a registry and read them back, with the stdlib only.

Why stdlib (``urllib.request``) and not the code under test: a test must be able to set up
and check its data even when ``mirror/`` is broken, and must not share that code's bugs.

Images are small but valid: every platform has a gzip tar layer, a config whose ``rootfs``
``diff_ids`` are right, and the manifest/index media types are consistent, so skopeo and
other real clients copy them without complaint. By default the layer content derives from
``repo:tag``, so pushing the same ``repo:tag`` to two registries gives the same digests (the
"destination is already up to date" case); pass another ``layers_seed`` to get a different
image under the same name.

Registry quirks handled here (see /work/shared/TESTBED.md): blob upload is ``POST`` then
``PUT <Location>&digest=`` where ``Location`` may already carry a query; manifest reads need
an ``Accept`` of all four media types or an OCI index answers 404; Basic and Bearer (token)
challenges; a custom CA through ``ssl_context``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import ssl
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

__all__ = [
    "ALL_MANIFEST_TYPES",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "ImageKind",
    "Manifest",
    "PushedImage",
    "RegistryHTTPError",
    "blob_exists",
    "get_blob",
    "get_manifest",
    "list_repositories",
    "list_tags",
    "make_layer",
    "push_blob",
    "push_image",
    "push_manifest",
    "sha256_digest",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

#: Without all four, distribution 2.8 answers 404 for an OCI index.
ALL_MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)

ImageKind = Literal["oci-index", "docker-list", "oci-manifest", "docker-manifest"]

#: kind -> (top media type, per-platform manifest type, config type, layer type)
_KINDS: dict[str, tuple[str, str, str, str]] = {
    "oci-index": (OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "docker-list": (DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
    "oci-manifest": (OCI_MANIFEST, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "docker-manifest": (DOCKER_MANIFEST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
}

Auth = tuple[str, str]


class RegistryHTTPError(Exception):
    """A registry answered with an unexpected status."""

    def __init__(self, method: str, url: str, status: int, body: bytes) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        super().__init__(
            f"{method} {url} -> {status}: {body[:500].decode(errors='replace')}"
        )


class Manifest(NamedTuple):
    """A manifest as served: exact bytes, Content-Type, Docker-Content-Digest."""

    body: bytes
    media_type: str
    digest: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class PushedImage:
    """What ``push_image`` pushed.

    ``children`` maps each platform (``"linux/arm/v7"``) to its manifest digest for an
    index / manifest list and is empty for a single manifest; ``platform_digests`` gives the
    per-platform digest for every kind. ``blobs`` lists every config and layer digest.
    """

    repo: str
    tag: str
    digest: str
    media_type: str
    manifest: bytes
    platforms: tuple[str, ...]
    children: dict[str, str] = field(default_factory=dict)
    layers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)
    shared_layer_digest: str | None = None

    @property
    def reference(self) -> str:
        """``repo:tag`` (without host)."""
        return f"{self.repo}:{self.tag}"

    @property
    def is_index(self) -> bool:
        return self.media_type in (OCI_INDEX, DOCKER_LIST)

    @property
    def platform_digests(self) -> dict[str, str]:
        if self.is_index:
            return dict(self.children)
        return {self.platforms[0]: self.digest}

    @property
    def blobs(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for platform in self.platforms:
            seen[self.configs[platform]] = None
            for layer in self.layers[platform]:
                seen[layer] = None
        return tuple(seen)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# HTTP with Basic / Bearer challenges
# --------------------------------------------------------------------------------------------


class _Response(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class _Client:
    """One base URL, its credentials and the current Authorization header.

    On 401 with a Bearer challenge it fetches a token for the challenged scope from the realm
    (with Basic credentials when it has them) and retries once; with Basic it sends the
    credentials up front. Proxies from the environment are ignored: everything is loopback.
    """

    def __init__(
        self, base_url: str, auth: Auth | None, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl_context),
        )
        self._authorization = self._basic() if auth else None

    def _basic(self) -> str:
        assert self.auth is not None
        return (
            "Basic "
            + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        )

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> _Response:
        req = urllib.request.Request(
            url, data=data, method=method, headers=dict(headers)
        )
        if self._authorization and "Authorization" not in headers:
            req.add_header("Authorization", self._authorization)
        try:
            with self._opener.open(req, timeout=30) as resp:
                return _Response(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            body = err.read()
            return _Response(err.code, dict(err.headers.items()), body)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Sequence[int] = (200,),
    ) -> _Response:
        url = urllib.parse.urljoin(self.base_url + "/", path_or_url)
        hdrs = dict(headers or {})
        resp = self._send(method, url, data, hdrs)
        if resp.status == 401:
            challenge = _header(resp.headers, "WWW-Authenticate")
            if challenge.lower().startswith("bearer "):
                self._authorization = "Bearer " + self._fetch_token(challenge)
                resp = self._send(method, url, data, hdrs)
        if resp.status not in expect:
            raise RegistryHTTPError(method, url, resp.status, resp.body)
        return resp

    def _fetch_token(self, challenge: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", "")
        if not realm:
            raise RegistryHTTPError("GET", self.base_url, 401, challenge.encode())
        query = urllib.parse.urlencode(
            {k: v for k, v in params.items() if k in ("service", "scope")}
        )
        headers = {"Authorization": self._basic()} if self.auth else {}
        token_url = f"{realm}?{query}" if query else realm
        # The token endpoint is another host: never send the registry's Bearer token there.
        req = urllib.request.Request(token_url, headers=headers)
        try:
            with self._opener.open(req, timeout=30) as resp:
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise RegistryHTTPError("GET", token_url, err.code, err.read()) from None
        token = payload.get("token") or payload.get("access_token")
        if not isinstance(token, str):
            raise RegistryHTTPError(
                "GET", token_url, 200, b"token response without a token"
            )
        return token


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


# --------------------------------------------------------------------------------------------
# Primitives
# --------------------------------------------------------------------------------------------


def _blob_exists(client: _Client, repo: str, digest: str) -> bool:
    resp = client.request("HEAD", f"/v2/{repo}/blobs/{digest}", expect=(200, 404))
    return resp.status == 200


def _push_blob(client: _Client, repo: str, data: bytes) -> str:
    digest = sha256_digest(data)
    if _blob_exists(client, repo, digest):
        return digest
    started = client.request(
        "POST", f"/v2/{repo}/blobs/uploads/", data=b"", expect=(202,)
    )
    location = urllib.parse.urljoin(
        client.base_url + "/", _header(started.headers, "Location")
    )
    sep = "&" if "?" in location else "?"
    client.request(
        "PUT",
        f"{location}{sep}digest={urllib.parse.quote(digest)}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        expect=(201,),
    )
    return digest


def _push_manifest(
    client: _Client, repo: str, ref: str, body: bytes, media_type: str
) -> str:
    resp = client.request(
        "PUT",
        f"/v2/{repo}/manifests/{ref}",
        data=body,
        headers={"Content-Type": media_type},
        expect=(201,),
    )
    return _header(resp.headers, "Docker-Content-Digest") or sha256_digest(body)


def push_blob(
    base_url: str,
    repo: str,
    data: bytes,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> str:
    """Upload ``data`` as a blob of ``repo`` (skipped if present); return its digest."""
    return _push_blob(_Client(base_url, auth, ssl_context), repo, data)


def push_manifest(
    base_url: str,
    repo: str,
    ref: str,
    body: bytes,
    media_type: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> str:
    """``PUT /v2/<repo>/manifests/<ref>`` with exactly ``body``; return the digest.

    Also the way to add a second tag to an existing image: re-put its manifest bytes.
    """
    return _push_manifest(
        _Client(base_url, auth, ssl_context), repo, ref, body, media_type
    )


def get_manifest(
    base_url: str,
    repo: str,
    ref: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
    accept: Sequence[str] = ALL_MANIFEST_TYPES,
) -> Manifest:
    """Fetch a manifest (tag or digest) as served. Raises ``RegistryHTTPError`` (404 when
    missing)."""
    client = _Client(base_url, auth, ssl_context)
    resp = client.request(
        "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(accept)}
    )
    media_type = _header(resp.headers, "Content-Type").split(";")[0].strip()
    digest = _header(resp.headers, "Docker-Content-Digest") or sha256_digest(resp.body)
    return Manifest(resp.body, media_type, digest)


def get_blob(
    base_url: str,
    repo: str,
    digest: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """Download a blob (follows redirects)."""
    return (
        _Client(base_url, auth, ssl_context)
        .request("GET", f"/v2/{repo}/blobs/{digest}")
        .body
    )


def blob_exists(
    base_url: str,
    repo: str,
    digest: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> bool:
    """``HEAD`` a blob within ``repo`` (blob links are per repository)."""
    return _blob_exists(_Client(base_url, auth, ssl_context), repo, digest)


def list_tags(
    base_url: str,
    repo: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> list[str]:
    """The repository's tags, sorted (distribution 2.8 returns them unsorted, unpaginated).
    A missing repository raises ``RegistryHTTPError`` with status 404 (NAME_UNKNOWN)."""
    resp = _Client(base_url, auth, ssl_context).request("GET", f"/v2/{repo}/tags/list")
    return sorted(json.loads(resp.body).get("tags") or [])


def list_repositories(
    base_url: str,
    *,
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> list[str]:
    """Every repository in the registry, following the ``_catalog`` Link pagination."""
    client = _Client(base_url, auth, ssl_context)
    repos: list[str] = []
    path: str | None = "/v2/_catalog?n=1000"
    while path:
        resp = client.request("GET", path)
        repos.extend(json.loads(resp.body).get("repositories") or [])
        match = re.search(r'<([^>]+)>;\s*rel="?next"?', _header(resp.headers, "Link"))
        path = match.group(1) if match else None
    return repos


# --------------------------------------------------------------------------------------------
# Image construction
# --------------------------------------------------------------------------------------------


def make_layer(content: bytes, name: str = "data.txt") -> tuple[bytes, str]:
    """A deterministic gzip tar with one file; returns (compressed bytes, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), sha256_digest(tar_bytes)


def _parse_platform(platform: str) -> dict[str, str]:
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"platform must be os/arch[/variant], got {platform!r}")
    out = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    return out


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2).encode()


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


def push_image(
    base_url: str,
    repo: str,
    tag: str,
    *,
    platforms: Sequence[str] | None = None,
    kind: ImageKind = "oci-index",
    layers_seed: str | int | None = None,
    shared_layer: bytes | None = None,
    created: str = "2024-01-01T00:00:00Z",
    auth: Auth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> PushedImage:
    """Push a tiny image and tag it ``repo:tag``.

    - ``kind``: ``oci-index`` / ``docker-list`` (multi-platform; ``platforms`` defaults to
      linux/amd64 and linux/arm64) or ``oci-manifest`` / ``docker-manifest`` (one platform;
      default linux/amd64).
    - ``layers_seed``: what the per-platform layer content derives from (default
      ``repo:tag``); the same seed gives the same digests in any registry.
    - ``shared_layer``: content of a base layer put first in every platform's manifest;
      images pushed with the same bytes share that blob (dedup, cross-repo mount tests).
    - ``created``: the configs' ``created`` timestamp.
    """
    top_type, child_type, config_type, layer_type = _KINDS[kind]
    is_index = kind in ("oci-index", "docker-list")
    if platforms is None:
        platforms = ("linux/amd64", "linux/arm64") if is_index else ("linux/amd64",)
    platforms = tuple(platforms)
    if not platforms:
        raise ValueError("at least one platform is needed")
    if not is_index and len(platforms) != 1:
        raise ValueError(f"kind {kind!r} takes exactly one platform, got {platforms}")
    if len(set(platforms)) != len(platforms):
        raise ValueError(f"duplicate platforms: {platforms}")
    seed = f"{repo}:{tag}" if layers_seed is None else str(layers_seed)

    client = _Client(base_url, auth, ssl_context)
    shared: tuple[bytes, str] | None = None
    shared_digest: str | None = None
    if shared_layer is not None:
        shared = make_layer(shared_layer, name="base.txt")
        shared_digest = _push_blob(client, repo, shared[0])

    children: dict[str, str] = {}
    child_bodies: dict[str, bytes] = {}
    layers: dict[str, tuple[str, ...]] = {}
    configs: dict[str, str] = {}
    for platform in platforms:
        plat = _parse_platform(platform)
        layer_blobs: list[tuple[bytes, str]] = [shared] if shared else []
        layer_blobs.append(make_layer(f"{seed} {platform}\n".encode()))
        config = {
            "created": created,
            **plat,
            "config": {"Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": [diff_id for _, diff_id in layer_blobs],
            },
        }
        config_bytes = _json_bytes(config)
        configs[platform] = _push_blob(client, repo, config_bytes)
        layers[platform] = tuple(
            _push_blob(client, repo, blob) for blob, _ in layer_blobs
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": child_type,
            "config": _descriptor(config_type, config_bytes),
            "layers": [_descriptor(layer_type, blob) for blob, _ in layer_blobs],
        }
        child_bodies[platform] = _json_bytes(manifest)

    if is_index:
        entries = []
        for platform in platforms:
            body = child_bodies[platform]
            children[platform] = _push_manifest(
                client, repo, sha256_digest(body), body, child_type
            )
            entries.append(
                {**_descriptor(child_type, body), "platform": _parse_platform(platform)}
            )
        top = _json_bytes(
            {"schemaVersion": 2, "mediaType": top_type, "manifests": entries}
        )
    else:
        top = child_bodies[platforms[0]]
    digest = _push_manifest(client, repo, tag, top, top_type)
    return PushedImage(
        repo=repo,
        tag=tag,
        digest=digest,
        media_type=top_type,
        manifest=top,
        platforms=platforms,
        children=children,
        layers=layers,
        configs=configs,
        shared_layer_digest=shared_digest,
    )

"""The native copier's rules, against an in-memory registry: order, schema 1, foreign layers, digests."""

from __future__ import annotations

import json

import pytest

from mirror.copy import CopyResult, Destination, NativeCopier, SourceImage
from mirror.errors import CopyError, NotFound
from mirror.events import Stats
from mirror.ref import ImageRef, parse
from mirror.registry import Registries
from mirror.registry.media import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    Descriptor,
    Manifest,
    detect_media_type,
    sha256_digest,
)

pytestmark = pytest.mark.anyio


class MemoryRegistry:
    """Manifests and blobs per repository (``host/repo``), and a log of writes."""

    def __init__(self) -> None:
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, dict[str, bytes]] = {}
        self.writes: list[str] = []
        self.registries = Registries()
        self.stats = Stats()

    def add_blob(self, repo: str, data: bytes, digest: str | None = None) -> str:
        digest = digest or sha256_digest(data)
        self.blobs.setdefault(repo, {})[digest] = data
        return digest

    def add_manifest(self, repo: str, ref: str, data: bytes) -> str:
        self.manifests[f"{repo}:{ref}"] = data
        self.manifests[f"{repo}:{sha256_digest(data)}"] = data
        return sha256_digest(data)

    async def get_manifest(self, ref: ImageRef) -> Manifest:
        data = self.manifests.get(f"{ref.name}:{ref.reference}")
        if data is None:
            raise NotFound(f"manifest {ref}: not found", status=404)
        return Manifest(data, detect_media_type(data, None), sha256_digest(data))

    async def head_manifest(self, ref: ImageRef) -> Descriptor:
        found = await self.get_manifest(ref)
        return Descriptor(found.digest, found.media_type, len(found.data))

    async def put_manifest(self, ref: ImageRef, data: bytes, media_type: str) -> str:
        self.writes.append(f"manifest {ref.reference}")
        self.add_manifest(ref.name, ref.reference, data)
        return sha256_digest(data)

    async def blob_exists(self, ref: ImageRef, digest: str) -> bool:
        return digest in self.blobs.get(ref.name, {})

    async def copy_blob(self, source: ImageRef, destination: ImageRef, blob: Descriptor, *, spool: bool = False) -> int:
        data = self.blobs.get(source.name, {}).get(blob.digest)
        if data is None:
            raise NotFound(f"blob {blob.digest}: not found", status=404)
        if sha256_digest(data) != blob.digest:  # the real one checks before anything is committed
            raise CopyError(f"blob {blob.digest} from {source.name}: digest mismatch {blob.digest}")
        self.writes.append(f"blob {blob.digest}")
        self.add_blob(destination.name, data, blob.digest)
        return len(data)

    async def mount_blob(self, ref: ImageRef, digest: str, from_repo: ImageRef) -> bool:
        if digest not in self.blobs.get(from_repo.name, {}):
            return False
        self.writes.append(f"mount {digest}")
        self.add_blob(ref.name, self.blobs[from_repo.name][digest])
        return True


SRC, DST = "src.io/team/app", "dst.io/mirror/app"


def _image(registry: MemoryRegistry, seed: str, *, foreign: bool = False) -> tuple[str, bytes]:
    config = registry.add_blob(SRC, json.dumps({"architecture": seed}).encode())
    layer = registry.add_blob(SRC, f"layer {seed}".encode())
    layers = [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 11}]
    if foreign:
        layers.insert(0, {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          "digest": "sha256:" + "f" * 64, "size": 1, "urls": ["https://mcr.example/x"]})
    body = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 10},
        "layers": layers}).encode()
    return sha256_digest(body), body


async def _copy(copier: NativeCopier, tag: str) -> CopyResult:
    """One destination: its result (a failure raised, as the line would report it)."""
    [result] = await copier.copy(SourceImage(parse(f"{SRC}:{tag}")), [Destination(parse(f"{DST}:{tag}"))], None)
    if result.error is not None:
        raise result.error
    return result


async def test_children_and_blobs_before_the_index_and_the_tag_last() -> None:
    registry = MemoryRegistry()
    children = []
    for arch in ("amd64", "arm64"):
        digest, body = _image(registry, arch)
        registry.add_manifest(SRC, digest, body)
        children.append({"mediaType": DOCKER_MANIFEST, "digest": digest, "size": len(body),
                         "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": children}, indent=7).encode()
    top = registry.add_manifest(SRC, "v1", index)
    copier = NativeCopier(registry)  # type: ignore[arg-type]
    result = await _copy(copier, "v1")
    assert result.digest == top and registry.manifests[f"{DST}:v1"] == index
    assert registry.writes[-1] == "manifest v1"
    for child in children:
        position = registry.writes.index(f"manifest {child['digest']}")
        assert position < len(registry.writes) - 1
        assert all(w.startswith("blob") for w in registry.writes[:2])
    assert result.blobs_sent == 4 and result.manifests_put == 3
    assert result.bytes_sent == 2 * 11 + sum(len(json.dumps({"architecture": a})) for a in ("amd64", "arm64"))


async def test_foreign_layers_are_not_copied() -> None:
    registry = MemoryRegistry()
    digest, body = _image(registry, "amd64", foreign=True)
    registry.add_manifest(SRC, "win", body)
    copier = NativeCopier(registry)  # type: ignore[arg-type]
    result = await _copy(copier, "win")
    assert result.digest == digest and result.blobs_sent == 2
    assert "sha256:" + "f" * 64 not in registry.blobs[DST]


@pytest.mark.parametrize("schema1", [
    {"schemaVersion": 1, "name": "team/app", "tag": "old", "fsLayers": [], "history": []},
    {"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
])
async def test_schema1_fails_with_a_pointer_to_skopeo(schema1: dict[str, object]) -> None:
    registry = MemoryRegistry()
    registry.add_manifest(SRC, "old", json.dumps(schema1, indent=3).encode())
    copier = NativeCopier(registry)  # type: ignore[arg-type]
    with pytest.raises(CopyError, match="--copier skopeo"):
        await _copy(copier, "old")
    assert registry.writes == []


async def test_a_corrupt_blob_fails_the_copy() -> None:
    registry = MemoryRegistry()
    digest, body = _image(registry, "amd64")
    layer = json.loads(body)["layers"][0]["digest"]
    registry.blobs[SRC][layer] = b"tampered!!!"
    registry.add_manifest(SRC, "bad", body)
    copier = NativeCopier(registry)  # type: ignore[arg-type]
    with pytest.raises(CopyError, match="digest mismatch"):
        await _copy(copier, "bad")
    assert f"{DST}:bad" not in registry.manifests

"""Media types, descriptors and manifests: the pure data of the distribution API.

Nothing here does I/O. Media types are named constants and :func:`base` strips
parameters (``; charset=utf-8``) before any comparison, because registries are
allowed to add them. A :class:`Manifest` keeps the bytes exactly as the
registry served them: re-serialising JSON changes the digest, and digests are
what mirroring must preserve.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from ..errors import ProtocolError
from ..value import frozen

__all__ = [
    "ACCEPT_MANIFESTS",
    "DOCKER_CONFIG",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_ARTIFACT_MANIFEST",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "Manifest",
    "Platform",
    "base",
    "compute_digest",
    "detect_media_type",
    "digest_algorithm",
    "pick_child",
    "sha256_digest",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

#: Every manifest type we can read. Order matters only for humans reading logs.
MANIFEST_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST, OCI_ARTIFACT_MANIFEST)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
#: The Accept header for manifest HEAD/GET. Without the index types a registry
#: answers 404 for an OCI index, and without the v2 types Docker Hub converts
#: to schema 1 — either way the digest would be wrong.
ACCEPT_MANIFESTS = ", ".join(MANIFEST_TYPES)


def base(media_type: str | None) -> str:
    """The media type without parameters, lower-cased ('' for None)."""
    if not media_type:
        return ""
    return media_type.split(";", 1)[0].strip().lower()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@frozen(slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@frozen(slots=True)
class Descriptor:
    """What a HEAD (or an index entry) tells about content: digest, type, size."""

    digest: str
    media_type: str
    size: int
    platform: Platform | None = None


def _descriptor(raw: Any, where: str) -> Descriptor:
    """A descriptor of a parsed manifest. Its strings are interned: a run parses the same
    manifests again for every destination, and keeps blob digests as keys for the whole run
    (what each repository already has), so one string per digest instead of one per parse."""
    if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
        raise ProtocolError(f"{where}: descriptor without a digest")
    platform = None
    raw_platform = raw.get("platform")
    if isinstance(raw_platform, dict):
        platform = Platform(
            sys.intern(str(raw_platform.get("os", ""))),
            sys.intern(str(raw_platform.get("architecture", ""))),
            raw_platform.get("variant") if isinstance(raw_platform.get("variant"), str) else None,
        )
    size = raw.get("size")
    return Descriptor(
        digest=sys.intern(raw["digest"]),
        media_type=sys.intern(base(raw.get("mediaType") if isinstance(raw.get("mediaType"), str) else None)),
        size=size if isinstance(size, int) else -1,
        platform=platform,
    )


def detect_media_type(data: bytes, served: str | None) -> str:
    """The manifest's media type: the served Content-Type when it is a manifest
    type, else the document's ``mediaType``, else its shape (``manifests`` means
    an index). Some registries serve ``application/json`` or nothing at all."""
    served_base = base(served)
    if served_base in MANIFEST_TYPES:
        return served_base
    try:
        doc = json.loads(data)
    except ValueError:
        return served_base
    if isinstance(doc, dict):
        declared = doc.get("mediaType")
        if isinstance(declared, str) and declared:
            return base(declared)
        if "manifests" in doc:
            return OCI_INDEX
        if "layers" in doc or "config" in doc:
            return OCI_MANIFEST
    return served_base


@frozen(slots=True)
class Manifest:
    """A manifest as served: ``data`` is byte-exact, ``digest`` is its sha256."""

    data: bytes
    media_type: str
    digest: str

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.data)
        except ValueError as exc:
            raise ProtocolError(f"manifest {self.digest} is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ProtocolError(f"manifest {self.digest} is not a JSON object")
        return doc

    def children(self) -> list[Descriptor]:
        """The platform manifests of an index (empty for an image manifest)."""
        raw = self.json().get("manifests")
        if not isinstance(raw, list):
            return []
        return [_descriptor(item, f"index {self.digest}") for item in raw]

    def config(self) -> Descriptor | None:
        """The config blob of an image manifest (None for indexes and artifacts without one)."""
        raw = self.json().get("config")
        return None if raw is None else _descriptor(raw, f"manifest {self.digest}")

    def layers(self) -> list[Descriptor]:
        raw = self.json().get("layers")
        if not isinstance(raw, list):
            return []
        return [_descriptor(item, f"manifest {self.digest}") for item in raw]


def pick_child(children: list[Descriptor]) -> Descriptor | None:
    """The child that stands for an index: linux/amd64, else the first real platform.

    BuildKit appends attestation manifests with platform ``unknown/unknown``;
    they have no image config worth reading, so they are skipped.
    """
    for child in children:
        if child.platform and child.platform.os == "linux" and child.platform.architecture == "amd64":
            return child
    for child in children:
        if child.platform is None or child.platform.os != "unknown":
            return child
    return None


def digest_algorithm(digest: str) -> str:
    """The algorithm part of ``algorithm:hex``."""
    return digest.split(":", 1)[0]


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data`` for the algorithms OCI allows (sha256, sha512)."""
    if algorithm not in ("sha256", "sha512"):
        raise ProtocolError(f"unsupported digest algorithm {algorithm!r}")
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"

"""What every copier takes and returns, and the one Protocol they share.

The pipeline decides *whether* to copy (digests, ``--missing``) and *what* the
destination's top manifest must be (the source's bytes, or an index filtered by
``--platforms``); a copier only moves content. That keeps the three copiers
interchangeable and keeps planning logic out of them: a copier never skips
work on its own judgement, except blob-level de-duplication.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ..ref import ImageRef
from ..registry.credentials import Credential
from ..registry.hosts import ResolvedHost
from ..registry.media import Manifest
from ..value import frozen

__all__ = ["Copier", "CopyResult", "Destination", "HostResolver", "SCHEMA1_MEDIA_TYPES", "SourceImage", "each_destination",
           "is_schema1"]

#: Docker's signed schema 1 manifests; their digests cannot survive a native copy.
SCHEMA1_MEDIA_TYPES = frozenset({
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
})


def is_schema1(media_type: str, data: bytes) -> bool:
    """Whether a manifest is schema 1 (by media type, or ``"schemaVersion": 1`` in the body)."""
    if media_type in SCHEMA1_MEDIA_TYPES:
        return True
    head = data[:4096].replace(b" ", b"").replace(b"\n", b"").replace(b"\t", b"").replace(b"\r", b"")
    return b'"schemaVersion":1,' in head or b'"schemaVersion":1}' in head


@frozen
class SourceImage:
    """What is copied: the source reference (with tag) and, when planning HEADed it, its
    top digest and media type (``None`` when ``--missing`` planned without a HEAD)."""

    ref: ImageRef
    digest: str | None = None
    media_type: str | None = None


@frozen
class Destination:
    """Where it goes: ``ref`` with tag (overrides applied). ``new_repository``: the repository
    did not exist at plan time, so a blob or manifest this run has not put there is sure to be
    absent -- a copier may skip checking."""

    ref: ImageRef
    new_repository: bool = False


@frozen
class CopyResult:
    """What a copier did for one item. ``bytes_sent`` counts blob bytes uploaded by us
    (skopeo does not tell, so it reports 0)."""

    digest: str | None
    bytes_sent: int = 0
    blobs_sent: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    manifests_put: int = 0
    error: Exception | None = None  # this destination failed; the others may have succeeded

    @classmethod
    def failed(cls, error: Exception) -> CopyResult:
        return cls(digest=None, error=error)


class Copier(Protocol):
    """Copy ``source`` to every one of ``destinations``; ``manifest`` is what each destination
    tag must hold when planning decided it (a ``--platforms`` index), else ``None`` (the
    source's own top manifest).

    One :class:`CopyResult` per destination, in order. A destination that fails gets
    :meth:`CopyResult.failed` with a :class:`~mirror.errors.MirrorError` (``CopyError``,
    ``NotFound``, ``AuthError``…) saying what failed and what to do; the others go on. An
    exception raised out of ``copy`` fails every destination of the call.
    """

    name: str

    async def copy(self, source: SourceImage, destinations: Sequence[Destination],
                   manifest: Manifest | None) -> list[CopyResult]: ...


async def each_destination(
    copy_one: Callable[[SourceImage, Destination, Manifest | None], Awaitable[CopyResult]],
    source: SourceImage, destinations: Sequence[Destination], manifest: Manifest | None,
) -> list[CopyResult]:
    """For copiers that move one destination at a time (skopeo, oras): in turn, each failure
    kept for its own destination. The scheduler gives them one destination per call anyway,
    so that a repository lock and a copy slot are held per destination."""
    results: list[CopyResult] = []
    for destination in destinations:
        try:
            results.append(await copy_one(source, destination, manifest))
        except Exception as exc:  # this destination's failure only (a bug: describe() -> exit 3)
            results.append(CopyResult.failed(exc))
    return results


class HostResolver(Protocol):
    """What the out-of-process (skopeo) and threaded (oras) copiers need from the run:
    the registries-file decision for a host and the credentials for it."""

    async def endpoint(self, host: str) -> ResolvedHost: ...

    async def credential(self, host: str) -> Credential | None: ...

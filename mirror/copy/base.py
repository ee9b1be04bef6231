"""What every copier takes and returns, and the one Protocol they share.

The pipeline decides *whether* to copy (digests, ``--missing``) and *what* the
destination's top manifest must be (the source's bytes, or an index filtered by
``--platforms``); a copier only moves content. That keeps the three copiers
interchangeable and keeps planning logic out of them: a copier never skips
work on its own judgement, except blob-level de-duplication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..imageslist import Line
from ..ref import ImageRef
from ..registry.credentials import Credential
from ..registry.hosts import ResolvedHost
from ..registry.media import Manifest

__all__ = ["Action", "Copier", "CopyResult", "HostResolver", "PlanItem", "SCHEMA1_MEDIA_TYPES", "is_schema1"]

Action = Literal["copy", "skip"]

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


@dataclass
class PlanItem:
    """One images-list line after planning.

    ``manifest`` is what the destination's tag must end up as, byte for byte,
    when the plan already read it (``--platforms`` filters the index in the
    plan); ``None`` means "the source's top manifest, as served".
    ``arch_tags`` asks for the seed's per-architecture tags after the copy.
    ``new_repository``: the destination repository did not exist at plan time
    (its tag list answered NAME_UNKNOWN), so a blob or manifest this run has not
    put there is sure to be absent: a copier may skip checking.
    """

    source: ImageRef  # with tag
    destination: ImageRef  # with tag, overrides applied
    line: Line | None = None
    action: Action = "copy"
    reason: str = ""
    source_digest: str | None = None
    source_media_type: str | None = None
    destination_digest: str | None = None
    manifest: Manifest | None = None
    arch_tags: bool = False
    new_repository: bool = False

    @property
    def lineno(self) -> int:
        return self.line.lineno if self.line is not None else 0

    def fields(self) -> dict[str, object]:
        """JSON-serialisable, secret-free event fields naming this item."""
        return {
            "source": self.source.name,
            "destination": self.destination.name,
            "tag": self.destination.tag,
            "line": self.lineno,
        }


@dataclass(frozen=True)
class CopyResult:
    """What a copier did for one item. ``bytes_sent`` counts blob bytes uploaded by us
    (skopeo does not tell, so it reports 0)."""

    digest: str | None
    bytes_sent: int = 0
    blobs_sent: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    manifests_put: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Copier(Protocol):
    """Copy ``source`` to ``destination`` (both with tag) as ``item`` says.

    Raise a :class:`~mirror.errors.MirrorError` (``CopyError``, ``NotFound``,
    ``AuthError``…) with a message that says what failed and what to do; the
    pipeline turns it into a failed result for this line only.
    """

    name: str

    async def copy(self, source: ImageRef, destination: ImageRef, item: PlanItem) -> CopyResult: ...


class HostResolver(Protocol):
    """What the out-of-process (skopeo) and threaded (oras) copiers need from the run:
    the registries-file decision for a host and the credentials for it."""

    async def endpoint(self, host: str) -> ResolvedHost: ...

    async def credential(self, host: str) -> Credential | None: ...

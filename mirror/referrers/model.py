"""The pure half of mirroring referrers: options, the ``--referrers-types`` aliases, tag names,
the values that travel between the source and destination halves, and the fallback-index merge.

Two ways of attaching things to an image exist in the wild, and a mirror must carry both:

* **OCI 1.1 referrers** (distribution spec 1.1): a manifest with a ``subject`` naming the
  image's digest. A registry with the referrers API lists them at
  ``GET /v2/<name>/referrers/<digest>``; on one without it, whoever pushes a referrer also
  keeps an image index under the *referrers tag* of the subject (``sha256-<hex>``) listing it.
* **cosign's tags**: ``sha256-<hex>.sig``, ``.att`` and ``.sbom`` in the image's repository,
  manifests without a ``subject``, found only by their tag names.

Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError, ProtocolError
from ..ref import valid_digest
from ..registry.media import OCI_INDEX
from ..text import excerpt
from ..value import frozen

__all__ = [
    "ALIASES", "COSIGN_SUFFIXES", "MAX_DEPTH", "Referrer", "ReferrerOptions", "ReferrerOutcome",
    "cosign_tag", "merge_index", "parse_types", "referrers_tag",
]

#: How deep referrers of referrers are followed (a signature of an attestation is depth 2).
MAX_DEPTH = 8

#: cosign's tag suffixes, by alias.
COSIGN_SUFFIXES: Mapping[str, str] = {"sig": ".sig", "att": ".att", "sbom": ".sbom"}

# A sigstore bundle (cosign 3, OCI 1.1 mode) holds either a signature or an attestation,
# so both aliases select it.
_SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"

#: ``--referrers-types`` aliases: the artifact types the tools in use give each kind.
ALIASES: Mapping[str, frozenset[str]] = {
    "sig": frozenset({
        "application/vnd.dev.cosign.artifact.sig.v1+json",  # cosign, OCI 1.1 referrers mode
        "application/vnd.dev.cosign.simplesigning.v1+json",  # cosign's signature payload
        "application/vnd.cncf.notary.signature",  # notation
        _SIGSTORE_BUNDLE,
    }),
    "att": frozenset({
        "application/vnd.in-toto+json",
        "application/vnd.dsse.envelope.v1+json",
        "application/vnd.dev.cosign.artifact.att.v1+json",
        _SIGSTORE_BUNDLE,
    }),
    "sbom": frozenset({
        "application/spdx+json", "text/spdx", "text/spdx+json", "application/vnd.spdx+json",
        "application/vnd.cyclonedx+json", "application/vnd.cyclonedx+xml", "application/vnd.cyclonedx",
        "application/vnd.syft+json", "application/vnd.dev.cosign.artifact.sbom.v1+json",
    }),
}

# RFC 6838 type/subtype, as OCI's media types are written.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\Z")
_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9_.-]")


@frozen
class ReferrerOptions:
    """What to copy. ``types``: the artifact types (``None``: every one); ``cosign``: the cosign
    tag suffixes to copy; ``everywhere``: ``--referrers`` (else only to destination hosts whose
    registries-file entry says ``referrers: true``)."""

    types: frozenset[str] | None = None
    cosign: tuple[str, ...] = tuple(COSIGN_SUFFIXES.values())
    everywhere: bool = False
    max_depth: int = MAX_DEPTH

    def selects(self, artifact_type: str | None) -> bool:
        return self.types is None or (artifact_type is not None and artifact_type.lower() in self.types)

    @property
    def server_filter(self) -> str | None:
        """The ``?artifactType=`` to send: the API takes one type, so only when one is selected."""
        if self.types is not None and len(self.types) == 1:
            return next(iter(self.types))
        return None


def parse_types(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """``--referrers-types``: comma-separated media types or aliases -> (types, cosign suffixes)."""
    types: set[str] = set()
    suffixes: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        alias = ALIASES.get(item.lower())
        if alias is not None:
            types |= alias
            suffix = COSIGN_SUFFIXES[item.lower()]
            if suffix not in suffixes:
                suffixes.append(suffix)
        elif _MEDIA_TYPE.match(item):
            types.add(item.lower())
        else:
            raise InputError(f"--referrers-types: {item[:80]!r} is neither a media type (type/subtype) nor one of "
                             f"the aliases {', '.join(ALIASES)}")
    if not types:
        raise InputError("--referrers-types: give at least one media type or alias "
                         f"({', '.join(ALIASES)})")
    return frozenset(types), tuple(suffixes)


def _split(digest: str) -> tuple[str, str]:
    algorithm, _, encoded = digest.partition(":")
    return algorithm, encoded


def referrers_tag(digest: str) -> str:
    """The referrers tag schema: ``<alg[:32]>-<encoded[:64]>``, characters a tag cannot hold as ``-``."""
    algorithm, encoded = _split(digest)
    return _NOT_IN_TAG.sub("-", algorithm[:32]) + "-" + _NOT_IN_TAG.sub("-", encoded[:64])


def cosign_tag(digest: str, suffix: str) -> str:
    """cosign's tag for ``digest``: the digest with ``:`` made ``-``, plus ``.sig``/``.att``/``.sbom``."""
    return digest.replace(":", "-") + suffix


@frozen
class Referrer:
    """One thing attached to ``subject``: listed by the referrers API or a referrers tag (then
    ``descriptor`` is its entry, as JSON text exactly as listed), or a cosign tag (``tag``)."""

    digest: str
    media_type: str
    size: int
    subject: str
    artifact_type: str | None = None
    tag: str | None = None
    descriptor: str = ""

    @classmethod
    def listed(cls, raw: Mapping[str, Any], subject: str, where: str) -> Referrer:
        digest, media_type = raw.get("digest"), raw.get("mediaType")
        if not isinstance(digest, str) or not isinstance(media_type, str):
            raise ProtocolError(f"{where}: a referrer without digest or mediaType")
        if not valid_digest(digest):
            raise ProtocolError(f"{where}: a referrer with the digest {excerpt(digest, 100)!r}")
        size = raw.get("size")
        artifact = raw.get("artifactType")
        return cls(digest, media_type, size if isinstance(size, int) else -1, subject,
                   artifact if isinstance(artifact, str) and artifact else None,
                   descriptor=json.dumps(raw, separators=(",", ":")))

    def __str__(self) -> str:
        if self.tag:
            return f"{self.tag} ({self.digest})"
        kind = f" {excerpt(self.artifact_type, 100)}" if self.artifact_type else ""  # a registry's text
        return f"{self.digest}{kind} of {self.subject}"


@frozen
class ReferrerOutcome:
    """What became of one line's referrers: each entry names a referrer (``failed``: with the
    reason; ``skipped``: what was not copied and why)."""

    copied: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def __add__(self, other: ReferrerOutcome) -> ReferrerOutcome:
        return ReferrerOutcome(self.copied + other.copied, self.present + other.present,
                               self.failed + other.failed, self.skipped + other.skipped)

    def seen_by_another(self) -> ReferrerOutcome:
        """The outcome for a second line with the same subject: what the first copied is present."""
        return ReferrerOutcome((), self.present + self.copied, self.failed, self.skipped)


def merge_index(existing: bytes | None, entries: Sequence[str], where: str) -> bytes | None:
    """The referrers tag's index with ``entries`` (descriptor JSON texts) added; ``None`` when
    every one is listed already. Other entries stay exactly as they are; an existing tag that
    is not an image index is refused (the spec: stop rather than overwrite it)."""
    if existing is None:
        doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    else:
        try:
            loaded = json.loads(existing)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict) or not isinstance(loaded.get("manifests"), list) or \
                loaded.get("mediaType", OCI_INDEX) != OCI_INDEX:
            raise ProtocolError(f"{where} is not an image index; it is left alone")
        doc = loaded
    listed = {m.get("digest") for m in doc["manifests"] if isinstance(m, dict)}
    added = False
    for text in entries:
        entry = json.loads(text)
        if entry.get("digest") not in listed:
            doc["manifests"].append(entry)
            listed.add(entry.get("digest"))
            added = True
    if not added:
        return None
    return json.dumps(doc, separators=(",", ":")).encode()

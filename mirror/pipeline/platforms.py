"""Platform handling of ``sync`` and ``compare``: pure, no I/O, one table-driven test each.

* :class:`PlatformSpec` / :func:`filter_index` — ``--platforms``: keep only the matching
  children of an index and re-serialise it (the digest then differs from the source's, which
  is the point of filtering).
* :func:`arch_tags` / :func:`arch_tag_for_image` — ``--arch-tags``: the seed's
  per-architecture tags ``TAG-<arch><variant>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import CopyError, InputError
from ..registry.media import Descriptor, Manifest, Platform, sha256_digest
from ..value import frozen

__all__ = [
    "ARCH_TAG_ARCHES",
    "ArchTag",
    "FilteredIndex",
    "PlatformSpec",
    "arch_tag_for_image",
    "arch_tags",
    "filter_index",
    "parse_platforms",
]

#: The architectures the seed published per-architecture tags for, in its order.
ARCH_TAG_ARCHES = ("amd64", "arm64", "arm", "s390x")

#: BuildKit attestation manifests point at the image they describe with this annotation.
_ATTESTATION_REF = "vnd.docker.reference.digest"


@frozen
class PlatformSpec:
    """``os/arch[/variant]`` from ``--platforms``; no variant matches every variant."""

    os: str
    architecture: str
    variant: str | None = None

    def matches(self, platform: Platform | None) -> bool:
        if platform is None:
            return False
        if platform.os != self.os or platform.architecture != self.architecture:
            return False
        return self.variant is None or platform.variant == self.variant

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


_PLATFORM_PART = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")


def parse_platforms(text: str) -> tuple[PlatformSpec, ...]:
    """``linux/amd64,linux/arm/v7`` → specs; raise :class:`InputError` naming the bad item."""
    specs: list[PlatformSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        parts = item.lower().split("/")
        if len(parts) not in (2, 3) or not all(_PLATFORM_PART.match(p) for p in parts):
            raise InputError(f"--platforms: {item!r} is not os/arch[/variant] (e.g. linux/arm64)")
        spec = PlatformSpec(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise InputError("--platforms: give at least one os/arch, e.g. linux/amd64,linux/arm64")
    return tuple(specs)


@frozen
class FilteredIndex:
    """An index reduced to some platforms: new bytes, their digest, the kept children."""

    data: bytes
    media_type: str
    digest: str
    children: tuple[Descriptor, ...]


def filter_index(index: Manifest, platforms: Sequence[PlatformSpec]) -> FilteredIndex:
    """Keep the children of ``index`` whose platform matches, plus attestations of kept children.

    The result is re-serialised (compact JSON, key order kept), so its digest
    differs from the source's. Raises :class:`CopyError` when nothing matches:
    pushing an empty index would publish a tag nobody can pull.
    """
    doc = index.json()
    raw = doc.get("manifests")
    if not isinstance(raw, list):
        raise CopyError(f"index {index.digest} has no manifests list")
    children = index.children()
    kept_digests = {
        child.digest for child in children if any(spec.matches(child.platform) for spec in platforms)
    }
    if not kept_digests:
        available = ", ".join(sorted({str(c.platform) for c in children if c.platform})) or "none"
        wanted = ",".join(str(p) for p in platforms)
        raise CopyError(f"no platform of --platforms {wanted} in the index (it has: {available})")
    kept_raw: list[Any] = []
    kept: list[Descriptor] = []
    for entry, child in zip(raw, children):
        annotations = entry.get("annotations") if isinstance(entry, dict) else None
        subject = annotations.get(_ATTESTATION_REF) if isinstance(annotations, dict) else None
        if child.digest in kept_digests or (subject is not None and subject in kept_digests):
            kept_raw.append(entry)
            kept.append(child)
    new_doc = dict(doc)
    new_doc["manifests"] = kept_raw
    data = json.dumps(new_doc, separators=(",", ":")).encode("utf-8")
    return FilteredIndex(data, index.media_type, sha256_digest(data), tuple(kept))


# --------------------------------------------------------------------------------------------
# Per-architecture tags
# --------------------------------------------------------------------------------------------


@frozen
class ArchTag:
    """One extra tag ``tag`` that points at the platform manifest ``digest``."""

    tag: str
    digest: str
    platform: str


def _platform_field(entry: Mapping[str, Any], name: str) -> str:
    platform = entry.get("platform")
    if not isinstance(platform, dict):
        return ""
    value = platform.get(name)
    return value if isinstance(value, str) else ""


def arch_tags(tag: str, index_doc: Mapping[str, Any], arches: Iterable[str] = ARCH_TAG_ARCHES) -> list[ArchTag]:
    """The seed's per-architecture tags for an index.

    For every architecture of ``arches`` (the seed's ``amd64 arm64 arm
    s390x``), its Linux children sorted by variant *descending* (as the seed's
    ``sort_by(.platform.variant) | reverse``): the first gets ``TAG-<arch>``,
    the others ``TAG-<arch><variant>`` (``TAG-armv6``). A child of another OS
    always carries it and its ``os.version``: ``TAG-amd64-windows-10.0.17763.1``.
    A later child that would repeat an earlier tag (two variant-less entries)
    is left out instead of silently overwriting it.
    """
    raw = index_doc.get("manifests")
    entries = [e for e in raw if isinstance(e, dict) and isinstance(e.get("digest"), str)] if isinstance(raw, list) else []
    out: list[ArchTag] = []
    seen: set[str] = set()
    for arch in arches:
        mine = [e for e in entries if _platform_field(e, "architecture") == arch]
        linux = [e for e in mine if _platform_field(e, "os") == "linux"]
        linux.sort(key=lambda e: _platform_field(e, "variant"), reverse=True)
        for position, entry in enumerate(linux):
            variant = _platform_field(entry, "variant")
            suffix = arch if position == 0 else f"{arch}{variant}"
            name = f"{tag}-{suffix}"
            if name in seen or not _valid_tag(name):
                continue
            seen.add(name)
            out.append(ArchTag(name, entry["digest"], "/".join(filter(None, ("linux", arch, variant)))))
        for entry in mine:
            os_name = _platform_field(entry, "os")
            if not os_name or os_name in ("linux", "unknown"):
                continue
            os_version = _platform_field(entry, "os.version")
            name = "-".join(filter(None, (f"{tag}-{arch}", os_name, os_version)))
            if name in seen or not _valid_tag(name):
                continue
            seen.add(name)
            out.append(ArchTag(name, entry["digest"], "/".join(filter(None, (os_name, arch, os_version)))))
    return out


def arch_tag_for_image(tag: str, architecture: str, digest: str, os_name: str = "linux",
                       arches: Iterable[str] = ARCH_TAG_ARCHES) -> ArchTag | None:
    """The seed's tag for a single-platform image (architecture from its config), if any."""
    if architecture not in tuple(arches):
        return None
    name = f"{tag}-{architecture}"
    return ArchTag(name, digest, f"{os_name}/{architecture}") if _valid_tag(name) else None


def _valid_tag(tag: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) is not None

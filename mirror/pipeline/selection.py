"""Which lines a run works on, and where each one goes: pure, no I/O.

* :class:`Overrides` — ``DEST_REGISTRY_OVERRIDE`` replaces the destination host,
  ``DEST_ORG_OVERRIDE`` the first path component, exactly where the seed's
  ``image-mirror.sh`` did it (after ``docker.io`` was made explicit): the one-target form.
* :class:`Target` — ``--target REGISTRY[/PATH]`` (repeatable, or ``IMAGE_MIRROR_TARGETS``):
  each line goes to every target; the registry replaces the destination host and PATH (which
  may hold ``/``) the first path component. Several targets per line let the run read each
  source once for all of them.
* :class:`Shard` — ``--shard I/N``: a line belongs to shard
  ``int(sha256(normalised source repository).hexdigest(), 16) % N``. A stable hash (never
  Python's salted ``hash()``) so every pod of an Indexed Job computes the same split, keyed on
  the *source* repository so every line of one source -- every tag, every destination, and so
  every blob it shares with its siblings -- is read by one pod.
* :func:`superseded` — lines that write the same destination tag: the last one wins, as in
  the seed's sequential loop (the real 2024-12 list has two such pairs). Without this, both
  would be copied on every run, racing each other. It is decided on the whole list before
  sharding, so the pair is settled even when its lines land in different pods.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from .. import ref as imageref
from ..errors import InputError, InvalidReference
from ..imageslist import Line
from ..ref import ImageRef
from ..value import frozen

__all__ = ["Overrides", "Shard", "Target", "parse_targets", "shard_of", "superseded"]


def _registry_host(text: str, what: str) -> str:
    """``text`` as a normalised registry host, or :class:`InputError` naming ``what``."""
    try:
        probe = imageref.parse(f"{text}/probe/x")
    except InvalidReference:
        probe = None
    if probe is None or probe.host != imageref.normalize_host(text):
        raise InputError(f"{what}={text!r} is not a registry host (host[:port])")
    return probe.host


def _moved(destination: ImageRef, host: str | None, first: str | None) -> ImageRef:
    """``destination`` on ``host`` with its first path component replaced by ``first`` (tag kept)."""
    parts = destination.repository.split("/")
    if first:
        parts[0] = first
    text = f"{host or destination.host}/{'/'.join(parts)}"
    try:
        out = imageref.parse(text)
    except InvalidReference as exc:
        raise InputError(f"destination override produced an invalid reference: {exc}") from None
    # parse() reads "docker.io/x" as library/x; keep exactly what we built otherwise.
    return ImageRef(out.host, out.repository, destination.tag, destination.digest)


# --------------------------------------------------------------------------------------------
# Destinations
# --------------------------------------------------------------------------------------------


@frozen
class Overrides:
    """The seed's environment overrides of every line's destination.

    The org override replaces the *first* path component, whatever it is — for
    a one-component name on another registry (``ghcr.io/app``) that is the
    name itself, exactly as the seed's ``DEST[1]=…`` did.
    """

    registry: str | None = None
    org: str | None = None

    @property
    def active(self) -> bool:
        return self.registry is not None or self.org is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Overrides:
        """Read ``DEST_REGISTRY_OVERRIDE`` and ``DEST_ORG_OVERRIDE``; empty means unset."""
        registry = (env.get("DEST_REGISTRY_OVERRIDE") or "").strip() or None
        org = (env.get("DEST_ORG_OVERRIDE") or "").strip() or None
        overrides = cls(registry, org)
        overrides.validate()
        return overrides

    def validate(self) -> None:
        """Fail early (exit 2) when an override cannot form a valid reference."""
        if self.registry is not None:
            _registry_host(self.registry, "DEST_REGISTRY_OVERRIDE")
        if self.org is not None:
            try:
                imageref.parse(f"example.com/{self.org}/x")
            except InvalidReference:
                raise InputError(
                    f"DEST_ORG_OVERRIDE={self.org!r} is not a valid repository path component"
                ) from None
            if "/" in self.org:
                raise InputError(f"DEST_ORG_OVERRIDE={self.org!r} must be one path component")

    def apply(self, destination: ImageRef) -> ImageRef:
        """``destination`` with the host and/or first path component replaced (tag kept)."""
        if self.registry is None and self.org is None:
            return destination
        return _moved(destination, imageref.normalize_host(self.registry) if self.registry else None, self.org)

    def destination(self, line: Line) -> ImageRef:
        """The line's destination ``image:tag`` after the overrides."""
        return self.apply(line.destination_image)


@frozen
class Target:
    """One ``--target REGISTRY[/PATH]``: where every line is also mirrored to."""

    registry: str  # normalised host[:port]
    path: str | None = None  # replaces the destination's first path component; may hold "/"

    @classmethod
    def parse(cls, text: str) -> Target:
        raw = text.strip().rstrip("/")
        if not raw:
            raise InputError("--target: empty; give REGISTRY[/PATH], e.g. registry.example.com/mirror")
        host, _, path = raw.partition("/")
        registry = _registry_host(host, "--target")
        if path:
            try:
                imageref.parse(f"example.com/{path}/x")
            except InvalidReference:
                raise InputError(f"--target {text!r}: {path!r} is not a valid repository path") from None
        return cls(registry, path or None)

    def apply(self, destination: ImageRef) -> ImageRef:
        return _moved(destination, self.registry, self.path)

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}" if self.path else self.registry


def parse_targets(given: Sequence[str], env: Mapping[str, str]) -> tuple[Target, ...]:
    """``--target`` values, else ``IMAGE_MIRROR_TARGETS`` (comma-separated); a repeat is exit 2."""
    texts = list(given) or [t for t in (env.get("IMAGE_MIRROR_TARGETS") or "").split(",") if t.strip()]
    targets: list[Target] = []
    for text in texts:
        target = Target.parse(text)
        if target in targets:
            raise InputError(f"--target {text!r} is given twice")
        targets.append(target)
    return tuple(targets)


# --------------------------------------------------------------------------------------------
# Sharding
# --------------------------------------------------------------------------------------------


def shard_of(source: ImageRef, count: int) -> int:
    """The shard of a source repository: sha256 of its normalised name, mod ``count``."""
    digest = hashlib.sha256(source.name.encode("utf-8")).hexdigest()
    return int(digest, 16) % count


@frozen
class Shard:
    """``--shard I/N``: this process handles shard ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match:
            raise InputError(f"--shard {text!r}: expected I/N, e.g. 0/4 (I counts from 0)")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise InputError(f"--shard {text!r}: N must be at least 1")
        if index >= count:
            raise InputError(f"--shard {text!r}: I must be between 0 and {count - 1} (it counts from 0)")
        return cls(index, count)

    def owns(self, source: ImageRef) -> bool:
        return shard_of(source, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


# --------------------------------------------------------------------------------------------
# Lines that write the same destination tag
# --------------------------------------------------------------------------------------------


def superseded(pairs: Sequence[tuple[ImageRef, ImageRef]]) -> dict[int, int]:
    """For ``(source image, destination image)`` pairs (both with tag): index → index of the
    later pair that writes the same destination tag. The last pair of each group is absent
    (it is the one that runs); a group of one is absent too."""
    last: dict[tuple[str, str | None], int] = {}
    for index, (_, destination) in enumerate(pairs):
        last[(destination.name, destination.tag)] = index
    out: dict[int, int] = {}
    for index, (_, destination) in enumerate(pairs):
        winner = last[(destination.name, destination.tag)]
        if winner != index:
            out[index] = winner
    return out

"""The one small interface every version source implements.

A source turns one config entry into the raw candidates it found upstream. The
pipeline then applies the shared post-processing (diff against images-list,
seed-compatible JSON). Sources receive their clients explicitly — no globals —
so tests build exactly the client they need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .. import ref as imageref
from ..config import Entry
from ..errors import InvalidReference

__all__ = ["Found", "Source", "normalize_full_images"]


@dataclass(frozen=True)
class Found:
    """What a source found for one entry.

    Tag sources fill ``tags`` (already filtered, in the source's order); Helm
    and tagged-file sources fill ``full_images`` (``repo:tag``, post-processed
    and sorted). ``seen`` counts raw candidates before filtering (dashboard).
    """

    tags: tuple[str, ...] = ()
    full_images: tuple[str, ...] = ()
    seen: int = 0


class Source(Protocol):
    async def discover(self, entry: Entry) -> Found: ...


def normalize_full_images(candidates: Iterable[str], denylist: Iterable[str] = ()) -> tuple[str, ...]:
    """The seed's post-processing of ``repo:tag`` candidates (Helm, tagged files).

    Strip ``@digest`` and a leading ``docker.io/``; skip ``rancher/…`` (our own
    images), images without a tag and the tag ``latest``; drop repositories on
    the denylist (compared normalised, so ``docker.io/x/y`` matches ``x/y``);
    skip strings that are not image references; de-duplicate and sort.
    """
    denied = set()
    for item in denylist:
        try:
            denied.add(imageref.parse(item).name)
        except InvalidReference:
            denied.add(item)
    result: dict[tuple[str, str], str] = {}
    for raw in candidates:
        text = raw.strip().split("@", 1)[0]
        text = text.removeprefix("docker.io/")
        if not text or text.startswith("rancher/"):
            continue
        name, tag = imageref.split_tag(text)
        if not tag or tag == "latest":
            continue
        try:
            parsed = imageref.parse(text)
        except InvalidReference:
            continue
        if parsed.name in denied or name in denied:
            continue
        if parsed.host == imageref.DOCKER_HUB and parsed.repository.startswith("rancher/"):
            continue
        key = (parsed.name, tag)
        if key not in result or (len(text), text) < (len(result[key]), result[key]):
            result[key] = text
    return tuple(sorted(result.values()))

"""The one small interface every version source implements.

A source turns one config entry into the raw candidates it found upstream. The
pipeline then applies the shared post-processing (diff against images-list,
seed-compatible JSON). Sources receive their clients explicitly — no globals —
so tests build exactly the client they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..config import Entry

__all__ = ["Found", "Source"]


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

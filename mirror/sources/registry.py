"""The ``registry`` version source: tags straight from the registry's tag list.

``versionSource: registry`` takes the entry's first image (the others are
mirrors of the same upstream), lists its tags, then applies the entry's
filters in the seed's order: ``versionFilter`` (regex), ``versionConstraint``,
then ``latest`` or ``latest_entry``. Ordering by time is expensive outside
Docker Hub and quay.io (one config read per tag), so ``latest_entry`` asks for
the newest-first order of the *filtered* tags only.
"""

from __future__ import annotations

from .. import filters
from .. import ref as imageref
from ..config import Entry
from ..registry import RegistryClient
from .base import Clients, Found, Source

__all__ = ["SOURCE", "discover"]


async def discover(entry: Entry, client: RegistryClient) -> Found:
    """Tags of ``entry.images[0]`` that pass the entry's filters, in registry order."""
    if not entry.images:
        return Found()
    image = imageref.parse(entry.images[0])
    raw = await client.list_tags(image)
    tags = filters.filter_tags(raw, version_filter=entry.version_filter, version_constraint=entry.version_constraint)
    if entry.latest:
        tags = filters.latest(tags)
    elif entry.latest_entry and tags:
        tags = filters.latest_entry(await client.tags_newest_first(image, candidates=tags))
    return Found(tags=tuple(tags), seen=len(raw))


class _RegistrySource:
    """:func:`discover` as a :class:`~.base.Source`, on the run's registry client."""

    async def discover(self, entry: Entry, clients: Clients) -> Found:
        return await discover(entry, clients.registry)


SOURCE: Source = _RegistrySource()

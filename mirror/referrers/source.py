"""Finding what is attached to a digest at the source: the referrers API, else the referrers
tag, and cosign's tags -- each source read once per run, whatever the number of lines and
destinations that need it.

Costs, per source repository: one ``tags/list`` (cosign's tags and referrers tags are looked
up in it, so an absent tag costs nothing). Per subject digest: one referrers request while the
host has the API; the first 404 from a host says it has none (the spec forbids a 404 from a
registry that has it), so later subjects there cost nothing unless their referrers tag is in
the tag list (then one GET of it). Per cosign tag found: one HEAD (its digest; no pull).
"""

from __future__ import annotations

import json
import re

from ..errors import NotFound, ProtocolError
from ..flight import SingleFlight
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import Manifest
from ..registry.referrers import ReferrersAnswer
from ..value import frozen
from .model import Referrer, ReferrerOptions, cosign_tag, referrers_tag

__all__ = ["Listing", "SourceReader", "TagLists"]

#: A tag that can attach something to a digest: a referrers tag or a cosign tag.
_DIGEST_TAG = re.compile(r"(?:sha256-[0-9a-f]{64}|sha512-[0-9a-f]{64})")


@frozen
class Listing:
    """The selected referrers of one subject. ``index``: the source's referrers-tag index bytes
    when the listing came from it (a destination without one can get the same bytes)."""

    referrers: tuple[Referrer, ...] = ()
    index: bytes | None = None
    listed: int = 0  # entries before the type filter (listed by the API or the tag)


class TagLists:
    """Each repository's tags, read once per run (either side; a missing repository has none):
    cosign's tags and referrers tags are looked up here instead of asked for one by one."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._lists: SingleFlight[frozenset[str]] = SingleFlight(retry_errors=True)

    async def __call__(self, repo: ImageRef) -> frozenset[str]:
        async def fetch() -> frozenset[str]:
            try:
                return frozenset(await self.client.list_tags(repo))
            except NotFound:
                return frozenset()

        return await self._lists.run(repo.name, fetch)


class SourceReader:
    """The source side of a run: listings and manifests, each single-flight."""

    def __init__(self, client: RegistryClient, options: ReferrerOptions) -> None:
        self.client = client
        self.options = options
        self.tags = TagLists(client)
        self._listings: SingleFlight[Listing] = SingleFlight(retry_errors=True)
        self._manifests: SingleFlight[Manifest] = SingleFlight(retry_errors=True)
        self._probes: SingleFlight[bool] = SingleFlight(retry_errors=True)
        self._has_api: dict[str, bool] = {}

    async def manifest(self, repo: ImageRef, digest: str) -> Manifest:
        """A referrer's manifest by digest, read once per run (a pull where the host counts them)."""
        return await self._manifests.run((repo.name, digest),
                                         lambda: self.client.get_manifest(repo.with_digest(digest)))

    async def listing(self, repo: ImageRef, subject: str) -> Listing:
        """What is attached to ``subject`` in ``repo`` and selected by the options."""
        return await self._listings.run((repo.name, subject), lambda: self._list(repo, subject))

    async def nothing_attached(self, repo: ImageRef, digest: str) -> bool:
        """After listing ``digest``: True when nothing can be attached to anything in ``repo``
        (its host has no referrers API and no tag of the repository names a digest), so the
        other digests of an image need not even be known."""
        await self.listing(repo, digest)
        return self._has_api.get(repo.host) is False and not any(_DIGEST_TAG.match(t) for t in await self.tags(repo))

    async def _list(self, repo: ImageRef, subject: str) -> Listing:
        where = f"referrers of {repo.name}@{subject}"
        answer = await self._api(repo, subject)
        index: bytes | None = None
        trusted = False
        if answer is not None:
            found = [Referrer.listed(raw, subject, where) for raw in answer.manifests]
            trusted = self.options.server_filter is not None and "artifactType" in answer.filters_applied
        else:
            index, found = await self._tagged(repo, subject)
        selected = [r for r in found if trusted or self.options.selects(r.artifact_type)]
        selected.extend(await self._cosign(repo, subject))
        unique = {r.digest if r.tag is None else r.tag: r for r in selected}
        return Listing(tuple(unique.values()), index, len(found))

    async def _api(self, repo: ImageRef, subject: str) -> ReferrersAnswer | None:
        """The referrers API's answer, ``None`` without the API (known per host after the first 404:
        the first request to a host runs alone, the others wait for what it learnt)."""
        host = repo.host
        if self._has_api.get(host) is False:
            return None
        if host in self._has_api:
            return await self.client.list_referrers(repo, subject, self.options.server_filter)
        mine: list[ReferrersAnswer | None] = []

        async def probe() -> bool:
            mine.append(await self.client.list_referrers(repo, subject, self.options.server_filter))
            self._has_api[host] = mine[0] is not None
            return self._has_api[host]

        has_api = await self._probes.run(host, probe)
        if mine:
            return mine[0]
        return await self.client.list_referrers(repo, subject, self.options.server_filter) if has_api else None

    async def _tagged(self, repo: ImageRef, subject: str) -> tuple[bytes | None, list[Referrer]]:
        """The referrers tag schema: the index under ``sha256-<hex>``, if the tag list has it."""
        tag = referrers_tag(subject)
        if tag not in await self.tags(repo):
            return None, []
        where = f"referrers tag {repo.name}:{tag}"
        try:
            manifest = await self.client.get_manifest(repo.with_tag(tag))
        except NotFound:
            return None, []  # deleted since the tag list was read
        try:
            doc = json.loads(manifest.data)
        except ValueError:
            raise ProtocolError(f"{where} is not JSON") from None
        entries = doc.get("manifests") if isinstance(doc, dict) else None
        if not manifest.is_index or not isinstance(entries, list):
            return None, []  # the spec: a tag that holds no image index means no referrers
        return manifest.data, [Referrer.listed(raw, subject, where) for raw in entries if isinstance(raw, dict)]

    async def _cosign(self, repo: ImageRef, subject: str) -> list[Referrer]:
        """cosign's ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` tags of ``subject`` (a HEAD each)."""
        tags = await self.tags(repo) if self.options.cosign else frozenset()
        found = []
        for suffix in self.options.cosign:
            tag = cosign_tag(subject, suffix)
            if tag not in tags:
                continue
            try:
                head = await self.client.head_manifest(repo.with_tag(tag))
            except NotFound:
                continue
            found.append(Referrer(head.digest, head.media_type, head.size, subject, tag=tag))
        return found

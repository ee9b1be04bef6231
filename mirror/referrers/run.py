"""``ReferrerMirror``: signatures, attestations and SBOMs travel with the image (issue 22).

The engine calls it after a line's image is at the destination (copied, or found up to
date) with the digests mirrored -- the top one and each platform manifest kept -- and gets a
:class:`~.model.ReferrerOutcome` back; it never raises for a registry's refusal (each
referrer that could not be copied is listed in ``failed``), only for a bug. Its entry points
take repositories and digests, nothing of the engine's own types, so the engine can change
around it.

Per subject digest: list what is attached (:mod:`.source`), check each at the destination,
copy the missing ones and update the referrers tag where the destination has no referrers API
(:mod:`.destination`), then the same for what is attached to *those* (a signature of an
attestation), to :data:`~.model.MAX_DEPTH` levels, each referrer visited once. A subject shared
by two lines into one repository is worked once; the second line finds it present.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ..errors import MirrorError
from ..flight import SingleFlight, gather
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import INDEX_TYPES, Manifest
from .destination import DestinationWriter
from .model import Referrer, ReferrerOptions, ReferrerOutcome, referrers_tag
from .source import SourceReader

__all__ = ["ReferrerMirror"]


def _key(referrer: Referrer) -> str:
    return referrer.tag or referrer.digest


class ReferrerMirror:
    """One per run, shared by every line (its single flights are the run's memory)."""

    def __init__(self, client: RegistryClient, options: ReferrerOptions) -> None:
        self.client = client
        self.options = options
        self.source = SourceReader(client, options)
        self.destination = DestinationWriter(client, self.source)
        self._subjects: SingleFlight[ReferrerOutcome] = SingleFlight(retry_errors=True)

    def wants(self, destination: ImageRef) -> bool:
        """``--referrers``, or ``referrers: true`` for the destination's host in the registries file."""
        return self.options.everywhere or self.client.registries.config(destination.host).referrers

    # ---- sync ---------------------------------------------------------------------------

    async def mirror(self, source: ImageRef, destination: ImageRef, digests: Sequence[str], *,
                     rewritten: str | None = None) -> ReferrerOutcome:
        """Copy what is attached to ``digests`` (in ``source``'s repository) to ``destination``'s.

        ``rewritten``: the source index ``--platforms`` replaced by a new one; what is attached
        to it is not copied (its subject is not at the destination) and is listed in ``skipped``.
        """
        src, dst = source.bare(), destination.bare()
        outcome = ReferrerOutcome()
        if rewritten is not None:
            outcome += await self._rewritten(src, rewritten)
        subjects = list(dict.fromkeys(digests))
        if subjects:
            for part in await gather([functools.partial(self._subject, src, dst, d) for d in subjects]):
                outcome += part
        return outcome

    async def for_line(self, source: ImageRef, destination: ImageRef, *, source_digest: str | None,
                       digest: str | None, media_type: str | None = None,
                       manifest: Manifest | None = None) -> ReferrerOutcome:
        """:meth:`mirror` for a line whose destination now holds ``digest`` (``None``: read its tag).

        The platform digests come from the destination's index (identical to the source's, or
        ``manifest``, the index ``--platforms`` wrote): no source read. A ``source_digest`` that
        differs from the destination's is an index ``--platforms`` rewrote.
        """
        try:
            digests = await self._digests(source, destination, digest, source_digest, media_type, manifest)
        except MirrorError as exc:
            return ReferrerOutcome(failed=(f"the digests of {destination}: {exc}",))
        if source_digest is not None and source_digest != digests[0]:
            return await self.mirror(source, destination, digests[1:], rewritten=source_digest)
        return await self.mirror(source, destination, digests)

    async def _digests(self, source: ImageRef, destination: ImageRef, digest: str | None, source_digest: str | None,
                       media_type: str | None, manifest: Manifest | None) -> list[str]:
        """:meth:`line_digests`, or the top digest alone when nothing can be attached to the others."""
        if manifest is None and digest is not None and source_digest in (None, digest) and \
                (media_type is None or media_type in INDEX_TYPES):
            try:
                quiet = await self.source.nothing_attached(source.bare(), digest)
            except MirrorError:
                quiet = False  # the walk reports the listing's failure
            if quiet:  # no request for the platform digests: nothing can be attached to them
                return [digest]
        return await self.line_digests(destination, digest, media_type=media_type, manifest=manifest)

    async def line_digests(self, destination: ImageRef, digest: str | None, *, media_type: str | None = None,
                           manifest: Manifest | None = None) -> list[str]:
        """The destination's top digest and its platform manifests' digests."""
        if manifest is None:
            if digest is not None and media_type is not None and media_type not in INDEX_TYPES:
                return [digest]
            ref = destination if digest is None else destination.bare().with_digest(digest)
            manifest = await self.client.get_manifest(ref)
        return [manifest.digest, *(child.digest for child in manifest.children())]

    async def _rewritten(self, src: ImageRef, digest: str) -> ReferrerOutcome:
        try:
            listing = await self.source.listing(src, digest)
        except MirrorError as exc:
            return ReferrerOutcome(skipped=(f"referrers of the source index {digest} (rewritten by --platforms): "
                                            f"not listed: {exc}",))
        return ReferrerOutcome(skipped=tuple(
            f"{r}: its subject, the source index, was rewritten by --platforms (new digest)"
            for r in listing.referrers))

    async def _subject(self, src: ImageRef, dst: ImageRef, digest: str) -> ReferrerOutcome:
        ran: list[bool] = []

        async def work() -> ReferrerOutcome:
            ran.append(True)
            return await self._walk(src, dst, digest, 1, {digest})

        outcome = await self._subjects.run((src.name, dst.name, digest), work)
        return outcome if ran else outcome.seen_by_another()

    async def _walk(self, src: ImageRef, dst: ImageRef, subject: str, depth: int, visited: set[str]) -> ReferrerOutcome:
        try:
            listing = await self.source.listing(src, subject)
        except MirrorError as exc:
            return ReferrerOutcome(failed=(f"referrers of {subject}: {exc}",))
        todo = [r for r in listing.referrers if _key(r) not in visited]
        visited.update(_key(r) for r in todo)
        if not todo:
            return ReferrerOutcome()
        if depth > self.options.max_depth:
            return ReferrerOutcome(skipped=tuple(f"{r}: deeper than {self.options.max_depth} levels" for r in todo))
        results = await gather([functools.partial(self._one, src, dst, r) for r in todo])
        outcome = ReferrerOutcome()
        for part, _ in results:
            outcome += part
        needing = [r for r, (_, need) in zip(todo, results, strict=True) if need]
        if needing:
            try:
                await self.destination.list_in_tag(dst, subject, needing, listing.index)
            except MirrorError as exc:
                unlisted = {str(r) for r in needing}
                outcome = ReferrerOutcome(
                    tuple(c for c in outcome.copied if c not in unlisted), outcome.present,
                    outcome.failed + tuple(f"{r}: copied, but the referrers tag {referrers_tag(subject)} was not "
                                           f"updated: {exc}" for r in needing),
                    outcome.skipped)
        done = [r for r, (part, _) in zip(todo, results, strict=True) if not part.failed]
        if done:
            for part in await gather([functools.partial(self._walk, src, dst, r.digest, depth + 1, visited)
                                      for r in done]):
                outcome += part
        return outcome

    async def _one(self, src: ImageRef, dst: ImageRef, referrer: Referrer) -> tuple[ReferrerOutcome, bool]:
        """Check, and copy when missing: (the outcome, whether the referrers tag must list it)."""
        try:
            if await self.destination.present(dst, referrer):
                return ReferrerOutcome(present=(str(referrer),)), False
            needs_tag = await self.destination.push(src, dst, referrer)
        except MirrorError as exc:
            return ReferrerOutcome(failed=(f"{referrer}: {exc}",)), False
        return ReferrerOutcome(copied=(str(referrer),)), needs_tag

    # ---- compare ------------------------------------------------------------------------

    async def missing(self, source: ImageRef, destination: ImageRef, digests: Sequence[str]) -> list[str]:
        """The referrers of ``digests`` the destination lacks (a listing that fails raises)."""
        src, dst = source.bare(), destination.bare()
        found: list[str] = []
        for digest in dict.fromkeys(digests):
            found.extend(await self._missing(src, dst, digest, 1, {digest}))
        return found

    async def missing_for_line(self, source: ImageRef, destination: ImageRef, digest: str | None, *,
                               media_type: str | None = None) -> list[str]:
        """:meth:`missing` for a line whose destination holds ``digest`` (platforms from its index)."""
        return await self.missing(source, destination,
                                  await self._digests(source, destination, digest, digest, media_type, None))

    async def _missing(self, src: ImageRef, dst: ImageRef, subject: str, depth: int, visited: set[str]) -> list[str]:
        listing = await self.source.listing(src, subject)
        todo = [r for r in listing.referrers if _key(r) not in visited]
        visited.update(_key(r) for r in todo)
        if not todo or depth > self.options.max_depth:
            return []
        there = await gather([functools.partial(self.destination.present, dst, r) for r in todo])
        out = [str(r) for r, present in zip(todo, there, strict=True) if not present]
        for r, present in zip(todo, there, strict=True):
            if present:  # what is attached to a missing referrer is missing with it: named once
                out.extend(await self._missing(src, dst, r.digest, depth + 1, visited))
        return out

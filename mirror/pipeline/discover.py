"""discover: every config entry concurrently, source → filters → diff → result.

One task group for the run. Each entry ends in an :class:`EntryResult`; a
failing entry is reported and never cancels the others. The sources share the
per-host limits of the clients they were built with.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import field, replace
from functools import partial
from typing import Any

import anyio

from ..config import Config, Entry
from ..diff import Choice, KnownTags, MirrorFile, NewEntry, NewTags, missing_full_images, missing_tags, split_full_image
from ..errors import NotFound
from ..failure import describe
from ..flight import Pending
from ..events import DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, DiscoverEntryStart, EventSink, NullSink
from ..ref import ImageRef
from ..sources.base import Found
from ..value import frozen

__all__ = [
    "Addition",
    "ArtifactAddition",
    "EntryResult",
    "Job",
    "SourceRunner",
    "check_additions",
    "discover",
    "pairs_to_add",
    "run_jobs",
    "to_seed_json",
]

SourceRunner = Callable[[Entry], Awaitable[Found]]
ExistsCheck = Callable[[ImageRef], Awaitable[bool]]


@frozen
class ArtifactAddition:
    """autoupdate.yaml: one tag for one config.yaml artifact (created on the default targets
    if config.yaml has no such artifact yet). See :mod:`mirror.pipeline.autoupdate`."""

    entry: str
    source: str  # SourceArtifact as autoupdate.yaml spells it
    name: str  # the effective target name
    tag: str
    explicit_name: bool = False  # autoupdate.yaml gave TargetArtifactName (a new artifact keeps it)


@frozen
class EntryResult:
    key: str
    source: str
    full_image_kind: bool
    images: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    full_images: tuple[str, ...] = ()
    seen: int = 0
    found: int = 0
    error: str | None = None
    elapsed: float = 0.0
    internal: bool = False  # the entry failed through a bug (exit 3)
    traceback: str = field(default="", repr=False, compare=False)  # of an internal error, shown with -v
    #: autoupdate.yaml only: (image, TargetArtifactName) where a found artifact's name is not
    #: the default one; printed as the additive ``target_names`` field when not empty.
    target_names: tuple[tuple[str, str], ...] = ()
    #: autoupdate.yaml only: the entry's Reviewers, for its pull request (never printed).
    reviewers: tuple[str, ...] = ()
    #: autoupdate.yaml only: exactly which artifact gets which new tag (for ``--apply``).
    additions: tuple[ArtifactAddition, ...] = field(default=(), repr=False)

    @property
    def new_count(self) -> int:
        return len(self.full_images) if self.full_image_kind else len(self.images) * len(self.tags)

    def seed_json(self) -> dict[str, list[str] | dict[str, str]]:
        listing: dict[str, list[str] | dict[str, str]]
        if self.full_image_kind:
            listing = {"full_images": list(self.full_images)}
        else:
            listing = {"images": list(self.images), "tags": list(self.tags)}
        if self.target_names:
            listing["target_names"] = dict(self.target_names)
        return listing


@frozen
class Job:
    """One entry of either discovery config, as the runner sees it: names and the work.

    ``evaluate`` returns the entry's result without ``elapsed``; an exception from it is the
    entry's failure (the runner reports it and goes on with the others).
    """

    key: str
    source: str
    full_image_kind: bool
    evaluate: Callable[[], Awaitable[EntryResult]]
    reviewers: tuple[str, ...] = ()
    rank: int = 0  # start order (lowest first), see :attr:`~mirror.config.SourceKind.start_rank`


async def run_jobs(
    jobs: Sequence[Job], events: EventSink | None = None, clock: Callable[[], float] = time.monotonic,
    background: Sequence[Callable[[], Awaitable[None]]] = (),
) -> list[EntryResult]:
    """Run every job concurrently in one task group, started by ``rank`` (the longest chains of
    requests first); results come back in the jobs' order.

    Shared by config.json and autoupdate.yaml, so both report the same events, time entries
    the same way and turn a bug into an internal error (exit 3) rather than a plain failure.
    ``background`` work (the images-list being parsed) runs in the same group, started after
    the jobs so their first requests go out first; its failure is not one entry's: it
    cancels the jobs and is raised as itself (a bad list is still exit 2).
    """
    sink = events or NullSink()
    results: dict[int, EntryResult] = {}
    fatal: list[Exception] = []

    async def one(index: int, job: Job) -> None:
        started = clock()
        sink.emit(DiscoverEntryStart(job.key, job.source))
        try:
            result = await job.evaluate()
        except Exception as exc:  # one entry never cancels the run; a bug is an internal error (exit 3)
            failure = describe(exc)
            result = EntryResult(job.key, job.source, job.full_image_kind, error=failure.reason,
                                 internal=failure.internal, traceback=failure.traceback, reviewers=job.reviewers)
        result = replace(result, elapsed=round(clock() - started, 3))
        results[index] = result
        if result.error:
            sink.emit(DiscoverEntryFailed(job.key, result.source, result.error, result.elapsed))
        else:
            sink.emit(DiscoverEntryDone(job.key, result.source, result.seen, result.found, result.new_count,
                                        result.elapsed, result.seed_json()))

    async def guarded(work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception as exc:  # raised below, unwrapped, once the jobs are cancelled
            fatal.append(exc)
            group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        for index in sorted(range(len(jobs)), key=lambda i: jobs[i].rank):
            group.start_soon(one, index, jobs[index])
        for work in background:
            group.start_soon(guarded, work)
    if fatal:
        raise fatal[0]
    ordered = [results[index] for index in range(len(jobs))]
    failed = sum(1 for r in ordered if r.error)
    sink.emit(DiscoverDone(len(ordered), failed, sum(r.new_count for r in ordered if not r.error)))
    return ordered


async def discover(
    config: Config,
    current: KnownTags | Pending[KnownTags],
    run_source: SourceRunner,
    events: EventSink | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[EntryResult]:
    """Run every config.json entry concurrently; results come back in config order.

    ``current`` may still be in the making (:class:`~mirror.flight.Pending`): it is made
    while the sources run, and each entry waits for it only once its source has answered.
    """
    background: list[Callable[[], Awaitable[None]]] = []
    if isinstance(current, Pending):
        background.append(current.run)
    listing = current

    async def evaluate(entry: Entry) -> EntryResult:
        found = await run_source(entry)
        current = await listing.get() if isinstance(listing, Pending) else listing
        if entry.source.kind.gives_full_images:
            return EntryResult(
                entry.key, str(entry.source), True,
                full_images=missing_full_images(found.full_images, current),
                seen=found.seen, found=len(found.full_images),
            )
        new: NewTags = missing_tags(entry.images, found.tags, current)
        return EntryResult(
            entry.key, str(entry.source), False, images=new.images, tags=new.tags,
            seen=found.seen, found=len(found.tags),
        )

    jobs = [Job(entry.key, str(entry.source), entry.source.kind.gives_full_images, partial(evaluate, entry),
                rank=entry.source.kind.start_rank) for entry in config.entries]
    return await run_jobs(jobs, events, clock, background)


def to_seed_json(results: Iterable[EntryResult]) -> dict[str, dict[str, list[str] | dict[str, str]]]:
    """The seed's output: failed entries left out, entries with nothing new kept with empty lists."""
    return {r.key: r.seed_json() for r in results if r.error is None}


def pairs_to_add(results: Iterable[EntryResult]) -> list[tuple[str, str]]:
    """(image, tag) pairs that discover found, for ``--apply``."""
    pairs: list[tuple[str, str]] = []
    for result in results:
        if result.error:
            continue
        if result.full_image_kind:
            pairs.extend(split_full_image(text) for text in result.full_images)
        else:
            pairs.extend((image, tag) for image in result.images for tag in result.tags)
    return list(dict.fromkeys(pairs))


@frozen
class Addition:
    """One (image, tag) through the add-tag checks."""

    image: str
    tag: str
    status: str  # "add", "skipped", "failed", "needs approval"
    message: str
    line: NewEntry | None = None  # what would be written (a line, a tag of an artifact)
    traceback: str = field(default="", repr=False, compare=False)  # the check failed through a bug

    def as_json(self) -> dict[str, Any]:
        return {"image": self.image, "tag": self.tag, "status": self.status, "message": self.message,
                "line": self.line.text if self.line else None}


async def check_additions(current: MirrorFile, pairs: Iterable[tuple[str, str]], exists: ExistsCheck,
                          target_name: str | None = None) -> list[Addition]:
    """The four add-tag checks for every pair; upstream HEADs run concurrently.

    1. the image has an entry (else "needs approval": a human adds the first line);
    2. exactly one destination mapping, or exactly one containing ``/mirrored-`` (a
       ``config.yaml``: one artifact, or the one with the default target name or
       ``target_name``);
    3. the tag is new for that mapping (else skipped, as the seed did);
    4. ``image:tag`` exists upstream (HEAD: no pull is counted).
    """
    pending: list[tuple[int, NewEntry]] = []
    outcome: dict[int, Addition] = {}
    mappings: dict[str, Choice] = {}
    ordered = list(pairs)
    for index, (image, tag) in enumerate(ordered):
        if image not in mappings:
            mappings[image] = current.choose(image, target_name)
        mapping = mappings[image]
        if mapping.error:
            status = "needs approval" if mapping.needs_approval else "failed"
            outcome[index] = Addition(image, tag, status, mapping.error)
            continue
        line = mapping.entry(tag)
        if current.has(line):
            outcome[index] = Addition(image, tag, "skipped", f"Found existing tag {tag} for image {image}, skipping", line)
            continue
        pending.append((index, line))

    async def probe(index: int, line: NewEntry) -> None:
        image, tag = ordered[index]
        trace = ""
        try:
            ok = await exists(line.source_image)
            reason = None if ok else f"Image {image}:{tag} does not exist"
        except NotFound:
            reason = f"Image {image}:{tag} does not exist"
        except Exception as exc:  # report, never guess; a bug is an internal error (exit 3)
            failure = describe(exc)
            reason, trace = f"Could not check whether {image}:{tag} exists: {failure.reason}", failure.traceback
        if reason:
            outcome[index] = Addition(image, tag, "failed", reason, line, trace)
        else:
            outcome[index] = Addition(image, tag, "add", f"Adding tag {tag} for image {image} -> {line.text}", line)

    async with anyio.create_task_group() as group:
        for index, line in pending:
            group.start_soon(probe, index, line)
    return [outcome[index] for index in range(len(ordered))]

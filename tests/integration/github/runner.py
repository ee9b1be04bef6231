"""A tiny stand-in for the pipeline: run entries concurrently, one error per entry.

It shows the contract the sources keep: a failing entry raises a ``MirrorError``
that names what failed, and never cancels its siblings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio

from mirror.config import Entry, SourceKind
from mirror.errors import MirrorError
from mirror.github import GitHubClient
from mirror.sources import github_latest_release, github_releases, github_tagged_images_file
from mirror.sources.base import Found

Discover = Callable[[Entry, GitHubClient], Awaitable[Found]]

SOURCES: dict[SourceKind, Discover] = {
    SourceKind.GITHUB_RELEASES: github_releases.discover,
    SourceKind.GITHUB_LATEST_RELEASE: github_latest_release.discover,
    SourceKind.GITHUB_TAGGED_IMAGES_FILE: github_tagged_images_file.discover,
}


async def run_entries(
    entries: Iterable[Entry], client: GitHubClient
) -> tuple[dict[str, Found], dict[str, MirrorError]]:
    results: dict[str, Found] = {}
    errors: dict[str, MirrorError] = {}

    async def one(entry: Entry) -> None:
        try:
            results[entry.key] = await SOURCES[entry.source.kind](entry, client)
        except MirrorError as exc:
            errors[entry.key] = exc

    async with anyio.create_task_group() as group:
        for entry in entries:
            group.start_soon(one, entry)
    return results, errors

"""``github-tagged-images-file:OWNER/REPO`` + ``imagesFilePath`` — images listed in a file
of the repository at each release tag (Longhorn publishes ``deploy/longhorn-images.txt``).

The releases are selected exactly as :mod:`mirror.sources.github_releases`
does (drafts, pre-releases and non-semver tags out; ``versionFilter``,
``versionConstraint`` and ``latest``/``latest_entry`` applied); then the file
is read at every selected tag, concurrently (the client's per-host limit
bounds how many at once). Each
non-empty line that is not a ``#`` comment is a ``repo:tag`` candidate; the
shared :func:`~mirror.sources.base.normalize_full_images` strips ``docker.io/``,
skips ``rancher/`` and ``latest``, applies ``imageDenylist``, de-duplicates and sorts.

A tag whose file cannot be read fails the entry (a partial image list would
look like a complete one); the error names OWNER/REPO, the path and the ref,
and a note says which other tags failed too.
"""

from __future__ import annotations

import anyio

from ..config import Entry
from ..errors import GitHubError, MirrorError
from ..github import GitHubClient
from .base import Clients, Found, Source, normalize_full_images
from .github_releases import owner_repo_of, select_release_tags

__all__ = ["SOURCE", "discover", "image_lines"]


def image_lines(text: str) -> list[str]:
    """Candidate lines of an images file: stripped, non-empty, not ``#`` comments.

    Lines end at ``\n`` only and only ASCII blanks are stripped: ``str.splitlines`` would
    also break at U+2028, U+0085 or a form feed, turning the tail of a comment into an image
    the file's own viewer never shows as a line.
    """
    lines = []
    for raw in text.split("\n"):
        line = raw.strip(" \t\r")
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


async def discover(entry: Entry, client: GitHubClient) -> Found:
    """``Found(full_images=...)``; ``seen`` counts candidate lines over all files read."""
    owner_repo = owner_repo_of(entry)
    path = entry.images_file_path
    if not path:
        raise GitHubError(f"entry {entry.key!r}: github-tagged-images-file needs imagesFilePath")
    tags = select_release_tags(await client.releases(owner_repo), entry)
    texts: dict[str, str] = {}
    failures: dict[str, MirrorError] = {}

    async def read(tag: str) -> None:
        # Errors are collected, not raised: one missing file must not cancel the other reads
        # halfway through a response (and the entry's error should name the first tag in order).
        try:
            texts[tag] = await client.file_at(owner_repo, path, tag)
        except MirrorError as exc:
            failures[tag] = exc

    async with anyio.create_task_group() as group:
        for tag in tags:
            group.start_soon(read, tag)

    if failures:
        first_tag = next(tag for tag in tags if tag in failures)
        first = failures[first_tag]
        others = sorted(tag for tag in failures if tag != first_tag)
        if others:
            first.add_note(f"{len(others)} more tag(s) of {owner_repo} failed too: {', '.join(others[:5])}")
        raise first
    candidates = [line for tag in tags for line in image_lines(texts[tag])]
    return Found(full_images=normalize_full_images(candidates, entry.image_denylist), seen=len(candidates))


class _GitHubTaggedImagesFileSource:
    """:func:`discover` as a :class:`~.base.Source`, on the run's GitHub client."""

    async def discover(self, entry: Entry, clients: Clients) -> Found:
        return await discover(entry, clients.github)


SOURCE: Source = _GitHubTaggedImagesFileSource()

"""``github-releases:OWNER/REPO`` — every published, non-prerelease, semver-tagged release.

The filters, in order (the seed's semantics, made strict):

1. drafts and pre-releases are skipped (GitHub's own flags, not the tag text);
2. the tag must be a strict semantic version (2.0) after dropping one leading
   ``v``: ``v1.2.3`` and ``1.2.3-rc.1`` stay, ``1.2``, ``release-1`` and
   ``nightly`` go — the mirror needs tags it can compare;
3. the entry's ``versionFilter`` (a regex, ``re.search`` on the raw tag);
4. the entry's ``versionConstraint`` (:func:`mirror.filters.compile_version_constraint`);
5. ``latest`` (the highest version) or ``latest_entry`` (the first in the API's
   order: the most recently created release), as the registry source does.

Tags keep the API's order (newest first). The same selection feeds
:mod:`mirror.sources.github_tagged_images_file`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import semantic_version as sv

from .. import filters
from ..config import Entry
from ..errors import GitHubError
from ..github import GitHubClient
from .base import Clients, Found, Source

__all__ = ["SOURCE", "discover", "is_strict_semver", "owner_repo_of", "select_release_tags"]


def is_strict_semver(tag: str) -> bool:
    """Whether ``tag`` minus one leading ``v`` is a strict SemVer 2.0 version."""
    try:
        sv.Version(tag.removeprefix("v"))
    except ValueError:
        return False
    return True


def select_release_tags(releases: Iterable[dict[str, Any]], entry: Entry) -> list[str]:
    """The tags of ``releases`` that pass the rules above, in the given order, without duplicates."""
    tags: list[str] = []
    seen: set[str] = set()
    for release in releases:
        tag = release.get("tag_name")
        if release.get("draft") or release.get("prerelease") or not isinstance(tag, str):
            continue
        if tag in seen or not is_strict_semver(tag):
            continue
        seen.add(tag)
        tags.append(tag)
    tags = filters.filter_tags(tags, version_filter=entry.version_filter, version_constraint=entry.version_constraint)
    if entry.latest:
        tags = filters.latest(tags)
    elif entry.latest_entry:
        tags = filters.latest_entry(tags)
    return tags


def owner_repo_of(entry: Entry) -> str:
    """The ``OWNER/REPO`` target of a GitHub entry (config validation guarantees one)."""
    if not entry.source.target:
        raise GitHubError(f"entry {entry.key!r}: {entry.source.kind.value} needs OWNER/REPO")
    return entry.source.target


async def discover(entry: Entry, client: GitHubClient) -> Found:
    """All releases of the entry's repository (every page), filtered; ``seen`` = release count."""
    releases = await client.releases(owner_repo_of(entry))
    return Found(tags=tuple(select_release_tags(releases, entry)), seen=len(releases))


class _GitHubReleasesSource:
    """:func:`discover` as a :class:`~.base.Source`, on the run's GitHub client."""

    async def discover(self, entry: Entry, clients: Clients) -> Found:
        return await discover(entry, clients.github)


SOURCE: Source = _GitHubReleasesSource()

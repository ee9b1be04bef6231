"""``github-latest-release:OWNER/REPO`` — the tag of ``/repos/OWNER/REPO/releases/latest``.

GitHub defines "latest" as the most recent release that is neither a draft nor
a pre-release (by ``created_at``, or the one marked latest), so one request
answers it. The tag is taken as it is (projects such as flannel use ``v0.25.1``,
others calendar versions); the entry's ``versionFilter`` and
``versionConstraint`` still apply when set, so an entry can refuse, say, a new
major version.
"""

from __future__ import annotations

from ..config import Entry
from ..errors import GitHubError
from ..filters import apply_version_filter, compile_version_constraint
from ..github import GitHubClient
from .base import Clients, Found, Source
from .github_releases import owner_repo_of

__all__ = ["SOURCE", "discover"]


async def discover(entry: Entry, client: GitHubClient) -> Found:
    """One tag (or none when the entry's filters reject it); ``seen`` = 1."""
    owner_repo = owner_repo_of(entry)
    release = await client.latest_release(owner_repo)
    tag = release.get("tag_name")
    if not isinstance(tag, str) or not tag:
        raise GitHubError(f"GitHub's latest release of {owner_repo} has no tag_name")
    tags = apply_version_filter([tag], entry.version_filter)
    if entry.version_constraint:
        keep = compile_version_constraint(entry.version_constraint)
        tags = [t for t in tags if keep(t)]
    return Found(tags=tuple(tags), seen=1)


class _GitHubLatestReleaseSource:
    """:func:`discover` as a :class:`~.base.Source`, on the run's GitHub client."""

    async def discover(self, entry: Entry, clients: Clients) -> Found:
        return await discover(entry, clients.github)


SOURCE: Source = _GitHubLatestReleaseSource()

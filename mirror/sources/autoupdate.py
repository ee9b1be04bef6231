"""autoupdate.yaml's GithubRelease and Registry strategies: fetch, then let the pure core choose.

Each strategy returns the tags it found per autoupdate artifact (:class:`ArtifactTags`); what
is new against config.yaml is the pipeline's business (:mod:`mirror.pipeline.autoupdate`).
The rules themselves live in :mod:`mirror.autoupdate.select`; this module only reaches
upstream through the run's clients:

* GithubRelease: with ``LatestOnly`` one request, ``/releases/latest`` (GitHub's own choice:
  the newest release that is neither a draft nor a pre-release); otherwise every release,
  every page, with its draft and pre-release flags;
* Registry: the first artifact's tag list, applied to every artifact of the entry.

HelmLatest is :mod:`mirror.sources.autoupdate_helm`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import ref as imageref
from ..autoupdate import Artifact, AutoupdateEntry, GithubRelease, RegistryTags, Release, registry_tags, release_tags
from ..errors import GitHubError
from ..github import GitHubClient
from ..registry import RegistryClient
from ..value import frozen
from .base import Clients, StrategySource

__all__ = ["GITHUB_RELEASE", "REGISTRY", "ArtifactTags", "github_release", "registry", "same_tags"]


@frozen
class ArtifactTags:
    """What one entry found: tags per artifact (in the entry's order), and raw candidates seen."""

    tags: tuple[tuple[Artifact, tuple[str, ...]], ...] = ()
    seen: int = 0


def same_tags(artifacts: Iterable[Artifact], tags: Iterable[str], seen: int) -> ArtifactTags:
    """Every artifact gets the same tags (the tag-based strategies)."""
    chosen = tuple(tags)
    return ArtifactTags(tuple((artifact, chosen) for artifact in artifacts), seen)


def _release(data: dict[str, Any], owner_repo: str, *, latest: bool = False) -> Release:
    tag = data.get("tag_name")
    if not isinstance(tag, str) or not tag:
        raise GitHubError(f"GitHub sent a release of {owner_repo} without a tag_name")
    return Release(tag, prerelease=data.get("prerelease") is True, draft=data.get("draft") is True, latest=latest)


async def github_release(entry: AutoupdateEntry, strategy: GithubRelease, client: GitHubClient) -> ArtifactTags:
    """The tags of the releases the entry takes (see :func:`mirror.autoupdate.release_tags`)."""
    owner_repo = strategy.owner_repo
    if strategy.latest_only:
        releases = [_release(await client.latest_release(owner_repo), owner_repo, latest=True)]
    else:
        releases = [_release(data, owner_repo) for data in await client.releases(owner_repo)]
    return same_tags(strategy.artifacts, release_tags(entry.name, strategy, releases), len(releases))


async def registry(entry: AutoupdateEntry, strategy: RegistryTags, client: RegistryClient) -> ArtifactTags:
    """The first artifact's tags that the entry takes, for every artifact."""
    listed = await client.list_tags(imageref.parse(strategy.artifacts[0].source))
    return same_tags(strategy.artifacts, registry_tags(entry.name, strategy, listed), len(listed))


class _GithubReleaseStrategy:
    async def discover(self, entry: AutoupdateEntry, strategy: GithubRelease, clients: Clients) -> ArtifactTags:
        return await github_release(entry, strategy, clients.github)


class _RegistryStrategy:
    async def discover(self, entry: AutoupdateEntry, strategy: RegistryTags, clients: Clients) -> ArtifactTags:
        return await registry(entry, strategy, clients.registry)


#: The two strategies of this module as :class:`~.base.StrategySource`, on the run's clients.
GITHUB_RELEASE: StrategySource[GithubRelease] = _GithubReleaseStrategy()
REGISTRY: StrategySource[RegistryTags] = _RegistryStrategy()

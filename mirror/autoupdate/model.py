"""autoupdate.yaml as frozen values: an entry, its reviewers and its one strategy.

Field names follow Rancher's YAML keys in snake case. Everything is already validated when a
value exists (see :mod:`mirror.autoupdate.reader`): a pipeline never meets a half-valid entry.
"""

from __future__ import annotations

from ..value import frozen


__all__ = [
    "Artifact",
    "AutoupdateConfig",
    "AutoupdateEntry",
    "GithubRelease",
    "HelmChart",
    "HelmEnvironment",
    "HelmLatest",
    "RegistryTags",
    "Strategy",
]


@frozen
class Artifact:
    """Which config.yaml artifact receives the tags: SourceArtifact as spelled, optional name.

    ``target_name`` is ``None`` when the file gives no ``TargetArtifactName``; the default name
    is config.yaml's rule (issue 19), so the caller that holds that model resolves it.
    """

    source: str
    target_name: str | None = None


@frozen
class GithubRelease:
    """Tags are the names of an OWNER/REPOSITORY's releases."""

    owner: str
    repository: str
    artifacts: tuple[Artifact, ...]
    latest_only: bool = False
    version_constraint: str | None = None  # semver, see filters.compile_version_constraint
    version_regex: str | None = None  # searched; group 1, if any, is the tag

    @property
    def owner_repo(self) -> str:
        return f"{self.owner}/{self.repository}"


@frozen
class HelmEnvironment:
    """One ``helm template`` of a chart: a name and its ``--set`` values."""

    name: str
    values: tuple[str, ...] = ()


@frozen
class HelmChart:
    name: str
    environments: tuple[HelmEnvironment, ...]


@frozen
class HelmLatest:
    """Tags are those of images found in renders of a chart's latest stable version."""

    helm_repo: str
    charts: tuple[HelmChart, ...]
    artifacts: tuple[Artifact, ...]
    image_denylist: tuple[str, ...] = ()


@frozen
class RegistryTags:
    """Tags are read from the first artifact's source and applied to every artifact.

    Named ``RegistryTags`` because ``Registry`` means a registry client elsewhere.
    """

    artifacts: tuple[Artifact, ...]
    version_filter: str | None = None  # a regex, searched in each tag
    latest: bool = False


Strategy = GithubRelease | HelmLatest | RegistryTags


@frozen
class AutoupdateEntry:
    name: str
    reviewers: tuple[str, ...]
    strategy: Strategy
    line: int = 0  # 1-based line of the entry in its file, for messages

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        return self.strategy.artifacts


@frozen
class AutoupdateConfig:
    entries: tuple[AutoupdateEntry, ...]
    path: str = "autoupdate.yaml"

    def entry(self, name: str) -> AutoupdateEntry:
        for candidate in self.entries:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

"""config.json's entries as frozen values: a version source, its filters, its Helm charts.

What the reader (:mod:`.reader`) makes of a file, and what discovery and the pull-request
pipeline take; nothing here reads or checks anything but the shape of a repository path.
"""

from __future__ import annotations

from enum import StrEnum

from ..value import frozen

__all__ = ["ChartConfig", "Config", "Entry", "HelmChart", "SourceKind", "VersionSource", "repository_path_problem"]


class SourceKind(StrEnum):
    GITHUB_RELEASES = "github-releases"
    GITHUB_LATEST_RELEASE = "github-latest-release"
    GITHUB_TAGGED_IMAGES_FILE = "github-tagged-images-file"
    REGISTRY = "registry"
    HELM_LATEST = "helm-latest"
    HELM_OCI = "helm-oci"
    HELM_DIRECTORY = "helm-directory"

    @property
    def is_helm(self) -> bool:
        return self in (SourceKind.HELM_LATEST, SourceKind.HELM_OCI, SourceKind.HELM_DIRECTORY)

    @property
    def gives_full_images(self) -> bool:
        """Helm and tagged-file sources yield ``repo:tag`` lists, not tags for known images."""
        return self.is_helm or self is SourceKind.GITHUB_TAGGED_IMAGES_FILE

    @property
    def start_rank(self) -> int:
        """When a run starts this kind's entries: 0 first (config order within a rank).

        Why: a run lasts as long as its longest chain of requests that wait on each other,
        and every start costs the event loop about half a millisecond (a new connection
        for each of GitHub's 16 requests in flight). A registry's tag pages come one
        after another, as many as the repository has (Rancher's traefik: 7); a Helm chart
        is its index, then its archive, then renders; GitHub's release pages after the
        first are asked for at once; a latest release is one request. Started in that
        order, the longest chains send first and get their first answers before the
        burst of short ones. Results are still reported in config order.
        """
        if self is SourceKind.REGISTRY:
            return 0
        if self.is_helm:
            return 1
        return 3 if self is SourceKind.GITHUB_LATEST_RELEASE else 2


def repository_path_problem(path: str) -> str | None:
    """Why ``path`` is not a file path inside a repository, or None when it is one.

    The one rule for ``imagesFilePath``: ``validate`` applies it through :func:`parse`, and
    the GitHub client applies it again before building a contents URL, so ``validate``
    cannot accept a path that ``discover`` then refuses.
    """
    if not path:
        return "must be a file path inside the repository"
    if path.startswith("/"):
        return "must be relative to the repository root, not an absolute path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "must not contain '..', '.' or empty path components"
    return None


@frozen
class VersionSource:
    """``versionSource``: a kind and, for most kinds, a target after the first colon."""

    kind: SourceKind
    target: str | None = None

    def __str__(self) -> str:
        return self.kind.value if self.target is None else f"{self.kind.value}:{self.target}"


@frozen
class ChartConfig:
    """One ``helm template`` variant: ``--set`` values and an optional ``--kube-version``."""

    name: str
    values: tuple[str, ...] = ()
    kube_version: str | None = None


@frozen
class HelmChart:
    """A chart under ``helmCharts``: its name (or ``oci://`` reference) and render options."""

    name: str
    devel: bool = False
    version_filter: str | None = None  # a Helm version constraint, e.g. "v1.4.*"
    chart_configs: tuple[ChartConfig, ...] = ()


@frozen
class Entry:
    """One key of config.json."""

    key: str
    source: VersionSource
    images: tuple[str, ...] = ()
    version_constraint: str | None = None
    version_filter: str | None = None  # a regex, searched in each tag
    latest: bool = False
    latest_entry: bool = False
    images_file_path: str | None = None
    image_denylist: tuple[str, ...] = ()
    additional_version_filter: tuple[str, ...] = ()  # Helm version constraints
    helm_charts: tuple[HelmChart, ...] = ()
    labels: tuple[str, ...] = ()  # put on the entry's pull requests (discover --open-prs)
    reviewers: tuple[str, ...] = ()  # users, or org/team for a team


@frozen
class Config:
    entries: tuple[Entry, ...]
    path: str = "config.json"

    def entry(self, key: str) -> Entry:
        for candidate in self.entries:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

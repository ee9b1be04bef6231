"""Which source answers which entry: one table per input format, keyed by what the entry says.

config.json entries are keyed by their ``versionSource`` kind, autoupdate.yaml entries by
their strategy's type. A new kind is a new module plus one row here; the runtime's dispatch
does not change. Both tables are complete (a unit test checks every kind and strategy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..autoupdate import GithubRelease, HelmLatest, RegistryTags
from ..config import SourceKind
from . import autoupdate, autoupdate_helm, github_latest_release, github_releases, github_tagged_images_file, helm
from . import registry
from .base import Source, StrategySource

__all__ = ["SOURCES", "STRATEGIES"]

SOURCES: Mapping[SourceKind, Source] = {
    SourceKind.REGISTRY: registry.SOURCE,
    SourceKind.GITHUB_RELEASES: github_releases.SOURCE,
    SourceKind.GITHUB_LATEST_RELEASE: github_latest_release.SOURCE,
    SourceKind.GITHUB_TAGGED_IMAGES_FILE: github_tagged_images_file.SOURCE,
    SourceKind.HELM_LATEST: helm.SOURCE,
    SourceKind.HELM_OCI: helm.SOURCE,
    SourceKind.HELM_DIRECTORY: helm.SOURCE,
}

#: Keyed by type: each strategy source takes its own strategy type (``Any`` here, as a table
#: cannot say "the value's parameter is the key"); :meth:`Runtime.run_strategy` passes the
#: entry's strategy to the row of its own type.
STRATEGIES: Mapping[type, StrategySource[Any]] = {
    GithubRelease: autoupdate.GITHUB_RELEASE,
    HelmLatest: autoupdate_helm.HELM_LATEST,
    RegistryTags: autoupdate.REGISTRY,
}

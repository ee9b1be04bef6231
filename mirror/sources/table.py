"""Which source answers which entry: one table per input format, keyed by what the entry says.

config.json entries are keyed by their ``versionSource`` kind, autoupdate.yaml entries by
their strategy's type. A new kind is a new module plus one row here; the runtime's dispatch
does not change. Both tables are complete (a unit test checks every kind and strategy).

:func:`strategies` builds the autoupdate.yaml table on first use: a config.json run (every
``discover`` start-up) never imports the autoupdate machinery.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..config import SourceKind
from . import github_latest_release, github_releases, github_tagged_images_file, helm, registry
from .base import Source, StrategySource

__all__ = ["SOURCES", "strategies"]

SOURCES: Mapping[SourceKind, Source] = {
    SourceKind.REGISTRY: registry.SOURCE,
    SourceKind.GITHUB_RELEASES: github_releases.SOURCE,
    SourceKind.GITHUB_LATEST_RELEASE: github_latest_release.SOURCE,
    SourceKind.GITHUB_TAGGED_IMAGES_FILE: github_tagged_images_file.SOURCE,
    SourceKind.HELM_LATEST: helm.SOURCE,
    SourceKind.HELM_OCI: helm.SOURCE,
    SourceKind.HELM_DIRECTORY: helm.SOURCE,
}

@functools.cache
def strategies() -> Mapping[type, StrategySource[Any]]:
    """Keyed by type: each strategy source takes its own strategy type (``Any`` here, as a table
    cannot say "the value's parameter is the key"); :meth:`Runtime.run_strategy` passes the
    entry's strategy to the row of its own type."""
    from ..autoupdate import GithubRelease, HelmLatest, RegistryTags
    from . import autoupdate, autoupdate_helm

    return {
        GithubRelease: autoupdate.GITHUB_RELEASE,
        HelmLatest: autoupdate_helm.HELM_LATEST,
        RegistryTags: autoupdate.REGISTRY,
    }

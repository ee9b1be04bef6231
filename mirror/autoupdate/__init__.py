"""Rancher's ``autoupdate.yaml``: where each artifact's new tags come from.

* :mod:`.model` — the entries and strategies as frozen values;
* :mod:`.reader` / :mod:`.strategies` — reading and validating the file (every problem at once);
* :mod:`.select` — the pure choices a strategy makes from what its source returned
  (release names, registry tags, images in a chart render);

No I/O beyond reading the file: the pipeline fetches, this package decides.
"""

from __future__ import annotations

from .model import (
    Artifact,
    AutoupdateConfig,
    AutoupdateEntry,
    GithubRelease,
    HelmChart,
    HelmEnvironment,
    HelmLatest,
    RegistryTags,
    Strategy,
)
from .reader import load, parse
from .select import Release, chart_artifact_tags, images_in_render, registry_tags, release_tags, version_regex_tag

__all__ = [
    "Artifact",
    "AutoupdateConfig",
    "AutoupdateEntry",
    "GithubRelease",
    "HelmChart",
    "HelmEnvironment",
    "HelmLatest",
    "RegistryTags",
    "Release",
    "Strategy",
    "chart_artifact_tags",
    "images_in_render",
    "load",
    "parse",
    "registry_tags",
    "release_tags",
    "version_regex_tag",
]

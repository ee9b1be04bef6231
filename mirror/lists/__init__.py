"""Mirror lists: the layouts a user keeps, read into values and written back in their format.

Today this package holds Rancher's 2026 artifact-mirror layout (``config.yaml``); the seed's
images-list joins it later (DESIGN.md, "Architecture"). Modules, one way down:

* :mod:`.artifacts` — the values (Repository, Artifact, Credential), as written;
* :mod:`.artifacts_read` / :mod:`.artifacts_check` — parse and validate (:mod:`mirror.sniff`
  tells the layouts apart by content);
* :mod:`.expand` — the copies a config asks for; :mod:`.credentials` — per-registry
  credentials (resolved lazily) and concurrency;
* :mod:`.yaml11` / :mod:`.goyaml` — go-yaml v2's resolver and emitter;
  :mod:`.artifacts_format` — Rancher's formatter;
  :mod:`.regsync` — the generated regsync.yaml.
"""

from __future__ import annotations

from .artifacts import Artifact, ArtifactsConfig, Credential, Repository, default_target_name
from .artifacts_format import render_config, sort_config
from .artifacts_read import parse_artifacts, read_artifacts
from .credentials import Login, RegistryCredentials, registry_concurrency, registry_credentials
from .expand import ArtifactLine, artifact_lines, copies, target_repositories
from .regsync import render_regsync

__all__ = [
    "Artifact",
    "ArtifactLine",
    "ArtifactsConfig",
    "Credential",
    "Login",
    "RegistryCredentials",
    "Repository",
    "artifact_lines",
    "copies",
    "default_target_name",
    "parse_artifacts",
    "read_artifacts",
    "registry_concurrency",
    "registry_credentials",
    "render_config",
    "render_regsync",
    "sort_config",
    "target_repositories",
]

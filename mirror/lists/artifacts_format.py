"""Write an artifact-mirror ``config.yaml`` the way Rancher's formatter does.

Rancher's CI re-formats ``config.yaml`` with its Go tool (``config.Write``: sort, then
``sigs.k8s.io/yaml.Marshal``) and fails a pull request on any difference, so ``sort`` must
produce those bytes exactly:

* tags of each artifact in byte order; artifacts stably by (``SourceArtifact``, effective
  target name); repositories stably by ``BaseUrl`` (``DoNotMirror`` lists and
  ``TargetRepositories`` keep their order: Go does not sort them);
* the fields Go's structs write always (``SourceArtifact``, ``Tags``, ``BaseUrl``,
  ``DefaultTarget``, ``Password``, ``Registry``, ``Username``) and those it omits when empty
  (``DoNotMirror`` when absent, ``TargetArtifactName``, ``TargetRepositories``, ``RepoAuth``,
  ``ReqConcurrent``);
* the rest (key order, quoting, layout) is :mod:`mirror.lists.goyaml`.

Comments do not survive, as they do not in Rancher's tool. One difference we accept: Go writes
``Tags: null`` for an artifact without a ``Tags`` key and ``Tags: []`` for an empty list; the
model does not tell them apart and writes ``[]``. Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from .artifacts import Artifact, ArtifactsConfig, Repository
from .goyaml import Node, dump

__all__ = ["render_config", "sort_config"]


def sort_config(config: ArtifactsConfig) -> ArtifactsConfig:
    """``config`` in Rancher's order (Python's ``str`` order is UTF-8 byte order)."""
    artifacts = sorted(
        (replace(artifact, tags=tuple(sorted(artifact.tags))) for artifact in config.artifacts),
        key=lambda artifact: (artifact.source, artifact.name),
    )
    repositories = sorted(config.repositories, key=lambda repo: repo.base_url)
    return replace(config, artifacts=tuple(artifacts), repositories=tuple(repositories))


def _artifact(artifact: Artifact) -> dict[str, Node]:
    out: dict[str, Node] = {"SourceArtifact": artifact.source, "Tags": list(artifact.tags)}
    if artifact.do_not_mirror is not None:
        dnm = artifact.do_not_mirror
        out["DoNotMirror"] = dnm if isinstance(dnm, bool) else list(dnm)
    if artifact.target_name:
        out["TargetArtifactName"] = artifact.target_name
    if artifact.target_repositories:
        out["TargetRepositories"] = list(artifact.target_repositories)
    return out


def _repository(repo: Repository) -> dict[str, Node]:
    out: dict[str, Node] = {
        "BaseUrl": repo.base_url,
        "DefaultTarget": repo.default_target,
        "Password": repo.password.text,
        "Registry": repo.registry,
        "Username": repo.username.text,
    }
    if repo.repo_auth:
        out["RepoAuth"] = True
    if repo.req_concurrent:
        out["ReqConcurrent"] = repo.req_concurrent
    return out


def render_config(config: ArtifactsConfig) -> str:
    """The bytes (as text) Rancher's formatter writes for ``config``: sorted, then marshalled."""
    ordered = sort_config(config)
    return dump(
        {
            "Artifacts": [_artifact(artifact) for artifact in ordered.artifacts],
            "Repositories": [_repository(repo) for repo in ordered.repositories],
        }
    )

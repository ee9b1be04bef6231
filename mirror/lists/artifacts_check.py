"""The rules of an artifact-mirror ``config.yaml`` that span entries.

Each entry can be well formed and the file still wrong: a ``TargetRepositories`` BaseUrl that
names no repository (Rancher's generator silently copies nowhere), two artifacts that would
write the same target (one source, one effective name), a ``Registry`` that is not its
BaseUrl's host, two repositories of one registry with different credentials (which one
would a source read from that registry use?). :func:`check_config` lists them all, each with
the file, line and entry; credential values are never quoted. Pure, no I/O.
"""

from __future__ import annotations

from ..errors import InvalidReference
from ..ref import normalize_host, parse
from ..text import excerpt
from .artifacts import Artifact, ArtifactsConfig, Repository

__all__ = ["check_config"]


def _source_name(artifact: Artifact) -> str | None:
    """The normalised source repository, or None when the reader already reported it bad."""
    if len(artifact.source.split("/")) < 2:
        return None
    try:
        return parse(artifact.source).name
    except InvalidReference:
        return None


def _repository_problems(config: ArtifactsConfig) -> list[str]:
    problems: list[str] = []
    seen: dict[str, Repository] = {}
    by_registry: dict[str, Repository] = {}
    for repo in config.repositories:
        where = f"{config.path}:{repo.line}: repository {excerpt(repo.base_url)}: "
        first = repo.base_url.split("/")[0]
        try:
            parse(f"{repo.base_url}/x")
            valid = True
        except InvalidReference as exc:
            problems.append(f"{where}BaseUrl: {exc}")
            valid = False
        if valid and "." not in first and ":" not in first and first != "localhost":
            problems.append(f"{where}BaseUrl: must start with the registry host (e.g. docker.io/{first})")
        elif valid and repo.registry and normalize_host(repo.registry) != normalize_host(first):
            problems.append(
                f"{where}Registry: {excerpt(repo.registry)!r} is not the host of BaseUrl ({excerpt(first)!r})"
            )
        if repo.base_url in seen:
            problems.append(f"{where}BaseUrl: also the BaseUrl of the repository on line {seen[repo.base_url].line}")
        seen.setdefault(repo.base_url, repo)
        host = normalize_host(repo.registry)
        other = by_registry.setdefault(host, repo)
        if (other.username, other.password) != (repo.username, repo.password):
            problems.append(
                f"{where}Username/Password: differ from those of repository "
                f"{excerpt(other.base_url)} (line {other.line}) for the same registry "
                f"{excerpt(host)}; one registry has one set of credentials"
            )
    return problems


def _artifact_problems(config: ArtifactsConfig) -> list[str]:
    problems: list[str] = []
    base_urls = {repo.base_url for repo in config.repositories}
    seen: dict[tuple[str, str], Artifact] = {}
    for artifact in config.artifacts:
        where = f"{config.path}:{artifact.line}: {artifact.label}: "
        for base_url in artifact.target_repositories:
            if base_url not in base_urls:
                problems.append(
                    f"{where}TargetRepositories: {excerpt(base_url)!r} is the BaseUrl of no repository"
                )
        source = _source_name(artifact)
        if source is None:
            continue
        key = (source, artifact.name)
        if key in seen:
            problems.append(
                f"{where}same SourceArtifact and target name {excerpt(artifact.name)!r} as the "
                f"artifact on line {seen[key].line}: merge their Tags"
            )
        seen.setdefault(key, artifact)
    return problems


def check_config(config: ArtifactsConfig) -> list[str]:
    """Every cross-entry problem of ``config``, in file order within each section."""
    return _repository_problems(config) + _artifact_problems(config)

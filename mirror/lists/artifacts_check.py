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
from .artifacts import Artifact, ArtifactsConfig, Repository, quoted

__all__ = ["check_config"]


def _source_name(artifact: Artifact) -> str | None:
    """The normalised source repository, or None when the reader already reported it bad."""
    if len(artifact.source.split("/")) < 2:
        return None
    try:
        return parse(artifact.source).name
    except InvalidReference:
        return None


Problems = list[tuple[int, str]]


def _repository_problems(config: ArtifactsConfig) -> Problems:
    problems: Problems = []
    seen: dict[str, Repository] = {}
    by_registry: dict[str, Repository] = {}
    for repo in config.repositories:
        where = f"{config.path}:{repo.line}: repository {excerpt(repo.base_url)}: "

        def add(message: str, line: int = repo.line, where: str = where) -> None:
            problems.append((line, where + message))

        first = repo.base_url.split("/")[0]
        try:
            parse(f"{repo.base_url}/x")
        except InvalidReference as exc:
            add(f"BaseUrl: {excerpt(str(exc), 200)}")
        else:
            if "." not in first and ":" not in first and first != "localhost":
                add(f"BaseUrl: must start with the registry host (e.g. docker.io/{excerpt(first)})")
            elif repo.registry and normalize_host(repo.registry) != normalize_host(first):
                add(f"Registry: {quoted(repo.registry)} is not the host of BaseUrl ({quoted(first)})")
        if repo.base_url in seen:
            add(f"BaseUrl: also the BaseUrl of the repository on line {seen[repo.base_url].line}")
        seen.setdefault(repo.base_url, repo)
        host = normalize_host(repo.registry)
        other = by_registry.setdefault(host, repo)
        if host and (other.username, other.password) != (repo.username, repo.password):
            add(
                f"Username/Password: differ from those of repository {excerpt(other.base_url)} "
                f"(line {other.line}) for the same registry {excerpt(host)}; "
                "one registry has one set of credentials"
            )
    return problems


def _artifact_problems(config: ArtifactsConfig) -> Problems:
    problems: Problems = []
    base_urls = {repo.base_url for repo in config.repositories}
    seen: dict[tuple[str, str], Artifact] = {}
    for artifact in config.artifacts:
        where = f"{config.path}:{artifact.line}: {artifact.label}: "
        for base_url in artifact.target_repositories:
            if base_url not in base_urls:
                message = f"TargetRepositories: {quoted(base_url)} is the BaseUrl of no repository"
                problems.append((artifact.line, where + message))
        source = _source_name(artifact)
        if source is None:
            continue
        key = (source, artifact.name)
        if key in seen:
            message = (
                f"same SourceArtifact and target name {quoted(artifact.name)} as the artifact "
                f"on line {seen[key].line}: merge their Tags"
            )
            problems.append((artifact.line, where + message))
        seen.setdefault(key, artifact)
    return problems


def check_config(config: ArtifactsConfig) -> Problems:
    """Every cross-entry problem of ``config`` as (line, message), messages naming file and line."""
    return _repository_problems(config) + _artifact_problems(config)

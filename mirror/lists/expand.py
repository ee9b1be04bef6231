"""Turn an artifact-mirror ``config.yaml`` into the copies it asks for.

Rancher's generator writes one regsync entry per tag per target; the rules (its
``ToRegsyncArtifacts``) are:

* an artifact goes to the repositories its ``TargetRepositories`` names, or, when that is
  absent or empty, to every repository with ``DefaultTarget: true`` — in the order of
  ``Repositories`` in the file, whatever the order of ``TargetRepositories``;
* the target is ``<BaseUrl>/<effective name>:<tag>``;
* ``DoNotMirror: true`` copies nothing, a list of tags copies the others;
* a target that is the source itself is skipped (Rancher compares after removing
  ``docker.io/``; we compare normalised references, which catches that and its aliases).

:func:`copies` is regsync's shape (pairs, in regsync.yaml's order); :func:`artifact_lines`
groups them the way the sync engine reads sources once: one line per artifact and tag with
all its destinations. Reference texts are as Rancher writes them (``SourceArtifact`` as
written, no ``docker.io/`` added); parse them with :func:`mirror.ref.parse`. Pure, no I/O.
"""

from __future__ import annotations


from ..ref import parse
from ..value import frozen
from .artifacts import Artifact, ArtifactsConfig, Repository

__all__ = ["ArtifactLine", "artifact_lines", "copies", "target_repositories"]


@frozen
class ArtifactLine:
    """One source tag of one artifact and every destination it is copied to."""

    artifact: Artifact
    tag: str
    #: ``<BaseUrl>/<name>:<tag>`` for each target repository, in ``Repositories`` order.
    targets: tuple[str, ...]

    @property
    def source(self) -> str:
        """``<SourceArtifact>:<tag>`` as written."""
        return f"{self.artifact.source}:{self.tag}"


def _is_self(artifact: Artifact, repository: Repository) -> bool:
    return parse(artifact.source).name == parse(f"{repository.base_url}/{artifact.name}").name


def target_repositories(config: ArtifactsConfig, artifact: Artifact) -> tuple[Repository, ...]:
    """The repositories ``artifact`` is copied to, in file order, the source's own skipped.

    Independent of ``DoNotMirror``: a record kept with ``DoNotMirror: true`` still has targets
    (``check-new-images`` asks whether they exist).
    """
    wanted = set(artifact.target_repositories)
    chosen = (
        repo
        for repo in config.repositories
        if (repo.base_url in wanted if wanted else repo.default_target)
    )
    return tuple(repo for repo in chosen if not _is_self(artifact, repo))


def artifact_lines(config: ArtifactsConfig) -> list[ArtifactLine]:
    """One :class:`ArtifactLine` per artifact and mirrored tag that has a destination."""
    lines = []
    for artifact in config.artifacts:
        repositories = target_repositories(config, artifact)
        if not repositories:
            continue
        for tag in artifact.mirrored_tags:
            targets = tuple(f"{repo.base_url}/{artifact.name}:{tag}" for repo in repositories)
            lines.append(ArtifactLine(artifact, tag, targets))
    return lines


def copies(config: ArtifactsConfig) -> list[tuple[str, str]]:
    """Every (source, target) copy in regsync.yaml's order: artifact, then repository, then tag."""
    pairs: list[tuple[str, str]] = []
    for artifact in config.artifacts:
        tags = artifact.mirrored_tags
        for repo in target_repositories(config, artifact):
            pairs.extend(
                (f"{artifact.source}:{tag}", f"{repo.base_url}/{artifact.name}:{tag}") for tag in tags
            )
    return pairs

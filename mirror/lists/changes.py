"""What a change to a ``config.yaml`` adds and removes, for ``check-new-images``.

An artifact is known by its normalised source and effective target name
(:func:`mirror.lists.choose.artifact_key`), so re-spelling ``busybox`` as
``docker.io/library/busybox`` or moving an entry is no change. What must be checked:

* **new tags to pull**: tags added to an artifact (or a new artifact's tags) that are
  mirrored — not under ``DoNotMirror`` — and whose source is not on ``dp.apps.rancher.io``
  (fork pull requests have no credentials for it); those left out are listed as skipped;
* **new target repositories on Docker Hub**: ``<BaseUrl>/<name>`` for a ``docker.io``
  repository that no artifact targeted before (Docker Hub does not create repositories on
  push; the SUSE registries do);
* **removals**: a tag gone from an artifact, or a whole artifact gone.

Pure, no I/O.
"""

from __future__ import annotations


from ..ref import DOCKER_HUB, ImageRef, parse
from ..value import frozen
from .artifacts import APPCO_HOST, Artifact, ArtifactsConfig
from .choose import artifact_key
from .expand import target_repositories

__all__ = ["ArtifactChanges", "artifact_changes"]


@frozen
class ArtifactChanges:
    new_tags: tuple[tuple[Artifact, str], ...] = ()
    #: source image -> why it is not pulled ("DoNotMirror", "dp.apps.rancher.io")
    skipped: tuple[tuple[ImageRef, str], ...] = ()
    new_repositories: tuple[ImageRef, ...] = ()
    removed: tuple[str, ...] = ()  # one line each, for messages

    @property
    def to_pull(self) -> tuple[ImageRef, ...]:
        """The distinct source images to look up upstream."""
        skipped = {ref for ref, _ in self.skipped}
        refs = (parse(a.source).with_tag(tag) for a, tag in self.new_tags)
        return tuple(dict.fromkeys(ref for ref in refs if ref not in skipped))


def _destinations(config: ArtifactsConfig) -> set[ImageRef]:
    return {
        parse(f"{repo.base_url}/{artifact.name}")
        for artifact in config.artifacts
        for repo in target_repositories(config, artifact)
    }


def artifact_changes(old: ArtifactsConfig, new: ArtifactsConfig) -> ArtifactChanges:
    before = {artifact_key(a): a for a in old.artifacts}
    after = {artifact_key(a): a for a in new.artifacts}
    new_tags: list[tuple[Artifact, str]] = []
    skipped: dict[ImageRef, str] = {}
    for key, artifact in after.items():
        known = set(before[key].tags) if key in before else set()
        mirrored = set(artifact.mirrored_tags)
        for tag in artifact.tags:
            if tag in known:
                continue
            new_tags.append((artifact, tag))
            ref = parse(artifact.source).with_tag(tag)
            if tag not in mirrored:
                skipped.setdefault(ref, "DoNotMirror")
            elif ref.host == APPCO_HOST:
                skipped.setdefault(ref, f"{APPCO_HOST} needs credentials a fork's pull request does not have")
    removed: list[str] = []
    for key, artifact in before.items():
        if key not in after:
            removed.append(f"{artifact.label} (all {len(artifact.tags)} tag(s))")
            continue
        kept = set(after[key].tags)
        gone = [tag for tag in artifact.tags if tag not in kept]
        removed.extend(f"{artifact.label}: tag {tag}" for tag in gone)
    repositories = sorted(ref for ref in _destinations(new) - _destinations(old) if ref.host == DOCKER_HUB)
    return ArtifactChanges(tuple(new_tags), tuple(skipped.items()), tuple(repositories), tuple(removed))

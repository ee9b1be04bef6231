"""add-tag's checks 1–3 on a ``config.yaml``: which artifact a source's new tag goes to.

The images-list rules (one mapping, or the one ``/mirrored-`` mapping) become:

1. the source has an artifact (the ``SourceArtifact`` is compared normalised, so ``busybox``
   and ``docker.io/library/busybox`` are one source); else *needs approval*: a person adds
   the first artifact, since its targets must exist first;
2. with ``--target-name NAME`` the artifact whose effective target name is NAME; without it
   the only artifact of that source, or among several the one whose effective name is the
   default (``mirrored-…`` / ``appco-…``, the analogue of ``/mirrored-``); otherwise an error
   that names every candidate;
3. the tag is new for that artifact (else skipped).

Pure, no I/O.
"""

from __future__ import annotations


from ..errors import InvalidReference
from ..ref import ImageRef, parse
from ..text import excerpt
from ..value import frozen
from .artifacts import Artifact, ArtifactsConfig

__all__ = ["ArtifactChoice", "ArtifactTag", "artifact_key", "choose_artifact"]


def artifact_key(artifact: Artifact) -> tuple[str, str]:
    """An artifact's identity across edits: normalised source and effective target name."""
    return parse(artifact.source).name, artifact.name


@frozen
class ArtifactTag:
    """A tag to add to one artifact's ``Tags``."""

    key: tuple[str, str]
    source: str  # the SourceArtifact as written
    tag: str

    @property
    def text(self) -> str:
        """For messages: ``busybox -> mirrored-library-busybox:1.37.0``."""
        return f"{self.source} -> {self.key[1]}:{self.tag}"

    @property
    def source_image(self) -> ImageRef:
        return parse(self.source).with_tag(self.tag)


@frozen
class ArtifactChoice:
    """The outcome of checks 1 and 2 for one image."""

    image: str
    artifact: Artifact | None = None
    error: str | None = None
    needs_approval: bool = False

    def entry(self, tag: str) -> ArtifactTag:
        assert self.artifact is not None
        return ArtifactTag(artifact_key(self.artifact), self.artifact.source, tag)


def _candidates(artifacts: list[Artifact]) -> str:
    return ", ".join(
        f"{excerpt(a.source)} (line {a.line}, target name {excerpt(a.name)}"
        + (")" if a.target_name else ", the default)")
        for a in artifacts
    )


def choose_artifact(config: ArtifactsConfig, image: str, target_name: str | None = None) -> ArtifactChoice:
    """Checks 1 and 2 for ``image`` (a source without tag); ``target_name`` is ``--target-name``."""
    source = parse(image)
    if source.tag or source.digest:
        raise InvalidReference(f"image {image!r} must not carry a tag or digest (use --tags or add-full-image)")
    found = [a for a in config.artifacts if parse(a.source).name == source.name]
    if not found:
        return ArtifactChoice(image, error=(
            f"Unable to automatically add tag(s) for image {image}, no artifact with this SourceArtifact "
            f"in {config.path}"), needs_approval=True)
    if target_name is not None:
        named = [a for a in found if a.name == target_name]
        if named:
            return ArtifactChoice(image, named[0])
        return ArtifactChoice(image, error=(
            f"Unable to automatically add tag(s) for image {image}, no artifact has the target name "
            f"{excerpt(target_name)}; candidates: {_candidates(found)}"))
    if len(found) == 1:
        return ArtifactChoice(image, found[0])
    default = [a for a in found if a.name == a.default_name]
    if len(default) == 1:
        return ArtifactChoice(image, default[0])
    return ArtifactChoice(image, error=(
        f"Unable to automatically add tag(s) for image {image}, {len(found)} artifacts and none has the "
        f"default target name; choose one with --target-name: {_candidates(found)}"))

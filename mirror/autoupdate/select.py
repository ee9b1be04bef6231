"""What an autoupdate.yaml strategy picks from what its source returned. Pure: no I/O.

The discovery pipeline fetches (releases from GitHub, tags from a registry, renders from
helm) and calls these to decide, so every rule here is tested without a network:

* GithubRelease: drafts and pre-releases skipped; ``LatestOnly`` keeps the release GitHub marks
  latest; ``VersionRegex`` is searched in the release's tag and its group 1 (or, without a
  group, the whole match) becomes the tag, and a release it does not match is skipped, never
  emitted as ``''``; ``VersionConstraint`` then applies to that tag, and a tag that is not a
  semantic version fails the entry (Rancher's tool does the same) instead of being dropped;
* Registry: ``VersionFilter`` searched in each tag; no matching tag fails the entry; ``Latest``
  keeps the highest semantic version, spelled as the registry spells it (``v1.2.3`` stays
  ``v1.2.3``; Rancher's tool rewrote it to ``1.2.3``), and a non-semver tag fails the entry;
* HelmLatest: Rancher's image rules, in Rancher's order (see :func:`chart_artifact_tags`).

An entry that fails raises :class:`~mirror.errors.AutoupdateError` naming the entry and the
tag or image, so the pipeline can report it and go on with the other entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import ref as imageref
from ..errors import AutoupdateError, InvalidReference
from ..filters import compile_version_constraint, parse_semver, semver_sort_key
from ..text import excerpt
from ..value import frozen
from .model import Artifact, GithubRelease, HelmLatest, RegistryTags

__all__ = [
    "Release",
    "chart_artifact_tags",
    "images_in_render",
    "registry_tags",
    "release_tags",
    "version_regex_tag",
]

_SHOWN = 5  # tags named in a message before "… (N in all)"


@frozen
class Release:
    """A GitHub release as the selection needs it: its tag and flags."""

    tag: str
    prerelease: bool = False
    draft: bool = False
    latest: bool = False  # GitHub's /releases/latest answer


def version_regex_tag(pattern: str | re.Pattern[str], tag: str) -> str | None:
    """The tag ``VersionRegex`` makes of ``tag``: group 1 if the pattern has a group, else the match.

    ``None`` when the pattern does not match, or the group matched nothing (``^v(.*)`` on
    ``v``): both mean "skip this release". filters.py has no capture-group rule, hence here.
    """
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    match = regex.search(tag)
    if match is None:
        return None
    result = match.group(1) if regex.groups else match.group(0)
    return result or None


def _quoted(items: list[str]) -> str:
    shown = ", ".join(f"'{excerpt(item)}'" for item in items[:_SHOWN])
    return shown if len(items) <= _SHOWN else f"{shown} … ({len(items)} in all)"


def _fail(entry: str, message: str) -> AutoupdateError:
    return AutoupdateError([f"entry '{excerpt(entry)}': {message}"])


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _check_tags(entry: str, tags: list[str], what: str) -> None:
    bad = []
    for tag in tags:
        try:
            imageref.ImageRef(imageref.DOCKER_HUB, "library/check").with_tag(tag)
        except InvalidReference:
            bad.append(tag)
    if bad:
        raise _fail(entry, f"{what} that cannot be image tags: {_quoted(bad)}")


def _require_semver(entry: str, tags: list[str], why: str) -> None:
    bad = [tag for tag in tags if parse_semver(tag) is None]
    if bad:
        raise _fail(entry, f"tags that are not semantic versions ({why}): {_quoted(bad)}")


def release_tags(entry: str, strategy: GithubRelease, releases: Iterable[Release]) -> list[str]:
    """The tags a GithubRelease entry takes from ``releases``, in the releases' order, once each."""
    chosen = [r for r in releases if not r.prerelease and not r.draft and (r.latest or not strategy.latest_only)]
    tags: list[str] = []
    for release in chosen:
        tag = release.tag if strategy.version_regex is None else version_regex_tag(strategy.version_regex, release.tag)
        if tag:
            tags.append(tag)
    tags = _unique(tags)
    if strategy.version_constraint:
        _require_semver(entry, tags, f"VersionConstraint '{excerpt(strategy.version_constraint)}' needs them")
        keep = compile_version_constraint(strategy.version_constraint)
        tags = [tag for tag in tags if keep(tag)]
    _check_tags(entry, tags, "release tags")
    return tags


def registry_tags(entry: str, strategy: RegistryTags, tags: Iterable[str]) -> list[str]:
    """The tags a Registry entry takes from its first artifact's tag list, spelled as listed."""
    source = strategy.artifacts[0].source
    listed = _unique(tags)
    kept = listed
    if strategy.version_filter is not None:
        regex = re.compile(strategy.version_filter)
        kept = [tag for tag in listed if regex.search(tag)]
    if not kept:
        if strategy.version_filter is None or not listed:
            raise _fail(entry, f"{source} has no tags")
        shown = excerpt(strategy.version_filter)
        raise _fail(entry, f"none of the {len(listed)} tags of {source} matches VersionFilter '{shown}'")
    if strategy.latest:
        _require_semver(entry, kept, "Latest compares semantic versions")
        return [max(kept, key=semver_sort_key)]
    return kept


def images_in_render(documents: Iterable[object]) -> list[str]:
    """Every string value of a key named exactly ``image`` in parsed render documents, in order.

    Rancher's rule, narrower than config.json's (any key *containing* ``image``): a key
    ``image`` whose value is not a string is not searched further, as in Rancher's tool.
    """
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image":
                    if isinstance(value, str):
                        found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in documents:
        walk(document)
    return found


def _hubless(name: str) -> str:
    return name.removeprefix("docker.io/")


def chart_artifact_tags(entry: str, strategy: HelmLatest, images: Iterable[str]) -> dict[Artifact, tuple[str, ...]]:
    """Tags per artifact from the images found in a chart's renders (all environments together).

    Rancher's order: an ``@digest`` suffix is cut; the rest must split at exactly one ``:``
    into repository and tag (else the entry fails: a registry port is not supported, as in
    Rancher's tool); ``docker.io/`` is stripped; ``ImageDenylist`` drops its repositories;
    then an image no artifact's SourceArtifact names fails the entry. Every problem is
    reported at once. An image goes to each artifact listing its repository (a source listed
    under two target names gets the tag under both). Artifacts with no image are left out.
    """
    denied = {_hubless(name) for name in strategy.image_denylist}
    takers: dict[str, list[Artifact]] = {}
    for artifact in strategy.artifacts:
        takers.setdefault(_hubless(artifact.source), []).append(artifact)
    result: dict[Artifact, list[str]] = {}
    malformed: list[str] = []
    unmapped: list[str] = []
    for image in _unique(images):
        parts = image.split("@", 1)[0].split(":")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            malformed.append(image)
            continue
        repository, tag = _hubless(parts[0]), parts[1]
        if repository in denied:
            continue
        if repository not in takers:
            unmapped.append(image)
            continue
        for artifact in takers[repository]:
            result.setdefault(artifact, [])
            if tag not in result[artifact]:
                result[artifact].append(tag)
    problems = []
    if malformed:
        problems.append(f"chart images that are not repository:tag with exactly one ':': {_quoted(malformed)}")
    problems.extend(
        f"chart image '{excerpt(image)}' maps to no artifact (add it to Artifacts or ImageDenylist)"
        for image in unmapped
    )
    if problems:
        raise AutoupdateError([f"entry '{excerpt(entry)}': {problem}" for problem in problems])
    for tags in result.values():
        _check_tags(entry, tags, "chart image tags")
    ordered = [artifact for artifact in strategy.artifacts if artifact in result]
    return {artifact: tuple(result[artifact]) for artifact in ordered}

"""Names of discovery's pull requests: branch, title, body, commit messages, reviewers. Pure.

The branch is derived from the entry and the set of tags it adds, so the same discovery
always gives the same branch and a pull request already opened (or closed unmerged) is found
again by its head. For a config.yaml list the rule is Rancher's own, byte for byte: a tool
deriving branches differently would, on switch-over day, reopen every pull request Rancher's
maintainers had closed. The hash:

* per artifact (SourceArtifact, effective TargetArtifactName) only the tags new against the
  base; artifacts sorted by SourceArtifact then name, each artifact's tags in byte order;
* ``SourceArtifact:tag`` strings, SourceArtifact exactly as the file spells it (never
  normalised: ``library/traefik``, not ``docker.io/library/traefik``), no separator, into
  sha256; the digest in standard base32 with padding, lower-cased, first 8 characters.

GitHub's limits are kept here, so a long entry name cannot make the API refuse the request:
titles at most 256 characters, bodies at most 65,536.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

from .value import frozen

__all__ = [
    "BODY_LIMIT",
    "TITLE_LIMIT",
    "ArtifactKey",
    "Reviewers",
    "body",
    "branch_for_config_yaml",
    "branch_for_images_list",
    "commit_message",
    "split_reviewers",
    "tag_count",
    "tag_set_hash",
    "title",
]

TITLE_LIMIT = 256
BODY_LIMIT = 65_536
_ELLIPSIS = "…"
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9._-]")

#: (SourceArtifact as spelled, effective target name): one artifact of a list.
ArtifactKey = tuple[str, str]
NewTags = Mapping[ArtifactKey, Iterable[str]]


def _ordered(new_tags: NewTags) -> list[tuple[ArtifactKey, list[str]]]:
    """Artifacts by source then name, tags in byte order (code point order is UTF-8 byte order)."""
    return [(key, sorted(set(new_tags[key]))) for key in sorted(new_tags)]


def tag_set_hash(new_tags: NewTags) -> str:
    """Rancher's 8-character hash of a tag set; independent of the order of artifacts and tags."""
    digest = hashlib.sha256()
    for (source, _name), tags in _ordered(new_tags):
        for tag in tags:
            digest.update(f"{source}:{tag}".encode())
    return base64.b32encode(digest.digest()).decode("ascii").lower()[:8]


def branch_for_config_yaml(entry_name: str, new_tags: NewTags) -> str:
    """``autoupdate/<Name>/<hash>``: Rancher's branch for an autoupdate.yaml entry."""
    return f"autoupdate/{entry_name}/{tag_set_hash(new_tags)}"


def branch_for_images_list(key: str, new_tags: NewTags) -> str:
    """``image-mirror/<key>/<hash>`` for a config.json entry, the key made safe for a ref.

    Every character outside ``[A-Za-z0-9._-]`` becomes ``-``; for an images-list the
    ArtifactKey is (source image as the line spells it, target repository).
    """
    return f"image-mirror/{_UNSAFE_IN_KEY.sub('-', key)}/{tag_set_hash(new_tags)}"


def tag_count(new_tags: NewTags) -> int:
    """How many (artifact, tag) pairs the pull request adds."""
    return sum(len(tags) for _key, tags in _ordered(new_tags))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def title(entry_name: str, new_tags: NewTags) -> str:
    """``[image-mirror] Add N tag(s) for <entry>``, cut to 256 characters ending in ``…``."""
    return _cut(f"[image-mirror] Add {tag_count(new_tags)} tag(s) for {entry_name}", TITLE_LIMIT)


def body(entry_name: str, new_tags: NewTags, *, limit: int = BODY_LIMIT) -> str:
    """Every tag as a ``- `source:tag` → `name``` line, artifacts and tags in hash order.

    When the list does not fit ``limit`` characters, the lines that fit are kept and a last
    line says how many were left out, so the body never exceeds the limit and never ends in
    half a line.
    """
    head = f"Opened by `image-mirror discover` for entry `{entry_name}`.\n\nIt adds these tags:\n"
    lines = [f"- `{source}:{tag}` → `{name}`" for (source, name), tags in _ordered(new_tags) for tag in tags]
    text = head + "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = len(head)
    for position, line in enumerate(lines):
        trailer = f"\n… and {len(lines) - position} more"
        if size + len(line) + 1 + len(trailer) > limit:
            return _cut(head + "\n".join(kept) + trailer, limit)
        kept.append(line)
        size += len(line) + 1
    return _cut(text, limit)  # no tags at all, and an entry name longer than the limit


def commit_message(source: str, tags: Iterable[str]) -> str:
    """One commit per image or artifact: ``Add tag(s) a, b for <source>``, tags in byte order."""
    return f"Add tag(s) {', '.join(sorted(set(tags)))} for {source}"


@frozen
class Reviewers:
    """What the request-reviewers endpoint takes: logins, and team slugs (without the org)."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


def split_reviewers(reviewers: Iterable[str]) -> Reviewers:
    """``org/team`` is a team reviewer (the slug after ``/``), anything else a user; once each."""
    users: dict[str, None] = {}
    teams: dict[str, None] = {}
    for reviewer in reviewers:
        org, slash, team = reviewer.partition("/")
        if slash:
            teams[team] = None
        else:
            users[org] = None
    return Reviewers(tuple(users), tuple(teams))

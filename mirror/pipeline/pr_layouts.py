"""The list layouts as ``discover --open-prs`` sees them: how a commit edits the file's text
(the add-tag edit, in memory: the text comes from and goes to the GitHub API), how a branch is
named, and what an addition that passed the checks contributes to the branch hash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import imageslist, prnames
from ..imageslist import Line
from ..lists import default_target_name, parse_artifacts
from ..sniff import is_artifacts_text
from ..lists.edit import add_found
from ..value import frozen
from .discover import Addition, ArtifactAddition

__all__ = ["LAYOUTS", "ApplyAdditions", "Found", "Layout", "TagAddition", "apply_to_config_yaml",
           "apply_to_images_list", "layout_of"]


@frozen
class TagAddition:
    """Tags for one image or artifact: its source as the list spells it and its target."""

    source: str
    target: str  # images-list: the destination repository; config.yaml: the effective TargetArtifactName
    tags: tuple[str, ...]


#: A layout's add-tag edit: (file text, path for messages, additions) → the new text, which
#: must validate and be in the layout's order. Pure: the text comes from and goes to the API.
ApplyAdditions = Callable[[str, str, Sequence[TagAddition]], str]


def apply_to_images_list(text: str, path: str, additions: Sequence[TagAddition]) -> str:
    """add-tag's edit of an images-list: the lines appended, the list sorted, comments kept."""
    current = imageslist.parse(text, path=path)
    lines = [Line.make(a.source, a.target, tag) for a in additions for tag in a.tags]
    return current.with_lines(lines).render()


def apply_to_config_yaml(text: str, path: str, additions: Sequence[TagAddition]) -> str:
    """add-tag's edit of a config.yaml (the one ``discover --apply`` makes): each tag inserted
    into its artifact's ``Tags``, every other byte kept; an artifact the file does not have
    yet appended on the default targets. The result is parsed and validated again."""
    found = ((a.source, a.target, tag, a.target != default_target_name(a.source)) for a in additions for tag in a.tags)
    new, _, _ = add_found(text, parse_artifacts(text, path), found)
    parse_artifacts(new, path)
    return new


#: What discovery proposes, before the layout keys it: an images-list line through add-tag's
#: checks, or a config.yaml artifact's new tag.
Found = Addition | ArtifactAddition


def _line_key(addition: Found) -> tuple[str, str, str] | None:
    """(source as the line spells it, destination, tag) of an images-list addition that passed."""
    if not isinstance(addition, Addition) or addition.status != "add" or not isinstance(addition.line, Line):
        return None
    source, destination, tag = addition.line.fields
    return source, destination, tag


def _artifact_key(addition: Found) -> tuple[str, str, str] | None:
    """(SourceArtifact as spelled, effective TargetArtifactName, tag): what Rancher's hash takes."""
    if not isinstance(addition, ArtifactAddition):
        return None
    return addition.source, addition.name, addition.tag


@frozen
class Layout:
    """What the flow needs of a list layout; the rest (discovery, the checks) is shared.

    ``key`` turns an addition that passed the checks into (source as spelled, target, tag):
    an images-list line's fields; for a config.yaml, SourceArtifact as spelled and the
    effective TargetArtifactName, which Rancher's branch hash takes.
    """

    name: str
    apply: ApplyAdditions
    branch: Callable[[str, prnames.NewTags], str]
    key: Callable[[Found], tuple[str, str, str] | None]


#: The list layouts, by :func:`layout_of`.
LAYOUTS: dict[str, Layout] = {
    "images-list": Layout("images-list", apply_to_images_list, prnames.branch_for_images_list, _line_key),
    "config.yaml": Layout("config.yaml", apply_to_config_yaml, prnames.branch_for_config_yaml, _artifact_key),
}


def layout_of(text: str) -> Layout:
    return LAYOUTS["config.yaml" if is_artifacts_text(text) else "images-list"]

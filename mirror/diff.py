"""What is new: found tags and images compared with the list — pure, no I/O.

This is where the seed-compatible JSON is shaped, and where the add-tag safety
checks that need no network live (the fourth check, "the tag exists upstream",
is a HEAD request done by the caller). The list is either layout behind the
:class:`MirrorFile` protocol; the images-list rules of checks 1 and 2 are
:func:`resolve_mapping` here, the ``config.yaml`` ones :mod:`mirror.lists.choose`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from . import ref as imageref
from .errors import InputError, InvalidReference
from .imageslist import ImagesList, Line
from .ref import ImageRef
from .value import frozen

__all__ = [
    "Choice",
    "KnownTags",
    "MirrorFile",
    "Mapping",
    "NewEntry",
    "NewTags",
    "missing_full_images",
    "missing_tags",
    "resolve_mapping",
    "split_full_image",
]


class KnownTags(Protocol):
    """What discover asks of a list, whichever its layout."""

    def has_tag(self, source: ImageRef, tag: str) -> bool:
        """Whether ``source:tag`` is mirrored already (to any destination)."""
        ...


class NewEntry(Protocol):
    """Something add-tag would write: an images-list line, a tag of an artifact."""

    @property
    def text(self) -> str: ...

    @property
    def source_image(self) -> ImageRef: ...


class Choice(Protocol):
    """Checks 1 and 2 for one image: where its tags would go, or why they cannot."""

    @property
    def error(self) -> str | None: ...

    @property
    def needs_approval(self) -> bool: ...

    def entry(self, tag: str) -> NewEntry: ...


class MirrorFile(KnownTags, Protocol):
    """One list layout behind the add-tag, discover --apply and sort commands.

    Implemented for images-list and for Rancher's ``config.yaml`` in :mod:`mirror.layouts`;
    the commands hold one of these and never ask which layout it is.
    """

    @property
    def path(self) -> str: ...

    def choose(self, image: str, target_name: str | None = None) -> Choice:
        """Checks 1 and 2 for ``image``; ``target_name`` is add-tag's ``--target-name``."""
        ...

    def has(self, entry: NewEntry) -> bool:
        """Check 3: whether ``entry`` is there already."""
        ...

    def add(self, entries: Sequence[NewEntry]) -> str:
        """Write ``entries`` (under the file's lock, atomically); the status line to show."""
        ...

    def unsorted(self) -> str | None:
        """None when the file is in its layout's order, else where it is not (``sort --check``)."""
        ...

    def sort(self) -> str:
        """Rewrite the file in its layout's order; the status line to show."""
        ...


@frozen
class NewTags:
    """The seed's ``{"images": [...], "tags": [...]}`` for a tag-based entry."""

    images: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def missing_tags(images: Iterable[str], tags: Iterable[str], current: KnownTags) -> NewTags:
    """Images missing at least one found tag, and every found tag missing for at least one image.

    Images starting with ``rancher/`` are our own and skipped, as the seed did.
    Both lists are sorted (workflows match pull requests on them).
    """
    found = list(dict.fromkeys(tags))
    new_images: set[str] = set()
    new_tags: set[str] = set()
    for image in images:
        source = imageref.parse(image)
        if source.host == imageref.DOCKER_HUB and source.repository.startswith("rancher/"):
            continue
        for tag in found:
            if not current.has_tag(source, tag):
                new_images.add(image)
                new_tags.add(tag)
    return NewTags(tuple(sorted(new_images)), tuple(sorted(new_tags)))


def split_full_image(text: str) -> tuple[str, str]:
    """``repo:tag`` → (repo, tag), splitting at the last colon after the last ``/``.

    ``host:5000/x:1.0`` → (``host:5000/x``, ``1.0``); no tag is an InputError.
    """
    name, tag = imageref.split_tag(text.strip())
    if not tag or not name:
        raise InputError(f"full image {text!r} has no tag (expected IMAGE:TAG)")
    try:
        imageref.parse(name).with_tag(tag)
    except InvalidReference as exc:
        raise InputError(str(exc)) from None
    return name, tag


def missing_full_images(full_images: Iterable[str], current: KnownTags) -> tuple[str, ...]:
    """``repo:tag`` strings whose source tag is not mirrored by any line yet."""
    result = []
    for text in full_images:
        name, tag = imageref.split_tag(text)
        if tag is None:
            continue
        if not current.has_tag(imageref.parse(name), tag):
            result.append(text)
    return tuple(sorted(set(result)))


@frozen
class Mapping:
    """The outcome of the add-tag mapping checks for one image."""

    image: str
    source: ImageRef
    source_text: str | None = None  # how existing lines write the source
    destination: str | None = None
    error: str | None = None
    needs_approval: bool = False  # no entry yet: a human must add the first line

    def line(self, tag: str) -> Line:
        assert self.destination is not None and self.source_text is not None
        return Line.make(self.source_text, self.destination, tag)

    entry = line


def resolve_mapping(current: ImagesList, image: str) -> Mapping:
    """Checks 1 and 2 of add-tag: the image has an entry, and exactly one
    destination mapping — or, among several, exactly one containing ``/mirrored-``."""
    source = imageref.parse(image)
    if source.tag or source.digest:
        raise InputError(f"image {image!r} must not carry a tag or digest (use --tags or add-full-image)")
    lines = [line for line in current if line.source.name == source.name]
    if not lines:
        return Mapping(
            image,
            source,
            error=f"Unable to automatically add tag(s) for image {image}, no existing entries found",
            needs_approval=True,
        )
    destinations = list(dict.fromkeys(line.fields[1] for line in lines))
    chosen: str
    if len(destinations) == 1:
        chosen = destinations[0]
    else:
        mirrored = [d for d in destinations if "/mirrored-" in d]
        if len(mirrored) != 1:
            listing = ", ".join(destinations)
            return Mapping(
                image,
                source,
                error=(
                    f"Unable to automatically add tag(s) for image {image}, more than one mapping found "
                    f"and {len(mirrored)} of them contain '/mirrored-': {listing}"
                ),
            )
        chosen = mirrored[0]
    source_text = next(line.fields[0] for line in lines if line.fields[1] == chosen)
    return Mapping(image, source, source_text=source_text, destination=chosen)

"""The seed's images-list behind :class:`mirror.diff.MirrorFile`: lines sorted like
``LC_ALL=C sort -V`` (:mod:`mirror.imageslist`)."""

from __future__ import annotations

from collections.abc import Sequence

from .. import imageslist
from ..diff import Choice, NewEntry, resolve_mapping
from ..errors import InputError
from ..ref import ImageRef
from ..value import frozen

__all__ = ["ImagesListFile"]


@frozen
class ImagesListFile:
    path: str
    current: imageslist.ImagesList

    def has_tag(self, source: ImageRef, tag: str) -> bool:
        return self.current.has_tag(source, tag)

    def choose(self, image: str, target_name: str | None = None) -> Choice:
        if target_name is not None:
            raise InputError(f"{self.path}: --target-name applies to a config.yaml; an images-list names "
                             "destinations on each line")
        return resolve_mapping(self.current, image)

    def has(self, entry: NewEntry) -> bool:
        assert isinstance(entry, imageslist.Line)
        return entry.key in self.current.keys

    def add(self, entries: Sequence[NewEntry]) -> str:
        lines = [entry for entry in entries if isinstance(entry, imageslist.Line)]
        if lines:
            imageslist.update(self.path, lambda current: current.with_lines(lines))
        return f"{self.path}: added {len(lines)} line(s)"

    def unsorted(self) -> str | None:
        if self.current.is_sorted():
            return None
        first = next((a for a, b in zip(self.current.lines, self.current.sorted().lines) if a.text != b.text), None)
        where = f" (first out of place: line {first.lineno}: {first.text})" if first else ""
        return f"not sorted{where}"

    def sort(self) -> str:
        before, after = imageslist.update(self.path, lambda current: current.sorted())
        changed = before.render() != after.render()
        return f"{self.path}: {'sorted' if changed else 'already sorted'} ({len(after)} entries)"

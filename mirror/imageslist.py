"""The ``images-list`` file: parse with line numbers, validate, sort, write safely.

Format: one ``<source> <destination> <tag>`` per line, fields separated by
whitespace; ``#`` and ``//`` start comment lines. The leading comment block is
the file's header and stays on top; any later comment (or blank) line belongs
to the entry below it and travels with that entry when the list is sorted, so
sorting never loses a word (the seed's sort script dropped such comments).

Writers go through :func:`update`: an exclusive ``flock`` on
``<images-list>.lock`` around the whole read-modify-write, and the new content
is written to a temporary file in the same directory and moved into place with
``os.replace``, so readers see the old file or the new one, never half a file,
and two concurrent writers never lose or duplicate a line.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from . import ref as imageref
from .errors import ImagesListError, InvalidReference
from .ref import ImageRef
from .versionsort import version_sorted

__all__ = [
    "ImagesList",
    "Line",
    "is_comment",
    "load",
    "locked",
    "parse",
    "update",
    "write_atomic",
]


def is_comment(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith("#") or stripped.startswith("//")


@dataclass(frozen=True)
class Line:
    """One mirrored tag: a parsed images-list entry and where it came from."""

    source: ImageRef
    destination: ImageRef
    tag: str
    text: str  # the line exactly as written (sorting works on it)
    lineno: int = 0  # 0 for lines not read from a file
    comments: tuple[str, ...] = ()  # comment/blank lines that travel with this entry

    @property
    def key(self) -> tuple[str, str, str]:
        """Normalised identity: two lines with the same key are duplicates."""
        return (self.source.name, self.destination.name, self.tag)

    @property
    def source_image(self) -> ImageRef:
        return self.source.with_tag(self.tag)

    @property
    def destination_image(self) -> ImageRef:
        return self.destination.with_tag(self.tag)

    @classmethod
    def make(cls, source: str, destination: str, tag: str) -> Line:
        """A new entry, written in the usual ``src dest tag`` form."""
        text = f"{source} {destination} {tag}"
        line, problem = _parse_entry(text, 0)
        if line is None:
            raise InvalidReference(problem or f"invalid images-list line {text!r}")
        return line


def _parse_entry(text: str, lineno: int) -> tuple[Line | None, str | None]:
    fields = text.split()
    if len(fields) != 3:
        return None, f"expected 3 fields '<source> <destination> <tag>', found {len(fields)}"
    source_text, dest_text, tag = fields
    try:
        source = imageref.parse(source_text)
        destination = imageref.parse(dest_text)
        if source.tag or source.digest:
            return None, f"source {source_text!r} must not carry a tag or digest; the tag is the third field"
        if destination.tag or destination.digest:
            return None, f"destination {dest_text!r} must not carry a tag or digest; the tag is the third field"
        source.with_tag(tag)
    except InvalidReference as exc:
        return None, str(exc)
    return Line(source, destination, tag, text, lineno), None


@dataclass(frozen=True)
class ImagesList:
    """A parsed images-list: header, entries (with their comments) and trailing comments."""

    header: tuple[str, ...] = ()
    lines: tuple[Line, ...] = ()
    trailer: tuple[str, ...] = ()
    path: str = "images-list"
    problems: tuple[str, ...] = field(default=(), compare=False)

    # ---- queries -------------------------------------------------------
    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    @cached_property
    def _tags_by_source(self) -> dict[str, frozenset[str]]:
        """Normalised source name → its tags; built once, discover asks per image and tag."""
        index: dict[str, set[str]] = {}
        for line in self.lines:
            index.setdefault(line.source.name, set()).add(line.tag)
        return {name: frozenset(tags) for name, tags in index.items()}

    @cached_property
    def keys(self) -> frozenset[tuple[str, str, str]]:
        """Every line's normalised (source, destination, tag)."""
        return frozenset(line.key for line in self.lines)

    def has_tag(self, source: ImageRef, tag: str) -> bool:
        """Whether any line mirrors ``source:tag`` (to any destination)."""
        return tag in self._tags_by_source.get(source.name, frozenset())

    def has_source(self, source: ImageRef) -> bool:
        return source.name in self._tags_by_source

    def destinations(self, source: ImageRef) -> list[str]:
        """Distinct destinations of ``source`` as written, in file order."""
        seen: dict[str, None] = {}
        for line in self.lines:
            if line.source.name == source.name:
                seen.setdefault(line.destination.familiar, None)
        return list(seen)

    def duplicates(self) -> list[tuple[Line, Line]]:
        """Pairs (first, repeat) of lines with the same normalised source, destination and tag."""
        first: dict[tuple[str, str, str], Line] = {}
        pairs = []
        for line in self.lines:
            if line.key in first:
                pairs.append((first[line.key], line))
            else:
                first[line.key] = line
        return pairs

    # ---- transformations ----------------------------------------------
    def sorted(self) -> ImagesList:
        """Entries ordered like ``LC_ALL=C sort -V`` on their text; comments travel along."""
        by_text: dict[str, list[Line]] = {}
        for line in self.lines:
            by_text.setdefault(line.text, []).append(line)
        ordered: list[Line] = []
        for text in version_sorted(list(dict.fromkeys(line.text for line in self.lines))):
            ordered.extend(by_text[text])
        return replace(self, lines=tuple(ordered))

    def is_sorted(self) -> bool:
        return [line.text for line in self.sorted().lines] == [line.text for line in self.lines]

    def with_lines(self, new: Iterable[Line]) -> ImagesList:
        """Append ``new`` lines whose normalised key is not present yet, then sort."""
        keys = set(self.keys)
        added = []
        for line in new:
            if line.key not in keys:
                keys.add(line.key)
                added.append(line)
        return replace(self, lines=self.lines + tuple(added)).sorted()

    def render(self) -> str:
        out = list(self.header)
        for line in self.lines:
            out.extend(line.comments)
            out.append(line.text)
        out.extend(self.trailer)
        return "".join(f"{text}\n" for text in out)


def parse(text: str, *, path: str = "images-list", strict: bool = True) -> ImagesList:
    """Parse images-list text.

    With ``strict`` every bad line is reported in one :class:`ImagesListError`
    (``path:line: message``); otherwise bad lines are skipped and listed in
    ``problems`` (sync mirrors every valid line and reports the rest).
    """
    header: list[str] = []
    pending: list[str] = []
    lines: list[Line] = []
    problems: list[str] = []
    in_header = True
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or is_comment(raw):
            (header if in_header else pending).append(raw)
            continue
        in_header = False
        line, problem = _parse_entry(raw, lineno)
        if line is None:
            problems.append(f"{path}:{lineno}: {problem}: {raw.strip()!r}")
            continue
        lines.append(replace(line, comments=tuple(pending)))
        pending = []
    if in_header:
        # No entries at all: the whole file is header.
        pass
    if problems and strict:
        raise ImagesListError(problems)
    return ImagesList(tuple(header), tuple(lines), tuple(pending), path, tuple(problems))


def load(path: str | Path, *, strict: bool = True) -> ImagesList:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImagesListError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImagesListError([f"{path}: cannot read: {exc}"]) from None
    return parse(text, path=str(path), strict=strict)


@contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (blocking) for a read-modify-write."""
    lock_path = Path(f"{path}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ImagesListError([f"{path}: cannot create lock file {lock_path}: {exc.strerror}"]) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_atomic(path: str | Path, content: str) -> None:
    """Write ``content`` to a temp file beside ``path``, fsync, and ``os.replace`` it."""
    target = Path(path)
    mode = 0o644
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def update(path: str | Path, change: Callable[[ImagesList], ImagesList]) -> tuple[ImagesList, ImagesList]:
    """Read, change and write the list under the lock; returns (before, after).

    Nothing is written when the change leaves the rendered text as it was.
    """
    if not Path(path).is_file():
        raise ImagesListError([f"{path}: file not found"])
    with locked(path):
        before = load(path)
        after = change(before)
        if after.render() != before.render():
            write_atomic(path, after.render())
        return before, after

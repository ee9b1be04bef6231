"""The ``images-list`` file: parse with line numbers, validate, sort, write safely.

Format: one ``<source> <destination> <tag>`` per line, fields separated by
ASCII spaces and tabs; ``#`` and ``//`` start comment lines. The leading comment
block is the file's header and stays on top; any later comment (or blank) line
belongs to the entry below it and travels with that entry when the list is
sorted, so sorting never loses a word (the seed's sort script dropped such
comments).

Lines end at ``\n`` only (``\r\n`` is accepted, and a file whose lines end in
``\r\n`` is written back that way), so line numbers are ``grep -n``'s. No line,
comments included, may hold a character :func:`mirror.text.first_forbidden`
rejects (controls, U+2028/2029, BOM, bidi controls) or bytes that are not UTF-8:
``str.splitlines`` once read an entry inside a comment that git and review
showed as one line. Such a line is an error (``file:line:column``) even where
other bad lines are only skipped, and quoted text is cut by
:func:`mirror.text.excerpt`, so a 10 MB line gives a short message.

Writers go through :func:`update`: the read-modify-write runs under the lock of
:mod:`mirror.safewrite` (kept in the git dir) and the new content replaces the
file atomically, through a symlink only inside the same work tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from . import ref as imageref
from . import safewrite
from .errors import ImagesListError, InvalidReference
from .ref import ImageRef
from .text import excerpt, first_forbidden
from .value import frozen
from .versionsort import version_sorted

__all__ = [
    "ImagesList",
    "Line",
    "is_comment",
    "load",
    "parse",
    "split_fields",
    "split_lines",
    "update",
]

BLANKS = " \t"  # the only field separators
_FIELD_SEPARATOR = re.compile("[ \t]+")
# Lone surrogates: bytes that were not UTF-8, kept by ``surrogateescape`` so they can be located.
_NOT_UTF8 = re.compile("[\ud800-\udfff]")
# No image name is longer than 255 characters (however spelled, well under 1024) nor a tag longer
# than 128; longer fields are not handed to the reference parser, whose messages quote them whole.
_LONGEST_FIELD = 1024


def is_comment(text: str) -> bool:
    stripped = text.lstrip(BLANKS)
    return stripped.startswith("#") or stripped.startswith("//")


def split_fields(text: str) -> list[str]:
    """The fields of an entry line: separated by runs of spaces and tabs, nothing else."""
    stripped = text.strip(BLANKS)
    return _FIELD_SEPARATOR.split(stripped) if stripped else []


def split_lines(text: str) -> tuple[list[str], str]:
    """``text`` split at ``\n`` only, one ``\r`` before it dropped; and the newline to write back.

    The newline is ``\r\n`` when the first line ends that way. A ``\r`` anywhere else stays in
    its line (and is then reported as a forbidden character).
    """
    if not text:
        return [], "\n"
    pieces = text.split("\n")
    terminated = len(pieces) - 1  # every piece but the last was followed by \n
    if pieces[-1] == "":
        pieces.pop()
    lines = [piece[:-1] if index < terminated and piece.endswith("\r") else piece
             for index, piece in enumerate(pieces)]
    newline = "\r\n" if terminated and pieces[0].endswith("\r") else "\n"
    return lines, newline


@frozen(slots=True)
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
    def fields(self) -> list[str]:
        """``[source, destination, tag]`` as written."""
        return split_fields(self.text)

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


@lru_cache(maxsize=8192)
def _parse_name(text: str) -> ImageRef:
    """A source or destination field, parsed once: lines that name the same image (one source
    mirrored to several destinations) share one frozen :class:`ImageRef` instead of a copy each."""
    return imageref.parse(text)


def _parse_entry(text: str, lineno: int, comments: tuple[str, ...] = ()) -> tuple[Line | None, str | None]:
    fields = split_fields(text)
    if len(fields) != 3:
        return None, f"expected 3 fields '<source> <destination> <tag>' (separated by spaces or tabs), found {len(fields)}"
    for number, value in enumerate(fields, start=1):
        if len(value) > _LONGEST_FIELD:
            return None, (f"field {number} is {len(value)} characters long; an image name has at most "
                          "255 and a tag at most 128")
    source_text, dest_text, tag = fields
    try:
        source = _parse_name(source_text)
        destination = _parse_name(dest_text)
        if source.tag or source.digest:
            return None, f"source {source_text!r} must not carry a tag or digest; the tag is the third field"
        if destination.tag or destination.digest:
            return None, f"destination {dest_text!r} must not carry a tag or digest; the tag is the third field"
        source.check_tag(tag)
    except InvalidReference as exc:
        return None, str(exc)
    return Line(source, destination, tag, text, lineno, comments), None


@frozen
class ImagesList:
    """A parsed images-list: header, entries (with their comments) and trailing comments."""

    header: tuple[str, ...] = ()
    lines: tuple[Line, ...] = ()
    trailer: tuple[str, ...] = ()
    path: str = "images-list"
    problems: tuple[str, ...] = field(default=(), compare=False)
    newline: str = "\n"  # how the file ends its lines: written back the same way

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
        return "".join(f"{text}{self.newline}" for text in out)


def parse(text: str, *, path: str = "images-list", strict: bool = True, skip_unsafe: bool = False) -> ImagesList:
    """Parse images-list text.

    With ``strict`` every bad line is reported in one :class:`ImagesListError`
    (``path:line: message``); otherwise bad entries are skipped and listed in
    ``problems`` (sync mirrors every valid line and reports the rest). A line that
    is not UTF-8 or holds a forbidden character is an error either way, since what
    it means depends on who reads it; only ``skip_unsafe`` (for an old revision of
    the file, which the user cannot fix any more) skips it like a bad entry.
    """
    header: list[str] = []
    pending: list[str] = []
    lines: list[Line] = []
    problems: list[str] = []
    unsafe = False
    in_header = True
    raw_lines, newline = split_lines(text)
    for lineno, raw in enumerate(raw_lines, start=1):
        danger = _unsafe(raw)
        if danger is not None:
            unsafe = True
            problems.append(f"{path}:{lineno}:{danger}")
            continue
        if not raw.strip(BLANKS) or is_comment(raw):
            (header if in_header else pending).append(raw)
            continue
        in_header = False
        line, problem = _parse_entry(raw, lineno, tuple(pending))
        if line is None:
            problems.append(f"{path}:{lineno}: {problem}: {excerpt(raw.strip(BLANKS))}")
            continue
        lines.append(line)
        pending = []
    if problems and (strict or (unsafe and not skip_unsafe)):
        raise ImagesListError(problems)
    return ImagesList(tuple(header), tuple(lines), tuple(pending), path, tuple(problems), newline)


def _unsafe(raw: str) -> str | None:
    """``column: why`` for a line that is not UTF-8 or holds a forbidden character, else None."""
    bad = _NOT_UTF8.search(raw)
    if bad is not None:
        shown = _NOT_UTF8.sub(lambda m: _byte_of(m.group()), raw)
        return f"{bad.start() + 1}: not valid UTF-8 (byte {_byte_of(bad.group())}); save the file as UTF-8: {excerpt(shown)}"
    forbidden = first_forbidden(raw)
    if forbidden is not None:
        column, char = forbidden
        return (f"{column}: forbidden character {char} (control, line separator, byte-order mark or bidi "
                f"control; not allowed anywhere in the file, comments included): {excerpt(raw)}")
    return None


def _byte_of(surrogate: str) -> str:
    """The undecodable byte ``surrogateescape`` stood in for, as ``\\xNN``."""
    code = ord(surrogate)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def load(path: str | Path, *, strict: bool = True) -> ImagesList:
    """Read and parse the file; bytes that are not UTF-8 are reported with their line and column."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImagesListError([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ImagesListError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse(data.decode("utf-8", errors="surrogateescape"), path=str(path), strict=strict)


def update(path: str | Path, change: Callable[[ImagesList], ImagesList]) -> tuple[ImagesList, ImagesList]:
    """Read, change and write the list under its lock; returns (before, after).

    Nothing is written when the change leaves the rendered text as it was. A
    symlink leaving the work tree is an :class:`~mirror.errors.InputError`, a
    failed write a :class:`~mirror.errors.WriteError`; the file is intact either way.
    """
    if not Path(path).is_file():
        raise ImagesListError([f"{path}: file not found"])
    target = safewrite.target_of(path)
    with safewrite.locked(target):
        before = load(path)
        after = change(before)
        if after.render() != before.render():
            safewrite.replace_file(target, after.render().encode("utf-8"))
        return before, after

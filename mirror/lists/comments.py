"""A YAML text without its comments, for ``sort --check`` on a ``config.yaml``.

Rancher's format keeps no comments (its formatter cannot), but a repository may keep some
anyway; ``sort --check`` compares the rest. A ``#`` starts a comment only outside every token
(inside a quoted or plain scalar it is text), so the tokens PyYAML's scanner marks decide.
Pure, no I/O.
"""

from __future__ import annotations


import yaml

from ..value import frozen

__all__ = ["Stripped", "strip_comments"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@frozen
class Stripped:
    """The lines left, each with its 1-based line number in the file, and the comments cut."""

    lines: tuple[tuple[int, str], ...]
    comments: int

    @property
    def text(self) -> str:
        return "".join(line + "\n" for _, line in self.lines)


def strip_comments(text: str) -> Stripped:
    """``text`` (valid YAML) with comment lines dropped and trailing comments cut."""
    covered: list[tuple[int, int]] = []
    for token in yaml.scan(text, Loader=_Loader):
        start, end = token.start_mark.index, token.end_mark.index
        if end > start:
            covered.append((start, end))
    covered.sort()
    lines: list[tuple[int, str]] = []
    comments = 0
    offset = 0
    cursor = 0  # first covered range that may still matter
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.removesuffix("\r")
        cut = None
        search = 0
        while (found := line.find("#", search)) >= 0:
            at = offset + found
            while cursor < len(covered) and covered[cursor][1] <= at:
                cursor += 1
            inside = cursor < len(covered) and covered[cursor][0] <= at
            if not inside and (found == 0 or line[found - 1] in " \t"):
                cut = found
                break
            search = found + 1
        offset += len(raw) + 1
        if cut is not None:
            comments += 1
            line = line[:cut].rstrip(" \t")
            if not line:
                continue
        lines.append((number, line))
    if lines and lines[-1][1] == "" and text.endswith("\n"):
        lines.pop()  # the empty piece after the final line break
    return Stripped(tuple(lines), comments)

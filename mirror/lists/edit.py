"""Add tags to a ``config.yaml`` as a person would: new lines in, every other byte kept.

``sort`` writes Rancher's format and drops comments (so does Rancher's formatter); every other
write keeps the file as people wrote it. A round-trip library (ruamel.yaml) was tried and
rejected: it re-emits the whole document with one indentation setting, so a file whose lists
are indented differently from its mappings, or with ``#`` comments spaced by hand, comes back
changed on lines nobody touched. Instead the new text is *spliced* into the original at the
positions PyYAML's composer marks (character indexes of every node's start and end):

* a block ``Tags`` list gets one new line per tag, written with the prefix of its neighbour
  (``  - ``), after the item that sorts just before it (so a comment above the next item stays
  with that item) or before the first item;
* a flow list (``[a, b]``) gets ``, tag`` after its neighbour; ``[]`` becomes ``[tag]``;
* a null ``Tags:`` becomes a block list; an artifact without ``Tags`` gets one after its
  ``SourceArtifact`` line.

New tags go where byte order puts them (Rancher's files keep tags in byte order), quoted by
go-yaml's rule (:func:`mirror.lists.goyaml.quote`: ``3.10`` is written ``"3.10"``). Lines end
as the file's do. Pure: text in, text out; the caller re-reads the result to check it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import yaml

from ..ref import parse
from .artifacts import ArtifactsConfig
from .choose import artifact_key
from .goyaml import quote

__all__ = ["add_tags"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def add_tags(text: str, additions: Mapping[int, Sequence[str]]) -> str:
    """``text`` with ``additions[i]`` added to the ``Tags`` of the i-th artifact (file order).

    The text must be a valid ``config.yaml`` (the caller parsed it); tags already present are
    the caller's to leave out.
    """
    root = yaml.compose(text, Loader=_Loader)
    assert isinstance(root, yaml.MappingNode)
    artifacts = _value(root, "Artifacts")
    assert isinstance(artifacts, yaml.SequenceNode)
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    inserts: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for index, tags in additions.items():
        if tags:
            node = artifacts.value[index]
            assert isinstance(node, yaml.MappingNode)
            inserts.extend(_artifact_edits(text, node, list(tags), newline))
    out = text
    # From the end backwards so earlier indexes stay valid; equal starts keep their order.
    for start, end, replacement in sorted(inserts, key=lambda edit: edit[0], reverse=True):
        out = out[:start] + replacement + out[end:]
    return out


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value in mapping.value:
        if key_node.value == key:
            found: yaml.Node = value
            return found
    return None


def _key(mapping: yaml.MappingNode, key: str) -> yaml.Node:
    found: yaml.Node = next(key_node for key_node, _ in mapping.value if key_node.value == key)
    return found


def _merge(existing: list[str], new: list[str]) -> list[tuple[int, list[str]]]:
    """For each new tag, the index of the existing item it follows (-1: before the first),
    grouped by anchor in order. An item is placed before the first existing tag greater than
    it in byte order (Python's ``str`` order on these ASCII tags)."""
    groups: dict[int, list[str]] = {}
    for tag in sorted(new):
        after = next((i for i, old in enumerate(existing) if old > tag), len(existing)) - 1
        groups.setdefault(after, []).append(tag)
    return sorted(groups.items())


def _line_end(text: str, index: int) -> int:
    """The index just past the ``\\n`` ending the line holding ``index`` (or the text's end)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _artifact_edits(text: str, node: yaml.MappingNode, tags: list[str], nl: str) -> list[tuple[int, int, str]]:
    tags_node = _value(node, "Tags")
    if isinstance(tags_node, yaml.SequenceNode):
        items = tags_node.value
        existing = [str(item.value) for item in items]
        if tags_node.flow_style:
            return _flow_edits(tags_node, existing, tags)
        return _block_edits(text, items, existing, tags, nl)
    quoted = [quote(tag) for tag in tags]
    if tags_node is not None:  # a null value: ``Tags:`` / ``Tags: null`` / ``Tags: ~``
        key = _key(node, "Tags")
        colon = text.index(":", key.end_mark.index)
        end = tags_node.end_mark.index if tags_node.value else colon + 1
        if node.flow_style:
            return [(colon, end, ": [" + ", ".join(quoted) + "]")]
        indent = " " * key.start_mark.column
        return [(colon, end, ":" + "".join(f"{nl}{indent}- {q}" for q in quoted))]
    source = _value(node, "SourceArtifact")
    assert source is not None
    if node.flow_style:
        return [(source.end_mark.index, source.end_mark.index, ", Tags: [" + ", ".join(quoted) + "]")]
    indent = " " * _key(node, "SourceArtifact").start_mark.column
    lines = [f"{indent}Tags:", *(f"{indent}- {q}" for q in quoted)]
    return [_after_line(text, source.end_mark.index, lines, nl)]


def _after_line(text: str, index: int, lines: list[str], nl: str) -> tuple[int, int, str]:
    """An edit putting ``lines`` after the line holding ``index``."""
    at = _line_end(text, index)
    if at == len(text) and not text.endswith("\n"):  # the last line has no line break
        return (at, at, "".join(nl + line for line in lines))
    return (at, at, "".join(line + nl for line in lines))


def _flow_edits(node: yaml.SequenceNode, existing: list[str], tags: list[str]) -> list[tuple[int, int, str]]:
    if not existing:
        at = node.start_mark.index + 1
        return [(at, at, ", ".join(quote(tag) for tag in sorted(tags)))]
    edits = []
    for after, group in _merge(existing, tags):
        quoted = [quote(tag) for tag in group]
        if after < 0:
            at = node.value[0].start_mark.index
            edits.append((at, at, "".join(f"{q}, " for q in quoted)))
        else:
            at = node.value[after].end_mark.index
            edits.append((at, at, "".join(f", {q}" for q in quoted)))
    return edits


def _block_edits(text: str, items: list[yaml.Node], existing: list[str], tags: list[str],
                 nl: str) -> list[tuple[int, int, str]]:
    edits = []
    for after, group in _merge(existing, tags):
        neighbour = items[max(after, 0)]
        start = _line_start(text, neighbour.start_mark.index)
        prefix = text[start : neighbour.start_mark.index]
        if prefix.strip(" \t") != "-":  # e.g. ``- &anchor x``: rebuild from the column
            prefix = " " * max(neighbour.start_mark.column - 2, 0) + "- "
        lines = [prefix + quote(tag) for tag in group]
        if after < 0:
            edits.append((start, start, "".join(line + nl for line in lines)))
            continue
        edits.append(_after_line(text, items[after].end_mark.index, lines, nl))
    return edits


def add_artifacts(text: str, new: Sequence[tuple[str, Sequence[str], str | None]]) -> str:
    """``text`` with new artifacts ``(SourceArtifact, tags, TargetArtifactName or None)`` appended
    to ``Artifacts`` (block style, keys in Rancher's alphabetical order, scalars quoted as go-yaml
    would), every other byte kept; ``sort`` puts them in their place. They have no
    ``TargetRepositories``: the default targets, as Rancher's autoupdate creates them."""
    if not new:
        return text
    root = yaml.compose(text, Loader=_Loader)
    assert isinstance(root, yaml.MappingNode)
    artifacts = _value(root, "Artifacts")
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    if not isinstance(artifacts, yaml.SequenceNode) or artifacts.flow_style or not artifacts.value:
        raise ValueError("Artifacts is not a non-empty block list: add the first artifact by hand")
    first = artifacts.value[0]
    indent = " " * (first.start_mark.column - 2)
    lines: list[str] = []
    for source, tags, name in new:
        lines.append(f"{indent}- SourceArtifact: {quote(source)}")
        lines.append(f"{indent}  Tags:")
        lines.extend(f"{indent}  - {quote(tag)}" for tag in sorted(tags))
        if name is not None:
            lines.append(f"{indent}  TargetArtifactName: {quote(name)}")
    last = artifacts.value[-1]
    at = _line_end(text, last.end_mark.index - 1) if last.end_mark.index else len(text)
    block = "".join(line + newline for line in lines)
    if at >= len(text) and not text.endswith("\n"):
        return text + newline + block.rstrip("\r\n")
    return text[:at] + block + text[at:]


def add_found(text: str, config: ArtifactsConfig,
              found: Iterable[tuple[str, str, str, bool]]) -> tuple[str, int, int]:
    """``text`` (whose parsed form is ``config``) with what discovery found:
    ``(SourceArtifact as spelled, effective TargetArtifactName, tag, name is explicit)``.

    A tag of an artifact the file has goes into its ``Tags`` (:func:`add_tags`); an artifact it
    does not have is appended on the default targets (:func:`add_artifacts`), with its
    ``TargetArtifactName`` written when explicit. Returns the new text, the tags added and the
    artifacts created. The one grouping both ``discover --apply`` and ``--open-prs`` use.
    """
    index = {artifact_key(artifact): i for i, artifact in enumerate(config.artifacts)}
    tags: dict[int, list[str]] = {}
    created: dict[tuple[str, str], tuple[str, list[str], str | None]] = {}
    for source, name, tag, explicit in found:
        key = (parse(source).name, name)
        if key in index:
            i = index[key]
            have = tags.setdefault(i, [])
            if tag not in config.artifacts[i].tags and tag not in have:
                have.append(tag)
        else:
            entry = created.setdefault(key, (source, [], name if explicit else None))
            if tag not in entry[1]:
                entry[1].append(tag)
    added = sum(len(t) for t in tags.values()) + sum(len(e[1]) for e in created.values())
    return add_artifacts(add_tags(text, tags), list(created.values())), added, len(created)

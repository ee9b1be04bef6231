"""Rancher's ``config.yaml`` behind :class:`mirror.diff.MirrorFile`: ``sort`` writes Rancher's
format (comments dropped, as their formatter does; ``--check`` ignores them); additions are
spliced into the text as written (:mod:`mirror.lists.edit`) and ``regsync.yaml`` follows
(:mod:`mirror.artifactsfile`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import artifactsfile
from ..diff import Choice, NewEntry
from ..errors import InputError
from ..lists import ArtifactsConfig, render_config
from ..lists.choose import ArtifactTag, artifact_key, choose_artifact
from ..lists.comments import strip_comments
from ..lists.edit import add_tags
from ..ref import ImageRef, parse
from ..text import excerpt
from ..value import frozen

__all__ = ["ArtifactsFile"]


@frozen
class ArtifactsFile:
    path: str
    current: ArtifactsConfig

    def has_tag(self, source: ImageRef, tag: str) -> bool:
        return any(tag in a.tags and parse(a.source).name == source.name for a in self.current.artifacts)

    def choose(self, image: str, target_name: str | None = None) -> Choice:
        return choose_artifact(self.current, image, target_name)

    def has(self, entry: NewEntry) -> bool:
        assert isinstance(entry, ArtifactTag)
        return any(artifact_key(a) == entry.key and entry.tag in a.tags for a in self.current.artifacts)

    def add(self, entries: Sequence[NewEntry]) -> str:
        wanted = [entry for entry in entries if isinstance(entry, ArtifactTag)]
        if not wanted:
            return f"{self.path}: added 0 tag(s)"
        added = 0

        def change(text: str, config: ArtifactsConfig) -> str:
            # Read again under the lock: another writer may have added some meanwhile.
            nonlocal added
            index = {artifact_key(a): i for i, a in enumerate(config.artifacts)}
            additions: dict[int, list[str]] = {}
            for entry in wanted:
                if entry.key not in index:
                    raise InputError(f"{self.path}: the artifact of {entry.text} was removed meanwhile")
                i = index[entry.key]
                tags = additions.setdefault(i, [])
                if entry.tag not in config.artifacts[i].tags and entry.tag not in tags:
                    tags.append(entry.tag)
            added = sum(len(tags) for tags in additions.values())
            return add_tags(text, additions) if added else text

        written = artifactsfile.update(self.path, change)
        return f"{self.path}: added {added} tag(s){_regsync_note(written)}"

    def unsorted(self) -> str | None:
        text = Path(self.path).read_text(encoding="utf-8")
        stripped = strip_comments(text)
        wanted = render_config(self.current).split("\n")[:-1]
        for (number, line), expected in zip(stripped.lines, wanted):
            if line != expected:
                return (f"not in Rancher's format (first difference: line {number}: {excerpt(line)}; "
                        f"expected {excerpt(expected)})")
        if len(stripped.lines) != len(wanted):
            return "not in Rancher's format (" + (
                f"line {stripped.lines[len(wanted)][0]} and after should not be there)"
                if len(stripped.lines) > len(wanted) else "ends early)")
        return None

    def sort(self) -> str:
        dropped = 0

        def change(text: str, config: ArtifactsConfig) -> str:
            nonlocal dropped
            dropped = strip_comments(text).comments
            return render_config(config)

        written = artifactsfile.update(self.path, change)
        state = "sorted" if written.config_changed else "already sorted"
        tags = sum(len(a.tags) for a in written.after.artifacts)
        note = f"; {dropped} comment(s) dropped (Rancher's format keeps none)" if written.config_changed and dropped else ""
        return f"{self.path}: {state} ({len(written.after.artifacts)} artifacts, {tags} tags){note}{_regsync_note(written)}"


def _regsync_note(written: artifactsfile.Written) -> str:
    return f"; {artifactsfile.REGSYNC_NAME} regenerated" if written.regsync_changed else ""

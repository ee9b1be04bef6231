"""The lines to mirror, read from either layout: the seed's images-list or Rancher's config.yaml.

``sync`` and ``compare`` work on :class:`~mirror.imageslist.Line` values (a source, one
destination, a tag). An images-list is such lines already; a ``config.yaml`` expands into one
line per (artifact, mirrored tag, target repository), exactly the copies Rancher's generator
writes into ``regsync.yaml`` (see :func:`~mirror.lists.expand.artifact_lines`). The layout is
told by content, so ``--images-list PATH`` takes either file.

A config.yaml also carries what the run must apply: per-registry credentials (resolved only
when a request to that registry needs them) and ``ReqConcurrent``. They travel in
:attr:`MirrorList.artifacts`.
"""

from __future__ import annotations

from pathlib import Path

from .. import imageslist
from ..errors import ImagesListError
from ..imageslist import Line
from ..ref import parse
from ..userfile import UserFileError, decode_strict, read_bytes
from .artifacts import ArtifactsConfig
from .artifacts_read import parse_artifacts
from ..sniff import is_artifacts_text
from ..value import frozen
from .expand import artifact_lines

__all__ = ["MirrorList", "load_mirror_list"]


@frozen
class MirrorList:
    """Valid lines in file order, the problems of the lines that were not, and the layout."""

    path: str
    lines: tuple[Line, ...]
    problems: tuple[str, ...] = ()
    artifacts: ArtifactsConfig | None = None  # set for a config.yaml


def artifacts_lines(config: ArtifactsConfig) -> tuple[Line, ...]:
    """One line per (artifact, mirrored tag, target), in regsync.yaml's order of artifacts."""
    lines: list[Line] = []
    for entry in artifact_lines(config):
        source = parse(entry.artifact.source)
        for target in entry.targets:
            repository = target.rsplit(":", 1)[0]
            destination = parse(repository)
            text = f"{entry.artifact.source} {repository} {entry.tag}"
            lines.append(Line(source, destination, entry.tag, text, entry.artifact.line))
    return tuple(lines)


def load_mirror_list(path: str | Path) -> MirrorList:
    """Read ``path`` in either layout (blocking).

    A config.yaml with any problem is bad input as a whole (:class:`ArtifactsFileError`):
    its lines are not independent (targets, names and credentials span artifacts). An
    images-list keeps today's behaviour: bad lines are listed in ``problems``, the rest run.
    """
    name = str(path)
    try:
        data = read_bytes(path)
        if is_artifacts_text(data.decode("utf-8", errors="replace")):
            config = parse_artifacts(decode_strict(data, name), name)
            return MirrorList(name, artifacts_lines(config), (), config)
    except UserFileError as exc:
        raise ImagesListError(exc.problems) from None
    images = imageslist.parse(data.decode("utf-8", errors="surrogateescape"), path=name, strict=False)
    return MirrorList(name, images.lines, tuple(images.problems))


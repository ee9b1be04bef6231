"""The two list layouts behind one interface, chosen by the file's content.

``--images-list PATH`` takes the seed's images-list or Rancher's 2026 ``config.yaml``; the
commands that read and write it (``sort``, ``add-tag``, ``add-full-image``, ``discover``) hold a
:class:`mirror.diff.MirrorFile` from :func:`open_list` and never ask which layout it is:

* :class:`ImagesListFile`: lines sorted like ``LC_ALL=C sort -V`` (:mod:`mirror.imageslist`);
* :class:`ArtifactsFile`: ``sort`` writes Rancher's format (comments dropped, as their formatter
  does; ``--check`` ignores them); additions are spliced into the text as written
  (:mod:`mirror.lists.edit`) and ``regsync.yaml`` follows (:mod:`mirror.artifactsfile`).

The layout is sniffed (:mod:`mirror.sniff`) and only its own module is imported: the config.yaml
machinery is some fifteen modules an images-list never needs (``discover`` parses the list while
its first requests are in flight, and the less that worker imports, the less it competes with the
first answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import imageslist
from ..sniff import is_artifacts_file
from .images import ImagesListFile

if TYPE_CHECKING:
    from .artifacts import ArtifactsFile

__all__ = ["ImagesListFile", "open_list"]


def open_list(path: str) -> ImagesListFile | ArtifactsFile:
    """Read ``path`` in whichever layout it has (bad input raises, naming file and line)."""
    if is_artifacts_file(path):
        from .. import artifactsfile
        from .artifacts import ArtifactsFile

        return ArtifactsFile(path, artifactsfile.load(path))
    return ImagesListFile(path, imageslist.load(path))

"""The one small interface every version source implements, and what it may reach upstream with.

A source turns one config entry into the raw candidates it found upstream. The
pipeline then applies the shared post-processing (diff against images-list,
seed-compatible JSON). Sources receive the run's clients explicitly, as a
:class:`Clients` (the run's :class:`~mirror.runtime.Runtime` is one) — no
globals — and each module's module-level ``discover`` function takes exactly
the client it needs, so tests build only that one.

:data:`mirror.sources.table.SOURCES` maps every ``versionSource`` kind to its
:class:`Source`, and :func:`~mirror.sources.table.strategies` every
autoupdate.yaml strategy type to its :class:`StrategySource`: the runtime
dispatches through those tables, not through an if-chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from .. import ref as imageref
from ..config import Entry
from ..errors import InvalidReference
from ..value import frozen

if TYPE_CHECKING:
    from ..autoupdate import AutoupdateEntry
    from ..github import GitHubClient
    from ..helm import HelmRenderer
    from ..registry import RegistryClient
    from .autoupdate import ArtifactTags

__all__ = ["Clients", "Found", "Source", "StrategySource", "normalize_full_images"]

S_contra = TypeVar("S_contra", contravariant=True)


@frozen
class Found:
    """What a source found for one entry.

    Tag sources fill ``tags`` (already filtered, in the source's order); Helm
    and tagged-file sources fill ``full_images`` (``repo:tag``, post-processed
    and sorted). ``seen`` counts raw candidates before filtering (dashboard).
    """

    tags: tuple[str, ...] = ()
    full_images: tuple[str, ...] = ()
    seen: int = 0


class Clients(Protocol):
    """The run's clients a source may use: one transport under all of them, so the
    registries file's limits and credentials apply to every source alike."""

    @property
    def registry(self) -> RegistryClient: ...

    @property
    def github(self) -> GitHubClient: ...

    @property
    def helm(self) -> HelmRenderer: ...


class Source(Protocol):
    """A config.json ``versionSource`` kind (or a family of kinds: the three Helm ones)."""

    async def discover(self, entry: Entry, clients: Clients) -> Found: ...


class StrategySource(Protocol[S_contra]):
    """An autoupdate.yaml strategy: ``strategy`` is ``entry.strategy``, already of its type."""

    async def discover(self, entry: AutoupdateEntry, strategy: S_contra, clients: Clients) -> ArtifactTags: ...


def normalize_full_images(candidates: Iterable[str], denylist: Iterable[str] = ()) -> tuple[str, ...]:
    """The seed's post-processing of ``repo:tag`` candidates (Helm, tagged files).

    Strip ``@digest`` and a leading ``docker.io/``; skip ``rancher/…`` (our own
    images), images without a tag and the tag ``latest``; drop repositories on
    the denylist (compared normalised, so ``docker.io/x/y`` matches ``x/y``);
    skip strings that are not image references; de-duplicate and sort.
    """
    denied = set()
    for item in denylist:
        try:
            denied.add(imageref.parse(item).name)
        except InvalidReference:
            denied.add(item)
    result: dict[tuple[str, str], str] = {}
    for raw in candidates:
        text = raw.strip().split("@", 1)[0]
        text = text.removeprefix("docker.io/")
        if not text or text.startswith("rancher/"):
            continue
        name, tag = imageref.split_tag(text)
        if not tag or tag == "latest":
            continue
        try:
            parsed = imageref.parse(text)
        except InvalidReference:
            continue
        if parsed.name in denied or name in denied:
            continue
        if parsed.host == imageref.DOCKER_HUB and parsed.repository.startswith("rancher/"):
            continue
        key = (parsed.name, tag)
        if key not in result or (len(text), text) < (len(result[key]), result[key]):
            result[key] = text
    return tuple(sorted(result.values()))

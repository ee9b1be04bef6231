"""One run's clients, built once from the settings and shared by every task.

A :class:`Runtime` owns the run's one :class:`~mirror.transport.Transport`
(and so its one aiohttp session), the registry and GitHub clients on it, the
state cache and the helm renderer. Commands open one with :func:`open_runtime` and hand its bound
methods to the pipelines; nothing here is global. A runtime is also the
:class:`~mirror.sources.base.Clients` every version source is handed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from .cache import Cache, NullCache, open_cache
from .config import Entry
from .errors import NotFound
from .events import EventSink, NullSink, Stats
from .github import GitHubClient
from .helm import HelmRenderer
from .ref import DOCKER_HUB, ImageRef
from .registry import CredentialStore, Registries, RegistryClient, load_registries
from .sources.base import Found
from .sources.table import SOURCES, strategies
from .transport import Transport

if TYPE_CHECKING:
    from .autoupdate import AutoupdateEntry
    from .cli import Settings
    from .sources.autoupdate import ArtifactTags

__all__ = ["Runtime", "open_runtime", "open_transport"]

HUB_REPOSITORIES_API = "https://hub.docker.com/v2/repositories"


@dataclass
class Runtime:
    stats: Stats
    events: EventSink
    registry: RegistryClient
    github: GitHubClient
    cache: Cache | NullCache
    helm: HelmRenderer

    async def run_source(self, entry: Entry) -> Found:
        """The entry's version source (from :data:`~mirror.sources.table.SOURCES`), on this run's clients."""
        return await SOURCES[entry.source.kind].discover(entry, self)

    async def run_strategy(self, entry: AutoupdateEntry) -> ArtifactTags:
        """An autoupdate.yaml entry's strategy (from :func:`~mirror.sources.table.strategies`),
        on the same clients and limits."""
        return await strategies()[type(entry.strategy)].discover(entry, entry.strategy, self)

    async def image_exists(self, ref: ImageRef) -> bool:
        """Whether ``ref`` (with a tag or digest) exists upstream: one HEAD, no pull counted."""
        try:
            await self.registry.head_manifest(ref)
        except NotFound:
            return False
        return True

    async def destination_exists(self, ref: ImageRef) -> bool:
        """Whether a destination repository exists.

        Docker Hub answers an empty repository's tag list with 404 too, so its
        repositories API is asked (unless docker.io is redirected by an
        ``endpoint``, e.g. to a local registry); elsewhere the tag list decides.
        """
        if ref.host == DOCKER_HUB and self.registry.registries.config(DOCKER_HUB).endpoint is None:
            try:
                await self.registry.fetch(f"{HUB_REPOSITORIES_API}/{ref.repository}/")
            except NotFound:
                return False
            return True
        return await self.registry.repository_exists(ref)


@asynccontextmanager
async def open_transport(settings: Settings, stats: Stats, registries: Registries | None = None) -> AsyncIterator[Transport]:
    """The run's one transport on the registries file's host settings (or ``registries``, when
    the command already read and amended them); closed on exit."""
    hosts = registries if registries is not None else await anyio.to_thread.run_sync(load_registries, settings.registries)
    async with Transport.open(registries=hosts, stats=stats, max_wait=settings.max_wait) as transport:
        yield transport


@asynccontextmanager
async def open_runtime(
    settings: Settings, stats: Stats | None = None, events: EventSink | None = None,
    transport: Transport | None = None, *, credentials: CredentialStore | None = None, discovery: bool = True,
) -> AsyncIterator[Runtime]:
    """Build the run's clients from the settings; close them all on exit.

    ``transport``: the run's transport, opened by a caller that needs it after the runtime
    closes (a command pushes its metrics once its exit code is known); else one of its own.
    ``credentials``: a store the command amended (a config.yaml's logins). ``discovery=False``
    (``sync``, ``compare``): no state cache and no helm homes -- those commands never look for
    versions, so they leave no cache file behind.
    """
    sink = events or NullSink()
    async with AsyncExitStack() as stack:
        if transport is None:
            transport = await stack.enter_async_context(open_transport(settings, stats or Stats()))
        transport.events = sink  # pull-quota waits reach the run's sink (set before any request)
        if credentials is None:
            credentials = await anyio.to_thread.run_sync(CredentialStore.from_environment)
        registry = RegistryClient(transport, credentials=credentials)
        cache: Cache | NullCache = NullCache()
        if discovery:
            cache = await open_cache(settings.cache, enabled=not settings.no_cache, events=sink)
            stack.push_async_callback(cache.close)
        github = GitHubClient(transport, cache=cache, events=sink, max_wait=settings.max_wait)
        helm = HelmRenderer()
        if discovery:
            await stack.enter_async_context(helm)
        yield Runtime(transport.stats, sink, registry, github, cache, helm)

"""One run's clients, built once from the settings and shared by every task.

A :class:`Runtime` owns the run's one :class:`~mirror.transport.Transport`
(and so its one aiohttp session), the registry and GitHub clients on it, the
state cache and the helm renderer. Commands open one with :func:`open_runtime` and hand its bound
methods to the pipelines; nothing here is global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from .cache import Cache, NullCache, open_cache
from .config import Entry, SourceKind
from .errors import NotFound
from .events import EventSink, NullSink, Stats
from .github import GitHubClient
from .helm import HelmRenderer
from .ref import DOCKER_HUB, ImageRef
from .registry import CredentialStore, RegistryClient, load_registries
from .sources import github_latest_release, github_releases, github_tagged_images_file
from .sources import helm as helm_source
from .sources import registry as registry_source
from .sources.base import Found
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
        """Dispatch an entry to its version source with the clients it needs."""
        kind = entry.source.kind
        if kind is SourceKind.REGISTRY:
            return await registry_source.discover(entry, self.registry)
        if kind is SourceKind.GITHUB_RELEASES:
            return await github_releases.discover(entry, self.github)
        if kind is SourceKind.GITHUB_LATEST_RELEASE:
            return await github_latest_release.discover(entry, self.github)
        if kind is SourceKind.GITHUB_TAGGED_IMAGES_FILE:
            return await github_tagged_images_file.discover(entry, self.github)
        return await helm_source.discover(entry, self.helm, self.registry, self.registry)

    async def run_strategy(self, entry: AutoupdateEntry) -> ArtifactTags:
        """Dispatch an autoupdate.yaml entry to its strategy, on the same clients and limits.

        The strategies are imported here, not at the top: a config.json run never needs them.
        """
        from .autoupdate import GithubRelease, HelmLatest
        from .sources import autoupdate, autoupdate_helm

        strategy = entry.strategy
        if isinstance(strategy, GithubRelease):
            return await autoupdate.github_release(entry, strategy, self.github)
        if isinstance(strategy, HelmLatest):
            return await autoupdate_helm.helm_latest(entry, strategy, self.helm, self.registry)
        return await autoupdate.registry(entry, strategy, self.registry)

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
async def open_transport(settings: Settings, stats: Stats) -> AsyncIterator[Transport]:
    """The run's one transport on the registries file's host settings; closed on exit."""
    hosts = await anyio.to_thread.run_sync(load_registries, settings.registries)
    async with Transport.open(registries=hosts, stats=stats, max_wait=settings.max_wait) as transport:
        yield transport


@asynccontextmanager
async def open_runtime(
    settings: Settings, stats: Stats | None = None, events: EventSink | None = None,
    transport: Transport | None = None,
) -> AsyncIterator[Runtime]:
    """Build the run's clients from the settings; close them all on exit.

    ``transport``: the run's transport, opened by a caller that needs it after the runtime
    closes (a command pushes its metrics once its exit code is known); else one of its own.
    """
    sink = events or NullSink()
    async with AsyncExitStack() as stack:
        if transport is None:
            transport = await stack.enter_async_context(open_transport(settings, stats or Stats()))
        transport.events = sink  # pull-quota waits reach the run's sink (set before any request)
        credentials = await anyio.to_thread.run_sync(CredentialStore.from_environment)
        registry = RegistryClient(transport, credentials=credentials)
        cache = await open_cache(settings.cache, enabled=not settings.no_cache, events=sink)
        stack.push_async_callback(cache.close)
        github = GitHubClient(transport, cache=cache, events=sink, max_wait=settings.max_wait)
        helm = await stack.enter_async_context(HelmRenderer())
        yield Runtime(transport.stats, sink, registry, github, cache, helm)

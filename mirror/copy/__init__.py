"""Copiers: move one image (or artifact) from a source to a destination, digests preserved.

Three implementations behind one :class:`Copier` Protocol, each taking a source, its
destinations and the manifest planning decided on:

* :class:`NativeCopier` (default) — our aiohttp registry client; blob
  de-duplication and cross-repository mounts across the whole run, and every destination
  of a source served from one read of it.
* :class:`SkopeoCopier` — ``skopeo copy --all --preserve-digests``; the
  reference tool, and the one that converts Docker schema 1 images.
* :class:`OrasCopier` — blobs through oras-py's public API in worker threads
  (under each host's limiter), manifests byte-exact through our client; for
  OCI artifacts such as Helm charts.

:func:`make_copier` builds one by name from the run's registry client and
credential store, so every copier reaches the same endpoints with the same
credentials.
"""

from __future__ import annotations


from ..errors import InputError
from ..registry.client import RegistryClient
from ..registry.credentials import Credential, CredentialStore
from ..registry.hosts import ResolvedHost
from ..value import frozen
from .base import Copier, CopyResult, Destination, HostResolver, SourceImage, is_schema1
from .blobs import BlobPlacer
from .native import NativeCopier
from .oras import OrasCopier
from .skopeo import SkopeoCopier, check_supported

__all__ = [
    "COPIERS",
    "BlobPlacer",
    "ClientHosts",
    "Copier",
    "CopyResult",
    "Destination",
    "HostResolver",
    "NativeCopier",
    "OrasCopier",
    "SkopeoCopier",
    "SourceImage",
    "check_supported",
    "is_schema1",
    "make_copier",
]

COPIERS = ("native", "skopeo", "oras")


@frozen
class ClientHosts:
    """The registry client's host decisions plus the credential store it was given:
    what the out-of-process skopeo copier needs."""

    client: RegistryClient
    credentials: CredentialStore

    async def endpoint(self, host: str) -> ResolvedHost:
        return await self.client.endpoint(host)

    async def credential(self, host: str) -> Credential | None:
        return await self.credentials.get(host)


def make_copier(name: str, client: RegistryClient, credentials: CredentialStore) -> Copier:
    """The copier called ``name`` for this run (one instance shared by all workers)."""
    if name == "native":
        return NativeCopier(client)
    if name == "skopeo":
        return SkopeoCopier(ClientHosts(client, credentials))
    if name == "oras":
        return OrasCopier(client, credentials)
    raise InputError(f"--copier {name!r}: choose one of {', '.join(COPIERS)}")

"""Async registry client: the OCI distribution API on the run's transport.

Public API (everything else in this package is private)::

    async with RegistryClient.open(hosts=load_registries(path), stats=stats) as client:
        tags = await client.list_tags(ref)
        desc = await client.head_manifest(ref.with_tag("v1"))

Modules, in dependency order:

* ``media``       media type constants, Descriptor, Manifest (pure)
* ``sizes``       the registries file's stream fields (sizes with KiB/MiB/GiB, seconds)
* ``hosts``       one host's settings and endpoint/scheme/TLS resolution
* ``registries_file`` the registries file, read and checked as hostile input
* ``credentials`` docker ``config.json`` and credential helpers
* ``auth``        WWW-Authenticate parsing, Basic, Bearer tokens and their cache
* ``ordering``    newest-first tag orders (Docker Hub, quay.io, config ``created``)
* ``download``    blob bytes resumed with ``Range`` after a cut; the digest hasher
* ``upload``      one blob's upload: monolithic or ``PATCH`` chunks, committed only when verified
* ``blobs``       blob reads, streams, uploads and mounts
* ``transfer``    one blob between repositories: deadline per attempt, memory budget, retries
* ``pages``       ``Link: rel="next"`` listings (tags, referrers) and their guards
* ``referrers``   the OCI 1.1 referrers API (``list_referrers``; ``None`` where a registry has none)
* ``client``      :class:`RegistryClient`, the facade on :mod:`mirror.transport`

Errors raised are those of :mod:`mirror.errors`: ``AuthError``, ``NotFound``,
``RateLimited``, ``ProtocolError`` (all ``RegistryError``) and
``RegistriesFileError`` for a bad registries file.
"""

from __future__ import annotations

from .auth import Challenge, parse_challenges
from .client import RegistryClient
from .credentials import Credential, CredentialStore
from .hosts import HostConfig, Registries, ResolvedHost, is_loopback
from .media import (
    ACCEPT_MANIFESTS,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_ARTIFACT_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Platform,
)
from .registries_file import load_registries, parse_registries

__all__ = [
    "ACCEPT_MANIFESTS",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_ARTIFACT_MANIFEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Challenge",
    "Credential",
    "CredentialStore",
    "Descriptor",
    "HostConfig",
    "Manifest",
    "Platform",
    "Registries",
    "RegistryClient",
    "ResolvedHost",
    "is_loopback",
    "load_registries",
    "parse_challenges",
    "parse_registries",
]

"""What an artifact-mirror ``config.yaml`` says about each registry: credentials, concurrency.

A repository's ``Username``/``Password`` apply to every request to its ``Registry``, source
reads included (regsync's ``creds`` work that way), so they are indexed by normalised host.
The reader has already refused two repositories of one registry with different credentials.

Resolution is lazy and explicit: :meth:`RegistryCredentials.resolve` reads ``{{ env "NAME" }}``
from the mapping it is given, only when a caller asks, so ``validate``, ``sort`` and
``discover`` never need the secrets, and an unset variable fails only the work that talks to
that registry, with an :class:`~mirror.errors.AuthError` naming the variable (never a value).
Nothing here puts a value in a ``repr``, ``str`` or message. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from ..errors import AuthError
from ..ref import normalize_host
from ..text import excerpt
from ..value import frozen
from .artifacts import ArtifactsConfig, Credential

__all__ = ["Login", "RegistryCredentials", "registry_concurrency", "registry_credentials"]


@frozen
class Login:
    """Resolved credentials for one registry; both values hidden from ``repr``."""

    username: str = field(repr=False)
    password: str = field(repr=False)


@frozen
class RegistryCredentials:
    """The credentials ``config.yaml`` gives one registry host, still unresolved."""

    registry: str
    username: Credential
    password: Credential
    #: Where they come from, for messages: ``config.yaml: repository docker.io/rancher``.
    origin: str

    def resolve(self, env: Mapping[str, str]) -> Login | None:
        """The user name and password, or None when both are empty (anonymous access).

        Raises :class:`AuthError` naming the first unset variable.
        """
        username = self._value(self.username, "Username", env)
        password = self._value(self.password, "Password", env)
        if not username and not password:
            return None
        return Login(username, password)

    def _value(self, credential: Credential, what: str, env: Mapping[str, str]) -> str:
        name = credential.env_name
        if name is None:
            return credential.text
        if name not in env:
            raise AuthError(
                f"credentials for {excerpt(self.registry)}: environment variable {name} is not set "
                f"({self.origin}: {what})"
            )
        return env[name]


def registry_credentials(config: ArtifactsConfig) -> dict[str, RegistryCredentials]:
    """Normalised registry host -> its credentials, from the first repository of each host.

    Hosts whose repositories give neither a user name nor a password are left out: docker's
    ``config.json`` (or anonymous access) applies to them.
    """
    found: dict[str, RegistryCredentials] = {}
    for repo in config.repositories:
        host = normalize_host(repo.registry)
        if host in found or not (repo.username.text or repo.password.text):
            continue
        origin = f"{config.path}: repository {excerpt(repo.base_url)}"
        found[host] = RegistryCredentials(host, repo.username, repo.password, origin)
    return found


def registry_concurrency(config: ArtifactsConfig) -> dict[str, int]:
    """Normalised registry host -> the smallest ``ReqConcurrent`` given for it.

    Hosts without one are left out; the registries file's ``concurrency`` wins over these.
    """
    found: dict[str, int] = {}
    for repo in config.repositories:
        if repo.req_concurrent > 0:
            host = normalize_host(repo.registry)
            found[host] = min(found.get(host, repo.req_concurrent), repo.req_concurrent)
    return found

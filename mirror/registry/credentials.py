"""Registry credentials from the standard docker ``config.json``.

Files, first entry found wins: ``$REGISTRY_AUTH_FILE`` (podman/skopeo), then
``$DOCKER_CONFIG/config.json`` or, without ``DOCKER_CONFIG``,
``~/.docker/config.json`` (docker reads one of those two, never both).

Per host, in docker's order: ``credHelpers[host]``, then an ``auths`` entry that
holds credentials, then ``credsStore``. Helpers are ``docker-credential-<name>
get`` with the server on stdin, run through ``anyio.run_process`` with an
argument list. Docker Hub's spellings (``docker.io``, ``index.docker.io``,
``registry-1.docker.io``, ``https://index.docker.io/v1/``) are one entry.

Secrets never appear in a repr, a log line or an exception: the dataclass
fields are ``repr=False`` and errors name the file and host only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from ..errors import InputError
from ..ref import DOCKER_HUB, normalize_host
from ..value import frozen

__all__ = ["Credential", "CredentialStore", "credential_key"]

log = logging.getLogger("mirror.registry")

#: What ``docker login`` stores for Docker Hub, and so what helpers expect on stdin.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"

RunHelper = Callable[[list[str], bytes], Awaitable[tuple[int, bytes]]]


def credential_key(server: str) -> str:
    """A config.json key (``https://host/v1/``, ``host:port``) as a normalised host."""
    text = server.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    else:
        text = text.split("/", 1)[0]
    return normalize_host(text)


@frozen
class Credential:
    """A user name with a password, or an identity (refresh) token."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    @property
    def basic_header(self) -> str:
        """``Authorization: Basic …`` (aiohttp's ``auth=`` is deprecated in 3.14)."""
        secret = self.password or self.identity_token
        raw = f"{self.username}:{secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.identity_token)


def _entry_credential(raw: Any) -> Credential | None:
    if not isinstance(raw, dict):
        return None
    username = raw.get("username") if isinstance(raw.get("username"), str) else ""
    password = raw.get("password") if isinstance(raw.get("password"), str) else ""
    identity = raw.get("identitytoken") if isinstance(raw.get("identitytoken"), str) else ""
    encoded = raw.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, sep, secret = decoded.partition(":")
        if sep:
            username, password = user, secret
    credential = Credential(username or "", password or "", identity or "")
    return credential or None


@frozen
class _ConfigFile:
    path: str
    auths: Mapping[str, Credential] = field(default_factory=dict, repr=False)
    helpers: Mapping[str, str] = field(default_factory=dict)
    store: str | None = None


def _read_config(path: Path) -> _ConfigFile | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read docker config: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: invalid docker config JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a docker config must be a JSON object")
    auths: dict[str, Credential] = {}
    raw_auths = data.get("auths")
    if isinstance(raw_auths, dict):
        for server, raw in raw_auths.items():
            credential = _entry_credential(raw)
            if credential is not None:
                auths.setdefault(credential_key(server), credential)
    helpers: dict[str, str] = {}
    raw_helpers = data.get("credHelpers")
    if isinstance(raw_helpers, dict):
        for server, name in raw_helpers.items():
            if isinstance(name, str) and name:
                helpers.setdefault(credential_key(server), name)
    store = data.get("credsStore")
    return _ConfigFile(str(path), auths, helpers, store if isinstance(store, str) and store else None)


async def _run_helper(argv: list[str], stdin: bytes) -> tuple[int, bytes]:
    result = await anyio.run_process(argv, input=stdin, check=False)
    return result.returncode, result.stdout


class CredentialStore:
    """Looks up credentials per host; helper answers are cached for the run."""

    def __init__(
        self,
        files: Sequence[_ConfigFile] = (),
        *,
        run_helper: RunHelper = _run_helper,
    ) -> None:
        self._files = tuple(files)
        self._run_helper = run_helper
        self._overrides: dict[str, Callable[[], Credential | None]] = {}
        self._cache: dict[str, Credential | None] = {}
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"CredentialStore(files={[f.path for f in self._files]!r})"

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path], *, run_helper: RunHelper = _run_helper) -> CredentialStore:
        """Read the given config files (blocking; missing files are skipped)."""
        files = [cfg for cfg in (_read_config(Path(p)) for p in paths) if cfg is not None]
        return cls(files, run_helper=run_helper)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> CredentialStore:
        """The files docker and skopeo would read (blocking: call before the loop or in a thread)."""
        environ = os.environ if env is None else env
        paths: list[Path] = []
        if environ.get("REGISTRY_AUTH_FILE"):
            paths.append(Path(environ["REGISTRY_AUTH_FILE"]))
        if environ.get("DOCKER_CONFIG"):
            paths.append(Path(environ["DOCKER_CONFIG"]) / "config.json")
        else:
            home = environ.get("HOME") or str(Path.home())
            paths.append(Path(home) / ".docker" / "config.json")
        return cls.from_paths(paths)

    @classmethod
    def from_mapping(cls, credentials: Mapping[str, Credential]) -> CredentialStore:
        """Explicit credentials (library callers, tests)."""
        auths = {credential_key(host): cred for host, cred in credentials.items()}
        return cls([_ConfigFile("<explicit>", auths)])

    def override(self, host: str, resolve: Callable[[], Credential | None]) -> None:
        """Credentials for ``host`` from elsewhere (a config.yaml repository), winning over the
        docker config files. ``resolve`` runs at each lookup and may raise (an unset variable
        fails only the requests to that host, and nothing is cached that could leak)."""
        self._overrides[credential_key(host)] = resolve

    async def get(self, host: str) -> Credential | None:
        """Credentials for ``host`` (normalised), or None for anonymous access."""
        key = credential_key(host)
        if key in self._overrides:
            return self._overrides[key]()
        if key in self._cache:
            return self._cache[key]
        async with self._lock:
            if key not in self._cache:
                self._cache[key] = await self._lookup(key)
        return self._cache[key]

    async def _lookup(self, key: str) -> Credential | None:
        for cfg in self._files:
            if key in cfg.helpers:
                return await self._from_helper(cfg.helpers[key], key)
            if key in cfg.auths:
                return cfg.auths[key]
            if cfg.store:
                found = await self._from_helper(cfg.store, key)
                if found is not None:
                    return found
        return None

    async def _from_helper(self, name: str, key: str) -> Credential | None:
        server = DOCKER_HUB_SERVER if key == DOCKER_HUB else key
        argv = [f"docker-credential-{name}", "get"]
        try:
            code, out = await self._run_helper(argv, server.encode())
        except OSError as exc:
            log.warning("credential helper docker-credential-%s cannot run (%s); continuing without credentials for %s",
                        name, type(exc).__name__, key)
            return None
        if code != 0:
            # "credentials not found" is the normal answer for hosts the helper does not know.
            log.debug("credential helper docker-credential-%s has no credentials for %s", name, key)
            return None
        try:
            data = json.loads(out)
        except ValueError:
            log.warning("credential helper docker-credential-%s answered with something that is not JSON", name)
            return None
        if not isinstance(data, dict):
            return None
        username = data.get("Username") if isinstance(data.get("Username"), str) else ""
        secret = data.get("Secret") if isinstance(data.get("Secret"), str) else ""
        if username == "<token>":
            return Credential(identity_token=secret or "") or None
        return Credential(username or "", secret or "") or None

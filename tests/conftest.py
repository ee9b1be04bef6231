"""Fixtures every test of the project shares.

- ``_isolated_env`` (autouse): HOME and XDG dirs in a temp dir, the tool's variables unset.
- ``source_registry`` (session): one real registry seeded once with a few images, read-only.
- ``dest_registry``: a fresh, empty, writable registry per test.
- ``registry_factory``: start registries with htpasswd / TLS / token auth / extra config.
- ``tls_files`` (session): a CA and a server certificate for 127.0.0.1.
- ``token_server_factory``: token servers for registry token auth.
- ``anyio_backend``: asyncio only (tests use ``@pytest.mark.anyio``).

Missing components never skip a test: CI counts skips as failures, so a missing
docker-registry fails the test with a message that says how to install it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import PushedImage
from tests.support.registry import (
    RegistryFactory,
    RegistryServer,
    RegistryStartError,
    scratch_root,
)
from tests.support.seed import SeededRegistry, seed_images
from tests.support.tls import TLSFiles, make_tls_files
from tests.support.tokenserver import TokenServer, TokenServerFactory

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Variables the tool reads; a developer's shell or CI must not leak them into tests.
TOOL_ENV_VARS = (
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_STEP_SUMMARY",
    "IMAGES",
    "TAGS",
    "FULL_IMAGES",
    "IMAGES_FILE",
    "DEST_REGISTRY_OVERRIDE",
    "DEST_ORG_OVERRIDE",
    "IMAGE_MIRROR_REGISTRIES",
    "DOCKER_CONFIG",
    "REGISTRY_AUTH_FILE",
)


def pytest_configure(config: pytest.Config) -> None:
    """Put <repo>/.tools/bin (helm, installed by scripts/install-helm.sh) first on PATH, so
    a plain ``python -m pytest`` finds the same tools as ``scripts/test.sh``."""
    tools = str(REPO_ROOT / ".tools" / "bin")
    path = os.environ.get("PATH", "")
    if tools not in path.split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration get the ``integration`` marker automatically."""
    integration_dir = REPO_ROOT / "tests" / "integration"
    for item in items:
        if integration_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A private HOME (so ``~/.docker/config.json``, oras' login, helm's and our cache
    never touch the real ones) and none of the tool's variables. Returns the HOME path."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name, sub in (
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(home / sub))
    for name in TOOL_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("HELM_"):
            monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio only (the tool runs on asyncio)."""
    return "asyncio"


def _start(server: RegistryServer) -> RegistryServer:
    """Start a registry, turning a missing binary or a failed start into a test failure."""
    try:
        return server.start()
    except RegistryStartError as err:
        pytest.fail(str(err), pytrace=False)


# --------------------------------------------------------------------------------------------
# Seeded source registry
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def source_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SeededRegistry]:
    """The session's source registry, seeded once with ``tests.support.seed.SOURCE_IMAGES``
    and then restarted read-only (by convention and by config)."""
    storage = Path(tempfile.mkdtemp(prefix="reg-source-", dir=scratch_root()))
    images: dict[str, PushedImage] = {}
    try:
        seeder = _start(RegistryServer(storage_dir=storage))
        try:
            images = seed_images(seeder.url)
        finally:
            seeder.stop()
        server = _start(RegistryServer(storage_dir=storage, read_only=True))
        try:
            yield SeededRegistry(server=server, images=images)
        finally:
            server.stop()
    finally:
        shutil.rmtree(storage, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Per-test registries
# --------------------------------------------------------------------------------------------


@pytest.fixture
def dest_registry() -> Iterator[RegistryServer]:
    """A fresh, empty, writable registry for this test only."""
    server = _start(RegistryServer())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry_factory() -> Iterator[RegistryFactory]:
    """``registry_factory(*, htpasswd=None, tls=None, token_auth=None, read_only=False,
    storage_dir=None, extra_config=None) -> RegistryServer`` (started; stopped after the
    test). Same keyword arguments as ``RegistryServer``."""
    servers: list[RegistryServer] = []

    def make(**kwargs: Any) -> RegistryServer:
        server = RegistryServer(**kwargs)
        servers.append(server)
        return _start(server)

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A CA and a 127.0.0.1/localhost server certificate, made once per session.
    ``tls_files.ssl_context()`` for Python clients, ``tls_files.cert_dir`` for skopeo."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def token_server_factory() -> Iterator[TokenServerFactory]:
    """``token_server_factory(users=None, *, service=..., issuer=..., anonymous=False,
    authorize=None, expires_in=300) -> TokenServer`` (started; stopped after the test).
    Pair with ``registry_factory(token_auth=server.registry_auth())``."""
    servers: list[TokenServer] = []

    def make(users: Mapping[str, str] | None = None, **kwargs: Any) -> TokenServer:
        server = TokenServer(users, **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()

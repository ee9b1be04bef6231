"""Start a real CNCF distribution registry (``docker-registry serve``) for a test.

Why a real one: the registry's quirks (Accept headers decide what a manifest GET returns,
upload ``Location`` URLs, auth challenges, TLS) are exactly what the code under test must get
right, and a fake would only encode our own assumptions. It starts in well under 0.1 s.

Every server gets its own work directory (config, htpasswd, stderr log, storage) under
``/dev/shm`` when writable (seeding is ~3x faster than on disk), its own free loopback port,
and ``GOGC=400``. Nothing of the packaged ``/etc/docker/registry/config.yml`` is used.

    with RegistryServer() as reg:
        reg.url    # "http://127.0.0.1:41234"
        reg.host   # "127.0.0.1:41234"
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from .tls import TLSFiles

__all__ = [
    "DEFAULT_EXECUTABLE",
    "RegistryFactory",
    "RegistryServer",
    "RegistryStartError",
    "TokenAuth",
    "free_port",
    "scratch_root",
]

DEFAULT_EXECUTABLE = "/usr/bin/docker-registry"

#: Servers still running; stopped at interpreter exit so a crashed session leaves no orphans.
_RUNNING: weakref.WeakSet[RegistryServer] = weakref.WeakSet()


class RegistryStartError(RuntimeError):
    """The registry binary is missing, exited, or never answered ``GET /v2/``."""


@dataclass(frozen=True)
class TokenAuth:
    """The registry side of token auth (``auth.token`` in its config)."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def scratch_root() -> Path:
    """``/dev/shm`` when writable (RAM, fast fsync), else the normal temp dir."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


def free_port() -> int:
    """A loopback port free right now. Another process may take it before we bind it:
    callers must be ready to retry (``RegistryServer.start`` is)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _htpasswd_line(user: str, password: str) -> str:
    """One bcrypt htpasswd line. The registry accepts bcrypt only; cost 4 (the minimum) keeps
    every authenticated request cheap."""
    exe = shutil.which("htpasswd")
    if exe is None:
        raise RegistryStartError(
            "htpasswd is not installed (Debian package apache2-utils); run scripts/test.sh"
        )
    proc = subprocess.run(
        [exe, "-B", "-C", "4", "-b", "-n", user, password],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if proc.returncode != 0:
        raise RegistryStartError(f"htpasswd failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


class RegistryServer:
    """One ``docker-registry serve`` subprocess on a free loopback port.

    Options (all keyword-only, all optional):

    - ``htpasswd``: ``{user: password}``; the registry then requires Basic auth.
    - ``tls``: serve HTTPS with ``tls.cert``/``tls.key``; ``url`` becomes ``https://``.
    - ``token_auth``: require Bearer tokens from a token server (see ``tokenserver.py``).
    - ``read_only``: reject every write (``storage.maintenance.readonly``), e.g. to guard a
      shared, seeded source registry.
    - ``storage_dir``: reuse this storage (kept on stop); default: fresh, deleted on stop.
    - ``extra_config``: deep-merged into the generated config (e.g. ``{"proxy": {...}}``).
    """

    def __init__(
        self,
        *,
        htpasswd: Mapping[str, str] | None = None,
        tls: TLSFiles | None = None,
        token_auth: TokenAuth | None = None,
        read_only: bool = False,
        storage_dir: Path | None = None,
        extra_config: Mapping[str, Any] | None = None,
        executable: str = DEFAULT_EXECUTABLE,
        start_timeout: float = 20.0,
    ) -> None:
        if htpasswd and token_auth:
            raise ValueError("choose htpasswd or token auth, not both")
        self.htpasswd = dict(htpasswd) if htpasswd else None
        self.tls = tls
        self.token_auth = token_auth
        self.read_only = read_only
        self.extra_config = dict(extra_config or {})
        self.executable = executable
        self.start_timeout = start_timeout
        self._own_storage = storage_dir is None
        self._storage_dir = storage_dir
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("registry not started")
        return self._port

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry host as written in image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:PORT``."""
        return f"{self.scheme}://{self.host}"

    @property
    def storage_dir(self) -> Path:
        """The filesystem storage root (``docker/registry/v2/...`` lives under it)."""
        if self._storage_dir is None:
            raise RuntimeError("registry not started")
        return self._storage_dir

    @property
    def stderr_path(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("registry not started")
        return self._workdir / "stderr.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context trusting this registry's CA (None for plain HTTP)."""
        return self.tls.ssl_context() if self.tls else None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Start and wait until ``GET /v2/`` answers. Retries on a lost port race."""
        if self.running:
            return self
        if not (
            os.path.isfile(self.executable) and os.access(self.executable, os.X_OK)
        ):
            raise RegistryStartError(
                f"CNCF distribution registry not found at {self.executable}: install the Debian "
                "package docker-registry (scripts/test.sh does it) and run the tests through "
                "scripts/test.sh"
            )
        self._workdir = Path(tempfile.mkdtemp(prefix="reg-", dir=scratch_root()))
        if self._storage_dir is None:
            self._storage_dir = self._workdir / "storage"
        self._storage_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.htpasswd:
                (self._workdir / "htpasswd").write_text(
                    "".join(
                        _htpasswd_line(u, p) + "\n" for u, p in self.htpasswd.items()
                    )
                )
            last_error = ""
            for _attempt in range(5):
                self._port = free_port()
                outcome = self._launch_and_wait()
                if outcome is None:
                    _RUNNING.add(self)
                    return self
                last_error = outcome
                if "address already in use" not in outcome:
                    break
            raise RegistryStartError(f"docker-registry did not start: {last_error}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the process (kill after 5 s) and delete the work directory and, unless it
        was given to us, the storage. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        _RUNNING.discard(self)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        if self._own_storage:
            self._storage_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<RegistryServer {where}>"

    # -- internals -------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The registry config as a dict (written as JSON, which is YAML)."""
        assert self._workdir is not None and self._storage_dir is not None
        storage: dict[str, Any] = {
            "filesystem": {"rootdirectory": str(self._storage_dir)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                "uploadpurging": {"enabled": False},
                "readonly": {"enabled": self.read_only},
            },
        }
        http: dict[str, Any] = {"addr": self.host, "secret": "test-secret"}
        if self.tls:
            http["tls"] = {"certificate": str(self.tls.cert), "key": str(self.tls.key)}
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": storage,
            "http": http,
        }
        if self.htpasswd:
            config["auth"] = {
                "htpasswd": {"realm": "test", "path": str(self._workdir / "htpasswd")}
            }
        elif self.token_auth:
            config["auth"] = {
                "token": {
                    "realm": self.token_auth.realm,
                    "service": self.token_auth.service,
                    "issuer": self.token_auth.issuer,
                    "rootcertbundle": str(self.token_auth.rootcertbundle),
                }
            }
        return _deep_merge(config, self.extra_config)

    def _launch_and_wait(self) -> str | None:
        """Start once; None when ready, else the reason (stderr) it failed."""
        assert self._workdir is not None
        config_path = self._workdir / "config.yml"
        config_path.write_text(json.dumps(self.config(), indent=2))
        env = {**os.environ, "GOGC": "400"}
        # Never let the parent's proxy settings or a stray REGISTRY_* override our config.
        for name in list(env):
            if name.startswith("REGISTRY_") or name.lower().endswith("_proxy"):
                del env[name]
        with open(self.stderr_path, "wb") as stderr:
            self._proc = subprocess.Popen(
                [self.executable, "serve", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                env=env,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            returncode = self._proc.poll()
            if returncode is not None:
                self._proc = None
                return self._read_stderr() or f"exited with code {returncode}"
            if self._answers():
                return None
            time.sleep(0.005)
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        return f"no answer on {self.url}/v2/ within {self.start_timeout}s; {self._read_stderr()}"

    def _read_stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace").strip()[-4000:]
        except OSError:
            return ""

    def _answers(self) -> bool:
        """Does ``GET /v2/`` get any HTTP answer (200, or 401 when auth is on)?"""
        context = None
        if self.tls:
            # Readiness only: whether the CA is right is for the tests to find out.
            context = ssl._create_unverified_context()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=context),
        )
        try:
            with opener.open(f"{self.url}/v2/", timeout=0.25) as resp:
                return bool(resp.status == 200)
        except urllib.error.HTTPError as err:
            return err.code == 401
        except (OSError, ssl.SSLError):
            return False


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()


#: The ``registry_factory`` fixture: same keyword arguments as ``RegistryServer``, returns it
#: started (and stops it after the test).
RegistryFactory = Callable[..., RegistryServer]

"""A small token server for registry token auth (the Docker Hub / GHCR / Harbor flow).

Why: Bearer challenges, scopes and token caching are where registry clients go wrong, and the
real CNCF registry verifies real tokens. This server is stdlib only: a threaded
``http.server`` on a free loopback port, RS256 JWTs signed with ``openssl dgst -sha256 -sign``
(no ``cryptography`` dependency) and carrying the signer certificate in the ``x5c`` header,
which the registry checks against ``rootcertbundle``.

    with TokenServer(users={"alice": "s3cret"}) as tokens:
        with RegistryServer(token_auth=tokens.registry_auth()) as reg:
            ...
        tokens.issued     # how many tokens were handed out
        tokens.requests   # who asked for which scopes

Endpoints: ``GET /token?service=S&scope=repository:r:pull,push&...`` with optional Basic
credentials (the docker/skopeo flow), and ``POST /token`` with an OAuth2 form
(``grant_type=password``, used by containerd-style clients).
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from .registry import TokenAuth, scratch_root
from .tls import run_openssl

__all__ = [
    "Access",
    "TokenRequest",
    "TokenServer",
    "TokenServerFactory",
    "parse_scopes",
]

#: authorize(user or None for anonymous, type, name, requested actions) -> granted actions
Authorizer = Callable[[str | None, str, str, list[str]], list[str]]


@dataclass(frozen=True)
class Access:
    """One entry of the JWT ``access`` claim."""

    type: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class TokenRequest:
    """What one token request asked for and got (for assertions)."""

    user: str | None
    service: str
    requested: tuple[Access, ...]
    granted: tuple[Access, ...]
    method: str


@dataclass
class _Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    refused: int = 0
    requests: list[TokenRequest] = field(default_factory=list)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_scopes(values: list[str]) -> list[Access]:
    """``repository:library/busybox:pull,push`` → Access; several scopes may share one value
    separated by spaces (the distribution spec allows both forms)."""
    out: list[Access] = []
    for value in values:
        for scope in value.split():
            head, _, actions = scope.rpartition(":")
            type_, _, name = head.partition(":")
            if not type_ or not name:
                continue
            out.append(Access(type_, name, tuple(a for a in actions.split(",") if a)))
    return out


class TokenServer:
    """Issue registry tokens to the ``users`` it knows (``{user: password}``).

    - ``anonymous``: also serve requests without credentials, granting only ``pull``.
    - ``authorize``: decide the granted actions yourself (default: all requested, or ``pull``
      only for anonymous requests).
    - ``expires_in``: token lifetime in seconds (the ``exp`` claim and ``expires_in``).
    """

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        service: str = "test-registry",
        issuer: str = "test-token-issuer",
        anonymous: bool = False,
        authorize: Authorizer | None = None,
        expires_in: int = 300,
    ) -> None:
        self.users = dict(users or {})
        self.service = service
        self.issuer = issuer
        self.anonymous = anonymous
        self.authorize = authorize
        self.expires_in = expires_in
        self._stats = _Stats()
        self._workdir: Path | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._x5c = ""

    # -- public ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("token server not started")
        return int(self._httpd.server_address[1])

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def signer_cert(self) -> Path:
        """The certificate the registry must trust (``rootcertbundle``)."""
        if self._workdir is None:
            raise RuntimeError("token server not started")
        return self._workdir / "signer.crt"

    @property
    def issued(self) -> int:
        """Tokens handed out so far."""
        with self._stats.lock:
            return self._stats.issued

    @property
    def refused(self) -> int:
        """Requests answered 401 (bad or missing credentials)."""
        with self._stats.lock:
            return self._stats.refused

    @property
    def requests(self) -> list[TokenRequest]:
        """Every successful token request, in order."""
        with self._stats.lock:
            return list(self._stats.requests)

    def registry_auth(self) -> TokenAuth:
        """The ``token_auth`` to give a ``RegistryServer`` so it trusts this server."""
        return TokenAuth(
            realm=self.realm,
            service=self.service,
            issuer=self.issuer,
            rootcertbundle=self.signer_cert,
        )

    def make_token(self, user: str | None, access: list[Access]) -> str:
        """Sign a JWT for ``user`` with ``access`` (also usable directly by tests)."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [
                {"type": a.type, "name": a.name, "actions": list(a.actions)}
                for a in access
            ],
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        assert self._workdir is not None
        signature = run_openssl(
            "dgst", "-sha256", "-sign", str(self._workdir / "signer.key"),
            stdin=signing_input.encode(),
        )  # fmt: skip
        return signing_input + "." + _b64url(signature)

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="tokensrv-", dir=scratch_root()))
        key, cert = self._workdir / "signer.key", self._workdir / "signer.crt"
        run_openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=image-mirror test token signer",
        )  # fmt: skip
        der = ssl.PEM_cert_to_DER_cert(cert.read_text())
        self._x5c = base64.b64encode(der).decode("ascii")

        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),
            name="token-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler ---------------------------------------------------------------

    def _grant(self, user: str | None, requested: list[Access]) -> list[Access]:
        granted: list[Access] = []
        for acc in requested:
            if self.authorize is not None:
                actions = self.authorize(user, acc.type, acc.name, list(acc.actions))
            elif user is None:
                actions = [a for a in acc.actions if a == "pull"]
            else:
                actions = list(acc.actions)
            if actions:
                granted.append(Access(acc.type, acc.name, tuple(actions)))
        return granted

    def _check(self, user: str | None, password: str | None) -> bool:
        if user is None:
            return self.anonymous
        return user in self.users and self.users[user] == password

    def _record(self, request: TokenRequest | None) -> None:
        with self._stats.lock:
            if request is None:
                self._stats.refused += 1
            else:
                self._stats.issued += 1
                self._stats.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    owner: TokenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self._send(404, {"error": "not found"})
            return
        query = urllib.parse.parse_qs(url.query)
        user, password = self._basic()
        self._issue("GET", query, user, password)

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if url.path != "/token":
            self._send(404, {"error": "not found"})
            return
        if form.get("grant_type", [""])[0] != "password":
            self._send(400, {"error": "unsupported_grant_type"})
            return
        user = form.get("username", [None])[0]
        password = form.get("password", [None])[0]
        self._issue("POST", form, user, password)

    def _basic(self) -> tuple[str | None, str | None]:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None, None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "", None
        user, _, password = decoded.partition(":")
        return user, password

    def _issue(
        self,
        method: str,
        params: dict[str, list[str]],
        user: str | None,
        password: str | None,
    ) -> None:
        owner = self.owner
        service = params.get("service", [""])[0]
        if service != owner.service:
            self._send(400, {"error": f"unknown service {service!r}"})
            return
        if not owner._check(user, password):
            owner._record(None)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="token"')
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        requested = parse_scopes(params.get("scope", []))
        granted = owner._grant(user, requested)
        token = owner.make_token(user, granted)
        owner._record(
            TokenRequest(user, service, tuple(requested), tuple(granted), method)
        )
        self._send(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": owner.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


#: The ``token_server_factory`` fixture: same arguments as ``TokenServer``, returns it started.
TokenServerFactory = Callable[..., TokenServer]

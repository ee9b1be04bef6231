"""The registry authentication flow: challenges, Basic, Bearer tokens and their cache.

A request goes out with the best ``Authorization`` we already have (a cached
token for its scope, or Basic for a host known to want Basic). A 401 carries
``WWW-Authenticate`` challenges; :meth:`Authenticator.answer` turns them into a
new header, fetching a token from the realm when the challenge is ``Bearer``
(anonymously when we have no credentials, as docker does), and the request is
sent again. Once a host's Bearer realm is known, later requests for other
scopes fetch their token first instead of paying for another 401.

Tokens are cached per (endpoint, service, scopes) until ``expires_in`` (default
60 s) on the injected clock; a 401 with a cached token drops it and asks again
once. Credentials go to the realm the registry names — that is how token auth
works — but never over plain HTTP to a non-loopback realm of a TLS registry.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import anyio

from ..errors import AuthError, ProtocolError
from ..transport.gate import Clock
from ..transport.status import Api, Failure, status_error
from ..value import frozen
from .credentials import Credential, CredentialStore
from .hosts import ResolvedHost, is_loopback

__all__ = [
    "Authenticator",
    "Challenge",
    "TokenRequest",
    "TokenResponse",
    "parse_challenges",
    "repository_scope",
]

log = logging.getLogger("mirror.registry")

DEFAULT_TOKEN_SECONDS = 60.0
CLIENT_ID = "image-mirror"

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_BARE = re.compile(r"[^\s,]+")  # lenient: servers send unquoted URLs, which are no RFC tokens


@frozen
class Challenge:
    """One ``WWW-Authenticate`` challenge: a scheme (lower-case) and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values (RFC 7235) into challenges.

    Handles several headers, several challenges in one header, quoted values
    with commas and backslash escapes, unquoted values and any letter case.
    A token not followed by ``=`` starts a new challenge; anything unparsable
    is skipped rather than failing the request.
    """
    challenges: list[Challenge] = []
    for value in values:
        pos, end = 0, len(value)
        scheme: str | None = None
        params: dict[str, str] = {}
        while pos < end:
            while pos < end and value[pos] in " \t,":
                pos += 1
            match = _TOKEN.match(value, pos)
            if match is None:
                pos += 1
                continue
            name = match.group()
            pos = match.end()
            after = pos
            while after < end and value[after] in " \t":
                after += 1
            if after < end and value[after] == "=" and scheme is not None:
                after += 1
                while after < end and value[after] in " \t":
                    after += 1
                quoted = _QUOTED.match(value, after)
                if quoted:
                    params[name.lower()] = _ESCAPE.sub(r"\1", quoted.group(1))
                    pos = quoted.end()
                else:
                    bare = _BARE.match(value, after)
                    params[name.lower()] = bare.group() if bare else ""
                    pos = bare.end() if bare else after
                continue
            if scheme is not None:
                challenges.append(Challenge(scheme, params))
            scheme, params = name.lower(), {}
            pos = after
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
    return challenges


def repository_scope(name: str, *actions: str) -> str:
    """``repository:<name>:pull`` / ``repository:<name>:pull,push``."""
    return f"repository:{name}:{','.join(actions or ('pull',))}"


@frozen
class TokenRequest:
    """An HTTP request to a token realm (sent by the transport without auth flow)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    form: Mapping[str, str] | None = field(default=None, repr=False)


@frozen
class TokenResponse:
    status: int
    body: bytes = field(repr=False)


TokenFetcher = Callable[[TokenRequest, ResolvedHost], Awaitable[TokenResponse]]


_Key = tuple[str, str, tuple[str, ...]]  # (endpoint, service, sorted scopes)


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float


class Authenticator:
    """Chooses the ``Authorization`` header per request; owns the token cache."""

    def __init__(self, credentials: CredentialStore, clock: Clock, fetch: TokenFetcher) -> None:
        self._credentials = credentials
        self._clock = clock
        self._fetch = fetch
        self._tokens: dict[_Key, _Token] = {}
        self._bearer: dict[str, Challenge] = {}  # netloc -> last Bearer challenge
        self._basic: set[str] = set()  # netlocs known to want Basic
        self._locks: dict[_Key, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"Authenticator(tokens={len(self._tokens)}, hosts={sorted(set(self._bearer) | self._basic)!r})"

    def _key(self, target: ResolvedHost, challenge: Challenge, scopes: Sequence[str]) -> _Key:
        return target.netloc.lower(), challenge.service or "", tuple(sorted(set(scopes)))

    def _cached(self, key: _Key) -> str | None:
        token = self._tokens.get(key)
        if token is None:
            return None
        if self._clock() >= token.expires_at:
            del self._tokens[key]
            return None
        return token.value

    async def header_for(self, target: ResolvedHost, scopes: Sequence[str]) -> str | None:
        """The header to send first: a cached or fetchable token, Basic, or nothing."""
        netloc = target.netloc.lower()
        challenge = self._bearer.get(netloc)
        if challenge is not None:
            return await self._bearer_header(target, challenge, scopes, what=None)
        if netloc in self._basic:
            credential = await self._credentials.get(target.credential_host)
            if credential:
                return credential.basic_header
        return None

    async def answer(
        self,
        target: ResolvedHost,
        scopes: Sequence[str],
        challenge_headers: Iterable[str],
        sent: str | None,
        what: str,
    ) -> str:
        """A new header after a 401, or :class:`AuthError` when there is no way forward.

        The transport calls this at most once per request: when the header
        returned here is refused too, it raises :meth:`refused` instead.
        """
        netloc = target.netloc.lower()
        challenges = parse_challenges(challenge_headers)
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            self._bearer[netloc] = bearer
            all_scopes = list(scopes) + [s for s in bearer.scopes if s not in scopes]
            key = self._key(target, bearer, all_scopes)
            stale = self._tokens.get(key)
            if stale is not None and sent == f"Bearer {stale.value}":
                del self._tokens[key]  # expired or revoked early: ask again once
            return await self._bearer_header(target, bearer, all_scopes, what=what)
        if basic is not None:
            self._basic.add(netloc)
            credential = await self._credentials.get(target.credential_host)
            if not credential:
                raise AuthError(
                    f"{what}: {target.netloc} requires a login and no credentials are configured "
                    f"for {target.credential_host} (docker config.json)",
                    status=401,
                )
            if sent == credential.basic_header:
                raise await self.refused(target, what, sent)
            return credential.basic_header
        raise AuthError(f"{what}: {target.netloc} answered 401 without a usable challenge", status=401)

    async def refused(self, target: ResolvedHost, what: str, sent: str | None) -> AuthError:
        """The error for a request refused even after answering its challenge."""
        credential = await self._credentials.get(target.credential_host)
        if sent is not None and sent.startswith("Basic "):
            return AuthError(f"{what}: {target.netloc} rejected the credentials for {target.credential_host}",
                             status=401)
        who = f"the credentials for {target.credential_host}" if credential else "anonymous access"
        return AuthError(f"{what}: {target.netloc} refused {who} for this repository", status=401)

    async def _bearer_header(
        self, target: ResolvedHost, challenge: Challenge, scopes: Sequence[str], *, what: str | None
    ) -> str:
        key = self._key(target, challenge, scopes)
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:  # concurrent requests for one scope share one token request
            cached = self._cached(key)
            if cached is not None:
                return f"Bearer {cached}"
            token, lifetime = await self._request_token(target, challenge, key[2], what or f"token for {target.netloc}")
            self._tokens[key] = _Token(token, self._clock() + lifetime)
        return f"Bearer {token}"

    async def _request_token(
        self, target: ResolvedHost, challenge: Challenge, scopes: tuple[str, ...], what: str
    ) -> tuple[str, float]:
        realm = challenge.realm or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProtocolError(f"{what}: {target.netloc} named an invalid token realm")
        credential = await self._credentials.get(target.credential_host)
        trusted_http = target.plain_http or target.insecure or is_loopback(parts.netloc)
        if credential and parts.scheme == "http" and not trusted_http:
            raise AuthError(
                f"{what}: refusing to send the credentials for {target.credential_host} "
                f"to the plain-HTTP token realm on {parts.netloc}"
            )
        query: list[tuple[str, str]] = []
        if challenge.service:
            query.append(("service", challenge.service))
        if credential and credential.identity_token:
            form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": credential.identity_token}
            if challenge.service:
                form["service"] = challenge.service
            if scopes:
                form["scope"] = " ".join(scopes)
            response = await self._fetch(TokenRequest("POST", realm, {}, form), target)
            if response.status not in (404, 405):
                return self._parse_token(response, target, what, credential)
            log.debug("token realm on %s does not take OAuth2 POST; falling back to GET", parts.netloc)
        headers: dict[str, str] = {}
        if credential:
            headers["Authorization"] = credential.basic_header
            if credential.username:
                query.append(("account", credential.username))
        query.extend(("scope", scope) for scope in scopes)
        separator = "&" if parts.query else "?"
        url = realm + (separator + urlencode(query) if query else "")
        response = await self._fetch(TokenRequest("GET", url, headers), target)
        return self._parse_token(response, target, what, credential)

    def _parse_token(
        self, response: TokenResponse, target: ResolvedHost, what: str, credential: Credential | None
    ) -> tuple[str, float]:
        if response.status != 200:
            who = f"the credentials for {target.credential_host}" if credential else "an anonymous token"
            raise status_error(Failure(response.status, response.body, what, target.netloc, Api.TOKEN, who=who))
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProtocolError(f"{what}: the token server for {target.netloc} answered something that is not JSON")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"{what}: the token server for {target.netloc} sent no token")
        expires = data.get("expires_in")
        lifetime = float(expires) if isinstance(expires, (int, float)) and expires > 0 else DEFAULT_TOKEN_SECONDS
        return token, lifetime

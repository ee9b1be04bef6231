"""Embedded state that survives between runs: HTTP validators (ETags) and bodies.

Why a database at all: GitHub's primary quota is 60 requests an hour without a
token and 5,000 with one, and a discovery run re-reads the same release pages
and files every time. A ``304 Not Modified`` to a request that carries a saved
``ETag`` costs nothing against the quota (when the request is authorised), so
keeping ``ETag`` + body per URL turns a repeated run into free requests.

Why SQLite: one file, transactions (a crash mid-write leaves the previous row,
which a directory of JSON files cannot promise), in the standard library.

Why a thread and a limiter: ``sqlite3`` is blocking. Async code reaches the
database only through :func:`anyio.to_thread.run_sync` with a dedicated
``CapacityLimiter(1)``, so the event loop never blocks and the one connection
is never used by two threads at once (hence ``check_same_thread=False``).

Robustness: a file that is not a database, fails ``PRAGMA quick_check`` or has a
*newer* schema (``PRAGMA user_version``) than this code knows is reported as a
``warning`` event, moved aside (``state.db.corrupt-<time>`` /
``state.db.v<N>-<time>``) and rebuilt empty: a cache is never worth failing a
run for. Entries are best-effort: a failed read is a miss, a failed write is a
warning. (Version 1 files made before may hold an unused ``kv`` table; it is
left alone.)

:class:`NullCache` has the same interface and remembers nothing (``--no-cache``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypeVar

import anyio
import anyio.to_thread

from .errors import CacheError
from .events import EventSink, NullSink, Warning
from .value import frozen

__all__ = [
    "SCHEMA_VERSION",
    "Cache",
    "CachedResponse",
    "NullCache",
    "StateCache",
    "default_cache_path",
    "open_cache",
]

#: Bump when the tables change; older files are migrated, newer ones moved aside.
SCHEMA_VERSION = 1

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS http (
    key           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    headers       TEXT NOT NULL,
    body          BLOB NOT NULL,
    stored_at     REAL NOT NULL
);
"""


def default_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/image-mirror/state.db``, else ``~/.cache/image-mirror/state.db``.

    The XDG spec says a relative ``XDG_CACHE_HOME`` is invalid and must be ignored.
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME")
        base = (Path(home) if home else Path.home()) / ".cache"
    return base / "image-mirror" / "state.db"


@frozen
class CachedResponse:
    """A stored 200 response: its validators, the headers we need again, and the body.

    ``headers`` keeps only what a reuse needs (``Link`` for pagination, the
    content type); never request headers, so never the token.
    """

    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stored_at: float = 0.0


class StateCache(Protocol):
    """What the clients and the pipeline need from a cache; :class:`Cache` and :class:`NullCache`."""

    async def get_response(self, key: str) -> CachedResponse | None: ...

    async def put_response(self, key: str, response: CachedResponse) -> None: ...

    async def close(self) -> None: ...


class _Unusable(Exception):
    """The file cannot be used as it is; ``suffix`` names the moved-aside copy."""

    def __init__(self, reason: str, suffix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suffix = suffix


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls back and propagates.

    The connection is in autocommit mode (``isolation_level=None``) so the
    transaction boundaries are exactly these statements, not sqlite3's guesses.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    # timeout: another process (a CronJob, a second terminal) may hold the write lock briefly.
    return sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)


def _check(conn: sqlite3.Connection) -> int:
    """The file's schema version; raises :class:`_Unusable` when it must be rebuilt."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise _Unusable(
                f"schema version {version} is newer than this image-mirror understands ({SCHEMA_VERSION})",
                f"v{version}",
            )
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise _Unusable(f"not a usable SQLite database ({exc})", "corrupt") from None
    if [row[0] for row in rows] != ["ok"]:
        detail = "; ".join(str(row[0]) for row in rows[:3])
        raise _Unusable(f"integrity check failed ({detail})", "corrupt")
    return version


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Create or upgrade the tables inside one transaction (version 0 = a new file).

    Statements run one by one: ``executescript`` would COMMIT the open transaction first.
    """
    if version == SCHEMA_VERSION:
        return
    with _transaction(conn):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _move_aside(path: Path, suffix: str) -> Path:
    """Rename the bad file (and its WAL/SHM companions, which belong to it) out of the way."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.{suffix}-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.{suffix}-{stamp}.{counter}")
    os.replace(path, target)
    for companion in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + companion)
        if extra.exists():
            os.replace(extra, target.with_name(target.name + companion))
    return target


def _create_private(path: Path) -> None:
    """Create the directory 0700 and the file 0600: bodies may come from private repositories."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _open_sync(path: Path) -> tuple[sqlite3.Connection, list[dict[str, str]]]:
    """Open (rebuilding when unusable); return the connection and the warnings to emit."""
    warnings: list[dict[str, str]] = []
    try:
        _create_private(path)
    except OSError as exc:
        raise CacheError(f"cannot create the cache {path}: {exc.strerror or exc}") from None
    for attempt in (1, 2):
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path)
            version = _check(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            _migrate(conn, version)
            return conn, warnings
        except _Unusable as problem:
            if conn is not None:
                conn.close()
            if attempt == 2:
                raise CacheError(f"cannot rebuild the cache {path}: {problem.reason}") from None
            try:
                moved = _move_aside(path, problem.suffix)
                _create_private(path)
            except OSError as exc:
                raise CacheError(f"cannot move the unusable cache {path} aside: {exc.strerror or exc}") from None
            warnings.append(
                {
                    "message": f"cache {path}: {problem.reason}; moved it to {moved.name} and started an empty one",
                    "path": str(path),
                    "moved_to": str(moved),
                }
            )
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise CacheError(f"cannot open the cache {path}: {exc}") from None
    raise AssertionError("unreachable")  # pragma: no cover


class Cache:
    """The SQLite state database: ``cache = await Cache.open(path)`` … ``await cache.close()``,
    or ``async with Cache(path) as cache:`` (the constructor does no I/O).

    Every public method is async and runs the blocking ``sqlite3`` call in a
    worker thread, one at a time (``CapacityLimiter(1)``).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, events: EventSink | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._events: EventSink = events if events is not None else NullSink()
        self._conn: sqlite3.Connection | None = None
        self._limiter = anyio.CapacityLimiter(1)
        self._warned_write = False

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        return f"Cache({str(self.path)!r}, {state})"

    @classmethod
    async def open(cls, path: str | os.PathLike[str] | None = None, *, events: EventSink | None = None) -> Cache:
        """Open (or create, or rebuild) the database at ``path`` (default :func:`default_cache_path`).

        A corrupt or too-new file is moved aside and rebuilt, with a ``warning``
        event. Raises :class:`CacheError` only when the location itself is
        unusable (no permission, read-only file system); see :func:`open_cache`.
        """
        cache = cls(path, events=events)
        await cache._open()
        return cache

    async def _open(self) -> None:
        if self._conn is not None:
            return
        conn, warnings = await anyio.to_thread.run_sync(_open_sync, self.path, limiter=self._limiter)
        self._conn = conn
        for warning in warnings:
            self._events.emit(Warning("cache", **warning))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await anyio.to_thread.run_sync(conn.close, limiter=self._limiter)

    async def __aenter__(self) -> Cache:
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._conn
        if conn is None:
            raise CacheError(f"cache {self.path} is not open")
        return await anyio.to_thread.run_sync(fn, conn, limiter=self._limiter)

    # -- HTTP validators and bodies (best-effort) ------------------------------------------

    async def get_response(self, key: str) -> CachedResponse | None:
        """The stored response for ``key``, or None (also when the read fails)."""

        def read(conn: sqlite3.Connection) -> CachedResponse | None:
            row = conn.execute(
                "SELECT etag, last_modified, headers, body, stored_at FROM http WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            headers = json.loads(row[2])
            return CachedResponse(
                body=bytes(row[3]),
                etag=row[0],
                last_modified=row[1],
                headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
                stored_at=float(row[4]),
            )

        try:
            return await self._run(read)
        except (sqlite3.Error, ValueError) as exc:
            self._warn_once(f"cache {self.path}: cannot read a stored response ({exc}); fetching it again")
            return None

    async def put_response(self, key: str, response: CachedResponse) -> None:
        """Store (replace) the response for ``key`` in one transaction; a failure is a warning."""

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO http (key, etag, last_modified, headers, body, stored_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        response.etag,
                        response.last_modified,
                        json.dumps(dict(response.headers), sort_keys=True),
                        response.body,
                        response.stored_at or time.time(),
                    ),
                )

        try:
            await self._run(write)
        except sqlite3.Error as exc:
            self._warn_once(f"cache {self.path}: cannot store a response ({exc}); continuing without it")

    def _warn_once(self, message: str) -> None:
        """One warning per run for best-effort failures, not one per request."""
        if not self._warned_write:
            self._warned_write = True
            self._events.emit(Warning("cache", message, str(self.path)))


class NullCache:
    """Remembers nothing (``--no-cache``); same interface as :class:`Cache`."""

    def __repr__(self) -> str:
        return "NullCache()"

    @classmethod
    async def open(cls, path: str | os.PathLike[str] | None = None, *, events: EventSink | None = None) -> NullCache:
        """Same signature as :meth:`Cache.open`; opens nothing."""
        return cls()

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> NullCache:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def get_response(self, key: str) -> CachedResponse | None:
        return None

    async def put_response(self, key: str, response: CachedResponse) -> None:
        return None


async def open_cache(
    path: str | os.PathLike[str] | None = None,
    *,
    enabled: bool = True,
    events: EventSink | None = None,
) -> Cache | NullCache:
    """What the CLI calls for ``--cache PATH`` / ``--no-cache``.

    A location that cannot be used at all (permissions, read-only file system)
    becomes a ``warning`` event and a :class:`NullCache`: discovery still works,
    only without conditional requests.
    """
    if not enabled:
        return NullCache()
    sink: EventSink = events if events is not None else NullSink()
    try:
        return await Cache.open(path, events=sink)
    except CacheError as exc:
        sink.emit(Warning("cache", f"{exc}; running without a cache"))
        return NullCache()

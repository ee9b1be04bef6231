"""The SQLite cache: round trips, atomic writes (also across a killed process), rebuilds."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from mirror.cache import SCHEMA_VERSION, Cache, CachedResponse, NullCache, default_cache_path, open_cache
from mirror.errors import CacheError
from mirror.events import ListSink

pytestmark = pytest.mark.anyio

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_default_path_honours_xdg_cache_home(tmp_path: Path) -> None:
    assert default_cache_path({"XDG_CACHE_HOME": str(tmp_path), "HOME": "/nowhere"}) == (
        tmp_path / "image-mirror" / "state.db"
    )
    assert default_cache_path({"HOME": str(tmp_path)}) == tmp_path / ".cache" / "image-mirror" / "state.db"
    # The XDG spec: a relative path is invalid and ignored.
    assert default_cache_path({"XDG_CACHE_HOME": "rel", "HOME": str(tmp_path)}) == (
        tmp_path / ".cache" / "image-mirror" / "state.db"
    )


async def test_default_location_is_created_private(_isolated_env: Path) -> None:
    async with Cache() as cache:
        assert cache.path == Path(os.environ["XDG_CACHE_HOME"]) / "image-mirror" / "state.db"
        await cache.put_response("k", CachedResponse(b"x"))
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700


async def test_responses_round_trip_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    response = CachedResponse(
        b"\x00body",
        etag='"abc"',
        last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
        headers={"Link": '<https://x/?page=2>; rel="next"'},
        stored_at=12.5,
    )
    cache = await Cache.open(path)
    assert await cache.get_response("k") is None
    await cache.put_response("k", response)
    await cache.close()

    async with Cache(path) as again:
        assert await again.get_response("k") == response
        assert await again.get_response("other") is None
        newer = CachedResponse(b"new", etag='"def"', stored_at=13.0)
        await again.put_response("k", newer)  # replaces, never duplicates
        assert await again.get_response("k") == newer
    assert "closed" in repr(again)


def test_a_process_killed_mid_write_leaves_the_previous_values(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    script = textwrap.dedent(
        f"""
        import os, anyio
        import mirror.cache as cache_module
        from mirror.cache import Cache

        from mirror.cache import CachedResponse

        real_dumps = cache_module.json.dumps
        def dumps(value, **kwargs):
            if value == {{"crash": "1"}}:
                os._exit(17)  # inside the open transaction: no rollback, no close, as if the machine died
            return real_dumps(value, **kwargs)

        async def main():
            cache = await Cache.open({str(path)!r})
            await cache.put_response("a", CachedResponse(b"old-a", etag='"a"'))
            cache_module.json.dumps = dumps
            await cache.put_response("a", CachedResponse(b"new-a", headers={{"crash": "1"}}))

        anyio.run(main)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 17, done.stderr

    async def check() -> None:
        events = ListSink()
        async with Cache(path, events=events) as cache:
            stored = await cache.get_response("a")
            assert stored is not None and stored.body == b"old-a"
        assert events.events == []  # recovered by SQLite, nothing to rebuild

    anyio.run(check)


async def test_a_corrupt_file_is_reported_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    garbage = b"this is not a database\x00" * 200
    path.write_bytes(garbage)
    events = ListSink()

    async with Cache(path, events=events) as cache:
        await cache.put_response("k", CachedResponse(b"v"))
        stored = await cache.get_response("k")
        assert stored is not None and stored.body == b"v"

    [warning] = events.named("warning")
    assert warning["source"] == "cache" and "not a usable SQLite database" in warning["message"]
    moved = Path(warning["moved_to"])
    assert moved.name.startswith("state.db.corrupt-") and moved.read_bytes() == garbage


async def test_a_damaged_database_fails_the_integrity_check_and_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with Cache(path) as cache:
        for i in range(200):
            await cache.put_response(f"k{i}", CachedResponse(b"x" * 500))
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 4] = b"\xff" * 8192  # scribble over b-tree pages, keep the header
    path.write_bytes(bytes(data))
    events = ListSink()

    async with Cache(path, events=events) as cache:
        assert await cache.get_response("k1") is None
    [warning] = events.named("warning")
    assert "moved it to state.db.corrupt-" in warning["message"]


async def test_a_newer_schema_is_reported_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    events = ListSink()

    async with Cache(path, events=events) as cache:
        await cache.put_response("k", CachedResponse(b"x"))

    [warning] = events.named("warning")
    assert f"schema version {SCHEMA_VERSION + 1} is newer" in warning["message"]
    assert Path(warning["moved_to"]).name.startswith(f"state.db.v{SCHEMA_VERSION + 1}-")
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()


async def test_an_unusable_location_falls_back_to_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    events = ListSink()
    cache = await open_cache(blocker / "state.db", events=events)
    assert isinstance(cache, NullCache)
    assert "running without a cache" in events.named("warning")[0]["message"]
    with pytest.raises(CacheError):
        await Cache.open(blocker / "state.db")


async def test_null_cache_remembers_nothing() -> None:
    cache = await open_cache(enabled=False)
    assert isinstance(cache, NullCache)
    async with cache:
        await cache.put_response("k", CachedResponse(b"x", etag='"e"'))
        assert await cache.get_response("k") is None


async def test_using_a_closed_cache_is_an_error(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "state.db")
    with pytest.raises(CacheError, match="not open"):
        await cache.get_response("k")

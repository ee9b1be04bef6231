"""The token never shows: not in logs (DEBUG), events, output, errors, reprs or the cache file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from mirror import config as configmod
from mirror.cache import Cache
from mirror.errors import MirrorError
from mirror.events import ListSink
from mirror.ui.jsonlines import record
from tests.fakes.github import FakeGitHub

from .conftest import TOKEN, ClientFactory
from .dataset import BIG_REPO, CONFIG
from .runner import run_entries

pytestmark = pytest.mark.anyio

CFG = configmod.parse(json.dumps(CONFIG))
WRONG = "ghp_WRONGt0ken9876543210zyxwvuSECRET"


def texts_of(error: BaseException) -> list[str]:
    """Everything an error would print: message, repr, notes, and the same for its causes."""
    out: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out += [str(current), repr(current), *getattr(current, "__notes__", [])]
        out += [repr(value) for value in vars(current).values()]
        current = current.__cause__ or current.__context__
    return out


async def test_the_token_appears_nowhere(
    gh: FakeGitHub,
    make_client: ClientFactory,
    events: ListSink,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "state.db"
    texts: list[str] = []
    async with Cache(path, events=events) as cache:
        client = make_client(cache=cache)
        texts.append(repr(client))
        texts.append(repr(vars(client)))
        gh.secondary_limit(times=1, retry_after=1)
        gh.fail_next(502)
        results, errors = await run_entries(CFG.entries, client)  # includes a missing repo and file
        gh.exhaust(reset_in=3600)
        results2, errors2 = await run_entries(CFG.entries, make_client(cache=cache))  # rate limited
        bad = make_client(cache=cache, token=WRONG)
        texts.append(repr(vars(bad)))
        try:
            await bad.releases(BIG_REPO)
        except MirrorError as exc:
            errors2["bad-token"] = exc

    assert len(results) == 4 and set(errors) == {"missing-repo", "missing-file"}
    assert errors2 and all(isinstance(e, MirrorError) for e in errors2.values())
    for error in [*errors.values(), *errors2.values()]:
        texts += texts_of(error)
    texts.append(caplog.text)
    texts += [record.getMessage() for record in caplog.records]
    texts += [record(event) for event in events.events]
    texts += capsys.readouterr()
    assert any("GET http://" in line for line in caplog.messages)  # the debug log did run

    blob = "\n".join(texts)
    for secret in (TOKEN, WRONG):
        assert secret not in blob
        assert secret not in repr(results) + repr(results2)
        for file in tmp_path.iterdir():
            assert secret.encode() not in file.read_bytes(), file

"""Docker Hub's pull quota, against a front that sends its documented headers before a real registry.

The front (:class:`tests.fakes.quota.QuotaFront`) answers manifest GETs and HEADs with
``ratelimit-limit: 100;w=21600`` / ``ratelimit-remaining: N;w=21600``, takes one pull per
2xx manifest GET and answers 429 ``TOOMANYREQUESTS`` once none is left. What must hold:

* below ``pull_floor`` no manifest GET is sent: the lines that need a pull fail with the
  quota in the message, the lines already mirrored (HEADs only) are skipped, the front never
  has to answer 429, and the report's ``pulls`` are the 2xx manifest GETs the front counted;
* a waiting pull sleeps (injected time: nothing really waits) and re-reads the quota with a
  HEAD, up to ``--max-wait``; a new window lets the pulls go on;
* ``pull_floor: 0`` is today's behaviour; a 429 with ``ratelimit-remaining: 0`` fails the
  pull at once, without retries;
* ``--copier skopeo`` checks the floor before the line starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirror import imageslist
from mirror.copy import NativeCopier
from mirror.events import ListSink, PullQuotaWait, Stats
from mirror.pipeline.selection import Overrides
from mirror.pipeline.sync import Outcome, SyncOptions, SyncReport, WorkItem, sync
from mirror.registry import CredentialStore, RegistryClient, parse_registries
from tests.fakes.distribution import FakeTime
from tests.fakes.quota import QuotaFront
from tests.integration.sync.helpers import cli_in_thread, mirrored, write_list
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

pytestmark = pytest.mark.anyio

#: Lines whose destination is mirrored before the test: HEADs only, no pull.
MIRRORED = (("flannel/flannel", "v0.25.1"), ("library/alpine", "3.20.0"))
#: Lines that need pulls: an OCI index of three platforms (4 manifest GETs) and a Docker list of two (3).
NEEDS_PULL = (("library/busybox", "1.36.1"), ("calico/node", "v3.28.0"), ("calico/node", "v3.29.0"))


def _line(source_host: str, dest_host: str, repo: str, tag: str) -> str:
    return f"{source_host}/{repo} {dest_host}/{mirrored(repo)} {tag}"


async def _premirror(source: SeededRegistry, dest: RegistryServer, tmp_path: Path) -> None:
    """Mirror MIRRORED straight from the source (not through the front)."""
    lines = [_line(source.host, dest.host, repo, tag) for repo, tag in MIRRORED]
    assert await cli_in_thread(write_list(tmp_path, lines, "premirror-list"), "sync") == 0


def _lines(front: QuotaFront, dest: RegistryServer, needs_pull: tuple[tuple[str, str], ...] = NEEDS_PULL) -> list[str]:
    return [_line(front.host, dest.host, repo, tag) for repo, tag in (*MIRRORED, *needs_pull)]


def _registries(tmp_path: Path, front: QuotaFront, floor: int) -> Path:
    path = tmp_path / "registries.yaml"
    path.write_text(f'"{front.host}":\n  pull_floor: {floor}\n', encoding="utf-8")
    return path


async def _cli_sync(front: QuotaFront, dest: RegistryServer, tmp_path: Path, *args: str, floor: int,
                    needs_pull: tuple[tuple[str, str], ...] = NEEDS_PULL) -> tuple[int, dict[str, object]]:
    """``sync --report`` of MIRRORED and ``needs_pull`` from the front: the exit code and the report."""
    images_list = write_list(tmp_path, _lines(front, dest, needs_pull))
    report_path = tmp_path / "report.json"
    code = await cli_in_thread(images_list, "sync", *args, "--report", str(report_path),
                               registries=_registries(tmp_path, front, floor))
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return code, data


def _failures(report: dict[str, object]) -> list[str]:
    results = report["results"]
    assert isinstance(results, list)
    return [r["reason"] for r in results if r["outcome"] == "failed"]


def _by_outcome(report: dict[str, object]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    results = report["results"]
    assert isinstance(results, list)
    for result in results:
        repo = result["source"].split("/", 1)[1]
        out.setdefault(result["outcome"], set()).add((repo, result["tag"]))
    return out


async def test_below_the_floor_pulls_stop_and_only_the_lines_needing_one_fail(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    # One pull is left above the floor: no GET is ever cancelled in flight (by a sibling child
    # manifest's failure), so what the front answered is what the client received.
    async with QuotaFront(source_registry.url, remaining=10) as front:
        code, report = await _cli_sync(front, dest_registry, tmp_path, "--max-wait", "0", floor=10)

        outcomes = _by_outcome(report)
        assert code == 1
        assert outcomes["skipped"] == set(MIRRORED)
        assert outcomes["failed"] == set(NEEDS_PULL)  # one pull finishes none of them
        assert front.refused == 0
        assert front.remaining == 9  # GETs stopped at the floor, not at 0
        assert report["pulls"] == {front.host: front.pulls} == {front.host: 1}
        assert front.count(method="GET", kind="manifest") == 1
        reasons = set(_failures(report))
        assert reasons and all(
            reason.startswith(f"{front.host} pull quota: ") and "of 100 left in 21600 s (floor 10)" in reason
            for reason in reasons
        ), reasons


def _work(lines: list[str]) -> list[WorkItem]:
    parsed = imageslist.parse("\n".join(lines) + "\n")
    return [WorkItem(line, Overrides().destination(line)) for line in parsed]


async def _sync_with(front: QuotaFront, dest: RegistryServer, time: FakeTime, *,
                     max_wait: float) -> tuple[SyncReport, Stats, ListSink]:
    """The pipeline on injected time (``pull_floor: 10`` for the front): report, counters, events."""
    stats, sink, lines = Stats(), ListSink(), _lines(front, dest)
    hosts = parse_registries({front.host: {"pull_floor": 10}})
    async with RegistryClient.open(hosts=hosts, stats=stats, credentials=CredentialStore(), clock=time.clock,
                                   sleep=time.sleep, events=sink, max_wait=max_wait) as client:
        report = await sync(_work(lines), client, NativeCopier(client), SyncOptions(jobs=4), sink)
    return report, stats, sink


async def test_a_waiting_pull_rereads_the_quota_with_a_head_and_goes_on_in_a_new_window(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    async with QuotaFront(source_registry.url, remaining=10) as front:
        time = FakeTime()
        heads_before_wait: list[int] = []

        async def sleep(seconds: float) -> None:
            heads_before_wait.append(front.count(method="HEAD", kind="manifest"))
            front.remaining = 100  # the window turns over while we wait
            await time_sleep(seconds)

        time_sleep, time.sleep = time.sleep, sleep  # type: ignore[method-assign]

        report, stats, sink = await _sync_with(front, dest_registry, time, max_wait=60)

        waits = [e for e in sink.events if isinstance(e, PullQuotaWait)]
        # 10 left, one pull in flight: 9; or 8 when a planning HEAD answered after that pull
        # reached the front (its reading already counts the pull we still count in flight).
        assert waits[0] in [PullQuotaWait(front.host, left, 100, 21600, 15.0) for left in (9, 8)]
        # Usually one wait; two when the pull sent before the new window answers after the re-read
        # (replies in flight together count by their minimum).
        assert 1 <= len(waits) <= 2 and all(w.remaining is not None and w.remaining < 10 for w in waits)
        assert time.sleeps == [15.0] * len(waits)
        assert front.count(method="HEAD", kind="manifest") > heads_before_wait[0]  # the re-read
        assert {r.outcome for r in report.results if (r.source.split("/", 1)[1], r.tag) in NEEDS_PULL} == {
            Outcome.COPIED}
        assert report.count(Outcome.SKIPPED) == len(MIRRORED)
        assert front.refused == 0
        assert stats.hosts[front.host].pulls == front.pulls
        assert stats.hosts[front.host].pull_quota_remaining == front.remaining


async def test_after_max_wait_the_lines_needing_a_pull_fail_and_the_others_are_skipped(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    async with QuotaFront(source_registry.url, remaining=9) as front:
        time = FakeTime()

        report, stats, sink = await _sync_with(front, dest_registry, time, max_wait=40)

        assert time.sleeps == [15.0, 15.0, 10.0]  # re-read every 15 s at most, 40 s in all
        assert [e.seconds for e in sink.events if isinstance(e, PullQuotaWait)] == [15.0, 15.0, 10.0]
        assert front.count(method="GET", kind="manifest") == 0
        # planning HEADs, then one re-read per wait
        assert front.count(method="HEAD", kind="manifest") == len(MIRRORED) + len(NEEDS_PULL) + 3
        failed = [r for r in report.results if r.outcome == Outcome.FAILED]
        assert {(r.source.split("/", 1)[1], r.tag) for r in failed} == set(NEEDS_PULL)
        assert {r.reason for r in failed} == {
            f"{front.host} pull quota: 9 of 100 left in 21600 s (floor 10); waited 40 s (--max-wait 40)"}
        assert report.count(Outcome.SKIPPED) == len(MIRRORED)
        assert stats.hosts[front.host].pulls == 0


async def test_pull_floor_0_sends_the_gets_as_before(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    async with QuotaFront(source_registry.url, remaining=9) as front:
        code, report = await _cli_sync(front, dest_registry, tmp_path, "--max-wait", "0", floor=0,
                                       needs_pull=NEEDS_PULL[1:2])

        assert code == 0
        assert _by_outcome(report) == {"skipped": set(MIRRORED), "copied": {NEEDS_PULL[1]}}
        assert front.pulls == 3 and front.remaining == 6  # below 10, pulled all the same
        assert report["pulls"] == {front.host: 3}


async def test_a_429_with_no_pull_left_fails_the_pull_at_once(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    async with QuotaFront(source_registry.url, remaining=0) as front:
        code, report = await _cli_sync(front, dest_registry, tmp_path, floor=0, needs_pull=NEEDS_PULL[1:2])

        assert code == 1
        assert _by_outcome(report) == {"skipped": set(MIRRORED), "failed": {NEEDS_PULL[1]}}
        assert front.count(method="GET", kind="manifest") == front.refused == 1  # no retry
        assert _failures(report) == [f"{front.host} pull quota: 0 of 100 left in 21600 s; none left"]


async def test_skopeo_lines_check_the_floor_before_they_start(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    await _premirror(source_registry, dest_registry, tmp_path)
    async with QuotaFront(source_registry.url, remaining=9) as front:
        code, report = await _cli_sync(front, dest_registry, tmp_path, "--copier", "skopeo", "--max-wait", "0",
                                       floor=10, needs_pull=NEEDS_PULL[1:2])

        assert code == 1
        assert _by_outcome(report) == {"skipped": set(MIRRORED), "failed": {NEEDS_PULL[1]}}
        assert front.count(method="GET") == 0  # skopeo never started
        assert _failures(report) == [f"{front.host} pull quota: 9 of 100 left in 21600 s (floor 10)"]

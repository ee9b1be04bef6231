"""mirror.metrics: what the exposition text says after a run, and how it is written and pushed.

The text is parsed back with the strict parser in ``expfmt.py`` (HELP and TYPE before every
family, contiguous families, no duplicate series, legal escapes only), so these tests check
both the values and the format.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from mirror.errors import InputError, MirrorError
from mirror.events import Stats
from mirror.transport import RetryPolicy, Transport
from tests.support.events import emit
from mirror.metrics import (
    DECLARED,
    MetricsCollector,
    MetricsError,
    last_success_from_text,
    parse_gateway,
    publish,
    push,
    read_last_success,
    write_textfile,
)

from .expfmt import ExpositionError, parse


class FakeClock:
    def __init__(self, wall: float = 1_700_000_000.0, mono: float = 100.0) -> None:
        self.wall = wall
        self.mono = mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


def collector(command: str | None = None, clock: FakeClock | None = None) -> MetricsCollector:
    clock = clock or FakeClock()
    return MetricsCollector(command=command, clock=clock.time, monotonic=clock.monotonic)


def discover_run(metrics: MetricsCollector) -> None:
    """The events of a discover run with two good entries and one failed one."""
    emit(metrics, "discover.entry.start", entry="calico", source="github-releases:projectcalico/calico")
    emit(metrics, "discover.entry.done", entry="calico", source="github-releases:projectcalico/calico",
                 seen=120, found=7, new=2, elapsed=0.84, images=["quay.io/calico/node"], tags=["v3.29.1", "v3.29.2"])
    emit(metrics, "discover.entry.done", entry="pause", source="registry", seen=30, found=3, new=0, elapsed=0.1,
                 images=[], tags=[])
    emit(metrics, "discover.entry.failed", entry="flannel", source="github-latest-release:flannel-io/flannel",
                 error="GitHub quota exhausted", elapsed=1.5)
    emit(metrics, "discover.done", entries=3, failed=1, new=2)


def sync_run(metrics: MetricsCollector, *, failed: bool = False) -> None:
    emit(metrics, "sync.plan", lines=4 if failed else 3, jobs=4, copier="native", dry_run=False, missing=False)
    emit(metrics, "sync.copy.start", source="busybox", destination="reg/mirrored-busybox", tag="1.36.1")
    emit(metrics, "sync.copy.done", source="busybox", destination="reg/mirrored-busybox", tag="1.36.1",
                 digest="sha256:aa", bytes=1000, blobs_sent=2, blobs_mounted=1, blobs_present=0)
    emit(metrics, "sync.copy.done", source="pause", destination="reg/mirrored-pause", tag="3.9",
                 digest="sha256:bb", bytes=234, blobs_sent=1, blobs_mounted=0, blobs_present=3)
    emit(metrics, "sync.skip", source="pause", destination="reg/mirrored-pause", tag="3.10", reason="up to date")
    emit(metrics, "sync.referrers", source="pause", destination="reg/mirrored-pause", tag="3.10", copied=2,
         present=1, failed=("sha256:cc: 403",), skipped=())
    if failed:
        emit(metrics, "sync.copy.failed", source="x", destination="reg/x", tag="1", reason="403", stage="copy")
    emit(metrics, "sync.done", lines=4 if failed else 3, copied=2, skipped=1, failed=1 if failed else 0,
                 planned=0, bytes=1234, elapsed=2.0)


# --------------------------------------------------------------------------------------------
# discover
# --------------------------------------------------------------------------------------------


def test_discover_tags_seen_found_new_per_entry() -> None:
    metrics = collector()
    discover_run(metrics)
    families = parse(metrics.render())

    assert families["image_mirror_discover_tags_seen"].by("entry") == {"calico": 120, "pause": 30}
    assert families["image_mirror_discover_tags_found"].by("entry") == {"calico": 7, "pause": 3}
    assert families["image_mirror_discover_tags_new"].by("entry") == {"calico": 2, "pause": 0}
    assert families["image_mirror_discover_entry_failed"].by("entry") == {"calico": 0, "pause": 0, "flannel": 1}
    assert families["image_mirror_discover_entry_duration_seconds"].value(entry="flannel") == 1.5
    # A failed entry has no tag counts: "0 new" would be a lie.
    assert "flannel" not in families["image_mirror_discover_tags_seen"].by("entry")


def test_every_family_is_a_documented_gauge() -> None:
    metrics = collector()
    discover_run(metrics)
    sync_run(metrics)
    stats = Stats()
    stats.host("docker.io", 8).record_status(200)
    families = parse(metrics.render(stats))
    assert families
    for name, family in families.items():
        assert name.startswith("image_mirror_"), name
        assert family.type == "gauge", name
        assert family.help, name
        assert not name.endswith("_total"), name


def test_failed_run_has_no_last_success_and_run_success_zero() -> None:
    metrics = collector("discover")
    discover_run(metrics)  # one entry failed
    families = parse(metrics.render())
    assert "image_mirror_last_success_timestamp_seconds" not in families
    assert families["image_mirror_run_success"].value(command="discover") == 0


def test_successful_run_has_last_success_now() -> None:
    clock = FakeClock(wall=1_733_000_000.25)
    metrics = collector(clock=clock)
    emit(metrics, "discover.entry.done", entry="pause", seen=1, found=1, new=1)
    emit(metrics, "discover.done", entries=1, failed=0, new=1)
    families = parse(metrics.render())
    assert families["image_mirror_last_success_timestamp_seconds"].value(command="discover") == 1_733_000_000.25
    assert families["image_mirror_run_success"].value(command="discover") == 1


def test_run_without_done_event_did_not_succeed() -> None:
    metrics = collector("sync")
    emit(metrics, "sync.copy.done", destination="d", tag="t", bytes=1)
    assert metrics.succeeded() is False
    assert "image_mirror_last_success_timestamp_seconds" not in parse(metrics.render())


def test_explicit_verdict_beats_the_events() -> None:
    # The CLI knows the exit code (e.g. --apply failed after a clean discover).
    metrics = collector("discover")
    emit(metrics, "discover.done", entries=0, failed=0, new=0)
    assert metrics.succeeded()
    assert "image_mirror_last_success_timestamp_seconds" not in parse(metrics.render(succeeded=False))
    failed = collector("discover")
    discover_run(failed)
    assert "image_mirror_last_success_timestamp_seconds" in parse(failed.render(succeeded=True))


def test_failed_run_carries_the_previous_last_success_over() -> None:
    metrics = collector("sync")
    sync_run(metrics, failed=True)
    families = parse(metrics.render(last_success=1_600_000_000.0))
    assert families["image_mirror_last_success_timestamp_seconds"].value(command="sync") == 1_600_000_000
    assert families["image_mirror_run_success"].value(command="sync") == 0


def test_run_duration_from_the_injected_clock() -> None:
    clock = FakeClock(mono=10.0)
    metrics = collector("sync", clock)
    clock.mono = 52.5
    families = parse(metrics.render())
    assert families["image_mirror_run_duration_seconds"].value(command="sync") == 42.5


def test_command_is_taken_from_the_events() -> None:
    metrics = collector()
    emit(metrics, "warning", source="cache", message="x")
    emit(metrics, "sync.plan", lines=0, dry_run=False)
    emit(metrics, "sync.done", lines=0, copied=0, skipped=0, failed=0, planned=0, bytes=0)
    assert metrics.command == "sync"
    assert parse(metrics.render())["image_mirror_run_success"].samples[0].labels == {"command": "sync"}


# --------------------------------------------------------------------------------------------
# sync
# --------------------------------------------------------------------------------------------


def test_sync_lines_bytes_and_blobs() -> None:
    metrics = collector()
    sync_run(metrics, failed=True)
    families = parse(metrics.render())
    assert families["image_mirror_sync_lines"].by("result") == {"copied": 2, "skipped": 1, "failed": 1}
    assert families["image_mirror_sync_lines_planned"].value() == 4
    assert families["image_mirror_sync_bytes_sent"].value() == 1234
    assert families["image_mirror_sync_blobs"].by("result") == {"sent": 3, "mounted": 1, "present": 3}
    assert families["image_mirror_sync_referrers"].by("result") == {"copied": 2, "present": 1, "failed": 1,
                                                                    "skipped": 0}
    assert "image_mirror_discover_tags_seen" not in families
    assert metrics.succeeded() is False


def test_sync_with_nothing_to_do_still_reports_zeroes() -> None:
    metrics = collector()
    emit(metrics, "sync.plan", lines=0, dry_run=False)
    emit(metrics, "sync.done", lines=0, copied=0, skipped=0, failed=0, planned=0, bytes=0)
    families = parse(metrics.render())
    assert families["image_mirror_sync_lines"].by("result") == {"copied": 0, "skipped": 0, "failed": 0}
    assert families["image_mirror_sync_bytes_sent"].value() == 0
    assert "image_mirror_sync_blobs" not in families
    assert "image_mirror_sync_referrers" not in families  # no --referrers: no family
    assert metrics.succeeded()


def test_dry_run_reports_planned_lines() -> None:
    metrics = collector()
    emit(metrics, "sync.plan", lines=3, dry_run=True)
    emit(metrics, "sync.plan.item", destination="d", tag="1", action="copy")
    emit(metrics, "sync.plan.item", destination="d", tag="3", action="copy")
    emit(metrics, "sync.plan.item", destination="d", tag="2", action="skip")
    emit(metrics, "sync.skip", destination="d", tag="2", reason="up to date")
    emit(metrics, "sync.done", lines=3, copied=0, skipped=1, failed=0, planned=2, bytes=0)
    lines = parse(metrics.render())["image_mirror_sync_lines"].by("result")
    assert lines == {"copied": 0, "skipped": 1, "failed": 0, "planned": 2}
    # render() does not change the collector: a second render says the same.
    assert parse(metrics.render())["image_mirror_sync_lines"].by("result") == lines


def test_every_target_has_its_own_series_and_the_run_metrics_stay_per_command() -> None:
    # Three targets; the shard has no line of the third, which still gets its series (zeros), so
    # `sum by (target)` sees the same targets from every shard's push.
    metrics = MetricsCollector(command="sync", targets={"reg-a.io": 2, "reg-b.io/mirror": 2, "reg-c.io": 0},
                               clock=FakeClock().time, monotonic=FakeClock().monotonic)
    emit(metrics, "sync.plan", lines=4, dry_run=False)
    for target in ("reg-a.io", "reg-b.io/mirror"):
        emit(metrics, "sync.copy.done", source="busybox", destination=f"{target}/mirrored-busybox", tag="1",
             target=target, bytes=1000, blobs_sent=2, blobs_mounted=0, blobs_present=1)
    emit(metrics, "sync.skip", destination="reg-a.io/mirrored-pause", tag="3.9", target="reg-a.io")
    emit(metrics, "sync.copy.failed", destination="reg-b.io/mirror/mirrored-pause", tag="3.9",
         target="reg-b.io/mirror", reason="503")
    emit(metrics, "sync.done", lines=4, copied=2, skipped=1, failed=1, planned=0, bytes=2000)
    families = parse(metrics.render())

    lines = families["image_mirror_sync_lines"]
    assert {(s.labels["target"], s.labels["result"]): s.value for s in lines.samples} == {
        ("reg-a.io", "copied"): 1, ("reg-a.io", "skipped"): 1, ("reg-a.io", "failed"): 0,
        ("reg-b.io/mirror", "copied"): 1, ("reg-b.io/mirror", "skipped"): 0, ("reg-b.io/mirror", "failed"): 1,
        ("reg-c.io", "copied"): 0, ("reg-c.io", "skipped"): 0, ("reg-c.io", "failed"): 0,
    }
    assert families["image_mirror_sync_lines_planned"].by("target") == {"reg-a.io": 2, "reg-b.io/mirror": 2,
                                                                        "reg-c.io": 0}
    assert families["image_mirror_sync_bytes_sent"].by("target") == {"reg-a.io": 1000, "reg-b.io/mirror": 1000,
                                                                     "reg-c.io": 0}
    assert families["image_mirror_sync_blobs"].value(result="sent", target="reg-b.io/mirror") == 2
    assert families["image_mirror_sync_blobs"].value(result="present", target="reg-c.io") == 0
    for name in ("image_mirror_run_success", "image_mirror_run_duration_seconds"):
        assert [s.labels for s in families[name].samples] == [{"command": "sync"}], name
    assert families["image_mirror_run_success"].value(command="sync") == 0


# --------------------------------------------------------------------------------------------
# hosts (Stats)
# --------------------------------------------------------------------------------------------


def test_requests_by_host_and_status_retries_and_waits() -> None:
    stats = Stats()
    hub = stats.host("registry-1.docker.io", 8)
    for status in (200, 200, 200, 401, 429):
        with hub.request():
            hub.record_status(status)
    hub.retries = 2
    hub.waits = 1
    hub.wait_seconds = 12.5
    github = stats.host("api.github.com", 4)
    github.record_status(200)
    github.record_status(304)
    github.quota_remaining = 4321
    github.quota_reset = 1_733_003_600.0

    families = parse(collector("discover").render(stats))
    requests = families["image_mirror_http_requests"]
    assert requests.value(host="registry-1.docker.io", status="200") == 3
    assert requests.value(host="registry-1.docker.io", status="429") == 1
    assert requests.value(host="api.github.com", status="304") == 1
    assert len(requests.samples) == 5
    assert families["image_mirror_http_retries"].by("host") == {"api.github.com": 0, "registry-1.docker.io": 2}
    assert families["image_mirror_rate_limit_waits"].value(host="registry-1.docker.io") == 1
    assert families["image_mirror_rate_limit_wait_seconds"].value(host="registry-1.docker.io") == 12.5
    assert families["image_mirror_http_in_flight_peak"].value(host="registry-1.docker.io") == 1
    assert families["image_mirror_http_concurrency_limit"].by("host") == {"api.github.com": 4, "registry-1.docker.io": 8}
    assert families["image_mirror_github_quota_remaining"].by("host") == {"api.github.com": 4321}
    assert families["image_mirror_github_quota_reset_timestamp_seconds"].value(host="api.github.com") == 1_733_003_600


def test_no_hosts_no_host_families() -> None:
    families = parse(collector("sync").render(Stats()))
    assert not any(name.startswith("image_mirror_http_") for name in families)


# --------------------------------------------------------------------------------------------
# format details
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ['say "hi"', "back\\slash", "two\nlines", 'all \\ " \n three', "ünïcödé", "a}b{c,d=e"],
)
def test_label_values_are_escaped_and_round_trip(raw: str) -> None:
    metrics = collector("discover")
    emit(metrics, "discover.entry.done", entry=raw, seen=1, found=1, new=1)
    text = metrics.render()
    assert all(line.startswith(("# ", "image_mirror_")) for line in text.splitlines())  # a sample is one line
    assert parse(text)["image_mirror_discover_tags_seen"].by("entry") == {raw: 1}


def test_exact_text_of_a_small_run() -> None:
    clock = FakeClock(wall=1_700_000_000.5, mono=5.0)
    metrics = collector("discover", clock)
    emit(metrics, "discover.entry.done", entry='we"ird\\', seen=3, found=2, new=1, elapsed=0.25)
    emit(metrics, "discover.done", entries=1, failed=0, new=1)
    clock.mono = 6.0
    # prometheus_client's number format: 3.0, 1.7000000005e+09 (the same values as before it).
    assert metrics.render() == (
        "# HELP image_mirror_discover_tags_seen Tags (or chart versions, or images) the entry's version source "
        "returned in the last run.\n"
        "# TYPE image_mirror_discover_tags_seen gauge\n"
        'image_mirror_discover_tags_seen{entry="we\\"ird\\\\"} 3.0\n'
        "# HELP image_mirror_discover_tags_found Tags of the entry left after its filters in the last run.\n"
        "# TYPE image_mirror_discover_tags_found gauge\n"
        'image_mirror_discover_tags_found{entry="we\\"ird\\\\"} 2.0\n'
        "# HELP image_mirror_discover_tags_new Found tags of the entry that are not in images-list yet.\n"
        "# TYPE image_mirror_discover_tags_new gauge\n"
        'image_mirror_discover_tags_new{entry="we\\"ird\\\\"} 1.0\n'
        "# HELP image_mirror_discover_entry_failed 1 when the entry failed in the last run, 0 when it succeeded.\n"
        "# TYPE image_mirror_discover_entry_failed gauge\n"
        'image_mirror_discover_entry_failed{entry="we\\"ird\\\\"} 0.0\n'
        "# HELP image_mirror_discover_entry_duration_seconds How long the entry took in the last run.\n"
        "# TYPE image_mirror_discover_entry_duration_seconds gauge\n"
        'image_mirror_discover_entry_duration_seconds{entry="we\\"ird\\\\"} 0.25\n'
        "# HELP image_mirror_run_duration_seconds Wall time of the last run.\n"
        "# TYPE image_mirror_run_duration_seconds gauge\n"
        'image_mirror_run_duration_seconds{command="discover"} 1.0\n'
        "# HELP image_mirror_run_success 1 when the last run succeeded, else 0.\n"
        "# TYPE image_mirror_run_success gauge\n"
        'image_mirror_run_success{command="discover"} 1.0\n'
        "# HELP image_mirror_last_success_timestamp_seconds Unix time the last successful run finished.\n"
        "# TYPE image_mirror_last_success_timestamp_seconds gauge\n"
        'image_mirror_last_success_timestamp_seconds{command="discover"} 1.7000000005e+09\n'
    )


def test_samples_are_sorted_for_stable_output() -> None:
    first, second = collector("discover"), collector("discover")
    for key in ("b", "a", "c"):
        emit(first, "discover.entry.done", entry=key, seen=1, found=1, new=0)
    for key in ("c", "b", "a"):
        emit(second, "discover.entry.done", entry=key, seen=1, found=1, new=0)
    assert first.render() == second.render()


def test_the_test_parser_rejects_what_it_should() -> None:
    # Guard the guard: the strict parser must catch the mistakes it exists to catch.
    with pytest.raises(ExpositionError):
        parse("x 1\n")  # no HELP/TYPE
    with pytest.raises(ExpositionError):
        parse('# HELP x h\n# TYPE x gauge\nx{a="b\\q"} 1\n')  # illegal escape
    with pytest.raises(ExpositionError):
        parse("# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx 2\n")  # not contiguous
    with pytest.raises(ExpositionError):
        parse('# HELP x h\n# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n')  # duplicate series
    with pytest.raises(ExpositionError):
        parse("# HELP x h\n# TYPE x gauge\nx 1")  # no final newline


# --------------------------------------------------------------------------------------------
# the registry: exactly README's families
# --------------------------------------------------------------------------------------------


def _readme_families() -> dict[str, tuple[str, ...]]:
    """Metric names and their labels from README's Metrics table."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Metrics"):]
    found: dict[str, tuple[str, ...]] = {}
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if not row.startswith("| `image_mirror_") or len(cells) != 3:
            continue
        labels = tuple(token for token in re.findall(r"`([^`]+)`", cells[1]) if re.fullmatch(r"[a-z_]+", token))
        for name in re.findall(r"`(image_mirror_[a-z_]+)`", cells[0]):
            found[name] = labels
    return found


def full_run() -> CollectorRegistry:
    """A run that fills every family: discover and sync events, a host with a GitHub quota."""
    metrics = collector("discover")
    discover_run(metrics)
    sync_run(metrics)
    stats = Stats()
    github = stats.host("api.github.com", 4)
    github.record_status(200)
    github.quota_remaining, github.quota_reset = 10, 1_733_003_600.0
    hub = stats.host("docker.io", 8)  # a registry with a pull quota
    hub.record_status(200)
    hub.pulls, hub.pull_quota_remaining, hub.pull_quota_limit, hub.pull_quota_window = 3, 37, 100, 21600
    return metrics.registry(stats, succeeded=True)


def test_the_families_are_exactly_readmes_table() -> None:
    collected = {family.name: family for family in full_run().collect()}
    readme = _readme_families()
    assert set(collected) == set(readme) == {family.name for family in DECLARED}  # no process_*, no python_*
    for name, family in collected.items():
        assert family.type == "gauge", name
        assert {tuple(k for k in s.labels) for s in family.samples} == {readme[name]}, name


# --------------------------------------------------------------------------------------------
# textfile
# --------------------------------------------------------------------------------------------


def small_registry(command: str = "sync", wall: float = 1_700_000_000.0) -> CollectorRegistry:
    metrics = collector(command, FakeClock(wall=wall))
    emit(metrics, f"{command}.done")
    return metrics.registry()


def test_write_textfile_is_atomic_and_readable_by_node_exporter(tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "image_mirror.prom"
    write_textfile(target, small_registry(wall=1.0))
    old_inode = target.stat().st_ino
    registry = small_registry(wall=2.0)
    write_textfile(target, registry)
    assert parse(target.read_text())["image_mirror_last_success_timestamp_seconds"].value(command="sync") == 2
    assert target.stat().st_ino != old_inode  # replaced by rename, never rewritten in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["image_mirror.prom"]


def test_write_textfile_error_names_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(MetricsError, match="not-a-dir") as info:
        write_textfile(blocker / "m.prom", small_registry())
    assert isinstance(info.value, MirrorError)

    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o555)
    try:
        if os.access(readonly, os.W_OK):  # root ignores modes: make the rename fail instead
            (readonly / "m.prom").mkdir()
            (readonly / "m.prom" / "x").write_text("")
        with pytest.raises(MetricsError, match="m.prom"):
            write_textfile(readonly / "m.prom", small_registry())
        assert sorted(p.name for p in readonly.iterdir()) in ([], ["m.prom"])  # no temporary file left
    finally:
        os.chmod(readonly, 0o755)


def test_last_success_round_trips_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.prom"
    assert read_last_success(path) is None
    ok = collector("sync", FakeClock(wall=1_700_000_123.0))
    sync_run(ok)
    write_textfile(path, ok.registry())
    assert read_last_success(path) == 1_700_000_123.0
    assert read_last_success(path, command="sync") == 1_700_000_123.0
    assert read_last_success(path, command="discover") is None

    failed = collector("sync", FakeClock(wall=1_800_000_000.0))
    sync_run(failed, failed=True)
    write_textfile(path, failed.registry(last_success=read_last_success(path, "sync")))
    assert read_last_success(path, "sync") == 1_700_000_123.0
    assert last_success_from_text("garbage\n") is None
    # A file written before prometheus_client (integers without ".0") still gives its value.
    old = ('# HELP image_mirror_last_success_timestamp_seconds Unix time the last successful run finished.\n'
           '# TYPE image_mirror_last_success_timestamp_seconds gauge\n'
           'image_mirror_last_success_timestamp_seconds{command="sync"} 1700000000\n')
    assert last_success_from_text(old, "sync") == 1_700_000_000


# --------------------------------------------------------------------------------------------
# the Pushgateway URL (checked before the run) and the push through the transport
# --------------------------------------------------------------------------------------------


def test_gateway_url_loses_its_credentials_to_a_basic_header() -> None:
    gateway = parse_gateway("https://ci%40corp:p%3Ass@pg.example:9091/prefix/")
    assert gateway.url == "https://pg.example:9091/prefix"
    assert gateway.authorization == "Basic Y2lAY29ycDpwOnNz"  # ci@corp:p:ss
    assert "p%3Ass" not in repr(gateway) and "Y2lA" not in repr(gateway)
    assert parse_gateway("http://[::1]:9091").url == "http://[::1]:9091"
    assert parse_gateway("http://pg").authorization is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [("pg.example:9091", "scheme"), ("ftp://pg.example", "scheme"), ("http://", "no host"),
     ("http://:9091", "no host"), ("http://pg.example:99999", "port"), ("http://pg.example:port", "port"),
     ("http://pg.example/?job=x", "query"), ("http://pg.example/#top", "fragment"),
     ("http://pg.example/a b", "spaces"), ("http://pg.example/\x1b[2J", "control"),
     ("admin:hunter2@pg.example:9091", "scheme"), ("https://admin:hunter2@pg.example:x", "port")],
)
def test_a_malformed_gateway_url_is_bad_input_naming_the_option(url: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_gateway(url, "IMAGE_MIRROR_PUSHGATEWAY")
    message = str(info.value)
    assert message.startswith("IMAGE_MIRROR_PUSHGATEWAY ") and reason in message
    assert "hunter2" not in message and "\x1b" not in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    """A run's transport; one attempt per request, so a refused connection fails at once."""
    async with Transport.open(retry=RetryPolicy(attempts=1)) as opened:
        yield opened


@pytest.mark.anyio
async def test_push_connection_error_is_a_mirror_error_without_secrets(transport: Transport) -> None:
    gateway = parse_gateway(f"http://admin:hunter2@127.0.0.1:{_closed_port()}")
    with pytest.raises(MetricsError) as info:
        await push(transport, gateway, small_registry(), "j", timeout=5)
    assert isinstance(info.value, MirrorError)
    message = str(info.value)
    assert "127.0.0.1" in message
    assert "hunter2" not in message and "admin" not in message


class Recorder:
    """A tiny HTTP server that records what it was sent and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.body = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"method": request.method, "path": request.raw_path,
                              "headers": dict(request.headers), "body": await request.text()})
        return web.Response(status=self.status, text=self.body)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield rec, f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_push_sends_put_or_post_with_content_type_and_basic_auth(
    recorder: tuple[Recorder, str], transport: Transport,
) -> None:
    rec, host = recorder
    registry = small_registry()
    await push(transport, parse_gateway(f"http://ci%40corp:p%3Ass@{host}/gw"), registry, "image-mirror-sync",
               "shard-0")
    await push(transport, parse_gateway(f"http://{host}"), registry, "j", replace=False)
    first, second = rec.requests
    assert first["method"] == "PUT"
    assert first["path"] == "/gw/metrics/job/image-mirror-sync/instance/shard-0"
    assert first["headers"]["Content-Type"] == CONTENT_TYPE_PLAIN_0_0_4
    assert first["headers"]["Authorization"] == "Basic Y2lAY29ycDpwOnNz"  # ci@corp:p:ss
    assert parse(first["body"]) == parse(generate_text(registry))
    assert second["method"] == "POST" and "Authorization" not in second["headers"]
    # The push is a request of the run's transport: counted with the run's hosts.
    assert transport.stats.hosts[host].by_status == {200: 2}


def generate_text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


@pytest.mark.anyio
async def test_grouping_key_values_use_the_pushgateways_base64_form(
    recorder: tuple[Recorder, str], transport: Transport,
) -> None:
    rec, host = recorder
    for instance in ("2/4", "", "shard 0"):
        await push(transport, parse_gateway(f"http://{host}"), small_registry(), "j", instance)
    assert [r["path"] for r in rec.requests] == [
        "/metrics/job/j/instance@base64/Mi80", "/metrics/job/j/instance@base64/=",
        "/metrics/job/j/instance@base64/c2hhcmQgMA==",
    ]


@pytest.mark.anyio
async def test_push_error_status_names_the_url_not_the_password(
    recorder: tuple[Recorder, str], transport: Transport,
) -> None:
    rec, host = recorder
    rec.status, rec.body = 400, "text format parsing error in line 1"
    with pytest.raises(MetricsError) as info:
        await push(transport, parse_gateway(f"http://bot:s3cr3t@{host}"), small_registry(), "j")
    message = str(info.value)
    assert f"http://{host}/metrics/job/j" in message and "400" in message
    assert "s3cr3t" not in message and "bot" not in message
    assert len(rec.requests) == 1  # a POST/PUT the server answered is not sent again


# --------------------------------------------------------------------------------------------
# publish: the CLI's one call
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_publish_writes_the_file_and_carries_last_success_over_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "image_mirror_sync.prom"
    ok = collector("sync", FakeClock(wall=1_700_000_000.0))
    sync_run(ok)
    registry = await publish(ok, Stats(), None, succeeded=True, metrics_file=path)
    assert path.read_text() == generate_text(registry)
    assert read_last_success(path, "sync") == 1_700_000_000

    failed = collector("sync", FakeClock(wall=1_800_000_000.0))
    sync_run(failed, failed=True)
    await publish(failed, Stats(), None, succeeded=False, metrics_file=path)
    families = parse(path.read_text())
    assert families["image_mirror_run_success"].value(command="sync") == 0
    assert families["image_mirror_last_success_timestamp_seconds"].value(command="sync") == 1_700_000_000


@pytest.mark.anyio
async def test_publish_tries_both_destinations_and_reports_both_failures(tmp_path: Path,
                                                                         transport: Transport) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    metrics = collector("discover")
    emit(metrics, "discover.done", entries=0, failed=0, new=0)
    with pytest.raises(MetricsError) as info:
        await publish(metrics, None, transport, succeeded=True, metrics_file=blocker / "m.prom",
                      pushgateway=f"http://u:pw123@127.0.0.1:{_closed_port()}")
    message = str(info.value)
    assert "m.prom" in message and "127.0.0.1" in message and "pw123" not in message

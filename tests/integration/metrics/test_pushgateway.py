"""mirror.metrics against a real Prometheus Pushgateway (Debian's prometheus-pushgateway).

Each test gets its own Pushgateway on a free loopback port with its own persistence file;
the pushed text is parsed by the Pushgateway's reference (Go) parser, so a format mistake
fails the push, and what it then serves on /metrics is read back and checked. Pushes go
through a run's :class:`~mirror.transport.Transport`, as the CLI sends them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prometheus_client import CollectorRegistry

from mirror.errors import MirrorError
from mirror.events import Stats
from mirror.metrics import DECLARED, MetricsCollector, MetricsError, parse_gateway, publish, push
from mirror.transport import RetryPolicy, Transport
from tests.support.events import emit
from tests.support.registry import free_port
from tests.unit.metrics.expfmt import Family, parse

PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"


@dataclass
class Pushgateway:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def families(self) -> dict[str, Family]:
        with _opener().open(f"{self.url}/metrics", timeout=10) as response:
            return parse(response.read().decode(), strict=False)

    def ours(self) -> dict[str, Family]:
        return {k: v for k, v in self.families().items() if k.startswith("image_mirror_")}


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _ready(url: str) -> bool:
    try:
        with _opener().open(f"{url}/-/ready", timeout=0.5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as err:
        return err.code == 401  # ready, but behind basic auth
    except OSError:
        return False


@pytest.fixture
def pushgateway_factory(tmp_path: Path) -> Iterator[Callable[..., Pushgateway]]:
    """Start Pushgateways (optionally with a --web.config.file); stopped after the test."""
    if not (os.path.isfile(PUSHGATEWAY) and os.access(PUSHGATEWAY, os.X_OK)):
        pytest.fail(f"{PUSHGATEWAY} not found: install the Debian package prometheus-pushgateway "
                    "(scripts/test.sh does it)", pytrace=False)
    started: list[Pushgateway] = []

    def start(web_config: str | None = None) -> Pushgateway:
        index = len(started)
        log = tmp_path / f"pushgateway-{index}.log"
        last = ""
        for _attempt in range(5):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            args = [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}",
                    f"--persistence.file={tmp_path / f'pushgateway-{index}.data'}"]
            if web_config is not None:
                config = tmp_path / f"web-{index}.yml"
                config.write_text(web_config)
                args.append(f"--web.config.file={config}")
            with open(log, "wb") as out:
                process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and process.poll() is None and not _ready(url):
                time.sleep(0.02)
            if process.poll() is None and _ready(url):
                gateway = Pushgateway(url, process, log)
                started.append(gateway)
                return gateway
            process.kill()
            process.wait()
            last = log.read_text(errors="replace")[-2000:]
            if "address already in use" not in last:
                break
        pytest.fail(f"prometheus-pushgateway did not start: {last}", pytrace=False)

    try:
        yield start
    finally:
        for gateway in started:
            gateway.process.terminate()
            try:
                gateway.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                gateway.process.kill()
                gateway.process.wait()


async def push_to(url: str, registry: CollectorRegistry, job: str, instance: str | None = None, *,
                  replace: bool = True) -> None:
    """One push on a transport of its own, as a run sends it at its end."""
    async with Transport.open(retry=RetryPolicy(attempts=1)) as transport:
        await push(transport, parse_gateway(url), registry, job, instance, replace=replace)


def sync_collector(*, wall: float, failed: bool = False) -> MetricsCollector:
    metrics = MetricsCollector(command="sync", clock=lambda: wall)
    emit(metrics, "sync.plan", lines=3, dry_run=False)
    emit(metrics, "sync.copy.done", destination="reg.example/mirrored-busybox", tag="1.36.1", bytes=4096,
                 blobs_sent=2, blobs_mounted=0, blobs_present=1)
    emit(metrics, "sync.skip", destination="reg.example/mirrored-pause", tag="3.9", reason="up to date")
    if failed:
        emit(metrics, "sync.copy.failed", destination="reg.example/x", tag="1", reason="denied", stage="copy")
    else:
        emit(metrics, "sync.skip", destination="reg.example/mirrored-pause", tag="3.10", reason="up to date")
    emit(metrics, "sync.done", lines=3, copied=1, skipped=1 if failed else 2, failed=1 if failed else 0,
                 planned=0, bytes=4096)
    return metrics


@pytest.mark.anyio
async def test_push_and_read_back(pushgateway_factory: Callable[..., Pushgateway]) -> None:
    gateway = pushgateway_factory()
    metrics = MetricsCollector(command="discover", clock=lambda: 1_733_000_000.0)
    emit(metrics, "discover.entry.done", entry="calico", seen=120, found=7, new=2, elapsed=0.5)
    emit(metrics, "discover.entry.done", entry='odd "key"\\with\nnewline', seen=1, found=1, new=1)
    emit(metrics, "discover.entry.failed", entry="flannel", error="quota")
    emit(metrics, "discover.done", entries=3, failed=1, new=3)
    stats = Stats()
    github = stats.host("api.github.com", 4)
    for status in (200, 200, 304, 403):
        github.record_status(status)
    github.retries, github.waits, github.wait_seconds = 1, 1, 2.5

    await push_to(gateway.url, metrics.registry(stats, succeeded=True), job="image-mirror-discover")

    families = gateway.families()
    assert "push_time_seconds" in families  # the Pushgateway accepted the group
    seen = families["image_mirror_discover_tags_seen"]
    assert seen.type == "gauge"
    assert seen.help.startswith("Tags (or chart versions")  # type: ignore[union-attr]
    assert {s.labels["entry"]: s.value for s in seen.samples} == {"calico": 120, 'odd "key"\\with\nnewline': 1}
    # The grouping key becomes labels of every pushed sample.
    assert all(s.labels["job"] == "image-mirror-discover" and s.labels["instance"] == "" for s in seen.samples)
    assert families["image_mirror_discover_tags_new"].value(entry="calico") == 2
    assert families["image_mirror_discover_entry_failed"].value(entry="flannel") == 1
    requests = families["image_mirror_http_requests"]
    assert requests.value(host="api.github.com", status="200") == 2
    assert requests.value(host="api.github.com", status="403") == 1
    assert families["image_mirror_rate_limit_wait_seconds"].value(host="api.github.com") == 2.5
    assert families["image_mirror_last_success_timestamp_seconds"].value(command="discover") == 1_733_000_000


@pytest.mark.anyio
async def test_shards_push_to_separate_groups(pushgateway_factory: Callable[..., Pushgateway]) -> None:
    gateway = pushgateway_factory()
    for shard in range(2):
        registry = sync_collector(wall=1_700_000_000.0 + shard).registry()
        # "/" in the instance forces the base64 form of the grouping key.
        await push_to(gateway.url, registry, job="image-mirror-sync", instance=f"shard {shard}/2")
    lines = gateway.ours()["image_mirror_sync_lines"]
    assert {(s.labels["instance"], s.labels["result"]): s.value for s in lines.samples} == {
        ("shard 0/2", "copied"): 1, ("shard 0/2", "skipped"): 2, ("shard 0/2", "failed"): 0,
        ("shard 1/2", "copied"): 1, ("shard 1/2", "skipped"): 2, ("shard 1/2", "failed"): 0,
    }
    assert gateway.ours()["image_mirror_sync_bytes_sent"].value(instance="shard 1/2") == 4096


@pytest.mark.anyio
async def test_put_replaces_the_group_and_post_keeps_last_success(
    pushgateway_factory: Callable[..., Pushgateway],
) -> None:
    gateway = pushgateway_factory()
    ok = sync_collector(wall=1_700_000_000.0)
    await push_to(gateway.url, ok.registry(), job="image-mirror-sync")
    assert gateway.ours()["image_mirror_last_success_timestamp_seconds"].value(command="sync") == 1_700_000_000

    # A failed run pushed with POST: every metric it carries is replaced, the last success stays.
    failed = sync_collector(wall=1_800_000_000.0, failed=True)
    await push_to(gateway.url, failed.registry(), job="image-mirror-sync", replace=False)
    families = gateway.ours()
    assert families["image_mirror_sync_lines"].value(result="failed") == 1
    assert families["image_mirror_run_success"].value(command="sync") == 0
    assert families["image_mirror_last_success_timestamp_seconds"].value(command="sync") == 1_700_000_000

    # The same failed run pushed with PUT replaces the whole group: the last success is gone.
    await push_to(gateway.url, failed.registry(), job="image-mirror-sync")
    assert "image_mirror_last_success_timestamp_seconds" not in gateway.ours()


@pytest.mark.anyio
async def test_pushgateway_rejection_is_a_mirror_error(pushgateway_factory: Callable[..., Pushgateway]) -> None:
    gateway = pushgateway_factory()
    # Another group already holds image_mirror_run_success as a counter: our gauge is inconsistent.
    other = urllib.request.Request(f"{gateway.url}/metrics/job/other", method="POST",
                                   data=b"# TYPE image_mirror_run_success counter\nimage_mirror_run_success 1\n")
    with _opener().open(other, timeout=10) as response:
        assert response.status == 200
    with pytest.raises(MetricsError) as info:
        await push_to(gateway.url, sync_collector(wall=1.0).registry(), job="image-mirror-discover")
    assert isinstance(info.value, MirrorError)
    assert "400" in str(info.value)
    assert f"{gateway.url}/metrics/job/image-mirror-discover" in str(info.value)


@pytest.fixture
def bcrypt_hash() -> str:
    """bcrypt of "s3cret-pw" (the Pushgateway's web config accepts only bcrypt)."""
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.fail("htpasswd not found: install apache2-utils (scripts/test.sh does it)", pytrace=False)
    line = subprocess.run([htpasswd, "-nbB", "-C", "4", "pusher", "s3cret-pw"], capture_output=True,
                          text=True, check=True).stdout.strip()
    return line.split(":", 1)[1]


@pytest.mark.anyio
async def test_basic_auth_from_the_url_and_no_secret_in_errors(
    pushgateway_factory: Callable[..., Pushgateway], bcrypt_hash: str,
) -> None:
    gateway = pushgateway_factory(web_config=f"basic_auth_users:\n  pusher: '{bcrypt_hash}'\n")
    host = gateway.url.removeprefix("http://")
    registry = sync_collector(wall=1_700_000_000.0).registry()

    await push_to(f"http://pusher:s3cret-pw@{host}", registry, job="image-mirror-sync")

    with pytest.raises(MetricsError) as info:
        await push_to(f"http://pusher:wrong-pw@{host}", registry, job="image-mirror-sync")
    assert "requires authentication" in str(info.value)
    assert "wrong-pw" not in str(info.value) and "pusher" not in str(info.value)

    request = urllib.request.Request(f"{gateway.url}/metrics")
    request.add_header("Authorization", "Basic cHVzaGVyOnMzY3JldC1wdw==")  # pusher:s3cret-pw
    with _opener().open(request, timeout=10) as response:
        families = parse(response.read().decode(), strict=False)
    assert families["image_mirror_sync_lines"].value(result="copied") == 1


@pytest.mark.anyio
async def test_publish_pushes_each_shard_and_keeps_last_success_on_failure(
    pushgateway_factory: Callable[..., Pushgateway], tmp_path: Path,
) -> None:
    gateway = pushgateway_factory()
    async with Transport.open() as transport:
        await publish(sync_collector(wall=1_700_000_000.0), None, transport, succeeded=True,
                      pushgateway=gateway.url, instance="shard-0")
        await publish(sync_collector(wall=1_700_000_100.0), None, transport, succeeded=True,
                      pushgateway=gateway.url, instance="shard-1", metrics_file=tmp_path / "m.prom")
        await publish(sync_collector(wall=1_800_000_000.0, failed=True), None, transport, succeeded=False,
                      pushgateway=gateway.url, instance="shard-1")
    families = gateway.ours()
    success = families["image_mirror_last_success_timestamp_seconds"]
    assert {s.labels["instance"]: s.value for s in success.samples} == {"shard-0": 1_700_000_000,
                                                                        "shard-1": 1_700_000_100}
    assert all(s.labels["job"] == "image-mirror-sync" for s in success.samples)
    runs = families["image_mirror_run_success"]
    assert {s.labels["instance"]: s.value for s in runs.samples} == {"shard-0": 1, "shard-1": 0}
    assert (tmp_path / "m.prom").is_file()


@pytest.mark.anyio
async def test_the_file_and_the_push_hold_the_same_families(
    pushgateway_factory: Callable[..., Pushgateway], tmp_path: Path,
) -> None:
    """Every declared family, pushed and written by one publish: the Pushgateway serves the
    same families, with the same help, samples and values, plus only its grouping labels."""
    gateway = pushgateway_factory()
    metrics = sync_collector(wall=1_700_000_000.0)
    emit(metrics, "discover.entry.done", entry="calico", seen=120, found=7, new=2, elapsed=0.5)
    emit(metrics, "discover.entry.failed", entry="flannel", error="quota", elapsed=1.0)
    emit(metrics, "sync.referrers", destination="reg.example/mirrored-pause", tag="3.9", copied=1, present=2,
         failed=(), skipped=())
    stats = Stats()
    github = stats.host("api.github.com", 4)
    github.record_status(200)
    github.quota_remaining, github.quota_reset = 4999, 1_733_003_600.0
    hub = stats.host("docker.io", 8)
    hub.record_status(200)
    hub.pulls, hub.pull_quota_remaining = 2, 37
    path = tmp_path / "image_mirror.prom"
    async with Transport.open() as transport:
        await publish(metrics, stats, transport, succeeded=True, metrics_file=path, pushgateway=gateway.url,
                      job="image-mirror-sync")
    written = parse(path.read_text())
    pushed = gateway.ours()
    assert set(written) == set(pushed) == {family.name for family in DECLARED}
    for name, family in written.items():
        assert (pushed[name].type, pushed[name].help) == (family.type, family.help), name
        served = {tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("job", "instance"))): s.value
                  for s in pushed[name].samples}
        assert served == {tuple(sorted(s.labels.items())): s.value for s in family.samples}, name

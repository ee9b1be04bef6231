"""The registries file's stream fields, blob deadlines and the process's memory budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mirror.cli import main
from mirror.errors import RegistriesFileError
from mirror.registry import parse_registries
from mirror.registry.sizes import parse_size
from mirror.transport.limits import MIB, MemoryBudget, StreamLimits


@pytest.mark.parametrize(("value", "expected"), [
    (1, 1), ("123", 123), ("8MiB", 8 * MIB), ("256 KiB", 256 * 1024), ("1.5GiB", 3 * 512 * MIB), ("64kib", 65536),
    ("10B", 10), ("8MB", None), ("-1", None), ("", None), (True, None), (None, None), ("1e9", None),
])  # fmt: skip
def test_sizes_are_bytes_or_take_a_binary_suffix(value: Any, expected: int | None) -> None:
    assert parse_size(value) == expected


def test_defaults_and_written_values_reach_the_resolved_host() -> None:
    hosts = parse_registries({"a.io": {"monolithic_max": "1MiB", "chunk_size": 65536, "deadline_base": 2,
                                       "min_throughput": "1 MiB"}, "b.io": {}})
    assert hosts.resolve("a.io").streams == StreamLimits(MIB, 65536, 2.0, MIB)
    assert hosts.resolve("b.io").streams == hosts.resolve("c.io").streams == StreamLimits()
    assert StreamLimits().monolithic_max == 8 * MIB and StreamLimits().chunk_size == 16 * MIB
    assert StreamLimits(deadline_base=30, min_throughput=256 * 1024).deadline(100 * MIB) == 30 + 400


@pytest.mark.parametrize(("field", "value", "message"), [
    ("monolithic_max", "65MiB", "above the 64 MiB memory budget"),
    ("monolithic_max", "8MB", "must be a size >= 1: bytes, or a number with KiB, MiB or GiB (got '8MB')"),
    ("chunk_size", 0, "must be a size >= 1"),
    ("min_throughput", [1], "must be a size >= 1"),
    ("deadline_base", 0, "must be a finite number of seconds > 0"),
    ("deadline_base", float("nan"), "must be a finite number of seconds > 0"),
    ("deadline_base", "30s", "must be a finite number of seconds > 0"),
])  # fmt: skip
def test_bad_values_name_the_host_and_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(RegistriesFileError) as raised:
        parse_registries({"a.io": {field: value}}, source="registries.yaml")
    assert str(raised.value).startswith(f"registries.yaml: host 'a.io' field '{field}' ")
    assert message in str(raised.value)


def test_validate_rejects_a_monolithic_max_above_the_memory_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "images-list").write_text("a/b c/d 1\n", encoding="utf-8")
    (tmp_path / "config.json").write_text("[]\n", encoding="utf-8")
    registries = tmp_path / "registries.yaml"
    registries.write_text("quay.io:\n  monolithic_max: 1GiB\n", encoding="utf-8")
    code = main(["--images-list", str(tmp_path / "images-list"), "--config", str(tmp_path / "config.json"),
                 "--registries", str(registries), "--log-format", "plain", "validate"])
    assert code == 2
    assert "host 'quay.io' field 'monolithic_max' is 1073741824 bytes, above the 64 MiB" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf"])
def test_a_bad_timeout_is_bad_input(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--timeout", value, "sort", "--check"]) == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.anyio
async def test_the_memory_budget_waits_in_order_and_survives_cancellation() -> None:
    budget = MemoryBudget(100)
    order: list[str] = []

    async def take(name: str, size: int, release: anyio.Event) -> None:
        async with budget.hold(size):
            order.append(name)
            await release.wait()

    first, second, third = anyio.Event(), anyio.Event(), anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(take, "first", 70, first)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(take, "second", 60, second)  # must wait for room
        await anyio.wait_all_tasks_blocked()
        with anyio.CancelScope() as cancelled:
            cancelled.cancel()
            async with budget.hold(10):  # cancelled while queued: leaves no trace
                pass  # pragma: no cover
        group.start_soon(take, "third", 20, third)  # fits, but arrives after second: waits its turn
        await anyio.wait_all_tasks_blocked()
        assert order == ["first"] and budget.free == 30
        first.set()
        await anyio.wait_all_tasks_blocked()
        assert order == ["first", "second", "third"] and budget.free == 20
        second.set()
        third.set()
    assert budget.free == 100 and budget.peak == 80
    async with budget.hold(500):  # more than the whole budget: clamped, not a deadlock
        assert budget.free == 0


@pytest.mark.anyio
async def test_a_server_that_never_answers_fails_a_request_within_the_retry_budget() -> None:
    from mirror.errors import RegistryError
    from mirror.registry import Registries
    from mirror.transport import RetryPolicy, Transport

    accepted: list[object] = []

    async def never_answer(stream: anyio.abc.SocketStream) -> None:
        accepted.append(stream)
        await anyio.sleep_forever()  # the server's behaviour: it reads nothing, says nothing

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, never_answer)
        retry = RetryPolicy(attempts=3, total_seconds=0.5, jitter=False, base=0.01)
        with anyio.fail_after(10):  # a guard against a hang, never a wait
            async with Transport.open(registries=Registries(), retry=retry) as transport:
                target, url = transport.registries.resolve_url(f"http://127.0.0.1:{port}/v2/")
                with pytest.raises(RegistryError, match="cannot reach"):
                    await transport.request(target, "GET", url, what="the ping")
        group.cancel_scope.cancel()
    assert accepted

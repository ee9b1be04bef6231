"""The pull quota's bookkeeping: Docker's headers, readings of replies in flight together, the floor."""

from __future__ import annotations

import pytest

from mirror.errors import RateLimited
from mirror.events import HostStats, ListSink, PullQuotaWait
from mirror.transport.quota import PullQuota, parse_ratelimit
from tests.fakes.distribution import FakeTime

pytestmark = pytest.mark.anyio


def headers(remaining: int, limit: int = 100, window: int = 21600) -> dict[str, str]:
    return {"ratelimit-limit": f"{limit};w={window}", "ratelimit-remaining": f"{remaining};w={window}"}


async def nothing() -> None:
    return None


def quota(floor: int = 10, **options: object) -> PullQuota:
    return PullQuota("docker.io", floor, HostStats("docker.io", 8), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("37;w=21600", (37, 21600)), ("100", (100, None)), (" 5 ; w = 60 ", (5, 60)), ("x;w=1", None), (None, None),
     ("-1;w=5", None)],
)
def test_parse_ratelimit(value: str | None, parsed: tuple[int, int | None] | None) -> None:
    assert parse_ratelimit(value) == parsed


def test_no_headers_means_no_limit() -> None:
    q = quota()
    assert not q.note({"Content-Type": "x"}, q.ticket())
    assert q.remaining is None and q.allows()


def test_replies_in_flight_together_count_by_their_minimum_and_a_later_request_wins() -> None:
    q = quota()
    first, second = q.ticket(), q.ticket()
    q.note(headers(37), second)
    q.note(headers(40), first)  # answered later, but in flight with the other: the minimum
    assert q.remaining == 37
    later = q.ticket()  # sent after both answers came: newer, whatever it says (a new window)
    q.note(headers(100), later)
    assert q.remaining == 100
    assert (q.stats.pull_quota_remaining, q.stats.pull_quota_limit, q.stats.pull_quota_window) == (100, 100, 21600)


async def test_pulls_in_flight_count_against_the_floor() -> None:
    q = quota(floor=10)
    q.note(headers(11), q.ticket())
    first = await q.admit(nothing)
    second = await q.admit(nothing)
    assert q.current == 9 and not q.allows()
    first.settle()
    first.settle()  # once only
    assert q.current == 10 and q.allows()
    second.settle(spent=True)  # pulled where no reply is seen: one comes off the reading
    assert q.remaining == 10 and q.in_flight == 0


async def test_below_the_floor_one_waiter_rereads_and_all_fail_after_max_wait() -> None:
    time, sink = FakeTime(), ListSink()
    q = quota(floor=10, events=sink, max_wait=20.0, clock=time.clock, sleep=time.sleep)
    q.note(headers(9), q.ticket())
    rereads: list[int] = []

    async def reread() -> None:
        rereads.append(1)
        q.note(headers(9), q.ticket())

    with pytest.raises(RateLimited) as caught:
        await q.admit(reread)
    assert str(caught.value) == "docker.io pull quota: 9 of 100 left in 21600 s (floor 10); waited 20 s (--max-wait 20)"
    assert time.sleeps == [15.0, 5.0] and len(rereads) == 2
    assert sink.events == [PullQuotaWait("docker.io", 9, 100, 21600, seconds) for seconds in (15.0, 5.0)]
    with pytest.raises(RateLimited):  # the host stays closed: no more waiting
        await q.admit(reread)
    assert time.sleeps == [15.0, 5.0]
    q.note(headers(50), q.ticket())  # a new window, seen on any reply
    await q.admit(reread)
    assert q.current == 49


def test_a_429_with_none_left_is_refused_other_429s_are_not() -> None:
    q = quota()
    assert q.refused(429, headers(5)) is None
    assert q.refused(503, headers(0)) is None
    assert q.refused(429, {}) is None
    q.note(headers(0), q.ticket())
    error = q.refused(429, headers(0))
    assert isinstance(error, RateLimited)
    assert str(error) == "docker.io pull quota: 0 of 100 left in 21600 s (floor 10); none left"


async def test_floor_0_never_waits() -> None:
    q = quota(floor=0)
    q.note(headers(0), q.ticket())
    await q.admit(nothing)
    assert q.in_flight == 1

"""The renderers: the dashboard draws on its tick, never per event; every one escapes outside text."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from rich.console import Console, RenderableType

from mirror.events import DiscoverEntryFailed, DiscoverEntryStart, Error, Item, PullQuotaWait, Stats, Warning
from mirror.events.sync import SyncConflict, SyncCopyFailed, SyncDone, SyncPlan, SyncReferrers, SyncSkip
from mirror.output import Output
from mirror.ui.plain import Plain
from mirror.ui.summary import StepSummary
from mirror.ui.dashboard import Dashboard
from mirror.ui.jsonlines import record
from mirror.ui.summary import code

HOSTILE = "\x1b]0;X\x07body\x1b[2J\u2028\u202e"
ESCAPED = r"\x1b]0;X\x07body\x1b[2J\u2028\u202e"


class CountingDashboard(Dashboard):
    renders = 0
    drawn = threading.Event()

    def render(self) -> RenderableType:
        self.renders += 1
        self.drawn.set()
        return super().render()


def terminal() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, force_terminal=True, width=160, markup=False, emoji=False, highlight=False), stream


def item(line: int, source: str = "src.io/app", tag: str = "1") -> Item:
    return Item(source, "dst.io/mirrored-app", tag, line)


def test_ten_thousand_events_cost_two_renders_not_ten_thousand() -> None:
    console, _ = terminal()
    # A tick far away: what is drawn is the first frame and the final one, whatever the speed.
    dashboard = CountingDashboard(Stats(), console, refresh_per_second=0.001)
    with dashboard:
        dashboard.emit(SyncPlan(10_000, 4, "native", False, False, (), False))
        for line in range(10_000):
            dashboard.emit(SyncSkip(item(line), "sha256:x", "up to date", 0.0))
        dashboard.emit(SyncDone(10_000, 0, 10_000, 0, 0, 0, 1.0))
    assert dashboard.renders == 2


def test_the_refresh_thread_draws_on_its_own() -> None:
    console, stream = terminal()
    dashboard = CountingDashboard(Stats(), console)
    with dashboard:
        dashboard.emit(SyncPlan(1, 4, "native", False, False, (), False))
        first = dashboard.renders
        dashboard.drawn.clear()
        assert dashboard.drawn.wait(timeout=30)  # no event asked for it
        assert dashboard.renders > first
    assert "lines" in stream.getvalue()


def test_the_final_view_lists_every_conflict_and_failure() -> None:
    console, stream = terminal()
    with Dashboard(Stats(), console) as dashboard:
        dashboard.emit(SyncPlan(40, 4, "native", False, False, (), False))
        for line in range(2, 22):
            dashboard.emit(SyncConflict(item(line), line + 100, "other.io/app"))
            dashboard.emit(SyncCopyFailed(item(line + 100, "other.io/app"), f"boom {line}", "copy", 0.1))
    text = stream.getvalue()
    for line in range(2, 22):
        assert f"conflict: line {line}: src.io/app:1 -> dst.io/mirrored-app:1 is superseded by line {line + 100}" in text
        assert f"failed: line {line + 100}: other.io/app:1 -> dst.io/mirrored-app:1: boom {line}" in text


def test_the_dashboard_escapes_outside_text() -> None:
    console, stream = terminal()
    with Dashboard(Stats(), console) as dashboard:
        dashboard.emit(DiscoverEntryStart("entry\x1b[?1049h", "registry"))
        dashboard.emit(DiscoverEntryFailed("entry\x1b[?1049h", "registry", HOSTILE, 0.1))
    text = stream.getvalue()
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x1b[?1049h" not in text and "\u2028" not in text
    assert "entry\\x1b[?1049h" in text
    assert "\\x1b]0;X\\x07body" in text


def test_plain_lines_are_escaped() -> None:
    stream = io.StringIO()
    Plain(stream).emit(SyncCopyFailed(item(3, tag="v1\x1b[2J"), HOSTILE, "copy", 0.5))
    assert stream.getvalue() == (
        f"sync.copy.failed dst.io/mirrored-app:v1\\x1b[2J elapsed=0.5 {ESCAPED}\n"
    )


def test_the_step_summary_puts_outside_text_in_code_spans(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    summary = StepSummary(str(path))
    summary.emit(SyncCopyFailed(item(3, tag="1"), "a | b `c` " + HOSTILE, "copy", 0.5))
    summary.emit(SyncDone(1, 0, 0, 1, 0, 0, 0.5))
    summary.write()
    text = path.read_text()
    assert "\x1b" not in text and "\u2028" not in text
    assert f"| `dst.io/mirrored-app:1` | failed | ``a \\| b `c` {ESCAPED}`` |" in text
    assert code("``x") == "``` ``x ```"


def test_the_step_summary_lists_each_failed_referrer(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    summary = StepSummary(str(path))
    summary.emit(SyncReferrers(item(3, tag="1"), 2, 1, ("sha256:aa of sha256:bb: denied",), ()))
    summary.emit(SyncReferrers(item(4, tag="2"), 0, 3, (), ()))
    summary.write()
    assert path.read_text().count("| referrer failed |") == 1
    assert "| `dst.io/mirrored-app:1` | referrer failed | `sha256:aa of sha256:bb: denied` |" in path.read_text()


def test_json_lines_escape_controls_and_separators() -> None:
    line = record(Warning("cache", HOSTILE))
    assert "\x1b" not in line and "\u2028" not in line and "\u202e" not in line
    assert json.loads(line)["message"] == HOSTILE  # data, intact
    assert '"event":"warning","source":"cache","message"' in line  # compact, fields in order


def test_output_messages_are_escaped_off_a_terminal() -> None:
    stderr = io.StringIO()
    Output(stdout=io.StringIO(), stderr=stderr).error("GitHub said: " + HOSTILE)
    assert stderr.getvalue() == f"error: GitHub said: {ESCAPED}\n"
    json_err = io.StringIO()
    Output(stdout=io.StringIO(), stderr=json_err, json_lines=True).error("x\x1b")
    assert json.loads(json_err.getvalue()) | {"ts": ""} == {"ts": "", "event": "error", "message": "x\x1b"}
    assert Error("x").fields() == {"message": "x"}


def test_a_pull_quota_wait_in_every_renderer() -> None:
    wait = PullQuotaWait("docker.io", 8, 100, 21600, 15.0)
    assert json.loads(record(wait)) | {"ts": ""} == {"ts": "", "event": "pull-quota-wait", "host": "docker.io",
                                                      "remaining": 8, "limit": 100, "window": 21600, "seconds": 15.0}
    stream = io.StringIO()
    Plain(stream).emit(wait)
    assert stream.getvalue() == ("pull-quota-wait docker.io remaining=8 of 100 in 21600 s"
                                 " waiting 15 s before reading it again\n")
    console, screen = terminal()
    stats = Stats()
    hub = stats.host("docker.io", 8)
    hub.pull_quota_remaining, hub.pull_quota_limit, hub.pull_quota_window = 37, 100, 21600
    with Dashboard(stats, console) as dashboard:
        dashboard.emit(wait)
    text = screen.getvalue()
    assert "37/100 per 6h" in text  # the host table's quota column
    assert "docker.io: pulls wait 15s for the pull quota (8/100 per 6h left, below the floor)" in text

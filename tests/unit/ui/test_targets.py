"""Several destinations in every renderer: a row per target on the dashboard, the target named
beside each failure, ``target=`` in plain lines, a table per target in the step summary; and
with one target, exactly the one-destination output."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from mirror.events import Item, Stats
from mirror.events.sync import (
    CompareLine, ComparePlan, SyncConflict, SyncCopyDone, SyncCopyFailed, SyncCopyStart, SyncDone, SyncPlan,
    SyncPlanItem, SyncSkip,
)
from mirror.tally import Tally, outcome
from mirror.ui.plain import Plain
from mirror.ui.summary import StepSummary
from mirror.ui.dashboard import Dashboard

LINES = 2000
TARGETS = ("registry-a.example.com/rancher", "reg-b.io", "reg-c.io/team/sub")
HOSTILE_TARGET = "reg-\x1b[2J.io"


def screen() -> tuple[Console, io.StringIO]:
    """A 160-column terminal without colours, so a row reads as its cells."""
    stream = io.StringIO()
    return Console(file=stream, width=160, force_terminal=True, color_system=None, markup=False, emoji=False,
                   highlight=False), stream


def item(line: int, target: str, tag: str = "1.0") -> Item:
    host = target.split("/")[0]
    return Item(f"docker.io/library/app{line}", f"{host}/rancher/mirrored-app{line}", tag, line, target)


def row(text: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line)]
        while cells and not cells[0]:
            cells.pop(0)
        while cells and not cells[-1]:
            cells.pop()
        if len(cells) > 2 and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in\n{text}")


def final_view(dashboard: Dashboard) -> str:
    console, stream = screen()
    console.print(dashboard.render())  # not live: the final view, uncropped
    return stream.getvalue()


def three_target_run(dashboard: Dashboard) -> None:
    """2,000 lines to three targets: every 7th line copied, line 500's multiples fail at reg-b.io,
    lines above 1,990 still copying (one source to all three targets at once)."""
    dashboard.emit(SyncPlan(LINES * len(TARGETS), 4, "native", False, False, (), False))
    for line in range(1, LINES + 1):
        for target in TARGETS:
            if line > 1990:
                dashboard.emit(SyncCopyStart(item(line, target), "differs", None, "native"))
            elif line % 500 == 0 and target == "reg-b.io":
                dashboard.emit(SyncCopyFailed(item(line, target), "503 Service Unavailable", "copy", 0.1))
            elif line % 7 == 0:
                dashboard.emit(SyncCopyDone(item(line, target), "sha256:x", 1024, 0.1, 3, 1, 0, ()))
            else:
                dashboard.emit(SyncSkip(item(line, target), "sha256:x", "up to date", 0.0))


def test_three_targets_have_a_row_each_and_every_failure_names_its_target() -> None:
    dashboard = Dashboard(Stats(), screen()[0], targets=dict.fromkeys(TARGETS, LINES))
    three_target_run(dashboard)
    text = final_view(dashboard)
    header = row(text, "target")
    assert header == ["target", "progress", "done", "copied", "skipped", "failed", "copying", "bytes sent"]
    copied = sum(1 for line in range(1, 1991) if line % 7 == 0)
    for target in TARGETS:
        failed = 3 if target == "reg-b.io" else 0  # lines 500, 1000, 1500
        skipped = 1990 - copied - failed
        cells = row(text, target)
        assert cells[2:] == [f"{1990}/{LINES}", str(copied), str(skipped), str(failed), "10",
                             f"{copied:.1f} KiB"], cells  # 1 KiB per copy
    for line in (500, 1000, 1500):
        assert (f"failed at reg-b.io: line {line}: docker.io/library/app{line}:1.0 -> "
                f"reg-b.io/rancher/mirrored-app{line}:1.0: 503 Service Unavailable") in text
    assert f"5970/{LINES * 3} over 3 targets" in text


def test_a_source_copied_to_several_targets_is_one_row_of_copy_workers() -> None:
    dashboard = Dashboard(Stats(), screen()[0], targets=dict.fromkeys(TARGETS, 1))
    dashboard.emit(SyncPlan(len(TARGETS), 4, "native", False, False, (), False))
    for target in TARGETS:
        dashboard.emit(SyncCopyStart(item(1, target), "differs", None, "native"))
    console, stream = screen()
    console.print(dashboard._render(final=False))  # while running
    live = stream.getvalue()
    assert live.count("docker.io/library/app1:1.0") == 1
    assert f"docker.io/library/app1:1.0 -> {', '.join(TARGETS)}" in live


def test_one_target_is_the_one_destination_view() -> None:
    one = Dashboard(Stats(), screen()[0], targets={"dst.io": 2})
    for dashboard in (one, Dashboard(Stats(), screen()[0])):  # told the target, or not
        dashboard.emit(SyncPlan(2, 4, "native", False, False, (), False))
        dashboard.emit(SyncConflict(item(1, "dst.io"), 2, "other.io/app"))
        dashboard.emit(SyncCopyFailed(item(2, "dst.io"), "boom", "copy", 0.1))
        text = final_view(dashboard)
        assert "targets" not in text and " at dst.io" not in text and "over 1" not in text
        assert "failed: line 2: docker.io/library/app2:1.0 -> dst.io/rancher/mirrored-app2:1.0: boom" in text
        assert "conflict: line 1: docker.io/library/app1:1.0 -> dst.io/rancher/mirrored-app1:1.0 is superseded" in text


def test_compare_counts_per_target_and_names_the_target_of_what_does_not_match() -> None:
    dashboard = Dashboard(Stats(), screen()[0], targets={"reg-a.io": 2, "reg-b.io": 2})
    dashboard.emit(ComparePlan(4))
    for target, statuses in (("reg-a.io", ("MATCHED", "MATCHED")), ("reg-b.io", ("MATCHED", "MISSING"))):
        for tag, status in zip(("1", "2"), statuses):
            dashboard.emit(CompareLine("src.io/app", f"{target}/app", tag, status, None, "", target))
    text = final_view(dashboard)
    assert row(text, "target")[2:] == ["done", "matched", "not matched", "missing", "error"]
    assert row(text, "reg-a.io")[2:] == ["2/2", "2", "0", "0", "0"]
    assert row(text, "reg-b.io")[2:] == ["2/2", "1", "0", "1", "0"]
    assert "MISSING at reg-b.io: reg-b.io/app:2" in text


def test_a_target_label_is_escaped_everywhere(tmp_path: Path) -> None:
    targets = {HOSTILE_TARGET: 1, "reg-b.io": 1}
    failed = SyncCopyFailed(item(1, HOSTILE_TARGET), "boom", "copy", 0.1)
    dashboard = Dashboard(Stats(), screen()[0], targets=targets)
    dashboard.emit(failed)
    text = final_view(dashboard)
    assert "\x1b[2J" not in text and "reg-\\x1b[2J.io" in text
    plain = io.StringIO()
    Plain(plain, several=True).emit(failed)
    assert plain.getvalue() == ("sync.copy.failed reg-\\x1b[2J.io/rancher/mirrored-app1:1.0 "
                                "target=reg-\\x1b[2J.io elapsed=0.1 boom\n")
    summary = StepSummary(str(tmp_path / "summary.md"), targets=targets)
    summary.emit(failed)
    assert "\x1b" not in summary.text() and "`reg-\\x1b[2J.io`" in summary.text()


def test_plain_lines_name_the_target_only_when_there_are_several() -> None:
    done = SyncCopyDone(item(3, "reg-b.io"), "sha256:x", 10, 0.5, 1, 0, 0, ())
    for several, expected in ((False, "sync.copy.done reg-b.io/rancher/mirrored-app3:1.0 elapsed=0.5\n"),
                              (True, "sync.copy.done reg-b.io/rancher/mirrored-app3:1.0 target=reg-b.io elapsed=0.5\n")):
        stream = io.StringIO()
        Plain(stream, several=several).emit(done)
        assert stream.getvalue() == expected
    stream = io.StringIO()
    Plain(stream, several=True).emit(CompareLine("src.io/app", "reg-b.io/app", "1", "MISSING", None, "", "reg-b.io"))
    assert stream.getvalue() == "compare.line reg-b.io/app:1 target=reg-b.io\n"


def test_the_step_summary_has_a_table_per_target_and_a_target_per_failure(tmp_path: Path) -> None:
    summary = StepSummary(str(tmp_path / "summary.md"), targets={"reg-a.io": 2, "reg-b.io": 2})
    summary.emit(SyncCopyDone(item(1, "reg-a.io"), "sha256:x", 10, 0.5, 1, 0, 0, ()))
    summary.emit(SyncSkip(item(2, "reg-a.io"), "sha256:x", "up to date", 0.0))
    summary.emit(SyncCopyDone(item(1, "reg-b.io"), "sha256:x", 10, 0.5, 1, 0, 0, ()))
    summary.emit(SyncCopyFailed(item(2, "reg-b.io"), "503", "copy", 0.1))
    summary.emit(SyncDone(4, 2, 1, 1, 0, 20, 1.0))
    text = summary.text()
    assert ("| target | copied | skipped | failed |\n|---|---|---|---|\n"
            "| `reg-a.io` | 1 | 1 | 0 |\n| `reg-b.io` | 1 | 0 | 1 |\n") in text
    assert ("| item | target | state | detail |\n|---|---|---|---|\n"
            "| `reg-b.io/rancher/mirrored-app2:1.0` | `reg-b.io` | failed | `503` |\n") in text
    one = StepSummary(str(tmp_path / "one.md"), targets={"reg-a.io": 1})
    one.emit(SyncCopyFailed(item(2, "reg-a.io"), "503", "copy", 0.1))
    assert "| target |" not in one.text() and "| `reg-a.io/rancher/mirrored-app2:1.0` | failed | `503` |" in one.text()


def test_each_line_ends_once_per_target() -> None:
    # A dry run's skip is both a plan item and a skip: counted once, as skipped.
    tally = Tally(planned={"b.io": 1, "a.io": 2})
    for event in (SyncPlanItem(item(1, "a.io"), "copy", "differs", None),
                  SyncPlanItem(item(2, "a.io"), "skip", "up to date", None),
                  SyncSkip(item(2, "a.io"), None, "up to date", 0.0),
                  SyncCopyStart(item(1, "b.io"), "differs", None, "native")):
        tally.see(event)
    assert tally.targets == ["b.io", "a.io"]  # the command's order, before any event
    assert tally.counts == {"b.io": {}, "a.io": {"planned": 1, "skipped": 1}}
    assert outcome(CompareLine("s", "d", "1", "NOT MATCHED", None, "", "a.io")) == ("a.io", "not matched")

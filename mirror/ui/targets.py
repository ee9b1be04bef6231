"""The dashboard's per-destination parts: the targets table, the copies in flight, a problem line.

Drawn only when a run has several targets (``--target``, a config.yaml's repositories); with
one, the dashboard is the one-destination view it always was. A row per target rather than a
column: a target's label (``registry.example.com/team/sub``) can be long, and rows fit any
terminal width whether there are 3 targets or 30. Every label is escaped here, like all outside
text the dashboard shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..events import Item
from ..tally import SYNC_RESULTS, Tally
from ..text import escape

__all__ = ["copying_rows", "human_bytes", "problem_line", "targets_table"]


def targets_table(tally: Tally, in_flight: Iterable[Item], results: tuple[str, ...]) -> Table:
    """A row per target: progress, done / total, a column per result; for sync also the copies
    in flight and the bytes sent."""
    sync = results[0] == SYNC_RESULTS[0]
    table = Table(title="targets", expand=True, title_justify="left")
    table.add_column("target", overflow="fold", ratio=1)
    table.add_column("progress", width=24)
    for column in ("done", *results, *(("copying", "bytes sent") if sync else ())):
        table.add_column(column, justify="right", no_wrap=True)
    copying: dict[str, int] = {}
    for item in in_flight:
        copying[item.target] = copying.get(item.target, 0) + 1
    for target in tally.targets:
        done = tally.done(target)
        total = tally.planned.get(target, done)
        row: list[RenderableType] = [Text(escape(target)), ProgressBar(total=max(total, 1), completed=done),
                                     f"{done}/{total}", *(str(tally.count(target, result)) for result in results)]
        if sync:
            row += [str(copying.get(target, 0)), human_bytes(tally.bytes_sent.get(target, 0))]
        table.add_row(*row)
    return table


def copying_rows(workers: Mapping[Item, str], several: bool) -> list[str]:
    """The sources being copied, unescaped; with several targets one row per source naming
    every target it is being copied to (the copier writes them all from one read)."""
    if not several:
        return list(workers.values())
    by_source: dict[str, list[str]] = {}
    for item, source in workers.items():
        by_source.setdefault(source, []).append(item.target)
    return [f"{source} -> {', '.join(targets)}" for source, targets in by_source.items()]


def problem_line(kind: str, target: str, text: str, several: bool) -> str:
    """``failed: line 3: …``, or ``failed at reg-b.io: line 3: …`` when the run has several targets."""
    return f"{kind} at {target}: {text}" if several and target else f"{kind}: {text}"


def human_bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"

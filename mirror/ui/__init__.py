"""Renderers of events; they decide nothing.

* :mod:`.jsonlines` — one JSON object per event on stderr (the README's table), also the
  command's own ``status`` / ``error`` lines in JSON mode: the one JSON writer.
* :mod:`.plain` — one readable line per result, for logs.
* :mod:`.dashboard` — the rich Live view on a terminal, drawn on its own tick.
* :mod:`.summary` — the Markdown step summary when ``GITHUB_STEP_SUMMARY`` is set.

Every outside string is escaped here, in the renderer that shows it (JSON escapes by itself).
Only the renderers a run uses are imported (rich only when a dashboard is opened).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from ..events import Event, EventSink, Stats
from .jsonlines import JsonLines

__all__ = ["Fanout", "JsonLines", "open_sink"]


@dataclass
class Fanout:
    sinks: list[EventSink]

    def emit(self, event: Event, /) -> None:
        for sink in self.sinks:
            sink.emit(event)


@contextmanager
def open_sink(
    log_format: str, stats: Stats, stream: IO[str], title: str, extra: EventSink | None = None,
    targets: Mapping[str, int] | None = None,
) -> Iterator[EventSink]:
    """The sink for a command run: dashboard on a TTY (``auto``/``rich``), JSON lines otherwise
    (plain lines with ``plain``); ``extra`` (the metrics collector) sees every event too.
    ``targets``: a sync's or compare's (line, target) pairs per target label; with more than
    one, the dashboard, the plain lines and the step summary name the target of each result."""
    targets = dict(targets or {})
    sinks: list[EventSink] = [] if extra is None else [extra]
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = None
    if summary_path:
        from .summary import StepSummary  # each renderer is imported only when chosen (start-up)

        summary = StepSummary(summary_path, targets=targets)
    if summary:
        sinks.append(summary)
    use_rich = log_format == "rich" or (log_format == "auto" and stream.isatty())
    try:
        if use_rich:
            from .console import make_console
            from .dashboard import Dashboard

            console = make_console(stream, force_terminal=log_format == "rich" or None)
            with Dashboard(stats, console, title=title, targets=targets) as dashboard:
                yield Fanout([dashboard, *sinks])
        else:
            main: EventSink
            if log_format == "plain":
                from .plain import Plain

                main = Plain(stream, several=len(targets) > 1)
            else:
                main = JsonLines(stream)
            yield Fanout([main, *sinks])
    finally:
        if summary:
            summary.write()

"""Build typed events from their JSON names and fields, for tests that feed sinks by hand.

``emit(sink, "sync.copy.done", destination="d", tag="t", bytes=1)`` builds the
:class:`~mirror.events.sync.SyncCopyDone` those fields describe, with neutral values ("", 0, None)
for the fields a test does not care about, and emits it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mirror import events
from mirror.events import Event, EventSink, Item
from mirror.events import sync as sync_events

__all__ = ["build", "emit"]

_KINDS: dict[str, type[Event]] = {
    cls.name: cls
    for module in (events, sync_events)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}
_NEUTRAL: dict[str, object] = {"str": "", "int": 0, "float": 0.0, "bool": False, "tuple[str, ...]": ()}


def build(name: str, **fields: Any) -> Event:
    cls = _KINDS[name]
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        if spec.type == "Item":
            values[spec.name] = Item(*(fields.pop(key, default) for key, default in
                                       (("source", ""), ("destination", ""), ("tag", ""), ("line", 0),
                                        ("target", ""))))
        elif spec.name in fields:
            values[spec.name] = fields.pop(spec.name)
        elif spec.metadata.get("spread"):
            values[spec.name] = {key: fields.pop(key) for key in ("images", "tags", "full_images") if key in fields}
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            values[spec.name] = _NEUTRAL.get(str(spec.type))
    assert not fields, f"{name} has no fields {sorted(fields)}"
    return cls(**values)


def emit(sink: EventSink, name: str, **fields: Any) -> None:
    sink.emit(build(name, **fields))

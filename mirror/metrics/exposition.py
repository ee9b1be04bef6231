"""The Prometheus text exposition format (0.0.4): names, label escaping, number formatting,
families of gauges rendered to text. Pure: no I/O."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["CONTENT_TYPE", "LABEL_NAME", "Exposition", "escape_label_value"]

#: The Content-Type of the text exposition format, as the Pushgateway expects it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_label_value(value: str) -> str:
    r"""Escape a label value: ``\`` → ``\\``, ``"`` → ``\"``, newline → ``\n``."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass
class _Family:
    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[tuple[tuple[str, str], ...], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        for label in labels:
            if not LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r}")
        self.samples.append((tuple(sorted(labels.items())), value))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.type}"]
        for labels, value in sorted(self.samples, key=lambda sample: sample[0]):
            text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
            lines.append(f"{self.name}{{{text}}} {_format_value(value)}" if text
                         else f"{self.name} {_format_value(value)}")
        return lines


class Exposition:
    """Families in the order they are first declared; empty ones are left out."""

    def __init__(self) -> None:
        self.families: dict[str, _Family] = {}

    def family(self, name: str, help_text: str) -> _Family:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        found = self.families.get(name)
        if found is None:
            found = self.families[name] = _Family(name, help_text)
        return found

    def text(self) -> str:
        lines: list[str] = []
        for family in self.families.values():
            if family.samples:
                lines.extend(family.render())
        return "\n".join(lines) + "\n" if lines else ""

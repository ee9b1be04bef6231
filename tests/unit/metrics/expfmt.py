"""A strict parser of the Prometheus text exposition format (0.0.4), for tests.

Why our own, though the output now comes from prometheus_client: it is stricter than the
library's parser where our output must be right — every sample's family has ``# HELP`` and
``# TYPE`` before its first sample, a family's samples are contiguous, no series appears
twice, label values use only the three legal escapes. The integration tests also push the
same text to a real Pushgateway, which parses it with the reference Go implementation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["ExpositionError", "Family", "Sample", "parse"]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(\{{.*\}})?\s+(\S+)(?:\s+(-?\d+))?$")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class ExpositionError(ValueError):
    """The text is not valid exposition format; the message names the line."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: str | None = None
    samples: list[Sample] = field(default_factory=list)

    def value(self, **labels: str) -> float:
        """The value of the one sample whose labels include ``labels``."""
        found = [s for s in self.samples if all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) != 1:
            raise KeyError(f"{self.name}{labels}: {len(found)} samples match")
        return found[0].value

    def by(self, label: str) -> dict[str, float]:
        return {s.labels[label]: s.value for s in self.samples}


def _unescape(text: str, allowed: str, line_no: int) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, None)
        if nxt is None or nxt not in allowed:
            raise ExpositionError(f"line {line_no}: invalid escape \\{nxt or ''}")
        out.append("\n" if nxt == "n" else nxt)
    return "".join(out)


def _labels(text: str, line_no: int) -> dict[str, str]:
    """Parse ``{a="x",b="y\\"z"}`` (a trailing comma is allowed, as in the spec)."""
    assert text.startswith("{") and text.endswith("}")
    body = text[1:-1]
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        match = _LABEL_NAME.match(body, pos)
        if not match:
            raise ExpositionError(f"line {line_no}: bad label name at {body[pos:]!r}")
        name = match.group(0)
        pos = match.end()
        if body[pos:pos + 2] != '="':
            raise ExpositionError(f"line {line_no}: expected =\" after label {name}")
        pos += 2
        start = pos
        while True:
            if pos >= len(body):
                raise ExpositionError(f"line {line_no}: unterminated value of label {name}")
            if body[pos] == "\\":
                pos += 2
                continue
            if body[pos] == '"':
                break
            if body[pos] == "\n":
                raise ExpositionError(f"line {line_no}: raw newline in label {name}")
            pos += 1
        if name in labels:
            raise ExpositionError(f"line {line_no}: label {name} twice")
        labels[name] = _unescape(body[start:pos], '\\"n', line_no)
        pos += 1
        if pos < len(body):
            if body[pos] != ",":
                raise ExpositionError(f"line {line_no}: expected , after label {name}")
            pos += 1
    return labels


def _value(text: str, line_no: int) -> float:
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ExpositionError(f"line {line_no}: bad value {text!r}") from None


def _family_of(sample: str, families: dict[str, Family]) -> str:
    if sample in families:
        return sample
    for name, family in families.items():
        for suffix in _SUFFIXES.get(family.type, ()):
            if sample == name + suffix:
                return name
    return sample


def parse(text: str, *, strict: bool = True) -> dict[str, Family]:
    """Families by name. ``strict``: also require HELP and TYPE for every family (our own
    output); the Pushgateway's output is parsed with ``strict=False``."""
    if text and not text.endswith("\n"):
        raise ExpositionError("the text must end with a newline")
    families: dict[str, Family] = {}
    finished: set[str] = set()
    current: str | None = None
    seen_series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def switch_to(name: str, line_no: int) -> None:
        nonlocal current
        if current != name:
            if name in finished:
                raise ExpositionError(f"line {line_no}: family {name} is not contiguous")
            if current is not None:
                finished.add(current)
            current = name

    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.fullmatch(_NAME, name):
                    raise ExpositionError(f"line {line_no}: bad metric name {name!r}")
                switch_to(name, line_no)
                family = families.setdefault(name, Family(name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if family.help is not None:
                        raise ExpositionError(f"line {line_no}: second HELP for {name}")
                    family.help = _unescape(rest, "\\n", line_no)
                else:
                    if family.samples:
                        raise ExpositionError(f"line {line_no}: TYPE of {name} after its samples")
                    if rest not in _TYPES:
                        raise ExpositionError(f"line {line_no}: bad type {rest!r}")
                    family.type = rest
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise ExpositionError(f"line {line_no}: not a sample: {line!r}")
        sample_name, label_text, value_text, _timestamp = match.groups()
        labels = _labels(label_text, line_no) if label_text else {}
        family_name = _family_of(sample_name, families)
        switch_to(family_name, line_no)
        family = families.setdefault(family_name, Family(family_name))
        if strict and (family.help is None or family.type == "untyped"):
            raise ExpositionError(f"line {line_no}: {sample_name} has no HELP/TYPE before it")
        key = (sample_name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ExpositionError(f"line {line_no}: series {sample_name}{labels} twice")
        seen_series.add(key)
        family.samples.append(Sample(sample_name, labels, _value(value_text, line_no)))
    return families

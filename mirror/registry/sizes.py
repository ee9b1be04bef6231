"""The registries file's stream fields: sizes (bytes or ``KiB``/``MiB``/``GiB``) and seconds.

``monolithic_max``, ``chunk_size`` and ``min_throughput`` (bytes per second) are sizes:
a whole number of bytes, or a number with a binary suffix (``8MiB``, ``256 KiB``,
``1.5GiB``). ``deadline_base`` is seconds. Blobs up to ``monolithic_max`` are held in
memory while they are verified, so it may not exceed the process's memory budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import RegistriesFileError
from ..transport.limits import KIB, MEMORY_BUDGET, MIB, StreamLimits
from ..userfile import quote

__all__ = ["STREAM_FIELDS", "check_stream_field", "parse_size", "stream_limits"]

STREAM_FIELDS = ("monolithic_max", "chunk_size", "deadline_base", "min_throughput")
_UNITS = {"": 1, "B": 1, "KIB": KIB, "MIB": MIB, "GIB": 1024 * MIB}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(value: Any) -> int | None:
    """Bytes from ``123``, ``"123"``, ``"8MiB"``, ``"1.5 GiB"``; None when it is not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value)
    if not match or match.group(2).upper() not in _UNITS:
        return None
    number = float(match.group(1)) * _UNITS[match.group(2).upper()]
    return int(number) if math.isfinite(number) else None


def check_stream_field(name: str, value: Any, at: str) -> int | float:
    """One stream field's value, or :class:`RegistriesFileError` naming host and field (``at``)."""
    if name == "deadline_base":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise RegistriesFileError(f"{at} must be a finite number of seconds > 0")
        return float(value)
    size = parse_size(value)
    if size is None or size < 1:
        raise RegistriesFileError(f"{at} must be a size >= 1: bytes, or a number with KiB, MiB or GiB "
                                  f"(got {quote(value)})")
    if name == "monolithic_max" and size > MEMORY_BUDGET:
        raise RegistriesFileError(f"{at} is {size} bytes, above the {MEMORY_BUDGET // MIB} MiB memory budget for "
                                  "blobs held in memory")
    return size


def stream_limits(values: Mapping[str, Any]) -> StreamLimits:
    """The checked values of one host (missing fields keep their defaults)."""
    defaults = StreamLimits()
    return StreamLimits(
        monolithic_max=int(values.get("monolithic_max", defaults.monolithic_max)),
        chunk_size=int(values.get("chunk_size", defaults.chunk_size)),
        deadline_base=float(values.get("deadline_base", defaults.deadline_base)),
        min_throughput=int(values.get("min_throughput", defaults.min_throughput)),
    )

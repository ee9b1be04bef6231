"""The dispatch tables: every ``versionSource`` kind and every autoupdate.yaml strategy has a source.

A kind missing from the table would be a ``KeyError`` in the middle of a discovery run (an
internal error, exit 3) for a config that ``validate`` accepts.
"""

from __future__ import annotations

from typing import get_args

from mirror.autoupdate import Strategy
from mirror.config import SourceKind
from mirror.sources.table import SOURCES, strategies


def test_every_source_kind_has_a_source() -> None:
    assert set(SOURCES) == set(SourceKind)


def test_every_strategy_type_has_a_source() -> None:
    assert set(strategies()) == set(get_args(Strategy))

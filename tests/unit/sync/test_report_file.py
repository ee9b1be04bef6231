"""The ``--report`` file is written one line result at a time, with the bytes ``json.dumps`` gives.

Why it matters: building the whole document with ``json.dumps(..., indent=2)`` was the peak
memory of a large run (bench/RESULTS.md, Rancher-2026-shaped sync); streaming must not change
a byte of what scripts read.
"""

from __future__ import annotations

import json

import pytest

from mirror.commands.sync import report_chunks
from mirror.pipeline.results import LineResult, Outcome

DOCUMENT = {"images_list": "images-list", "copier": "native", "shard": None, "dry_run": False,
            "totals": {"copied": 1, "skipped": 1, "failed": 1, "invalid": 0}, "invalid": ["line 3: bad"],
            "pulls": {}}


def _result(number: int, outcome: Outcome, reason: str = "") -> LineResult:
    return LineResult(source="docker.io/flannel/flannel", destination="registry.mirror.test/rancher/mirrored-flannel",
                      tag=f"v0.{number}", line=number, outcome=outcome, reason=reason,
                      source_digest="sha256:" + "a" * 64, arch_tags=("v0-amd64",), elapsed=0.12345)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_streamed_report_is_byte_for_byte_json_dumps(count: int) -> None:
    outcomes = [Outcome.COPIED, Outcome.SKIPPED, Outcome.FAILED]
    results = [_result(n, outcomes[n % 3], reason="line one\nline two \u2028 \x1b[31m ünïcode") for n in range(count)]
    expected = json.dumps({**DOCUMENT, "results": [r.as_json() for r in results]}, indent=2) + "\n"
    assert "".join(report_chunks(DOCUMENT, iter(results))) == expected

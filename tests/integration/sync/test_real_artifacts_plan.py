"""The real Rancher config.yaml, planned by ``sync --dry-run``: exactly regsync.yaml's 7,526 copies.

One local registry stands in for every host of the file (each host under its own
``repository_prefix``), every source tag seeded with a tiny image, no destination present:
every copy the config asks for is then planned as a copy, and the set of (source:tag,
target:tag) pairs in the report must equal the ``sync:`` entries Rancher's own generator wrote.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from mirror.lists import read_artifacts
from mirror.lists.mirrorlist import artifacts_lines
from mirror.ref import parse
from tests.integration.sync.helpers import cli
from tests.support.data import REAL_ARTIFACTS, REAL_REGSYNC
from tests.support.images import push_image
from tests.support.registry import RegistryServer


def _pair(source: str, target: str) -> tuple[str, str]:
    src, dst = parse(source), parse(target)
    return f"{src.name}:{src.tag}", f"{dst.name}:{dst.tag}"


def test_the_real_config_plans_exactly_regsyncs_copies(dest_registry: RegistryServer, tmp_path: Path) -> None:
    lines = artifacts_lines(read_artifacts(REAL_ARTIFACTS))
    hosts = {line.source.host for line in lines} | {line.destination.host for line in lines}
    registries = tmp_path / "registries.yaml"
    registries.write_text(yaml.safe_dump({
        host: {"endpoint": dest_registry.url, "repository_prefix": host.replace(":", "-"), "concurrency": 16}
        for host in sorted(hosts)
    }))
    tags: dict[str, set[str]] = {}
    for line in lines:
        tags.setdefault(f"{line.source.host}/{line.source.repository}", set()).add(line.tag)

    def seed(repository: str) -> None:
        # One repository per thread: concurrent uploads of one blob to one repository race in
        # docker-registry (a 500 on the HEAD that follows).
        for tag in sorted(tags[repository]):
            push_image(dest_registry.url, repository, tag, kind="oci-manifest", layers_seed="one image")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(seed, sorted(tags)))

    report = tmp_path / "report.json"
    code = cli(REAL_ARTIFACTS, "sync", "--dry-run", "--report", str(report), registries=registries)
    results = json.loads(report.read_text())["results"]
    assert code == 0
    assert {r["outcome"] for r in results} == {"planned"}
    planned = {_pair(f"{r['source']}:{r['tag']}", f"{r['destination']}:{r['tag']}") for r in results}
    oracle = yaml.safe_load(REAL_REGSYNC.read_text())["sync"]
    assert len(oracle) == len(results) == 7526
    assert planned == {_pair(entry["source"], entry["target"]) for entry in oracle}

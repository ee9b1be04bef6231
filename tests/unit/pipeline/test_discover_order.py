"""The order discover starts its entries in, and the order it reports them in."""

from __future__ import annotations

import json

import anyio
import pytest

from mirror import config as configfile
from mirror import imageslist
from mirror.config import Entry
from mirror.events import DiscoverEntryStart, ListSink
from mirror.pipeline.discover import EntryResult, Job, discover, run_jobs
from mirror.sources.base import Found

pytestmark = pytest.mark.anyio

# In config order: the order a user wrote them in, which is the order of every report.
ENTRIES = {
    "flannel": {"images": ["flannel/flannel"], "versionSource": "github-latest-release:flannel-io/flannel"},
    "etcd": {"images": ["coreos/etcd"], "versionSource": "github-releases:etcd-io/etcd"},
    "calico-operator": {"versionSource": "helm-latest:https://docs.tigera.io/calico/charts",
                        "helmCharts": {"tigera-operator": {}}},
    "longhorn": {"versionSource": "github-tagged-images-file:longhorn/longhorn",
                 "imagesFilePath": "deploy/longhorn-images.txt"},
    "traefik": {"images": ["library/traefik"], "versionSource": "registry"},
    "kube-vip": {"images": ["plndr/kube-vip"], "versionSource": "github-latest-release:kube-vip/kube-vip"},
    "vsphere": {"images": ["registry.k8s.io/cloud-pv-vsphere/cloud-provider-vsphere"], "versionSource": "registry"},
}


async def test_the_longest_chains_start_first_and_results_keep_config_order() -> None:
    config = configfile.parse(json.dumps(ENTRIES), path="config.json")
    started: list[str] = []

    async def run_source(entry: Entry) -> Found:
        started.append(entry.key)
        await anyio.sleep(0)
        return Found(tags=("v1.0.0",), full_images=("docker.io/x/y:v1",), seen=1)

    sink = ListSink()
    results = await discover(config, imageslist.parse(""), run_source, sink)

    # Tag pages (one after another), then Helm (index, archive, renders), then GitHub release
    # pages and tagged files (a first page, then the rest at once), then single latest releases.
    assert started == ["traefik", "vsphere", "calico-operator", "etcd", "longhorn", "flannel", "kube-vip"]
    assert [e.entry for e in sink.events if isinstance(e, DiscoverEntryStart)] == started
    assert [r.key for r in results] == list(ENTRIES)  # what the user sees: config order
    assert all(r.error is None for r in results)


async def test_equal_ranks_start_in_the_order_given() -> None:
    started: list[str] = []

    def job(key: str, rank: int) -> Job:
        async def evaluate() -> EntryResult:
            started.append(key)
            return EntryResult(key, "registry", False)
        return Job(key, "registry", False, evaluate, rank=rank)

    results = await run_jobs([job("a", 2), job("b", 0), job("c", 2), job("d", 0)])
    assert started == ["b", "d", "a", "c"]
    assert [r.key for r in results] == ["a", "b", "c", "d"]


def test_autoupdate_entries_rank_like_the_config_json_kind_that_reads_the_same_source() -> None:
    from mirror.autoupdate import GithubRelease, HelmLatest, RegistryTags
    from mirror.autoupdate import load as load_autoupdate
    from mirror.config import SourceKind
    from mirror.pipeline.autoupdate import start_rank
    from tests.support.data import REAL_AUTOUPDATE

    strategies = [entry.strategy for entry in load_autoupdate(REAL_AUTOUPDATE).entries]
    kinds = {type(s) for s in strategies}
    assert kinds == {GithubRelease, HelmLatest, RegistryTags}  # Rancher's file has all three
    for strategy in strategies:
        if isinstance(strategy, RegistryTags):
            assert start_rank(strategy) == SourceKind.REGISTRY.start_rank == 0
        elif isinstance(strategy, HelmLatest):
            assert start_rank(strategy) == SourceKind.HELM_LATEST.start_rank
        else:
            latest = SourceKind.GITHUB_LATEST_RELEASE if strategy.latest_only else SourceKind.GITHUB_RELEASES
            assert start_rank(strategy) == latest.start_rank > 0

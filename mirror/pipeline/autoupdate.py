"""discover for autoupdate.yaml: every entry concurrently, strategy → new tags against config.yaml.

The same runner as config.json (:func:`mirror.pipeline.discover.run_jobs`: one task group,
the same events, a failed entry left out and reported, a bug an internal error) and the
same output shape, so workflows that read the seed's JSON keep working:

* GithubRelease and Registry entries: ``{"images": [...], "tags": [...]}`` — the
  SourceArtifacts missing at least one found tag, and every found tag missing for at least
  one of them, both sorted;
* HelmLatest entries: ``{"full_images": ["SourceArtifact:tag", ...]}``, sorted;
* plus ``target_names`` (``{"SourceArtifact": "TargetArtifactName"}``) when an artifact with
  something new has a name other than its default, because the seed's shape cannot say which
  config.yaml artifact a tag is for.

"New" is per config.yaml artifact, identified as config.yaml identifies it: the source
repository (normalised, so ``docker.io/x/y`` is ``x/y``) and the effective target name
(TargetArtifactName, else the default name). A tag is new when that artifact does not list
it; an artifact config.yaml does not have yet has every found tag new (listing it in
autoupdate.yaml is its approval, as in Rancher's tool). :func:`additions` turns the results
into the (SourceArtifact, name, tag) triples a config.yaml write applies.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from functools import partial

from .. import ref as imageref
from ..autoupdate import Artifact, AutoupdateConfig, AutoupdateEntry, GithubRelease, HelmLatest, Strategy
from ..config import SourceKind
from ..errors import AutoupdateError
from ..events import EventSink
from ..lists import ArtifactsConfig, default_target_name
from ..sources.autoupdate import ArtifactTags
from ..text import excerpt
from .discover import ArtifactAddition, EntryResult, Job, run_jobs

__all__ = ["ArtifactAddition", "StrategyRunner", "additions", "discover_autoupdate", "effective_name", "source_label"]

StrategyRunner = Callable[[AutoupdateEntry], Awaitable[ArtifactTags]]
_Key = tuple[str, str]


def effective_name(artifact: Artifact) -> str:
    return artifact.target_name or default_target_name(artifact.source)


def _key(source: str, name: str) -> _Key:
    return imageref.parse(source).name, name


def _listed_tags(config: ArtifactsConfig) -> dict[_Key, frozenset[str]]:
    return {_key(a.source, a.name): frozenset(a.tags) for a in config.artifacts}


def source_label(strategy: Strategy) -> str:
    """How events and messages name where an entry's tags come from."""
    if isinstance(strategy, GithubRelease):
        return f"GithubRelease:{strategy.owner_repo}" + (" (LatestOnly)" if strategy.latest_only else "")
    if isinstance(strategy, HelmLatest):
        return f"HelmLatest:{strategy.helm_repo}"
    return f"Registry:{strategy.artifacts[0].source}"


def start_rank(strategy: Strategy) -> int:
    """The rank of the config.json kind that reads the same source (the same chain of requests)."""
    if isinstance(strategy, GithubRelease):
        kind = SourceKind.GITHUB_LATEST_RELEASE if strategy.latest_only else SourceKind.GITHUB_RELEASES
    else:
        kind = SourceKind.HELM_LATEST if isinstance(strategy, HelmLatest) else SourceKind.REGISTRY
    return kind.start_rank


def _result(entry: AutoupdateEntry, found: ArtifactTags, listed: dict[_Key, frozenset[str]]) -> EntryResult:
    helm = isinstance(entry.strategy, HelmLatest)
    new: list[ArtifactAddition] = []
    for artifact, tags in found.tags:
        name = effective_name(artifact)
        have = listed.get(_key(artifact.source, name), frozenset())
        new.extend(ArtifactAddition(entry.name, artifact.source, name, tag, artifact.target_name is not None)
                   for tag in tags if tag not in have)
    names = sorted({(a.source, a.name) for a in new if a.name != default_target_name(a.source)})
    pairs = [(artifact, tag) for artifact, tags in found.tags for tag in tags]
    count = len(pairs) if helm else len({tag for _artifact, tag in pairs})  # as config.json counts
    result = EntryResult(entry.name, source_label(entry.strategy), helm, seen=found.seen, found=count,
                         target_names=tuple(names), reviewers=entry.reviewers, additions=tuple(new))
    if helm:
        return replace(result, full_images=tuple(sorted({f"{a.source}:{a.tag}" for a in new})))
    return replace(result, images=tuple(sorted({a.source for a in new})), tags=tuple(sorted({a.tag for a in new})))


async def discover_autoupdate(
    config: AutoupdateConfig,
    artifacts: ArtifactsConfig,
    run_strategy: StrategyRunner,
    events: EventSink | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[EntryResult]:
    """Run every entry concurrently against the config.yaml ``artifacts``; results in file order."""
    listed = _listed_tags(artifacts)

    async def evaluate(entry: AutoupdateEntry) -> EntryResult:
        try:
            found = await run_strategy(entry)
        except AutoupdateError as exc:  # the entry is named where the failure is reported
            prefix = f"entry '{excerpt(entry.name)}': "
            raise AutoupdateError([problem.removeprefix(prefix) for problem in exc.problems]) from None
        return _result(entry, found, listed)

    jobs = [Job(entry.name, source_label(entry.strategy), isinstance(entry.strategy, HelmLatest),
                partial(evaluate, entry), entry.reviewers, start_rank(entry.strategy)) for entry in config.entries]
    return await run_jobs(jobs, events, clock)


def additions(results: Iterable[EntryResult]) -> list[ArtifactAddition]:
    """Every (artifact, tag) the successful entries found new, once each, in entry order.

    What ``--apply`` hands to the config.yaml write: two entries naming the same artifact and
    tag add it once (the first entry's record is kept).
    """
    seen: set[tuple[_Key, str]] = set()
    result: list[ArtifactAddition] = []
    for entry in results:
        if entry.error:
            continue
        for addition in entry.additions:
            key = (_key(addition.source, addition.name), addition.tag)
            if key not in seen:
                seen.add(key)
                result.append(addition)
    return result

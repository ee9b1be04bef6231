"""autoupdate.yaml through discover's runner: what is new per config.yaml artifact, the JSON, the
additions for ``--apply``, the events and the reviewers. Strategies are stubbed (the fetching is
tested end to end in tests/integration/discover/test_autoupdate.py)."""

from __future__ import annotations

import pytest

from mirror.autoupdate import Artifact, AutoupdateEntry, parse
from mirror.errors import AutoupdateError, GitHubError
from mirror.events import ListSink
from mirror.lists import parse_artifacts
from mirror.pipeline.autoupdate import additions, discover_autoupdate
from mirror.pipeline.discover import ArtifactAddition, to_seed_json
from mirror.sources.autoupdate import ArtifactTags, same_tags

AUTOUPDATE = """\
- Name: flannel
  Reviewers: [rancher/k3s, alice]
  Registry:
    Artifacts:
    - SourceArtifact: docker.io/flannel/flannel
    - SourceArtifact: flannel/flannel
      TargetArtifactName: mirrored-flannel-flannel
    - SourceArtifact: flannel/flannel
      TargetArtifactName: flannel-special
- Name: chart
  Reviewers: [bob]
  HelmLatest:
    HelmRepo: https://charts.example.org
    Charts: {app: {default: []}}
    Artifacts:
    - SourceArtifact: ghcr.io/example/app
    - SourceArtifact: ghcr.io/example/new-one
- Name: broken
  Reviewers: [carol]
  Registry:
    Artifacts:
    - SourceArtifact: quay.io/example/broken
- Name: again
  Reviewers: [dave]
  Registry:
    Artifacts:
    - SourceArtifact: flannel/flannel
"""

CONFIG_YAML = """\
Artifacts:
- SourceArtifact: flannel/flannel
  Tags: [v0.25.0]
- SourceArtifact: docker.io/flannel/flannel
  TargetArtifactName: flannel-special
  Tags: [v0.25.0, v0.25.1]
- SourceArtifact: ghcr.io/example/app
  Tags: ["1.0"]
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Registry: docker.io
"""


async def strategy(entry: AutoupdateEntry) -> ArtifactTags:
    if entry.name in ("flannel", "again"):
        return same_tags(entry.artifacts, ["v0.25.1", "v0.25.0"], seen=4)
    if entry.name == "chart":
        app, new = entry.artifacts
        return ArtifactTags(((app, ("1.0", "2.0")), (new, ("0.1",))), seen=3)
    raise AutoupdateError(["entry 'broken': quay.io/example/broken has no tags"])


async def run(sink: ListSink | None = None) -> list:  # type: ignore[type-arg]
    return await discover_autoupdate(parse(AUTOUPDATE), parse_artifacts(CONFIG_YAML), strategy, sink)


@pytest.mark.anyio
async def test_new_is_per_artifact_source_and_effective_name() -> None:
    results = await run()
    assert to_seed_json(results) == {
        # docker.io/flannel/flannel and flannel/flannel under the default name (also when written
        # out) are config.yaml's first artifact: v0.25.1 is new; flannel-special has both.
        "flannel": {"images": ["docker.io/flannel/flannel", "flannel/flannel"], "tags": ["v0.25.1"]},
        # new-one is not in config.yaml: everything is new for it (autoupdate.yaml approves it).
        "chart": {"full_images": ["ghcr.io/example/app:2.0", "ghcr.io/example/new-one:0.1"]},
        "again": {"images": ["flannel/flannel"], "tags": ["v0.25.1"]},
    }


@pytest.mark.anyio
async def test_target_names_appear_only_for_non_default_names_with_something_new() -> None:
    config = parse_artifacts(CONFIG_YAML.replace("Tags: [v0.25.0, v0.25.1]", "Tags: [v0.25.0]"))
    results = await discover_autoupdate(parse(AUTOUPDATE), config, strategy)
    assert results[0].seed_json()["target_names"] == {"flannel/flannel": "flannel-special"}
    assert "target_names" not in results[1].seed_json()


@pytest.mark.anyio
async def test_additions_name_each_artifact_once_and_skip_failed_entries() -> None:
    assert additions(await run()) == [
        ArtifactAddition("flannel", "docker.io/flannel/flannel", "mirrored-flannel-flannel", "v0.25.1"),
        ArtifactAddition("chart", "ghcr.io/example/app", "mirrored-example-app", "2.0"),
        ArtifactAddition("chart", "ghcr.io/example/new-one", "mirrored-example-new-one", "0.1"),
    ]  # "again" finds flannel/flannel v0.25.1 too: added once, by the first entry


@pytest.mark.anyio
async def test_explicit_names_travel_with_the_addition() -> None:
    config = parse_artifacts(CONFIG_YAML.replace("Tags: [v0.25.0, v0.25.1]", "Tags: [v0.25.0]"))
    found = additions(await discover_autoupdate(parse(AUTOUPDATE), config, strategy))
    assert ArtifactAddition("flannel", "flannel/flannel", "flannel-special", "v0.25.1", explicit_name=True) in found


@pytest.mark.anyio
async def test_a_failed_entry_is_left_out_reported_once_and_keeps_its_reviewers() -> None:
    sink = ListSink()
    results = await run(sink)
    broken = results[2]
    assert broken.error == "quay.io/example/broken has no tags"  # named once, by the caller
    assert not broken.internal
    assert "broken" not in to_seed_json(results)
    assert [r.reviewers for r in results] == [("rancher/k3s", "alice"), ("bob",), ("carol",), ("dave",)]
    assert [e["entry"] for e in sink.named("discover.entry.failed")] == ["broken"]
    assert {e["entry"] for e in sink.named("discover.entry.start")} == {"flannel", "chart", "broken", "again"}
    done = {e["entry"]: e for e in sink.named("discover.entry.done")}
    assert done["chart"]["found"] == 3 and done["chart"]["new"] == 2 and done["chart"]["seen"] == 3
    assert done["flannel"]["source"] == "Registry:docker.io/flannel/flannel"
    assert sink.named("discover.done") == [{"entries": 4, "failed": 1, "new": 5}]  # images x tags, as config.json counts


@pytest.mark.anyio
async def test_a_bug_in_a_strategy_is_an_internal_error() -> None:
    async def buggy(entry: AutoupdateEntry) -> ArtifactTags:
        if entry.name == "chart":
            raise KeyError("oops")
        if entry.name == "broken":
            raise GitHubError("GitHub said no")
        return await strategy(entry)

    results = await discover_autoupdate(parse(AUTOUPDATE), parse_artifacts(CONFIG_YAML), buggy)
    assert results[1].internal and results[1].error == "internal error: KeyError: 'oops'"
    assert results[2].error == "GitHub said no" and not results[2].internal
    assert list(to_seed_json(results)) == ["flannel", "again"]


def test_artifact_values_are_what_the_reader_makes() -> None:
    entry = parse(AUTOUPDATE).entry("flannel")
    assert entry.artifacts[1] == Artifact("flannel/flannel", "mirrored-flannel-flannel")

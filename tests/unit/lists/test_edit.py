"""Splicing tags into a config.yaml keeps every other byte; comments are told from text by tokens."""

from __future__ import annotations

from dataclasses import replace

import yaml

from mirror.lists.artifacts_format import render_config
from mirror.lists.artifacts_read import parse_artifacts, read_artifacts
from mirror.lists.comments import strip_comments
from mirror.lists.edit import add_tags
from tests.support.data import SHARED_DATA

CONFIG_YAML = SHARED_DATA / "rancher-2026-02" / "config.yaml"

HAND_WRITTEN = """\
# Mirror config, kept by hand
Artifacts:
    # calico
    - SourceArtifact: "quay.io/calico/node"   # the node
      Tags: [v3.9.0, 'v3.9.5']
    - SourceArtifact: library/busybox
      Tags:
        - 1.36.0   # old
        # pinned: see #123
        - "1.37"
    - SourceArtifact: a/b
      Tags:
    - SourceArtifact: c/d   # no Tags yet
    - {SourceArtifact: e/f, Tags: []}
Repositories:
  - BaseUrl: docker.io/rancher
    Registry: docker.io
    DefaultTarget: yes
"""


def removed_lines(before: str, after: str) -> list[str]:
    """Lines of ``before`` missing from ``after`` in order (a diff's deletions)."""
    rest = iter(after.splitlines())
    return [line for line in before.splitlines() if not any(line == other for other in rest)]


def test_block_lists_get_new_lines_only_in_byte_order_and_quoted_by_go_yaml() -> None:
    after = add_tags(HAND_WRITTEN, {1: ["3.10", "1.36.5", "1.0"]})
    assert removed_lines(HAND_WRITTEN, after) == []
    assert (
        '      Tags:\n        - "1.0"\n        - 1.36.0   # old\n        - 1.36.5\n'
        '        # pinned: see #123\n        - "1.37"\n        - "3.10"\n'
    ) in after
    tags = yaml.safe_load(after)["Artifacts"][1]["Tags"]
    assert tags == ["1.0", "1.36.0", "1.36.5", "1.37", "3.10"]  # strings, not floats
    assert [a.tags for a in parse_artifacts(after).artifacts][1] == ("1.0", "1.36.0", "1.36.5", "1.37", "3.10")


def test_flow_null_and_missing_tags() -> None:
    after = add_tags(HAND_WRITTEN, {0: ["v3.8.0", "v3.9.9"], 2: ["x"], 3: ["1e3"], 4: ["y", "z"]})
    assert "      Tags: [v3.8.0, v3.9.0, 'v3.9.5', v3.9.9]\n" in after
    assert "    - SourceArtifact: a/b\n      Tags:\n      - x\n" in after
    assert '    - SourceArtifact: c/d   # no Tags yet\n      Tags:\n      - "1e3"\n' in after
    assert '    - {SourceArtifact: e/f, Tags: ["y", z]}\n' in after
    tags = [a.tags for a in parse_artifacts(after).artifacts]
    assert tags == [("v3.8.0", "v3.9.0", "v3.9.5", "v3.9.9"), ("1.36.0", "1.37"), ("x",), ("1e3",), ("y", "z")]


def test_crlf_and_a_missing_final_newline_are_kept() -> None:
    text = "Artifacts:\r\n- SourceArtifact: a/b\r\n  Tags:\r\n  - \"1.0\"\r\nRepositories: []"
    assert add_tags(text, {0: ["2.0"]}) == (
        "Artifacts:\r\n- SourceArtifact: a/b\r\n  Tags:\r\n  - \"1.0\"\r\n  - \"2.0\"\r\nRepositories: []")
    last = "Artifacts:\n- SourceArtifact: a/b\n  Tags:\n  - v1"
    assert add_tags(last, {0: ["v2"]}) == last + "\n  - v2"


def test_on_the_real_file_an_addition_is_what_rancher_formatter_would_write() -> None:
    """The real file is in Rancher's format; tags spliced in byte order keep it so."""
    text = CONFIG_YAML.read_text()
    config = read_artifacts(CONFIG_YAML)
    picks = {2: ["3.10", "3.6.1"], 3: ["3.11.0", "4.0.0"], 10: ["0.0.1"]}
    after = add_tags(text, picks)
    artifacts = list(config.artifacts)
    for index, tags in picks.items():
        artifacts[index] = replace(artifacts[index], tags=artifacts[index].tags + tuple(tags))
    assert after == render_config(replace(config, artifacts=tuple(artifacts)))
    assert removed_lines(text, after) == []


def test_comments_are_told_from_text_by_the_tokens() -> None:
    stripped = strip_comments(HAND_WRITTEN)
    assert stripped.comments == 6
    text = stripped.text
    assert '    - SourceArtifact: "quay.io/calico/node"\n' in text
    assert "        - 1.36.0\n" in text and "#" not in text
    quoted = "A:\n- 'a # not a comment'\n- b#c\n- d # gone\n"
    assert strip_comments(quoted).text == "A:\n- 'a # not a comment'\n- b#c\n- d\n"
    assert [number for number, _ in strip_comments("# top\nA: 1\n").lines] == [2]

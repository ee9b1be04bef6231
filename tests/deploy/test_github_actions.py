"""examples/github-actions: the workflows parse, call only commands the CLI has, and keep
untrusted input out of their scripts.

The command list is fixed here rather than read from ``mirror.cli.COMMANDS``: commands are
still being added to the CLI, and a workflow must not silently start calling one that does
not exist.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "examples" / "github-actions"

COMMANDS = {"sort", "validate", "discover", "add-tag", "add-full-image", "check-new-images", "sync", "compare"}
#: Common options that take a value: the subcommand is the first word after the options.
VALUE_OPTIONS = {"--images-list", "--config", "--registries", "--log-format", "--cache", "--max-wait",
                 "--metrics-file", "--pushgateway"}
#: How a workflow names the tool: the console script, or the container image.
TOOL_WORDS = re.compile(r"^(image-mirror|\$IMAGE_MIRROR_IMAGE|\$\{IMAGE_MIRROR_IMAGE\}|ghcr\.io/[^/]+/image-mirror(:\S+)?)$")

#: What each example must do at least.
EXPECTED = {
    "discover.yml": {"discover"},
    "add-tag.yml": {"add-tag", "add-full-image"},
    "check.yml": {"validate", "sort", "check-new-images"},
    "mirror.yml": {"sync"},
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def invocations(script: str) -> Iterator[tuple[str, list[str]]]:
    """(subcommand, its arguments) for every call of the tool in a shell script."""
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # a heredoc line or an unbalanced quote in a comment
            continue
        for i, word in enumerate(words):
            if not TOOL_WORDS.match(word):
                continue
            j = i + 1
            while j < len(words) and words[j].startswith("-"):
                j += 1 if "=" in words[j] or words[j] not in VALUE_OPTIONS else 2
            if j < len(words) and not words[j].startswith(("|", ";", "&", ")")):
                yield words[j], words[j + 1:]


def test_the_four_examples_exist() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_workflow_parses_and_calls_only_existing_commands(name: str) -> None:
    workflow = load(name)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    used: set[str] = set()
    for step in steps(workflow):
        assert "uses" in step or "run" in step, step
        if "run" in step:
            for command, _args in invocations(step["run"]):
                assert command in COMMANDS, f"{name}: image-mirror {command} is not a command"
                used.add(command)
    assert EXPECTED[name] <= used, f"{name} never runs {EXPECTED[name] - used}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_untrusted_expression_inside_scripts(name: str) -> None:
    # Inputs, event payloads and branch names reach scripts through env, never pasted in
    # (a tag or title with `"; curl …` would otherwise run).
    for step in steps(load(name)):
        script = step.get("run", "")
        for expression in re.findall(r"\$\{\{(.*?)\}\}", script):
            assert not re.search(r"inputs\.|github\.event\.|github\.head_ref|github\.base_ref|secrets\.",
                                 expression), f"{name}: ${{{{{expression}}}}} inside a run script"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_actions_are_pinned_to_a_version(name: str) -> None:
    for step in steps(load(name)):
        if "uses" in step:
            _action, _, ref = step["uses"].partition("@")
            assert ref and ref not in {"main", "master", "latest"}, f"{name}: {step['uses']}"


def test_discover_opens_pull_requests_through_the_tool_alone() -> None:
    workflow = load("discover.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    scripts = [step["run"] for step in steps(workflow) if "run" in step]
    calls = [(command, args) for script in scripts for command, args in invocations(script)]
    # One call: the tool opens the pull requests; no gh, git or jq, no loop over entries.
    ((command, args),) = calls
    assert command == "discover" and "--open-prs" in args and "--output" in args
    script = "\n".join(scripts)
    for word in ("gh", "git", "jq", "while", "for"):
        assert not re.search(rf"(^|[\s;|&(]){word}\s", script, re.MULTILINE), f"discover.yml runs {word}"
    # The tool's exit code is the step's, through the tee of the plan.
    assert 'exit "${PIPESTATUS[0]}"' in script
    step = next(s for s in steps(workflow) if "run" in s and "discover" in s["run"])
    assert step["env"]["GITHUB_TOKEN"] == "${{ secrets.IMAGE_MIRROR_PR_TOKEN || github.token }}"
    assert "-e GITHUB_TOKEN " in step["run"] and "-e GITHUB_REPOSITORY " in step["run"]
    permissions = workflow["permissions"]
    assert permissions["contents"] == "write" and permissions["pull-requests"] == "write"


def test_discover_options_in_the_workflow_exist() -> None:
    # The options the workflow passes are the CLI's own (a renamed option would fail at 2 a.m.).
    from mirror.cli import build_parser

    parser = build_parser("discover")
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    known = {option for action in sub.choices["discover"]._actions for option in action.option_strings}
    workflow = load("discover.yml")
    for step in steps(workflow):
        for command, args in invocations(step.get("run", "")):
            assert {a for a in args if a.startswith("--")} - {"$DRY_RUN"} <= known


def test_add_tag_takes_images_tags_or_full_images() -> None:
    workflow = load("add-tag.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"images", "tags", "full_images"}
    script = "\n".join(step.get("run", "") for step in steps(workflow))
    # The pull request through the REST API, without gh (not on every runner, and a second tool).
    assert not re.search(r"(^|[\s;|&(])gh\s", script, re.MULTILINE)
    assert "/repos/{env['GITHUB_REPOSITORY']}/pulls\", method=\"POST\"" in script
    calls = {command: args for step in steps(workflow) for command, args in invocations(step.get("run", ""))}
    assert set(calls) == {"add-tag", "add-full-image"}


def test_check_diffs_against_the_base_branch_with_full_history() -> None:
    workflow = load("check.yml")
    assert "pull_request" in workflow["on"]
    checkout = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    step = next(s for s in steps(workflow) if "check-new-images" in s.get("run", ""))
    ((_command, args),) = list(invocations(step["run"]))
    base = args[args.index("--base") + 1]
    assert base in {"origin/$BASE_REF", "origin/${BASE_REF}"}
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    sort_args = [a for s in steps(workflow) for c, a in invocations(s.get("run", "")) if c == "sort"]
    assert sort_args == [["--check"]]


def test_mirror_runs_the_container_with_credentials_and_step_summary() -> None:
    workflow = load("mirror.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["schedule"]
    assert re.fullmatch(r"ghcr\.io/OWNER/image-mirror(:\S+)?", workflow["env"]["IMAGE_MIRROR_IMAGE"])
    step = next(s for s in steps(workflow) if "docker run" in s.get("run", ""))
    script = step["run"].replace("\\\n", " ")
    words = shlex.split(script, comments=True)
    assert ("sync", words[words.index("sync") + 1:]) in list(invocations(step["run"]))
    # The step summary file is mounted and the tool is told where it is.
    summary = re.search(r'-e GITHUB_STEP_SUMMARY=(\S+)', script)
    assert summary and f'"$GITHUB_STEP_SUMMARY:{summary.group(1)}"' in script
    # The credentials written by an earlier step are mounted read-only where DOCKER_CONFIG points.
    docker_config = re.search(r"-e DOCKER_CONFIG=(\S+)", script)
    assert docker_config and re.search(rf':{re.escape(docker_config.group(1))}:ro"', script)
    writer = "\n".join(s.get("run", "") for s in steps(workflow))
    assert '"$RUNNER_TEMP/docker/config.json"' in writer and "umask 077" in writer
    # Credentials come from secrets, through env.
    creds = next(s for s in steps(workflow) if "config.json" in s.get("run", ""))
    assert all(v.startswith("${{ secrets.") for v in creds["env"].values())
    cleanup = [s for s in steps(workflow) if s.get("if") == "always()"]
    assert cleanup and "rm -rf" in cleanup[0]["run"]


def test_add_tag_s_pull_request_request_is_what_github_takes() -> None:
    # The workflow's own Python, run against the fake GitHub's pulls endpoint: a title over
    # 256 characters is cut to 256 ending in "…", the head and base are the pushed branches.
    import subprocess
    import sys
    import textwrap

    from tests.fakes.github import FakeGitHub
    from tests.integration.discover.helpers import LoopThread

    step = next(s for s in steps(load("add-tag.yml")) if s.get("name") == "Open a pull request")
    code = textwrap.dedent(step["run"].split("<<'PY'\n", 1)[1].rsplit("PY\n", 1)[0])
    token = "ghp_addTagT0ken0123456789abcdefABCDEFGH"
    with LoopThread() as thread:
        gh = FakeGitHub(tokens={token})
        repo = gh.add_repo("acme/mirror")
        base = repo.git.commit_files("main", {"images-list": "a b 1\n"})
        # The pushed branch: one commit on top of main (main's ref moved back after).
        repo.git.refs["refs/heads/image-mirror/add-7"] = repo.git.commit_files("main", {"images-list": "a b 2\n"})
        repo.git.refs["refs/heads/main"] = base
        thread.call(gh.start())
        try:
            env = {"GITHUB_API_URL": gh.url, "GITHUB_REPOSITORY": "acme/mirror", "GITHUB_TOKEN": token,
                   "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "7", "GITHUB_ACTOR": "alice",
                   "BRANCH": "image-mirror/add-7", "BASE_BRANCH": "main", "TITLE": "image-mirror: add " + "t" * 300}
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        finally:
            thread.call(gh.close())
    assert done.returncode == 0, done.stderr
    (pull,) = repo.git.pulls
    assert (pull.head, pull.base, len(pull.title), pull.title[-1]) == ("image-mirror/add-7", "main", 256, "…")
    assert "@alice" in pull.body and "actions/runs/7" in pull.body
    assert done.stdout.startswith("opened ")

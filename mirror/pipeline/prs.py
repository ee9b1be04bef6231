"""Discovery results → one branch, its commits and one pull request per entry (``discover --open-prs``).

The flow, for ``OWNER/NAME`` at the base branch (read once, at one commit):

1. the list is read from the API at the base commit (:func:`list_path` says where it lives
   in the repository), so what is "new" is new against the base, not against a work tree;
2. discovery runs against that list: for a config.json and an images-list every found
   (image, tag) goes through the add-tag checks (:func:`~mirror.pipeline.discover.check_additions`:
   an entry, one mapping, a new tag, the tag exists upstream) and only what passes is proposed;
   for an autoupdate.yaml and a config.yaml (:func:`open_autoupdate_pull_requests`) each
   entry's new tags per artifact are proposed, as ``discover --apply`` would write them;
3. per entry, :mod:`mirror.prnames` names the branch from the tag set (the same set, in any
   order, gives the same branch; Rancher's ``autoupdate/<Name>/<h>`` for a config.yaml), the
   title and the body; one commit per image or artifact adds its tags through the layout's
   editor (:data:`LAYOUTS`), so every commit's list validates (an images-list stays sorted);
4. a pull request from ``OWNER:branch`` in any state, closed ones included, means the entry
   was proposed already: skipped, so a pull request closed unmerged is never reopened;
5. otherwise blobs, trees, commits, the ref (created, or moved when a branch without a pull
   request is left from an earlier run), the pull request, its labels and reviewers.

``dry_run`` stops after step 4: GitHub and the registries are read, nothing is written.
Entries are handled one after another: GitHub asks for content-creating requests to be
serial, and a permission problem must stop the run at its first write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import imageslist, prnames
from ..autoupdate import AutoupdateConfig
from ..layouts import ImagesListFile
from ..config import Config, Entry
from ..errors import InputError
from ..events import EventSink
from ..failure import describe
from ..github_prs import Repository
from ..lists import parse_artifacts
from ..value import frozen
from .autoupdate import StrategyRunner, discover_autoupdate
from .pr_layouts import (LAYOUTS, ApplyAdditions, Found, Layout, TagAddition, apply_to_config_yaml,
                         apply_to_images_list, layout_of)
from .discover import (Addition, EntryResult, ExistsCheck, SourceRunner, check_additions, discover, pairs_to_add)

__all__ = [
    "LAYOUTS",
    "ApplyAdditions",
    "Layout",
    "Options",
    "Plan",
    "PrRun",
    "TagAddition",
    "apply_to_config_yaml",
    "apply_to_images_list",
    "list_path",
    "open_autoupdate_pull_requests",
    "open_pull_requests",
    "plan_entry",
    "plan_for",
]


def list_path(local: str, given: str | None, *, cwd: str | None = None) -> str:
    """Where the list lives in the repository.

    ``--list-path`` when given; otherwise ``--images-list`` relative to the root of the git
    work tree holding it (the nearest directory above it with a ``.git``), or relative to the
    current directory outside a work tree. The file need not exist locally.
    """
    if given is not None:
        path = given.strip("/")
    else:
        absolute = Path(os.path.abspath(os.path.join(cwd or os.getcwd(), local)))
        root = next((parent for parent in absolute.parents if (parent / ".git").exists()), None)
        base = root if root is not None else Path(os.path.abspath(cwd or os.getcwd()))
        try:
            path = absolute.relative_to(base).as_posix()
        except ValueError:
            raise InputError(f"{local} is outside {base}: say where the list is in the repository with "
                             "--list-path") from None
    if not path or path.startswith("../") or "/../" in f"/{path}/":
        raise InputError(f"--list-path {path!r} is not a path inside the repository")
    return path


@frozen
class Options:
    repo: str
    base: str | None = None  # None: the repository's default branch
    labels: tuple[str, ...] = ()  # --label, before each entry's own
    dry_run: bool = False
    path: str = "images-list"  # the list's path in the repository


@frozen
class Plan:
    """One entry's pull request: what is printed on stdout, and what is written."""

    entry: str
    branch: str
    title: str
    body: str = field(repr=False)
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]
    commits: tuple[tuple[str, TagAddition], ...]  # (message, what the commit adds)
    skip: str | None = None
    url: str | None = None  # the pull request once opened

    def as_json(self) -> dict[str, Any]:
        return {"entry": self.entry, "branch": self.branch, "title": self.title, "labels": list(self.labels),
                "reviewers": list(self.reviewers), "commits": [message for message, _ in self.commits],
                "skip": self.skip}


def plan_entry(entry: Entry, additions: Iterable[Found], labels: Sequence[str],
               layout: Layout = LAYOUTS["images-list"]) -> Plan | None:
    """The pull request for a config.json ``entry`` from the additions that passed add-tag's checks."""
    return plan_for(entry.key, additions, [*labels, *entry.labels], entry.reviewers, layout)


def plan_for(name: str, additions: Iterable[Found], labels: Sequence[str], reviewers: Sequence[str],
             layout: Layout) -> Plan | None:
    """The pull request named ``name`` for what ``layout`` keys of ``additions``, or None."""
    new: dict[prnames.ArtifactKey, list[str]] = {}
    for addition in additions:
        key = layout.key(addition)
        if key is not None:
            source, destination, tag = key
            new.setdefault((source, destination), []).append(tag)
    if not new:
        return None
    commits = []
    for source, destination in sorted(new):
        tags = tuple(sorted(set(new[(source, destination)])))
        commits.append((prnames.commit_message(source, tags), TagAddition(source, destination, tags)))
    return Plan(name, layout.branch(name, new), prnames.title(name, new), prnames.body(name, new),
                tuple(dict.fromkeys(labels)), tuple(reviewers), tuple(commits))


@dataclass
class PrRun:
    """What a run did: discovery's results and, per entry, the plan and any failure."""

    results: list[EntryResult] = field(default_factory=list)
    additions: list[Addition] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line each, already secret-free
    warnings: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)


@frozen
class _Base:
    """The base branch as read once: every branch of the run starts from this commit."""

    repo: Repository
    branch: str
    commit: str
    path: str  # the list's path in the repository
    shown: str  # OWNER/NAME@branch:path, for messages
    text: str
    edit: ApplyAdditions


async def _read_base(options: Options, repo: Repository) -> tuple[_Base, Layout]:
    """The base branch at one commit and the list there; its layout told by content."""
    branch = options.base or await repo.default_branch()
    commit = await repo.branch_head(branch)
    if commit is None:
        raise InputError(f"--base {branch!r}: {repo.full_name} has no such branch")
    text = await repo.file_at(options.path, commit)
    shown = f"{repo.full_name}@{branch}:{options.path}"
    layout = layout_of(text)
    return _Base(repo, branch, commit, options.path, shown, text, layout.apply), layout


async def open_pull_requests(
    options: Options, config: Config, repo: Repository, run_source: SourceRunner, exists: ExistsCheck,
    events: EventSink, on_plan: Callable[[Plan], None],
) -> PrRun:
    """The whole flow for a config.json (see the module docstring); ``on_plan`` hears each plan."""
    base, layout = await _read_base(options, repo)
    if layout.name != "images-list":
        raise InputError(f"{base.shown} is a config.yaml (Rancher's 2026 layout): its discovery config is an "
                         "autoupdate.yaml, not a config.json; pass --config autoupdate.yaml")
    current = ImagesListFile(base.shown, imageslist.parse(base.text, path=base.shown))
    run = PrRun()
    run.results = await discover(config, current, run_source, events)
    by_key = {entry.key: entry for entry in config.entries}
    proposer = _Proposer(options, base, run, on_plan)
    for result in run.results:
        if result.error:
            continue
        additions = await check_additions(current, pairs_to_add([result]), exists)
        run.additions.extend(additions)
        await proposer.propose(plan_entry(by_key[result.key], additions, options.labels, layout))
    return run


async def open_autoupdate_pull_requests(
    options: Options, config: AutoupdateConfig, repo: Repository, run_strategy: StrategyRunner,
    events: EventSink, on_plan: Callable[[Plan], None],
) -> PrRun:
    """The flow for an autoupdate.yaml against the config.yaml at the base: per entry, Rancher's
    branch ``autoupdate/<Name>/<h>``, one commit per artifact, the entry's ``Reviewers``."""
    base, layout = await _read_base(options, repo)
    if layout.name != "config.yaml":
        raise InputError(f"{base.shown}: --config {config.path} (an autoupdate.yaml) needs Rancher's config.yaml "
                         "(Repositories and Artifacts) as the list; this file is an images-list")
    artifacts = parse_artifacts(base.text, base.shown)
    run = PrRun()
    run.results = await discover_autoupdate(config, artifacts, run_strategy, events)
    proposer = _Proposer(options, base, run, on_plan)
    for result in run.results:
        if not result.error:
            await proposer.propose(plan_for(result.key, result.additions, options.labels, result.reviewers, layout))
    return run


@dataclass
class _Proposer:
    """One plan at a time: its edits checked, skipped when proposed already, else opened."""

    options: Options
    base: _Base
    run: PrRun
    on_plan: Callable[[Plan], None]
    base_tree: str | None = None

    async def propose(self, plan: Plan | None) -> None:
        if plan is None:
            return
        base, run = self.base, self.run
        _check_edits(plan, base)
        existing = await base.repo.pulls_with_head(plan.branch)
        if existing:
            first = min(existing, key=lambda pull: pull.number)
            plan = replace(plan, skip=f"{first.described} exists for this branch")
        elif not self.options.dry_run:
            self.base_tree = self.base_tree or await base.repo.commit_tree(base.commit)
            try:
                plan = await _open(plan, base, self.base_tree, run)
            except InputError:
                raise  # the token's permissions: every entry would fail the same way
            except Exception as exc:  # one entry's failure must not stop the others
                failure = describe(exc)
                run.failures.append(f"entry {plan.entry!r}: {plan.branch}: {failure.reason}")
                run.tracebacks.append(failure.traceback)
                plan = replace(plan, skip=f"failed: {failure.reason}")
        run.plans.append(plan)
        self.on_plan(plan)


def _check_edits(plan: Plan, base: _Base) -> None:
    """Every commit's list through the layout's editor, so a dry run proves the edits too."""
    text = base.text
    for _message, addition in plan.commits:
        text = base.edit(text, base.shown, [addition])


async def _open(plan: Plan, base: _Base, base_tree: str, run: PrRun) -> Plan:
    """Blob, tree and commit per image on top of the base commit; the ref; the pull request."""
    repo = base.repo
    text, parent, tree = base.text, base.commit, base_tree
    for message, addition in plan.commits:
        text = base.edit(text, base.shown, [addition])
        blob = await repo.create_blob(text)
        tree = await repo.create_tree(tree, base.path, blob)
        parent = await repo.create_commit(message, tree, parent)
    exists = await repo.branch_head(plan.branch) is not None
    await repo.set_branch(plan.branch, parent, exists=exists)
    pull = await repo.open_pull(title=plan.title, body=plan.body, head=plan.branch, base=base.branch)
    if plan.labels:
        await repo.add_labels(pull.number, plan.labels)
    if plan.reviewers:
        try:
            await repo.request_reviewers(pull.number, prnames.split_reviewers(plan.reviewers))
        except Exception as exc:  # GitHub refuses non-collaborators with 422: the pull request stays
            failure = describe(exc)
            run.warnings.append(f"entry {plan.entry!r}: {pull.described} stays without the reviewers asked "
                                f"for: {failure.reason}")
            run.tracebacks.append(failure.traceback)
    return replace(plan, url=pull.url)

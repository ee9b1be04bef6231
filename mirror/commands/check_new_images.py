"""``image-mirror check-new-images [--base REV] [--allow-removals]``: vet what a change adds.

An images-list: for lines added since REV, a destination repository that no line used
before must already exist (mirroring never creates repositories on Docker Hub), and every
new source ``image:tag`` must exist upstream. A ``config.yaml``: every new tag exists upstream
(except tags under ``DoNotMirror`` and ``dp.apps.rancher.io`` sources, which a fork's pull
request has no credentials for), and every newly targeted Docker Hub repository exists
(:mod:`mirror.lists.changes`). Either way the seed's rule "do not change existing entries, add
a new one" holds: what was removed since REV (a line, a tag, an artifact) fails the check,
unless ``--allow-removals`` (a clean-up), which reports it and passes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from .. import artifactsfile, imageslist
from ..errors import ArtifactsFileError, InputError, NotFound
from ..lists import ArtifactsConfig, parse_artifacts
from ..sniff import is_artifacts_file, is_artifacts_text
from ..lists.changes import artifact_changes
from ..ref import ImageRef
from ..failure import describe
from ..runtime import open_runtime
from ..value import frozen
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output

DEFAULT_BASES = ("origin/master", "origin/main")


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare the list (images-list or config.yaml) with its version at REV (default origin/master, "
        "then origin/main). New destination repositories must exist; new source image:tag must exist "
        "(a config.yaml: tags under DoNotMirror and dp.apps.rancher.io sources are not pulled); changed "
        "or removed entries fail unless --allow-removals. Exit 1 on any failure."
    )
    parser.add_argument("--base", metavar="REV", help="git revision to compare with")
    parser.add_argument("--allow-removals", action="store_true",
                        help="report removed lines, tags and artifacts without failing (a clean-up)")
    parser.set_defaults(handler=run)


async def _git(args: list[str], cwd: Path) -> tuple[int, str, str]:
    result = await anyio.run_process(["git", *args], cwd=cwd, check=False)
    return result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")


async def _base_text(path: Path, base: str | None) -> tuple[str, str]:
    """The images-list text at the base revision (and which revision that was)."""
    directory = path.resolve().parent
    code, top, err = await _git(["rev-parse", "--show-toplevel"], directory)
    if code != 0:
        raise InputError(f"{path}: not inside a git repository: {err.strip()}")
    relative = path.resolve().relative_to(Path(top.strip()).resolve())
    candidates = [base] if base else list(DEFAULT_BASES)
    for revision in candidates:
        code, text, err = await _git(["show", f"{revision}:{relative.as_posix()}"], directory)
        if code == 0:
            return text, revision
        missing_file = "does not exist in" in err or "exists on disk, but not in" in err
        if missing_file:
            return "", revision
    raise InputError(f"cannot read {relative} at {' or '.join(candidates)}: is the revision fetched?")


@frozen
class Changes:
    """What changed since the base, in either layout: what to look up, what was removed."""

    revision: str
    added: str  # "3 new line(s)", "5 new tag(s)"; "" when nothing was added
    repositories: tuple[ImageRef, ...] = ()  # destination repositories that must exist
    images: tuple[ImageRef, ...] = ()  # source images that must exist upstream
    notes: tuple[str, ...] = ()  # what is deliberately not checked
    removed: tuple[str, ...] = ()


def _images_list_changes(path: Path, old_text: str, revision: str) -> Changes:
    current = imageslist.load(path)
    # The old revision cannot be fixed any more: its unsafe lines are skipped, not fatal.
    old = imageslist.parse(old_text, path=f"{revision}:{path.name}", strict=False, skip_unsafe=True)
    old_texts = {line.text.strip() for line in old}
    new_texts = {line.text.strip() for line in current}
    added = [line for line in current if line.text.strip() not in old_texts]
    removed = tuple(repr(line.text.strip()) for line in old if line.text.strip() not in new_texts)
    known = {line.destination.name for line in old}
    repositories = {line.destination.name: line.destination for line in added if line.destination.name not in known}
    images = {line.source_image: None for line in added}
    return Changes(revision, f"{len(added)} new line(s)" if added else "",
                   tuple(repositories[name] for name in sorted(repositories)), tuple(images), removed=removed)


def _artifacts_changes(path: Path, old_text: str, revision: str) -> Changes:
    current = artifactsfile.load(path)
    try:
        old = parse_artifacts(old_text, f"{revision}:{path.name}") if old_text.strip() else ArtifactsConfig()
    except ArtifactsFileError as exc:
        raise InputError(f"{path} at {revision} is not a valid config.yaml, so nothing can be compared with it:\n"
                         + "\n".join(exc.problems)) from None
    changes = artifact_changes(old, current)
    notes = tuple(f"source image {ref}: not pulled ({why})" for ref, why in changes.skipped)
    added = f"{len(changes.new_tags)} new tag(s)" if changes.new_tags or changes.new_repositories else ""
    return Changes(revision, added, changes.new_repositories, changes.to_pull, notes, changes.removed)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    return anyio.run(_run, args, settings, out)


async def _run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    path = Path(settings.images_list)
    is_artifacts = await anyio.to_thread.run_sync(is_artifacts_file, path)
    old_text, revision = await _base_text(path, args.base)
    if old_text.strip() and is_artifacts_text(old_text) != is_artifacts:
        layout = "a config.yaml" if is_artifacts else "an images-list"
        raise InputError(f"{path} is {layout} but was not at {revision}: a change of layout cannot be checked "
                         "entry by entry")
    read = _artifacts_changes if is_artifacts else _images_list_changes
    changes = await anyio.to_thread.run_sync(read, path, old_text, revision)
    failures = 0
    for removed in changes.removed:
        if args.allow_removals:
            out.status(f"removed since {revision} (allowed): {removed}")
        else:
            failures += 1
            out.error(f"changed or removed since {revision}: {removed} — do not change existing entries, add a "
                      "new one (or pass --allow-removals for a clean-up)")
    if not changes.added:
        out.status(f"nothing new since {revision}" if is_artifacts else f"no new lines since {revision}")
        return 1 if failures else 0
    out.status(f"{changes.added} since {revision}")
    for note in changes.notes:
        out.status(note)
    verdicts, tracebacks = await _verify(settings, changes)
    for label in sorted(verdicts):
        problem = verdicts[label]
        if problem:
            failures += 1
            out.error(f"{label}: {problem}")
        else:
            out.status(f"{label}: OK")
    return exit_code(out, failed=bool(failures), tracebacks=tracebacks)


async def _verify(settings: Settings, changes: Changes) -> tuple[dict[str, str | None], list[str]]:
    """Look up every repository and image concurrently: label -> problem (None when fine)."""
    verdicts: dict[str, str | None] = {}
    tracebacks: list[str] = []

    def could_not(exc: Exception) -> str:
        failure = describe(exc)
        tracebacks.append(failure.traceback)
        return f"could not be checked: {failure.reason}"

    async with open_runtime(settings) as runtime:

        async def check_repo(ref: ImageRef) -> None:
            label = f"target repository {ref.name}"
            try:
                ok = await runtime.destination_exists(ref)
                verdicts[label] = None if ok else ("does not exist; create it (writable by the mirroring "
                                                   "account) before the first mirror")
            except Exception as exc:
                verdicts[label] = could_not(exc)

        async def check_image(ref: ImageRef) -> None:
            label = f"source image {ref}"
            try:
                ok = await runtime.image_exists(ref)
                verdicts[label] = None if ok else "does not exist"
            except NotFound:
                verdicts[label] = "does not exist"
            except Exception as exc:
                verdicts[label] = could_not(exc)

        async with anyio.create_task_group() as group:
            for ref in changes.repositories:
                group.start_soon(check_repo, ref)
            for ref in changes.images:
                group.start_soon(check_image, ref)
    return verdicts, tracebacks

"""``image-mirror check-new-images [--base REV]``: vet the lines a change adds to images-list.

For lines added since REV: a destination repository that no line used before
must already exist (mirroring never creates repositories on Docker Hub), and
every new source ``image:tag`` must exist upstream. The seed's rule "do not
change existing entries, add a new one" is enforced too: a line changed or
removed since REV is reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from .. import imageslist
from ..errors import InputError, NotFound
from ..failure import describe
from ..runtime import open_runtime
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output

DEFAULT_BASES = ("origin/master", "origin/main")


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare images-list with its version at REV (default origin/master, then origin/main). "
        "New destination repositories must exist; new source image:tag must exist; changed or "
        "removed lines are reported. Exit 1 on any failure."
    )
    parser.add_argument("--base", metavar="REV", help="git revision to compare with")
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


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    return anyio.run(_run, args, settings, out)


async def _run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    path = Path(settings.images_list)
    current = imageslist.load(path)
    old_text, revision = await _base_text(path, args.base)
    # The old revision cannot be fixed any more: its unsafe lines are skipped, not fatal.
    old = imageslist.parse(old_text, path=f"{revision}:{path.name}", strict=False, skip_unsafe=True)
    old_texts = {line.text.strip() for line in old}
    new_texts = {line.text.strip() for line in current}
    added = [line for line in current if line.text.strip() not in old_texts]
    removed = [line for line in old if line.text.strip() not in new_texts]
    failures = 0
    for line in removed:
        failures += 1
        out.error(f"changed or removed since {revision}: {line.text.strip()!r} — do not change existing "
                  "entries, add a new one")
    if not added:
        out.status(f"no new lines since {revision}")
        return 1 if failures else 0
    out.status(f"{len(added)} new line(s) since {revision}")
    known_destinations = {line.destination.name for line in old}
    new_repos = sorted({line.destination.name for line in added} - known_destinations)
    verdicts: dict[str, str | None] = {}
    tracebacks: list[str] = []

    def could_not(exc: Exception) -> str:
        failure = describe(exc)
        tracebacks.append(failure.traceback)
        return f"could not be checked: {failure.reason}"

    async with open_runtime(settings) as runtime:

        async def check_repo(name: str) -> None:
            ref = next(line.destination for line in added if line.destination.name == name)
            try:
                ok = await runtime.destination_exists(ref)
                verdicts[f"target repository {name}"] = None if ok else "does not exist; create it (writable by the mirroring account) before the first mirror"
            except Exception as exc:
                verdicts[f"target repository {name}"] = could_not(exc)

        async def check_image(line: imageslist.Line) -> None:
            label = f"source image {line.source_image}"
            try:
                ok = await runtime.image_exists(line.source_image)
                verdicts[label] = None if ok else "does not exist"
            except NotFound:
                verdicts[label] = "does not exist"
            except Exception as exc:
                verdicts[label] = could_not(exc)

        async with anyio.create_task_group() as group:
            for name in new_repos:
                group.start_soon(check_repo, name)
            for line in {line.source_image: line for line in added}.values():
                group.start_soon(check_image, line)
    for label in sorted(verdicts):
        problem = verdicts[label]
        if problem:
            failures += 1
            out.error(f"{label}: {problem}")
        else:
            out.status(f"{label}: OK")
    return exit_code(out, failed=bool(failures), tracebacks=tracebacks)

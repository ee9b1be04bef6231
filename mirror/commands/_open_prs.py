"""``image-mirror discover --open-prs``: the options and the run around :mod:`mirror.pipeline.prs`.

stdout carries only the plan, one JSON object per pull request, so a workflow can read what
was proposed and why an entry was skipped; discovery's own JSON goes to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

import anyio

from .. import autoupdate
from .. import config as configfile
from ..errors import GitHubError, InputError
from ..events import EventSink, Stats
from ..github_prs import Repository
from ..pipeline.discover import to_seed_json
from ..pipeline.prs import Options, Plan, PrRun, list_path, open_autoupdate_pull_requests, open_pull_requests
from ..runtime import open_runtime, open_transport
from ..sniff import ConfigKind, file_config_kind
from ..ui import open_sink
from ._open_prs_options import add_options
from ._metrics import collector_for, deliver
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..metrics import MetricsCollector
    from ..transport import Transport
    from ..output import Output

__all__ = ["add_options", "run"]

#: The discovery config, told by content: a config.json or an autoupdate.yaml.
Config = configfile.Config | autoupdate.AutoupdateConfig


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    if not args.open_prs:
        raise InputError("--dry-run applies to --open-prs (discover alone writes nothing)")
    if args.apply:
        raise InputError("--open-prs and --apply exclude each other: --apply edits the local list, "
                         "--open-prs proposes the edits as pull requests")
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY", "")
    if not repo:
        raise InputError("--open-prs needs the repository: --repo OWNER/NAME or GITHUB_REPOSITORY")
    if not args.dry_run and not os.environ.get("GITHUB_TOKEN"):
        raise InputError("--open-prs needs GITHUB_TOKEN with contents: write and pull-requests: write "
                         "(--dry-run reads only)")
    options = Options(repo, args.base, tuple(args.label), args.dry_run, list_path(settings.images_list, args.list_path))
    config: Config = (autoupdate.load(settings.config) if file_config_kind(settings.config) is ConfigKind.AUTOUPDATE_YAML
                      else configfile.load(settings.config))
    stats = Stats()
    collector = collector_for(settings, "discover")
    return anyio.run(_delivered, args, settings, out, options, config, stats, collector)


async def _delivered(args: argparse.Namespace, settings: Settings, out: Output, options: Options,
                     config: Config, stats: Stats, collector: MetricsCollector | None) -> int:
    """The run, then its metrics through the run's transport (still open), as discover does."""
    async with open_transport(settings, stats) as transport:
        code = await _run(args, settings, out, options, config, stats, collector, transport)
        await deliver(collector, stats, settings, code, out, transport)
    return code


async def _run(args: argparse.Namespace, settings: Settings, out: Output, options: Options,
               config: Config, stats: Stats, collector: EventSink | None, transport: Transport) -> int:
    def show(plan: Plan) -> None:
        out.data(json.dumps(plan.as_json()))

    with open_sink(settings.log_format, stats, out.stderr, "image-mirror discover --open-prs", collector) as sink:
        async with open_runtime(settings, stats, sink, transport) as runtime:
            try:
                repository = Repository(runtime.github, options.repo)
            except GitHubError as exc:
                raise InputError(f"--repo: {exc}") from None
            if isinstance(config, autoupdate.AutoupdateConfig):
                result = await open_autoupdate_pull_requests(options, config, repository, runtime.run_strategy,
                                                             sink, show)
            else:
                result = await open_pull_requests(options, config, repository, runtime.run_source,
                                                  runtime.image_exists, sink, show)
    if args.output:
        await anyio.Path(args.output).write_text(json.dumps(to_seed_json(result.results)) + "\n", encoding="utf-8")
    return _report(result, options, out)


def _report(result: PrRun, options: Options, out: Output) -> int:
    failed_entries = [r for r in result.results if r.error]
    for entry in failed_entries:
        out.error(f"entry {entry.key!r} ({entry.source}) failed: {entry.error}")
    failed = bool(failed_entries or result.failures)
    for addition in result.additions:
        if addition.status == "failed":
            failed = True
            out.error(addition.message)
        elif addition.status == "needs approval":
            out.status(f"needs approval: {addition.image}:{addition.tag} has no entry in {options.path} yet; "
                       "add its first line by hand (new destination repositories must exist first)")
    for message in result.failures:
        out.error(message)
    for message in result.warnings:
        out.status(f"warning: {message}")
    for plan in result.plans:
        if plan.skip and not plan.skip.startswith("failed: "):  # failures were reported above
            out.status(f"{plan.entry}: skipped: {plan.skip}")
        elif plan.url:
            out.status(f"{plan.entry}: opened {plan.url}")
        elif options.dry_run:
            out.status(f"{plan.entry}: would open {plan.branch} ({len(plan.commits)} commit(s))")
    tracebacks = [r.traceback for r in failed_entries if r.internal] + [a.traceback for a in result.additions]
    return exit_code(out, failed=failed, tracebacks=tracebacks + result.tracebacks)

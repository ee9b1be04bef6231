"""The ``--open-prs`` options of ``discover``, apart from the run (:mod:`._open_prs`).

Why a module of their own: ``discover`` registers these options at every start, and the
run behind them imports the pull-request pipeline and the autoupdate model, which a
plain ``discover`` never uses (about 15 ms of start-up).
"""

from __future__ import annotations

import argparse

__all__ = ["add_options"]


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pull requests (--open-prs)")
    group.add_argument("--open-prs", action="store_true",
                       help="open one branch and pull request per entry with something new, through the GitHub "
                            "API; never reopens a closed one")
    group.add_argument("--dry-run", action="store_true", help="with --open-prs: read GitHub, write nothing")
    group.add_argument("--repo", metavar="OWNER/NAME", help="the repository (default: $GITHUB_REPOSITORY)")
    group.add_argument("--base", metavar="BRANCH", help="the base branch (default: the repository's default)")
    group.add_argument("--label", action="append", default=[], metavar="LABEL",
                       help="a label for every pull request (repeatable; config.json entries add their labels)")
    group.add_argument("--list-path", metavar="PATH",
                       help="the list's path in the repository (default: --images-list relative to the root of "
                            "its git work tree)")

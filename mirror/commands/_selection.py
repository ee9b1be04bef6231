"""The work of ``sync`` and ``compare``: the list's lines, each with its set of destinations.

Shared by both commands so they select exactly the same (line, destination) pairs: the
overrides or ``--target``s, the lines that a later line supersedes (decided on the whole list),
then ``--shard`` by source repository.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import InputError
from ..lists import ArtifactsConfig, RegistryCredentials, registry_concurrency, registry_credentials
from ..lists.mirrorlist import load_mirror_list
from ..pipeline.results import WorkItem
from ..pipeline.selection import Overrides, Shard, parse_targets, superseded
from ..registry import CredentialStore, Registries
from ..registry.credentials import Credential
from ..value import frozen

__all__ = ["Selection", "apply_list_settings", "select_lines"]


@frozen
class Selection:
    """The (line, destination) pairs a command works on, and the list problems to report."""

    work: list[WorkItem]
    problems: list[str]
    total: int  # valid lines before sharding
    artifacts: ArtifactsConfig | None = None  # the list is a config.yaml
    targets: tuple[str, ...] = ()  # every target label of the list, in order (before --shard)

    def lines_per_target(self) -> dict[str, int]:
        """(line, target) pairs of this run per target label, every target of the list
        included (0 when the shard has none of its lines): the metrics' and the dashboard's
        totals, the same set of targets in every shard."""
        planned = dict.fromkeys(self.targets, 0)
        for item in self.work:
            planned[item.label] = planned.get(item.label, 0) + 1
        return planned


def select_lines(path: str, env: Mapping[str, str], shard: Shard | None,
                 target_args: Sequence[str] = ()) -> Selection:
    """Valid lines (bad ones listed in ``problems``) with their destinations, this shard only
    (blocking). ``--target`` with the overrides, or either with a config.yaml, is exit 2."""
    mirror_list = load_mirror_list(path)
    overrides = Overrides.from_env(env)
    targets = parse_targets(target_args, env)
    if mirror_list.artifacts is not None and (overrides.active or targets):
        raise InputError(f"{path} is a config.yaml: its targets come from its Repositories; "
                         "--target / IMAGE_MIRROR_TARGETS / DEST_REGISTRY_OVERRIDE / DEST_ORG_OVERRIDE "
                         "cannot be used with it")
    if targets and overrides.active:
        raise InputError("--target (or IMAGE_MIRROR_TARGETS) and DEST_REGISTRY_OVERRIDE / DEST_ORG_OVERRIDE "
                         "both name destinations: use one form (a --target REGISTRY/ORG is the same as the two "
                         "overrides)")
    if targets:
        work = [WorkItem(line, target.apply(line.destination_image), str(target))
                for line in mirror_list.lines for target in targets]
    elif mirror_list.artifacts is not None:
        work = [WorkItem(line, line.destination_image, line.destination.name.rsplit("/", 1)[0])
                for line in mirror_list.lines]
    else:
        work = [WorkItem(line, overrides.destination(line)) for line in mirror_list.lines]
    winners = superseded([(item.line.source_image, item.destination) for item in work])
    work = [WorkItem(item.line, item.destination, item.target, work[winners[index]].line) if index in winners
            else item for index, item in enumerate(work)]
    total = len(mirror_list.lines)
    labels = tuple(dict.fromkeys(item.label for item in work))  # before sharding: the same in every pod
    if shard is not None:
        work = [item for item in work if shard.owns(item.line.source)]
    return Selection(work, list(mirror_list.problems), total, mirror_list.artifacts, labels)


def apply_list_settings(selection: Selection, registries: Registries, credentials: CredentialStore,
                        env: Mapping[str, str]) -> Registries:
    """What a config.yaml says about its registries: each repository's Username/Password for
    every request to its Registry (source reads included), winning over docker's config.json,
    resolved only when a request needs them; ``ReqConcurrent`` where the registries file sets
    no ``concurrency``."""
    config = selection.artifacts
    if config is None:
        return registries
    for host, login in registry_credentials(config).items():
        def resolve(login: RegistryCredentials = login) -> Credential | None:
            found = login.resolve(env)
            return Credential(found.username, found.password) if found is not None else None

        credentials.override(host, resolve)
    return registries.with_concurrency_defaults(registry_concurrency(config))

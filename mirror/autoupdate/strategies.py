"""The three strategies of an autoupdate.yaml entry, read from their YAML nodes.

Split from :mod:`mirror.autoupdate.reader` so each stays small: the reader owns the file and
the entry, this module the keys under ``GithubRelease``, ``HelmLatest`` and ``Registry``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..text import excerpt
from .model import Artifact, GithubRelease, HelmChart, HelmEnvironment, HelmLatest, RegistryTags, Strategy

if TYPE_CHECKING:
    from .reader import Node, Problems

__all__ = ["read"]

_GITHUB_KEYS = ("Owner", "Repository", "Artifacts", "LatestOnly", "VersionConstraint", "VersionRegex")
_HELM_KEYS = ("HelmRepo", "Charts", "Artifacts", "ImageDenylist")
_REGISTRY_KEYS = ("Artifacts", "VersionFilter", "Latest")
_ARTIFACT_KEYS = ("SourceArtifact", "TargetArtifactName")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")
_TARGET_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z")
_HELM_REPO = re.compile(r"https?://\S+\Z")


def read(kind: str, node: Node, p: Problems) -> Strategy | None:
    """The strategy ``kind`` (a key of the entry) from its node, or None after reporting."""
    before = len(p.found)
    if kind == "GithubRelease":
        strategy: Strategy | None = _github(node, p)
    elif kind == "HelmLatest":
        strategy = _helm(node, p)
    else:
        strategy = _registry(node, p)
    return strategy if len(p.found) == before else None


def _artifacts(node: Node | None, where: str, p: Problems, parent: Node) -> tuple[Artifact, ...]:
    if node is None:
        p.add(parent, where, "is required (a list of SourceArtifact and optional TargetArtifactName)")
        return ()
    items = p.sequence(node, where)
    found: dict[Artifact, int] = {}
    for position, item in enumerate(items or ()):
        inner = f"{where}[{position}]"
        fields = p.mapping(item, inner, _ARTIFACT_KEYS)
        if fields is None:
            continue
        if "SourceArtifact" not in fields:
            p.add(item, f"{inner}.SourceArtifact", "is required")
            continue
        source = p.reference(fields["SourceArtifact"][1], f"{inner}.SourceArtifact")
        target = None
        if "TargetArtifactName" in fields:
            target = p.string(
                fields["TargetArtifactName"][1],
                f"{inner}.TargetArtifactName",
                pattern=_TARGET_NAME,
                what="a repository name (lower-case letters, digits, '.', '_', '-', '/')",
            )
            if target is None:
                continue
        if source is None:
            continue
        artifact = Artifact(source, target)
        if artifact in found:
            named = f" as {target}" if target else ""
            p.add(item, inner, f"lists {source}{named} twice (first at [{found[artifact]}])")
            continue
        found[artifact] = position
    return tuple(found)


def _get(fields: dict[str, tuple[Node, Node]], key: str) -> Node | None:
    return fields[key][1] if key in fields else None


def _github(node: Node, p: Problems) -> GithubRelease | None:
    fields = p.mapping(node, "GithubRelease", _GITHUB_KEYS)
    if fields is None:
        return None
    names = {}
    for key in ("Owner", "Repository"):
        if key not in fields:
            p.add(node, f"GithubRelease.{key}", "is required")
            continue
        names[key] = p.string(fields[key][1], f"GithubRelease.{key}", pattern=_GITHUB_NAME, what="a GitHub name")
    artifacts = _artifacts(_get(fields, "Artifacts"), "GithubRelease.Artifacts", p, node)
    latest_node = _get(fields, "LatestOnly")
    latest_only = latest_node is not None and p.boolean(latest_node, "GithubRelease.LatestOnly") is True
    constraint_node = _get(fields, "VersionConstraint")
    constraint = None
    if constraint_node is not None:
        constraint = p.constraint(constraint_node, "GithubRelease.VersionConstraint")
        if latest_only:
            p.add(constraint_node, "GithubRelease.VersionConstraint", "cannot be used with LatestOnly: true")
    regex_node = _get(fields, "VersionRegex")
    regex = p.regex(regex_node, "GithubRelease.VersionRegex") if regex_node is not None else None
    owner, repository = names.get("Owner"), names.get("Repository")
    if owner is None or repository is None:
        return None
    return GithubRelease(owner, repository, artifacts, latest_only, constraint, regex)


def _helm(node: Node, p: Problems) -> HelmLatest | None:
    fields = p.mapping(node, "HelmLatest", _HELM_KEYS)
    if fields is None:
        return None
    repo = None
    if "HelmRepo" not in fields:
        p.add(node, "HelmLatest.HelmRepo", "is required (the chart repository's http(s) URL)")
    else:
        repo = p.string(fields["HelmRepo"][1], "HelmLatest.HelmRepo", pattern=_HELM_REPO, what="an http(s) URL")
    charts = _charts(_get(fields, "Charts"), p, node)
    artifacts = _artifacts(_get(fields, "Artifacts"), "HelmLatest.Artifacts", p, node)
    denylist: list[str] = []
    deny_node = _get(fields, "ImageDenylist")
    deny_items = p.sequence(deny_node, "HelmLatest.ImageDenylist", empty_ok=True) if deny_node is not None else []
    for position, item in enumerate(deny_items or ()):
        image = p.reference(item, f"HelmLatest.ImageDenylist[{position}]")
        if image is not None:
            denylist.append(image)
    if repo is None:
        return None
    return HelmLatest(repo, charts, artifacts, tuple(denylist))


def _charts(node: Node | None, p: Problems, parent: Node) -> tuple[HelmChart, ...]:
    """``Charts``: chart name → environment name → ``--set`` values (one render per environment)."""
    if node is None:
        p.add(parent, "HelmLatest.Charts", "is required (chart name: environment name: list of --set values)")
        return ()
    charts_fields = p.mapping(node, "HelmLatest.Charts", ())
    if charts_fields is None:
        return ()
    if not charts_fields:
        p.add(node, "HelmLatest.Charts", "must name at least one chart")
    charts = []
    for chart_name, (_key, chart_node) in charts_fields.items():
        where = f"HelmLatest.Charts.{chart_name}"
        env_fields = p.mapping(chart_node, where, ())
        if env_fields is None:
            continue
        if not env_fields:
            p.add(chart_node, where, "must name at least one environment")
        environments = []
        for env_name, (_env_key, env_node) in env_fields.items():
            values = []
            for position, item in enumerate(p.sequence(env_node, f"{where}.{env_name}", empty_ok=True) or ()):
                value = p.string(item, f"{where}.{env_name}[{position}]")
                if value is not None and "=" not in value:
                    p.add(item, f"{where}.{env_name}[{position}]", f"'{excerpt(value)}' is not a --set key=value")
                elif value is not None:
                    values.append(value)
            environments.append(HelmEnvironment(env_name, tuple(values)))
        charts.append(HelmChart(chart_name, tuple(environments)))
    return tuple(charts)


def _registry(node: Node, p: Problems) -> RegistryTags | None:
    fields = p.mapping(node, "Registry", _REGISTRY_KEYS)
    if fields is None:
        return None
    artifacts = _artifacts(_get(fields, "Artifacts"), "Registry.Artifacts", p, node)
    filter_node = _get(fields, "VersionFilter")
    version_filter = p.regex(filter_node, "Registry.VersionFilter") if filter_node is not None else None
    latest_node = _get(fields, "Latest")
    latest = latest_node is not None and p.boolean(latest_node, "Registry.Latest") is True
    return RegistryTags(artifacts, version_filter, latest)

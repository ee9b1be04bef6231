"""Read and validate a ``config.json``: every problem, each naming the entry key and the field.

All problems are collected and raised together as one :class:`~mirror.errors.ConfigError`, so
a user fixes a file in one pass. Regexes and constraints are compiled here, so a typo fails
``validate`` rather than a discovery run half an hour later. The JSON itself is read strictly
(:mod:`.strict_json`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ref as imageref
from ..errors import ConfigError, InvalidReference
from ..filters import compile_helm_constraint, compile_version_constraint
from ..text import excerpt
from ..userfile import UserFileError, forbidden_characters, quote, read_text
from .model import ChartConfig, Config, Entry, HelmChart, SourceKind, VersionSource, repository_path_problem
from .strict_json import load_json, location

__all__ = ["load", "parse"]


_NEEDS_TARGET = {
    SourceKind.GITHUB_RELEASES: "OWNER/REPO",
    SourceKind.GITHUB_LATEST_RELEASE: "OWNER/REPO",
    SourceKind.GITHUB_TAGGED_IMAGES_FILE: "OWNER/REPO",
    SourceKind.HELM_LATEST: "URL",
    SourceKind.HELM_DIRECTORY: "/path",
}
_OWNER_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
_MAX_REFERENCE = 255  # the longest image reference mirror.ref accepts
#: GitHub's longest label name; a longer one makes the labels request fail after the pull request exists.
_MAX_LABEL = 50
#: A GitHub login or an org/team slug: what the request-reviewers endpoint takes (as autoupdate.yaml).
_REVIEWER = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?\Z")

_ENTRY_FIELDS = {
    "images",
    "versionSource",
    "versionConstraint",
    "versionFilter",
    "latest",
    "latest_entry",
    "imagesFilePath",
    "imageDenylist",
    "additionalVersionFilter",
    "helmCharts",
    "labels",
    "reviewers",
}
_CHART_FIELDS = {"devel", "versionFilter", "chartConfig"}
_CHART_CONFIG_FIELDS = {"values", "kubeVersion"}


@dataclass
class _Collector:
    """Gathers problems while parsing, so one run reports all of them."""

    path: str
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{self.path}: {where}: {message}")


def load(path: str | Path) -> Config:
    """Read and validate a config.json; raise ConfigError naming every problem."""
    try:
        text = read_text(path)
    except UserFileError as exc:
        raise ConfigError(exc.problems) from None
    return parse(text, path=str(path))


def parse(text: str, *, path: str = "config.json") -> Config:
    forbidden = forbidden_characters(text, path)
    if forbidden:
        raise ConfigError(forbidden)
    data = load_json(text, path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be an object of entries"])
    collector = _Collector(path)
    entries = []
    for key, value in data.items():
        entry = _parse_entry(key, value, collector)
        if entry is not None:
            entries.append(entry)
    if collector.problems:
        raise ConfigError(collector.problems)
    return Config(tuple(entries), path)


def _bool(value: Any) -> bool | None:
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    return None


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    return None


def _parse_source(key: str, raw: Any, c: _Collector) -> VersionSource | None:
    where = location([key, "versionSource"])
    if not isinstance(raw, str) or not raw:
        c.add(where, "is required and must be a string")
        return None
    kind_text, sep, target = raw.partition(":")
    try:
        kind = SourceKind(kind_text)
    except ValueError:
        known = ", ".join(kind.value for kind in SourceKind)
        c.add(where, f"unknown version source {quote(kind_text)} (known: {known})")
        return None
    if kind in _NEEDS_TARGET:
        if not sep or not target:
            c.add(where, f"{kind.value} needs a target: '{kind.value}:{_NEEDS_TARGET[kind]}'")
            return None
        if _NEEDS_TARGET[kind] == "OWNER/REPO" and not _OWNER_REPO.match(target):
            c.add(where, f"{quote(target)} is not OWNER/REPO")
            return None
        if kind is SourceKind.HELM_LATEST and not re.match(r"(https?|oci)://", target):
            c.add(where, f"{quote(target)} is not an http(s) URL")
            return None
        return VersionSource(kind, target)
    if sep:
        c.add(where, f"{kind.value} takes no target, got {quote(raw)}")
        return None
    return VersionSource(kind)


def _parse_entry(key: str, raw: Any, c: _Collector) -> Entry | None:
    if not isinstance(raw, dict):
        c.add(location([key]), "must be an object")
        return None
    before = len(c.problems)
    for unknown in sorted(set(raw) - _ENTRY_FIELDS):
        c.add(location([key, unknown]), "unknown field")
    source = _parse_source(key, raw.get("versionSource"), c)

    def field_where(name: str) -> str:
        return location([key, name])

    def string_list(name: str, message: str) -> tuple[str, ...]:
        if name not in raw:
            return ()
        parsed = _str_list(raw[name])
        if parsed is None:
            c.add(field_where(name), message)
            return ()
        return parsed

    images = string_list("images", "must be a list of image names")
    for image in images:
        if len(image) > _MAX_REFERENCE:
            c.add(field_where("images"), f"image reference {quote(image)} is longer than {_MAX_REFERENCE} characters")
            continue
        try:
            imageref.parse(image)
        except InvalidReference as exc:
            c.add(field_where("images"), str(exc))

    def checked_string(name: str, kind: str, check: Callable[[str], object]) -> str | None:
        """An optional string field that must compile (regex, constraint) here, not at run time."""
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            c.add(field_where(name), f"must be a string ({kind})")
            return None
        try:
            check(value)
        except (re.error, ValueError) as exc:
            c.add(field_where(name), f"invalid {kind} {quote(value)}: {excerpt(str(exc))}")
        except RecursionError:  # re's parser recurses once per group: "((((…" is a nesting bomb
            c.add(field_where(name), f"invalid {kind} {quote(value)}: nested too deeply")
        return value

    version_filter = checked_string("versionFilter", "regular expression", re.compile)
    constraint = checked_string("versionConstraint", "version constraint", compile_version_constraint)
    flags: dict[str, bool] = {}
    for name in ("latest", "latest_entry"):
        value = _bool(raw.get(name, False))
        if value is None:
            c.add(field_where(name), "must be true or false")
            value = False
        flags[name] = value
    images_file_path = raw.get("imagesFilePath")
    has_images_file = images_file_path is not None
    if has_images_file:
        if not isinstance(images_file_path, str) or not images_file_path:
            c.add(field_where("imagesFilePath"), "must be a file path inside the repository")
            images_file_path = None
        elif (problem := repository_path_problem(images_file_path)) is not None:
            c.add(field_where("imagesFilePath"), f"{quote(images_file_path)} {problem}")
            images_file_path = None
    denylist = string_list("imageDenylist", "must be a list of image names")
    additional = string_list("additionalVersionFilter", "must be a list of Helm version constraints")
    for item in additional:
        _check_helm_constraint(item, field_where("additionalVersionFilter"), c)
    charts = _parse_charts(key, raw.get("helmCharts"), c)
    labels = string_list("labels", "must be a list of label names")
    for label in labels:
        if len(label) > _MAX_LABEL or label != label.strip():
            c.add(field_where("labels"), f"{quote(label)} is not a GitHub label name (at most {_MAX_LABEL} "
                  "characters, no surrounding blanks)")
    reviewers = string_list("reviewers", "must be a list of GitHub users or org/team names")
    for reviewer in reviewers:
        if not _REVIEWER.match(reviewer):
            c.add(field_where("reviewers"), f"{quote(reviewer)} is not a user or org/team (both parts non-empty)")

    if source is not None:
        kind = source.kind
        if kind in (SourceKind.GITHUB_RELEASES, SourceKind.GITHUB_LATEST_RELEASE, SourceKind.REGISTRY):
            if not images:
                c.add(field_where("images"), f"{kind.value} needs at least one image")
        if kind is SourceKind.GITHUB_TAGGED_IMAGES_FILE and not has_images_file:
            c.add(field_where("imagesFilePath"), "github-tagged-images-file needs imagesFilePath")
        if kind.is_helm and not charts:
            c.add(field_where("helmCharts"), f"{kind.value} needs at least one chart")
        if kind is SourceKind.HELM_OCI:
            for chart in charts:
                if not chart.name.startswith("oci://"):
                    c.add(location([key, "helmCharts", chart.name]), "helm-oci charts must be oci:// references")
        if flags["latest"] and flags["latest_entry"]:
            c.add(field_where("latest_entry"), "latest and latest_entry cannot both be set")
    if source is None or len(c.problems) > before:
        return None
    return Entry(
        key=key,
        source=source,
        images=images,
        version_constraint=constraint,
        version_filter=version_filter,
        latest=flags["latest"],
        latest_entry=flags["latest_entry"],
        images_file_path=images_file_path,
        image_denylist=denylist,
        additional_version_filter=additional,
        helm_charts=charts,
        labels=labels,
        reviewers=reviewers,
    )


def _check_helm_constraint(text: str, where: str, c: _Collector) -> None:
    try:
        compile_helm_constraint(text)
    except ValueError as exc:
        c.add(where, f"invalid Helm version constraint {quote(text)}: {excerpt(str(exc))}")


def _parse_charts(key: str, raw: Any, c: _Collector) -> tuple[HelmChart, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        c.add(location([key, "helmCharts"]), "must be an object of charts")
        return ()
    charts = []
    for name, spec in raw.items():
        def where(*names: str) -> str:
            return location([key, "helmCharts", name, *names])

        if not isinstance(spec, dict):
            c.add(where(), "must be an object")
            continue
        for unknown in sorted(set(spec) - _CHART_FIELDS):
            c.add(where(unknown), "unknown field")
        devel = _bool(spec.get("devel", False))
        if devel is None:
            c.add(where("devel"), "must be true or false")
            devel = False
        version_filter = spec.get("versionFilter")
        if version_filter is not None:
            if not isinstance(version_filter, str):
                c.add(where("versionFilter"), "must be a Helm version constraint string")
                version_filter = None
            else:
                _check_helm_constraint(version_filter, where("versionFilter"), c)
        configs = []
        raw_configs = spec.get("chartConfig", {})
        if not isinstance(raw_configs, dict):
            c.add(where("chartConfig"), "must be an object")
            raw_configs = {}
        for config_name, config in raw_configs.items():
            if not isinstance(config, dict):
                c.add(where("chartConfig", config_name), "must be an object")
                continue
            for unknown in sorted(set(config) - _CHART_CONFIG_FIELDS):
                c.add(where("chartConfig", config_name, unknown), "unknown field")
            values: tuple[str, ...] = ()
            if "values" in config:
                parsed = _str_list(config["values"])
                if parsed is None or any("=" not in v for v in parsed):
                    c.add(where("chartConfig", config_name, "values"), "must be a list of key=value strings")
                else:
                    values = parsed
            kube_version = config.get("kubeVersion")
            if kube_version is not None and not isinstance(kube_version, str):
                c.add(where("chartConfig", config_name, "kubeVersion"), "must be a string such as '1.30.0'")
                kube_version = None
            configs.append(ChartConfig(config_name, values, kube_version))
        charts.append(HelmChart(name, devel, version_filter, tuple(configs)))
    return tuple(charts)

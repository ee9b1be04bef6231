"""``config.json`` (version sources and tag filters) as frozen dataclasses.

Every field the seed's ``retrieve-image-tags.py`` reads is modelled. All
problems are collected and raised together as one :class:`ConfigError`, each
naming the entry key and the field, so a user fixes a file in one pass. Regexes
and constraints are compiled here, so a typo fails ``validate`` rather than a
discovery run half an hour later.

A key that appears twice in the JSON object is an error: ``json.load`` would
silently keep the last one (the seed's own example had two ``longhorn`` keys).

The file is hostile input like any other (see :mod:`mirror.userfile`): it must be UTF-8
without control, separator or bidi characters (a problem names line and column), may not
nest deeper than :data:`~mirror.userfile.NESTING_LIMIT`, and may not use ``NaN`` or
``Infinity``, which Python's ``json`` accepts but JSON does not. Values quoted in messages
are escaped and cut, so a 10 MB line gives a short message.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from . import ref as imageref
from .errors import ConfigError, InvalidReference
from .filters import compile_helm_constraint, compile_version_constraint
from .text import excerpt
from .userfile import NESTING_LIMIT, UserFileError, forbidden_characters, quote, read_text

__all__ = [
    "ChartConfig",
    "Config",
    "Entry",
    "HelmChart",
    "SourceKind",
    "VersionSource",
    "load",
    "parse",
    "repository_path_problem",
]


class SourceKind(StrEnum):
    GITHUB_RELEASES = "github-releases"
    GITHUB_LATEST_RELEASE = "github-latest-release"
    GITHUB_TAGGED_IMAGES_FILE = "github-tagged-images-file"
    REGISTRY = "registry"
    HELM_LATEST = "helm-latest"
    HELM_OCI = "helm-oci"
    HELM_DIRECTORY = "helm-directory"

    @property
    def is_helm(self) -> bool:
        return self in (SourceKind.HELM_LATEST, SourceKind.HELM_OCI, SourceKind.HELM_DIRECTORY)

    @property
    def gives_full_images(self) -> bool:
        """Helm and tagged-file sources yield ``repo:tag`` lists, not tags for known images."""
        return self.is_helm or self is SourceKind.GITHUB_TAGGED_IMAGES_FILE


_NEEDS_TARGET = {
    SourceKind.GITHUB_RELEASES: "OWNER/REPO",
    SourceKind.GITHUB_LATEST_RELEASE: "OWNER/REPO",
    SourceKind.GITHUB_TAGGED_IMAGES_FILE: "OWNER/REPO",
    SourceKind.HELM_LATEST: "URL",
    SourceKind.HELM_DIRECTORY: "/path",
}
_OWNER_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
_MAX_REFERENCE = 255  # the longest image reference mirror.ref accepts
_MAX_DIGITS = 100
#: GitHub's longest label name; a longer one makes the labels request fail after the pull request exists.
_MAX_LABEL = 50
#: A GitHub login or an org/team slug: what the request-reviewers endpoint takes (as autoupdate.yaml).
_REVIEWER = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?\Z")


def repository_path_problem(path: str) -> str | None:
    """Why ``path`` is not a file path inside a repository, or None when it is one.

    The one rule for ``imagesFilePath``: ``validate`` applies it through :func:`parse`, and
    the GitHub client applies it again before building a contents URL, so ``validate``
    cannot accept a path that ``discover`` then refuses.
    """
    if not path:
        return "must be a file path inside the repository"
    if path.startswith("/"):
        return "must be relative to the repository root, not an absolute path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "must not contain '..', '.' or empty path components"
    return None


@dataclass(frozen=True)
class VersionSource:
    """``versionSource``: a kind and, for most kinds, a target after the first colon."""

    kind: SourceKind
    target: str | None = None

    def __str__(self) -> str:
        return self.kind.value if self.target is None else f"{self.kind.value}:{self.target}"


@dataclass(frozen=True)
class ChartConfig:
    """One ``helm template`` variant: ``--set`` values and an optional ``--kube-version``."""

    name: str
    values: tuple[str, ...] = ()
    kube_version: str | None = None


@dataclass(frozen=True)
class HelmChart:
    """A chart under ``helmCharts``: its name (or ``oci://`` reference) and render options."""

    name: str
    devel: bool = False
    version_filter: str | None = None  # a Helm version constraint, e.g. "v1.4.*"
    chart_configs: tuple[ChartConfig, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One key of config.json."""

    key: str
    source: VersionSource
    images: tuple[str, ...] = ()
    version_constraint: str | None = None
    version_filter: str | None = None  # a regex, searched in each tag
    latest: bool = False
    latest_entry: bool = False
    images_file_path: str | None = None
    image_denylist: tuple[str, ...] = ()
    additional_version_filter: tuple[str, ...] = ()  # Helm version constraints
    helm_charts: tuple[HelmChart, ...] = ()
    labels: tuple[str, ...] = ()  # put on the entry's pull requests (discover --open-prs)
    reviewers: tuple[str, ...] = ()  # users, or org/team for a team


@dataclass(frozen=True)
class Config:
    entries: tuple[Entry, ...]
    path: str = "config.json"

    def entry(self, key: str) -> Entry:
        for candidate in self.entries:
            if candidate.key == key:
                return candidate
        raise KeyError(key)


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


class _Object(dict):  # type: ignore[type-arg]
    duplicates: list[str]


@dataclass(frozen=True)
class _Rejected:
    """Stands in for a JSON value the file may not hold (``NaN``, a 5000-digit number), so
    the walk can name the entry and field it was found in."""

    reason: str


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = _Object()
    result.duplicates = []
    for key, value in pairs:
        if key in result:
            result.duplicates.append(key)
        else:
            result[key] = value
    return result


def _constant(name: str) -> _Rejected:
    return _Rejected(f"{name} is not valid JSON (JSON numbers are finite)")


def _integer(text: str) -> int | _Rejected:
    if len(text) > _MAX_DIGITS:
        return _Rejected(f"a number of {len(text)} digits is too long")
    return int(text)


def _float(text: str) -> float | _Rejected:
    value = float(text)
    if not math.isfinite(value):
        return _Rejected(f"the number {quote(text)} is out of range")
    return value


def _where(where: list[str]) -> str:
    if not where:
        return "the top level"
    if len(where) == 1:
        return f"entry {quote(where[0])}"
    return f"entry {quote(where[0])} field {quote('.'.join(where[1:]))}"


def _structure_problems(data: Any, path: str) -> list[str]:
    """Nesting too deep, keys given twice and rejected values, in document order.

    Iterative, so a deep document cannot exhaust the stack here; the depth limit then keeps
    the rest of the parser's (recursive) code safe too.
    """
    found: list[str] = []
    stack: list[tuple[Any, list[str], int]] = [(data, [], 1)]
    while stack:
        value, where, depth = stack.pop()
        if depth > NESTING_LIMIT:
            return [f"{path}: nested more than {NESTING_LIMIT} levels deep"]
        if isinstance(value, _Rejected):
            found.append(f"{path}: {_where(where)}: {value.reason}")
        elif isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                if not where:
                    found.append(f"{path}: key {quote(key)} appears more than once")
                else:
                    found.append(f"{path}: {_where([*where, key])}: appears more than once")
            stack.extend((child, [*where, key], depth + 1) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((child, where, depth + 1) for child in reversed(value))
    return found


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
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_constant,
                          parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: nested more than {NESTING_LIMIT} levels deep"]) from None
    structure = _structure_problems(data, path)
    if structure:
        raise ConfigError(structure)
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
    where = _where([key, "versionSource"])
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
        c.add(_where([key]), "must be an object")
        return None
    before = len(c.problems)
    for unknown in sorted(set(raw) - _ENTRY_FIELDS):
        c.add(_where([key, unknown]), "unknown field")
    source = _parse_source(key, raw.get("versionSource"), c)

    def field_where(name: str) -> str:
        return _where([key, name])

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
                    c.add(_where([key, "helmCharts", chart.name]), "helm-oci charts must be oci:// references")
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
        c.add(_where([key, "helmCharts"]), "must be an object of charts")
        return ()
    charts = []
    for name, spec in raw.items():
        def where(*names: str) -> str:
            return _where([key, "helmCharts", name, *names])

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

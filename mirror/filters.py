"""Tag filter stages: pure functions from a list of tags to a list of tags.

The stages keep the seed's semantics (``retrieve-image-tags.py``) and fix its
sharp edges:

* ``versionFilter`` is ``re.search`` on the raw tag, as the seed did;
* ``versionConstraint`` is a semantic-version ``SimpleSpec`` (``>=1.4.0``,
  ``>3.5.10``, ranges ``>=1.2,<2``) with ``||`` alternatives; a leading ``v``
  on tags and in the constraint is tolerated; tags that are not versions drop;
* ``latest`` compares the dot-separated numbers as tuples of any length (the
  seed's examples need ``3.10`` and ``15.4.27.14.3``); a pre-release suffix
  ranks below the release; tags that are not versions are ignored instead of
  crashing as the seed's ``int()`` did;
* ``latest_entry`` takes the first tag in the source's newest-first order.

Helm constraints (``helmCharts.<chart>.versionFilter``,
``additionalVersionFilter``) use the Masterminds grammar helm uses for
``--version``: ``v1.4.*``, ``~1.2``, ``^1``, ``>=1.2.0 <2``, commas as AND, ``||``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import semantic_version as sv

__all__ = [
    "Predicate",
    "apply_version_filter",
    "compile_helm_constraint",
    "compile_version_constraint",
    "compile_version_filter",
    "filter_tags",
    "latest",
    "latest_entry",
    "parse_semver",
    "semver_sort_key",
]

Predicate = Callable[[str], bool]

_LOOSE = re.compile(r"v?(\d+)(?:\.(\d+))?\Z")
_NUMERIC = re.compile(r"v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\Z")
_LEADING_V = re.compile(r"(?<![0-9A-Za-z])v(?=\d)")


def parse_semver(tag: str) -> sv.Version | None:
    """A tag as a semantic version: strict after dropping one leading ``v``,
    or ``1`` / ``1.2`` padded with zeros. Anything else is not a version."""
    text = tag[1:] if tag.startswith("v") else tag
    try:
        return sv.Version(text)
    except ValueError:
        pass
    match = _LOOSE.match(tag)
    if match:
        return sv.Version(major=int(match[1]), minor=int(match[2] or 0), patch=0)
    return None


def semver_sort_key(tag: str) -> sv.Version:
    """Sort key for tags known to parse (see :func:`parse_semver`)."""
    version = parse_semver(tag)
    if version is None:
        raise ValueError(f"{tag!r} is not a semantic version")
    return version


def compile_version_filter(pattern: str) -> Predicate:
    """``versionFilter`` at entry level: a regular expression searched in the tag."""
    regex = re.compile(pattern)
    return lambda tag: regex.search(tag) is not None


def apply_version_filter(tags: Iterable[str], pattern: str | None) -> list[str]:
    if pattern is None:
        return list(tags)
    keep = compile_version_filter(pattern)
    return [tag for tag in tags if keep(tag)]


def filter_tags(tags: Iterable[str], *, version_filter: str | None, version_constraint: str | None) -> list[str]:
    """The two selecting stages every tag source applies: ``versionFilter``, then ``versionConstraint``."""
    kept = apply_version_filter(tags, version_filter)
    if version_constraint:
        keep = compile_version_constraint(version_constraint)
        kept = [tag for tag in kept if keep(tag)]
    return kept


def compile_version_constraint(text: str) -> Predicate:
    """``versionConstraint``: SimpleSpec clauses joined by ``||``; raises ValueError."""
    alternatives = [part.strip() for part in text.split("||")]
    if not text.strip() or any(not part for part in alternatives):
        raise ValueError(f"empty clause in version constraint {text!r}")
    specs = [sv.SimpleSpec(re.sub(r"\s*,\s*", ",", _LEADING_V.sub("", part))) for part in alternatives]

    def match(tag: str) -> bool:
        version = parse_semver(tag)
        return version is not None and any(spec.match(version) for spec in specs)

    return match


def compile_helm_constraint(text: str) -> Predicate:
    """A Helm (Masterminds) version constraint; raises ValueError when invalid."""
    alternatives = [part.strip() for part in text.split("||")]
    if not text.strip() or any(not part for part in alternatives):
        raise ValueError(f"empty clause in Helm version constraint {text!r}")
    specs = []
    for part in alternatives:
        cleaned = re.sub(r"\s*,\s*", " ", _LEADING_V.sub("", part))
        cleaned = cleaned.replace("=>", ">=").replace("=<", "<=").replace("~>", "~")
        cleaned = re.sub(r"([<>=~^!]+)\s+", r"\1", cleaned)
        excluded = [sv.NpmSpec(item) for item in re.findall(r"!=(\S+)", cleaned)]
        rest = re.sub(r"!=\S+", "", cleaned).strip() or "*"
        specs.append((sv.NpmSpec(rest), excluded))

    def match(tag: str) -> bool:
        version = parse_semver(tag)
        return version is not None and any(
            spec.match(version) and not any(ex.match(version) for ex in excluded) for spec, excluded in specs
        )

    return match


def _numeric_key(tag: str) -> tuple[tuple[int, ...], int, tuple[tuple[int, int | str], ...]] | None:
    match = _NUMERIC.match(tag)
    if not match:
        return None
    numbers = tuple(int(part) for part in match[1].split("."))
    pre = match[2]
    if pre is None:
        return numbers, 1, ()
    pre_key = tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.-]", pre))
    return numbers, 0, pre_key


def latest(tags: Iterable[str]) -> list[str]:
    """The single newest version among ``tags`` (empty when none is a version)."""
    best: str | None = None
    best_key = None
    for tag in tags:
        key = _numeric_key(tag)
        if key is None:
            continue
        if best_key is None or key > best_key:
            best, best_key = tag, key
    return [] if best is None else [best]


def latest_entry(tags_newest_first: Sequence[str]) -> list[str]:
    """The first tag in newest-first order (the source decides the order)."""
    return list(tags_newest_first[:1])

"""Tag filter stages: versionFilter, versionConstraint, Helm constraints, latest, latest_entry."""

from __future__ import annotations

import pytest

from mirror import filters

TAGS = [
    "latest",
    "main",
    "1.3.9",
    "v1.4.0",
    "1.4.0-rc1",
    "1.4.1",
    "v1.9.0",
    "1.10.2",
    "v2.0.0",
    "2.1",
    "3.5.10",
    "3.5.11",
    "v3.6.0",
    "2.10.1-alpine",
]


def keep(predicate: filters.Predicate, tags: list[str]) -> list[str]:
    return [tag for tag in tags if predicate(tag)]


# ---- versionFilter: re.search on the raw tag (seed semantics) ------------------------------


@pytest.mark.parametrize(
    ("pattern", "tags", "kept"),
    [
        # anchored, as in the real config (traefik)
        (r"^2\.[0-9]+\.[0-9]+$", ["2.11.14", "v2.11.14", "2.11", "3.2.1", "2.11.14-windows", "12.1.1"], ["2.11.14"]),
        # search, not match: the pattern may sit anywhere in the tag
        ("alpine", ["3.20-alpine", "alpine3.20", "3.20", "bookworm"], ["3.20-alpine", "alpine3.20"]),
        (r"\d+\.\d+\.\d+$", ["v1.2.3", "1.2.3-rc1", "x1.2.3"], ["v1.2.3", "x1.2.3"]),
        # real config (cpi-release-manager)
        (
            r"^v1\.([3-9][0-9])\.[0-9]+$",
            ["v1.29.0", "v1.30.1", "v1.31.0", "v1.100.0", "1.30.0"],
            ["v1.30.1", "v1.31.0"],
        ),
        # a Helm-looking value at entry level is a regex: "." is any char, "*" repeats
        ("v1.4.*", ["v1.4.0", "v1.40.1", "v1x4", "1.4.0"], ["v1.4.0", "v1.40.1", "v1x4"]),
    ],
)
def test_version_filter_is_regex_search(pattern: str, tags: list[str], kept: list[str]) -> None:
    assert filters.apply_version_filter(tags, pattern) == kept
    assert keep(filters.compile_version_filter(pattern), tags) == kept


def test_no_version_filter_keeps_everything_in_order() -> None:
    assert filters.apply_version_filter(TAGS, None) == TAGS


def test_version_filter_bad_regex_raises() -> None:
    with pytest.raises(Exception):  # noqa: B017 - re.error; config.py turns it into a ConfigError
        filters.compile_version_filter("(")


# ---- versionConstraint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "kept"),
    [
        (
            ">=1.4.0",
            ["v1.4.0", "1.4.1", "v1.9.0", "1.10.2", "v2.0.0", "2.1", "3.5.10", "3.5.11", "v3.6.0", "2.10.1-alpine"],
        ),
        (">3.5.10", ["3.5.11", "v3.6.0"]),
        (">=1.2,<2", ["1.3.9", "v1.4.0", "1.4.0-rc1", "1.4.1", "v1.9.0", "1.10.2"]),
        ("<1.3.10 || >=3.5.11", ["1.3.9", "3.5.11", "v3.6.0"]),
        ("==1.4.1", ["1.4.1"]),
        # a leading v in the constraint is tolerated
        (">=v3.5.11", ["3.5.11", "v3.6.0"]),
        (">=v1.9.0,<v2.0.0 || ==v3.6.0", ["v1.9.0", "1.10.2", "v3.6.0"]),
    ],
)
def test_version_constraint(constraint: str, kept: list[str]) -> None:
    assert keep(filters.compile_version_constraint(constraint), TAGS) == kept


def test_version_constraint_drops_non_version_tags() -> None:
    accept_all = filters.compile_version_constraint(">=0.0.0")
    assert keep(accept_all, ["latest", "main", "stable", "sha-abc123", "1.2.3.4", "v1.2.3"]) == ["v1.2.3"]


def test_version_constraint_leading_v_on_tags() -> None:
    predicate = filters.compile_version_constraint(">=1.4.0")
    assert predicate("v1.4.0") and predicate("1.4.0")
    assert not predicate("v1.3.9")


@pytest.mark.parametrize("bad", ["", "   ", "||", ">=1.2 ||", "|| >=1.2", "abc", ">=x", "=>1.0", "1.2.3.4", "latest"])
def test_invalid_version_constraint_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        filters.compile_version_constraint(bad)


# ---- Helm (Masterminds) constraints ---------------------------------------------------------

HELM_TAGS = ["1.3.9", "1.4.0", "v1.4.9", "1.4.10-rc.1", "1.5.0", "1.40.0", "2.0.0", "3.4.0", "not-a-version"]


@pytest.mark.parametrize(
    ("constraint", "kept"),
    [
        ("v1.4.*", ["1.4.0", "v1.4.9"]),
        ("1.4.x", ["1.4.0", "v1.4.9"]),
        ("~1.4", ["1.4.0", "v1.4.9"]),
        ("~1.4.5", ["v1.4.9"]),
        ("^1", ["1.3.9", "1.4.0", "v1.4.9", "1.5.0", "1.40.0"]),
        ("^1.4", ["1.4.0", "v1.4.9", "1.5.0", "1.40.0"]),
        (">=1.4.0 <2.0.0", ["1.4.0", "v1.4.9", "1.5.0", "1.40.0"]),
        (">= 1.4.0 < 1.5", ["1.4.0", "v1.4.9"]),
        (">=1.4, <1.5", ["1.4.0", "v1.4.9"]),
        (">=1.4,<1.5", ["1.4.0", "v1.4.9"]),
        ("~1.3 || ^3", ["1.3.9", "3.4.0"]),
        ("1.4.0 || >=2.0.0", ["1.4.0", "2.0.0", "3.4.0"]),
        ("1.4.0 - 1.5.0", ["1.4.0", "v1.4.9", "1.5.0"]),
        (">=v1.5.0", ["1.5.0", "1.40.0", "2.0.0", "3.4.0"]),
        # a pre-release constraint admits pre-releases
        (">=1.4.10-rc.0 <1.5.0", ["1.4.10-rc.1"]),
    ],
)
def test_helm_constraint(constraint: str, kept: list[str]) -> None:
    assert keep(filters.compile_helm_constraint(constraint), HELM_TAGS) == kept


@pytest.mark.parametrize(
    ("constraint", "same_as"),
    [
        # Masterminds semver (what `helm --version` uses) accepts these operator spellings too
        ("~>1.4", "~1.4"),
        ("=>1.5.0", ">=1.5.0"),
        ("=<1.4.9", "<=1.4.9"),
    ],
)
def test_helm_constraint_masterminds_operator_aliases(constraint: str, same_as: str) -> None:
    expected = keep(filters.compile_helm_constraint(same_as), HELM_TAGS)
    assert expected  # the comparison below is not vacuous
    assert keep(filters.compile_helm_constraint(constraint), HELM_TAGS) == expected


def test_helm_constraint_not_equal() -> None:
    # Masterminds "!=": everything but that version (pre-releases excluded as for other operators)
    predicate = filters.compile_helm_constraint(">=1.4.0 <2.0.0, !=1.4.9")
    assert keep(predicate, HELM_TAGS) == ["1.4.0", "1.5.0", "1.40.0"]


@pytest.mark.parametrize("bad", ["", "||", "~1.2 ||", "abc", "1.2.3.4", ">=1.2 <", "=>>1", "latest", "^", "1.2.3 -"])
def test_invalid_helm_constraint_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        filters.compile_helm_constraint(bad)


# ---- latest ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "newest"),
    [
        (["3.9", "3.10"], ["3.10"]),
        (["3.10", "3.9"], ["3.10"]),
        (["15.4.27.14.2", "15.4.27.14.3", "15.4.27", "15.4.9.99.99"], ["15.4.27.14.3"]),
        (["1.2.3-rc1", "1.2.3", "1.2.2"], ["1.2.3"]),
        (["1.2.3", "1.2.3-rc1"], ["1.2.3"]),
        (["1.2.3-rc.2", "1.2.3-rc.10", "1.2.3-beta.1"], ["1.2.3-rc.10"]),
        (["1.2.3-rc1", "1.2.2"], ["1.2.3-rc1"]),
        (["v1.9", "v1.10", "v1.2"], ["v1.10"]),
        (["v2.11.14", "2.11.9", "v2.9.99"], ["v2.11.14"]),
        (["latest", "main", "2.0", "stable", "nightly-20241201"], ["2.0"]),
        (["2.0", "1.99.99"], ["2.0"]),
        (["latest", "main"], []),
        ([], []),
    ],
)
def test_latest(tags: list[str], newest: list[str]) -> None:
    assert filters.latest(tags) == newest


def test_latest_accepts_any_iterable() -> None:
    assert filters.latest(iter(["1.0", "1.1"])) == ["1.1"]


@pytest.mark.parametrize(
    ("tags", "first"),
    [(["v3.0", "v1.0", "v2.0"], ["v3.0"]), (["only"], ["only"]), ([], [])],
)
def test_latest_entry_takes_first(tags: list[str], first: list[str]) -> None:
    assert filters.latest_entry(tags) == first


# ---- parse_semver ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("v1.2.3-rc.1", "1.2.3-rc.1"),
        ("1.2", "1.2.0"),
        ("v2", "2.0.0"),
        ("latest", None),
        ("1.2.3.4", None),
        ("vv1.2.3", None),
    ],
)
def test_parse_semver(tag: str, version: str | None) -> None:
    parsed = filters.parse_semver(tag)
    assert (None if parsed is None else str(parsed)) == version


def test_semver_sort_key_orders_and_rejects() -> None:
    assert sorted(["v1.10.0", "1.9.0", "v1.9.1-rc1", "1.9.1"], key=filters.semver_sort_key) == [
        "1.9.0",
        "v1.9.1-rc1",
        "1.9.1",
        "v1.10.0",
    ]
    with pytest.raises(ValueError, match="latest"):
        filters.semver_sort_key("latest")

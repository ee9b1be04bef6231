"""Common options resolve flag > environment > default, before or after the subcommand."""

from __future__ import annotations

import pytest

from mirror.cli import build_parser, resolve_settings


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [(["sort"], 0), (["-v", "sort"], 1), (["sort", "-vv"], 2), (["-v", "sort", "-v"], 2)],
)
def test_verbose_counts_on_both_sides_of_the_subcommand(argv: list[str], verbose: int) -> None:
    assert resolve_settings(build_parser().parse_args(argv), {}).verbose == verbose


@pytest.mark.parametrize(
    ("argv", "env", "field", "expected"),
    [
        (["validate"], {}, "images_list", "images-list"),
        (["validate"], {"IMAGES_FILE": "from-env"}, "images_list", "from-env"),
        (["--images-list", "flag", "validate"], {"IMAGES_FILE": "from-env"}, "images_list", "flag"),
        (["validate", "--images-list", "flag"], {"IMAGES_FILE": "from-env"}, "images_list", "flag"),
        (["validate"], {"IMAGE_MIRROR_REGISTRIES": "r.yaml"}, "registries", "r.yaml"),
        (["validate", "--registries", "x.yaml"], {"IMAGE_MIRROR_REGISTRIES": "r.yaml"}, "registries", "x.yaml"),
        (["validate"], {"IMAGE_MIRROR_METRICS_FILE": "m.prom"}, "metrics_file", "m.prom"),
        (["sync", "--pushgateway", "http://pg:9091"], {"IMAGE_MIRROR_PUSHGATEWAY": "http://other"},
         "pushgateway", "http://pg:9091"),
        (["--max-wait", "5", "discover"], {}, "max_wait", 5.0),
        (["discover", "--no-cache"], {}, "no_cache", True),
    ],
)
def test_flag_beats_environment_beats_default(argv: list[str], env: dict[str, str], field: str, expected: object) -> None:
    assert getattr(resolve_settings(build_parser().parse_args(argv), env), field) == expected

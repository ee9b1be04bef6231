"""Common options resolve flag > environment > default, before or after the subcommand."""

from __future__ import annotations

import pytest

from mirror.cli import parse_args, resolve_settings


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [(["sort"], 0), (["-v", "sort"], 1), (["sort", "-vv"], 2), (["-v", "sort", "-v"], 2)],
)
def test_verbose_counts_on_both_sides_of_the_subcommand(argv: list[str], verbose: int) -> None:
    assert resolve_settings(parse_args(argv), {}).verbose == verbose


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
        # A value that names a command is a value; the command is the next word.
        (["--config", "sync", "validate"], {}, "config", "sync"),
        (["--config=sort", "sync", "--images-list", "validate"], {}, "images_list", "validate"),
        (["--images", "sort", "compare"], {}, "images_list", "sort"),
    ],
)
def test_flag_beats_environment_beats_default(argv: list[str], env: dict[str, str], field: str, expected: object) -> None:
    assert getattr(resolve_settings(parse_args(argv), env), field) == expected


@pytest.mark.parametrize(
    ("argv", "command"),
    [(["--config", "sync", "validate"], "validate"), (["--images", "sort", "compare"], "compare"),
     (["-v", "--max-wait", "5", "sync", "--dry-run"], "sync")],
)
def test_the_command_is_found_past_option_values(argv: list[str], command: str) -> None:
    args = parse_args(argv)
    assert args.command == command
    assert args.handler.__module__ == f"mirror.commands.{command}"

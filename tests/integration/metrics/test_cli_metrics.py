"""The CLI delivers metrics: ``sync --metrics-file`` and ``discover --pushgateway`` on real parts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.discover.helpers import run_cli, write_registries
from tests.integration.metrics.test_pushgateway import Pushgateway, pushgateway_factory  # noqa: F401
from tests.support.registry import RegistryServer
from tests.unit.metrics.expfmt import parse


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    family = parse(text, strict=False)[name]
    return {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}


def test_sync_writes_a_metrics_file(tmp_path: Path, source_registry, dest_registry: RegistryServer) -> None:
    images = tmp_path / "images-list"
    images.write_text(
        f"{source_registry.host}/library/busybox {dest_registry.host}/mirrored/busybox 1.36.1\n"
        f"{source_registry.host}/library/busybox {dest_registry.host}/mirrored/busybox 1.37.0\n"
        f"{source_registry.host}/library/busybox {dest_registry.host}/mirrored/busybox 9.9.9\n"
    )
    metrics = tmp_path / "metrics.prom"
    result = run_cli(["--images-list", str(images), "--metrics-file", str(metrics), "--log-format", "plain", "sync"])
    assert result.returncode == 1, result.stderr  # 9.9.9 does not exist upstream
    text = metrics.read_text()
    lines = _samples(text, "image_mirror_sync_lines")
    target = ("target", dest_registry.host)  # no --target: the destination's registry
    assert lines[(("result", "copied"), target)] == 2
    assert lines[(("result", "failed"), target)] == 1
    assert _samples(text, "image_mirror_run_success")[(("command", "sync"),)] == 0
    assert "image_mirror_last_success_timestamp_seconds" not in parse(text, strict=False)

    # A second run of the good lines succeeds: nothing copied, a last-success time appears.
    images.write_text("\n".join(images.read_text().splitlines()[:2]) + "\n")
    result = run_cli(["--images-list", str(images), "--log-format", "plain", "sync"],
                     env={"IMAGE_MIRROR_METRICS_FILE": str(metrics)})
    assert result.returncode == 0, result.stderr
    text = metrics.read_text()
    assert _samples(text, "image_mirror_sync_lines")[(("result", "skipped"), target)] == 2
    assert _samples(text, "image_mirror_run_success")[(("command", "sync"),)] == 1
    assert "image_mirror_last_success_timestamp_seconds" in parse(text, strict=False)


def test_discover_pushes_to_a_real_pushgateway(
    tmp_path: Path, source_registry, pushgateway_factory: Callable[..., Pushgateway]  # noqa: F811
) -> None:
    gateway = pushgateway_factory()
    registries = write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": source_registry.url}})
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"busybox": {"images": ["busybox"], "versionSource": "registry",
                                              "versionFilter": r"^1\.3[67]\."}}))
    images = tmp_path / "images-list"
    images.write_text("busybox rancher/mirrored-library-busybox 1.36.1\n")
    result = run_cli(["--images-list", str(images), "--config", str(config), "--registries", str(registries),
                      "--no-cache", "--pushgateway", gateway.url, "discover"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"busybox": {"images": ["busybox"], "tags": ["1.36.0", "1.37.0"]}}
    ours = gateway.ours()
    new = {dict(s.labels)["entry"]: s.value for s in ours["image_mirror_discover_tags_new"].samples}
    seen = {dict(s.labels)["entry"]: s.value for s in ours["image_mirror_discover_tags_seen"].samples}
    assert new == {"busybox": 2}
    assert seen == {"busybox": 3}
    assert "image_mirror_last_success_timestamp_seconds" in ours

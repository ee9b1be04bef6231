"""helm-directory charts rendered by the real helm: post-processing rules, literal values,
and the errors a user sees."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from mirror.errors import HelmError
from mirror.helm import HelmRenderer
from mirror.sources.helm import discover
from tests.support.charts import ChartSpec, UrllibFetcher, deployment, write_chart

from .conftest import demo_chart, entry

DIGEST = "sha256:" + "ab" * 32
KEPT = "example.org/demo/kept:v1.0.0"


async def discover_directory(root: Path, charts: dict[str, Any], **fields: Any) -> list[str]:
    async with HelmRenderer() as helm:
        found = await discover(
            entry(versionSource=f"helm-directory:{root}", helmCharts=charts, **fields), helm, UrllibFetcher()
        )
    return list(found.full_images)


@pytest.mark.anyio
async def test_directory_chart(tmp_path: Path, helm_binary: str) -> None:
    write_chart(demo_chart("0.5.0"), tmp_path)
    assert await discover_directory(tmp_path, {"demo": {}}) == [
        "example.org/demo/app:v0.5.0",
        "quay.io/demo/values-app:values-0.5.0",
    ]


@pytest.mark.parametrize(
    ("image", "denylist", "expected"),
    [
        pytest.param("rancher/shell:v0.1.0", [], [], id="rancher-skipped"),
        pytest.param(f"quay.io/demo/pinned:v2.0.0@{DIGEST}", [], ["quay.io/demo/pinned:v2.0.0"], id="digest-stripped"),
        pytest.param("example.org/demo/floating:latest", [], [], id="latest-skipped"),
        pytest.param("example.org/demo/untagged", [], [], id="untagged-skipped"),
        pytest.param("docker.io/demo/tool:1.25.3", [], ["demo/tool:1.25.3"], id="docker-io-stripped"),
        pytest.param("quay.io/demo/denied:v1", ["quay.io/demo/denied"], [], id="denylist"),
        pytest.param("docker.io/demo/denied:v1", ["demo/denied"], [], id="denylist-normalised"),
    ],
)
@pytest.mark.anyio
async def test_post_processing_through_a_render(
    tmp_path: Path, helm_binary: str, image: str, denylist: list[str], expected: list[str]
) -> None:
    spec = ChartSpec("edge", "1.0.0", templates={"deployment.yaml": deployment("edge", [KEPT, image])})
    write_chart(spec, tmp_path)
    fields: dict[str, Any] = {"imageDenylist": denylist} if denylist else {}
    assert await discover_directory(tmp_path, {"edge": {}}, **fields) == sorted([KEPT, *expected])


@pytest.mark.anyio
async def test_values_with_shell_metacharacters_are_passed_literally(tmp_path: Path, helm_binary: str) -> None:
    charts = tmp_path / "charts"
    write_chart(demo_chart("0.5.0"), charts)
    pwned = [Path(f"/tmp/pwned-{secrets.token_hex(8)}") for _ in range(3)]
    note = f"$(touch {pwned[0]}); touch {pwned[1]} | cat"
    values = [f"note={note}", "sidecar.enabled=true", f"sidecar.version=`touch {pwned[2]}`"]
    try:
        images = await discover_directory(charts, {"demo": {"chartConfig": {"evil": {"values": values}}}})
        async with HelmRenderer() as helm:
            rendered = await helm.template(charts / "demo", values=values)
    finally:
        existing = [p for p in pwned if p.exists()]
        for path in existing:
            path.unlink()
    assert existing == [], "a value was executed by a shell"
    assert f"note: {note!r}".replace("'", '"') in rendered
    assert f'image: "ghcr.io/demo/sidecar:`touch {pwned[2]}`"' in rendered
    # The sidecar "tag" is not a valid tag, so it is not an image; the rest is as usual.
    assert images == ["example.org/demo/app:v0.5.0", "quay.io/demo/values-app:values-0.5.0"]


@pytest.mark.anyio
async def test_missing_helm_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_chart(demo_chart("0.5.0"), tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(HelmError, match=r"helm executable not found: looked for 'helm' on PATH .*empty-bin.*install"):
        await discover_directory(tmp_path, {"demo": {}})


@pytest.mark.anyio
async def test_failing_render_names_entry_chart_and_helm_error(tmp_path: Path, helm_binary: str) -> None:
    broken = ChartSpec("broken", "1.0.0", templates={"cm.yaml": '{{ fail "broken chart refuses to render" }}\n'})
    write_chart(broken, tmp_path)
    with pytest.raises(HelmError) as info:
        await discover_directory(tmp_path, {"broken": {}})
    message = str(info.value)
    assert message.startswith("helm template of chart broken: helm exited with code 1: ")
    assert "broken chart refuses to render" in message


@pytest.mark.anyio
async def test_missing_chart_directory(tmp_path: Path) -> None:
    with pytest.raises(HelmError, match=r".*/nothing is not a chart directory \(no Chart.yaml\)"):
        await discover_directory(tmp_path, {"nothing": {}})


"""read_values prints what ``helm show values`` prints: checked against the real helm binary."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from mirror.errors import HelmError
from mirror.helm import MAX_VALUES_BYTES, read_values
from tests.support.charts import ChartSpec, find_helm, helm_env, package_chart, write_chart

CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n"


def archive(path: Path, files: dict[str, bytes]) -> Path:
    """A .tgz with exactly these entries (names as given: the top directory included)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return path


def helm_show_values(chart: Path, home: Path) -> str:
    proc = subprocess.run([find_helm(), "show", "values", str(chart)], capture_output=True, env=helm_env(home),
                          check=True, timeout=60)
    return proc.stdout.decode("utf-8", "replace")


CASES = {
    "plain": {"demo/Chart.yaml": CHART_YAML, "demo/values.yaml": b"image:\n  repository: a/b\n  tag: v1\n"},
    "byte-order mark, no final newline": {"demo/Chart.yaml": CHART_YAML, "demo/values.yaml": b"\xef\xbb\xbfa: 1"},
    "a subchart's values are not the chart's": {
        "demo/Chart.yaml": CHART_YAML,
        "demo/values.yaml": b"top: 1\n",
        "demo/charts/sub/Chart.yaml": b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        "demo/charts/sub/values.yaml": b"sub: 2\n",
    },
    "no values.yaml": {"demo/Chart.yaml": CHART_YAML},
    "another top directory name, ./ in paths": {"whatever/Chart.yaml": CHART_YAML, "whatever/./values.yaml": b"x: y\n"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_text_as_helm_show_values(tmp_path: Path, case: str) -> None:
    chart = archive(tmp_path / "chart.tgz", CASES[case])
    assert read_values(chart) == helm_show_values(chart, tmp_path / "helm")


def test_a_chart_directory_too(tmp_path: Path) -> None:
    spec = ChartSpec("dir", "0.1.0", values={"image": {"repository": "x/y", "tag": "1"}})
    directory = write_chart(spec, tmp_path)
    assert read_values(directory) == helm_show_values(directory, tmp_path / "helm")
    (tmp_path / "chart.tgz").write_bytes(package_chart(spec))
    assert read_values(tmp_path / "chart.tgz") == read_values(directory)


def test_a_broken_archive_is_a_helm_error_naming_the_job(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a gzip file")
    with pytest.raises(HelmError, match=r"values.yaml of chart demo 1.0: broken.tgz is not a readable chart archive"):
        read_values(broken, "values.yaml of chart demo 1.0")


def test_a_huge_values_file_is_refused(tmp_path: Path) -> None:
    chart = archive(tmp_path / "big.tgz", {"demo/Chart.yaml": CHART_YAML,
                                           "demo/values.yaml": b"#" * (MAX_VALUES_BYTES + 1)})
    with pytest.raises(HelmError, match="more than helm's limit"):
        read_values(chart)

"""Charts and servers shared by the Helm integration tests (real helm, real registry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from mirror import config
from mirror.config import Entry
from tests.support.charts import ChartRepoServer, ChartSpec, find_helm

#: Versions of the "demo" chart in the test repository, and how each is listed in index.yaml.
DEMO_VERSIONS: dict[str, Literal["relative", "absolute"]] = {"1.0.0": "relative", "1.1.0": "absolute", "1.2.0-rc.1": "relative"}

DEMO_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-demo
  annotations:
    note: {{ .Values.note | quote }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: "example.org/demo/app:v{{ .Chart.Version }}"
          imagePullPolicy: IfNotPresent
{{- if .Values.sidecar.enabled }}
        - name: sidecar
          image: "ghcr.io/demo/sidecar:{{ .Values.sidecar.version }}"
{{- end }}
{{- if semverCompare ">=1.30.0-0 <1.31.0-0" .Capabilities.KubeVersion.Version }}
        - name: k130
          image: registry.k8s.io/demo/k130-helper:v1.30.0
{{- end }}
"""


def demo_chart(version: str, name: str = "demo") -> ChartSpec:
    """The demo chart: its app image tag is the chart version; a sidecar only with
    ``sidecar.enabled=true``; a helper only for Kubernetes 1.30.x (helm 3.17 defaults to
    1.32); one more image only in values.yaml (``registry`` + ``repository`` + ``tag``)."""
    return ChartSpec(
        name=name,
        version=version,
        templates={"deployment.yaml": DEMO_TEMPLATE},
        values={
            "image": {"registry": "quay.io", "repository": f"{name}/values-app", "tag": f"values-{version}"},
            "sidecar": {"enabled": False, "version": "2.0.0"},
            "note": "",
        },
    )


def entry(key: str = "demo", **fields: Any) -> Entry:
    """A config entry built through the real config parser (so the fields are checked)."""
    return config.parse(json.dumps({key: fields})).entries[0]


@pytest.fixture(scope="session")
def helm_binary() -> str:
    """The real helm, installed the TESTBED.md way if missing (never skipped)."""
    return find_helm()


@pytest.fixture
def chart_repo(helm_binary: str) -> Iterator[ChartRepoServer]:
    with ChartRepoServer() as repo:
        for version, url in DEMO_VERSIONS.items():
            repo.add(demo_chart(version), url=url)
        yield repo

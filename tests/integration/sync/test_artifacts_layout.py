"""``sync`` and ``compare`` on Rancher's artifact-mirror ``config.yaml`` between real registries.

One config covers the layout's rules: two default targets and a third repository only one
artifact uses (with credentials from ``{{ env "…" }}`` templates, behind htpasswd), a
``TargetArtifactName``, one source listed twice under two names, ``TargetRepositories``, both
forms of ``DoNotMirror``, a ``dp.apps.rancher.io`` source (its ``appco-`` default name) and a
Helm chart OCI artifact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sync.helpers import cli, events
from tests.support.images import OCI_MANIFEST, get_manifest, list_tags, push_blob, push_image, push_manifest
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.seed import SeededRegistry

SECRET = "c-registry-s3cret"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _push_chart(url: str) -> str:
    config = json.dumps({"name": "webapp", "version": "1.0.0", "apiVersion": "v2"}).encode()
    chart = b"\x1f\x8b\x08\x00fake chart tarball for webapp 1.0.0"
    config_digest, chart_digest = push_blob(url, "charts/webapp", config), push_blob(url, "charts/webapp", chart)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": HELM_LAYER, "digest": chart_digest, "size": len(chart)}],
    }).encode()
    return push_manifest(url, "charts/webapp", "1.0.0", manifest, OCI_MANIFEST)


@pytest.fixture
def layout(source_registry: SeededRegistry, registry_factory: RegistryFactory, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    extra = registry_factory()  # stands in for dp.apps.rancher.io, and holds the chart
    redis = push_image(extra.url, "containers/redis", "7.2", kind="oci-index")
    chart_digest = _push_chart(extra.url)
    a, b = registry_factory(), registry_factory()
    c = registry_factory(htpasswd={"mirror": SECRET})
    s, x = source_registry.host, extra.host
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
# Rancher's artifact-mirror layout, in small
Artifacts:
- SourceArtifact: {s}/flannel/flannel
  Tags:
  - v0.25.1
- SourceArtifact: {s}/calico/node
  DoNotMirror:
  - v3.29.0
  Tags:
  - v3.28.0
  - v3.29.0
- SourceArtifact: {s}/calico/node
  Tags:
  - v3.28.0
  TargetArtifactName: calico-node-special
  TargetRepositories:
  - {c.host}/special
- DoNotMirror: true
  SourceArtifact: {s}/library/busybox
  Tags:
  - 1.36.1
- SourceArtifact: dp.apps.rancher.io/containers/redis
  Tags:
  - "7.2"
- SourceArtifact: {x}/charts/webapp
  Tags:
  - 1.0.0
  TargetArtifactName: webapp-chart
Repositories:
- BaseUrl: {a.host}/rancher
  DefaultTarget: true
  Password: ""
  Registry: {a.host}
  Username: ""
- BaseUrl: {b.host}/mirror
  DefaultTarget: true
  Password: ""
  Registry: {b.host}
  Username: ""
- BaseUrl: {c.host}/special
  DefaultTarget: false
  Password: '{{{{ env "C_PASSWORD" }}}}'
  Registry: {c.host}
  Username: '{{{{ env "C_USERNAME" }}}}'
""")
    registries = tmp_path / "registries.yaml"
    registries.write_text(f"dp.apps.rancher.io:\n  endpoint: http://{x}\n")
    monkeypatch.setenv("C_USERNAME", "mirror")
    monkeypatch.setenv("C_PASSWORD", SECRET)
    digests = {
        f"{s}/flannel/flannel:v0.25.1": source_registry.image("flannel/flannel", "v0.25.1").digest,
        f"{s}/calico/node:v3.28.0": source_registry.image("calico/node", "v3.28.0").digest,
        "redis:7.2": redis.digest,
        "webapp:1.0.0": chart_digest,
    }
    return {"a": a, "b": b, "c": c, "config": config, "registries": registries, "digests": digests}


def _expected(layout: dict[str, object]) -> dict[tuple[RegistryServer, str, str], str]:
    a, b, c = layout["a"], layout["b"], layout["c"]
    digests: dict[str, str] = layout["digests"]  # type: ignore[assignment]
    flannel, calico = (digests[k] for k in list(digests)[:2])
    expected = {}
    for server, base in ((a, "rancher"), (b, "mirror")):
        expected[(server, f"{base}/mirrored-flannel-flannel", "v0.25.1")] = flannel
        expected[(server, f"{base}/mirrored-calico-node", "v3.28.0")] = calico
        expected[(server, f"{base}/appco-redis", "7.2")] = digests["redis:7.2"]
        expected[(server, f"{base}/webapp-chart", "1.0.0")] = digests["webapp:1.0.0"]
    expected[(c, "special/calico-node-special", "v3.28.0")] = calico
    return expected  # type: ignore[return-value]


def test_every_artifact_tag_reaches_every_target_with_its_digest(
    layout: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    config, registries = layout["config"], layout["registries"]
    report = Path(str(config)).with_name("report.json")
    assert cli(config, "validate", registries=registries) == 0  # type: ignore[arg-type]
    assert cli(config, "sync", "--report", str(report), registries=registries) == 0  # type: ignore[arg-type]
    auth = ("mirror", SECRET)
    for (server, repo, tag), digest in _expected(layout).items():
        kwargs = {"auth": auth} if server is layout["c"] else {}
        assert get_manifest(server.url, repo, tag, **kwargs).digest == digest, (server.host, repo, tag)  # type: ignore[arg-type]
    # DoNotMirror: the whole busybox record and calico's v3.29.0 are copied nowhere.
    for server in (layout["a"], layout["b"]):
        assert list_tags(server.url, "rancher/mirrored-calico-node" if server is layout["a"]  # type: ignore[attr-defined]
                         else "mirror/mirrored-calico-node") == ["v3.28.0"]
    assert not any("busybox" in r["destination"] for r in json.loads(report.read_text())["results"])
    assert len(json.loads(report.read_text())["results"]) == len(_expected(layout))
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err + report.read_text()
    # A second run copies nothing, and compare finds every copy MATCHED.
    assert cli(config, "sync", registries=registries) == 0  # type: ignore[arg-type]
    done = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.done"]
    assert done[-1]["copied"] == 0 and done[-1]["skipped"] == len(_expected(layout))
    assert cli(config, "compare", "--json", registries=registries) == 0  # type: ignore[arg-type]
    compared = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in compared} == {"MATCHED"} and len(compared) == len(_expected(layout))


def test_an_unset_credential_variable_fails_only_that_registry(
    layout: dict[str, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("C_PASSWORD")
    config, registries = layout["config"], layout["registries"]
    assert cli(config, "sync", registries=registries) == 1  # type: ignore[arg-type]
    failed = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.copy.failed"]
    assert len(failed) == 1 and failed[0]["destination"].endswith("/special/calico-node-special")
    assert "C_PASSWORD is not set" in failed[0]["reason"]
    a = layout["a"]
    assert list_tags(a.url, "rancher/appco-redis") == ["7.2"]  # type: ignore[attr-defined]


def test_destination_overrides_are_refused_with_a_config_yaml(
    layout: dict[str, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEST_REGISTRY_OVERRIDE", "registry.example.com")
    assert cli(layout["config"], "sync", registries=layout["registries"]) == 2  # type: ignore[arg-type]
    assert "targets come from its Repositories" in capsys.readouterr().err

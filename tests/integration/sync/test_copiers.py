"""Every copier against real registries: digests preserved, auth, TLS with a private CA, OCI artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.proxy import CountingProxy
from tests.integration.sync.helpers import cli, cli_in_thread, docker_config, events, mirrored, write_list
from tests.support.images import (
    OCI_MANIFEST,
    get_blob,
    get_manifest,
    list_tags,
    push_blob,
    push_manifest,
    sha256_digest,
)
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.seed import SeededRegistry
from tests.support.tls import TLSFiles
from tests.support.tokenserver import TokenServerFactory

#: One of each kind from the seeded source: OCI index (3 platforms), Docker list, OCI and Docker manifests.
KINDS = [
    ("library/busybox", "1.36.1"),
    ("calico/node", "v3.28.0"),
    ("flannel/flannel", "v0.25.1"),
    ("library/alpine", "3.20.0"),
]


def _lines(source: SeededRegistry, dest_host: str) -> list[str]:
    return [f"{source.host}/{repo} {dest_host}/{mirrored(repo)} {tag}" for repo, tag in KINDS]


def _assert_mirrored(source: SeededRegistry, dest_url: str, **kwargs: object) -> None:
    for repo, tag in KINDS:
        pushed = source.image(repo, tag)
        got = get_manifest(dest_url, mirrored(repo), tag, **kwargs)  # type: ignore[arg-type]
        assert got.digest == pushed.digest, f"{repo}:{tag}"
        assert got.body == pushed.manifest
        for platform, child in pushed.children.items():
            assert get_manifest(dest_url, mirrored(repo), child, **kwargs).digest == child, platform  # type: ignore[arg-type]
        for blob in pushed.blobs:
            data = get_blob(dest_url, mirrored(repo), blob, **kwargs)  # type: ignore[arg-type]
            assert sha256_digest(data) == blob


@pytest.mark.parametrize("copier", ["native", "skopeo", "oras"])
def test_every_kind_is_copied_with_its_digest(
    copier: str, source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    images_list = write_list(tmp_path, _lines(source_registry, dest_registry.host))
    assert cli(images_list, "sync", "--copier", copier, "--report", str(tmp_path / "report.json")) == 0
    _assert_mirrored(source_registry, dest_registry.url)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["totals"]["copied"] == len(KINDS) and report["totals"]["failed"] == 0
    assert {r["outcome"] for r in report["results"]} == {"copied"}
    for result in report["results"]:
        pushed = source_registry.image(result["source"].split("/", 1)[1], result["tag"])
        assert result["digest"] == pushed.digest
    capsys.readouterr()
    # A second run finds everything up to date and copies nothing.
    assert cli(images_list, "sync", "--copier", copier, "--report", str(tmp_path / "again.json")) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["totals"]["skipped"] == len(KINDS) and again["totals"]["copied"] == 0
    names = [e["event"] for e in events(capsys.readouterr().err)]
    assert names.count("sync.skip") == len(KINDS) and "sync.copy.start" not in names


@pytest.mark.parametrize("copier", ["native", "skopeo", "oras"])
def test_destination_with_htpasswd_auth_from_docker_config(
    copier: str, source_registry: SeededRegistry, registry_factory: RegistryFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "pa55-w0rd-never-printed"
    dest = registry_factory(htpasswd={"mirror": secret})
    docker_config(tmp_path, monkeypatch, {dest.host: ("mirror", secret)})
    images_list = write_list(tmp_path, _lines(source_registry, dest.host))
    assert cli(images_list, "sync", "--copier", copier) == 0
    _assert_mirrored(source_registry, dest.url, auth=("mirror", secret))
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err


def test_destination_without_credentials_fails_every_line_with_a_hint(
    source_registry: SeededRegistry, registry_factory: RegistryFactory, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dest = registry_factory(htpasswd={"mirror": "x"})
    images_list = write_list(tmp_path, _lines(source_registry, dest.host)[:2])
    assert cli(images_list, "sync") == 1
    err = capsys.readouterr().err
    failed = [e for e in events(err) if e["event"] == "sync.copy.failed"]
    assert len(failed) == 2
    assert all("config.json" in e["reason"] for e in failed)


@pytest.mark.parametrize("copier", ["native", "skopeo", "oras"])
def test_destination_with_tls_and_a_private_ca_from_the_registries_file(
    copier: str, source_registry: SeededRegistry, registry_factory: RegistryFactory, tls_files: TLSFiles,
    tmp_path: Path,
) -> None:
    dest = registry_factory(tls=tls_files)
    registries = tmp_path / "registries.yaml"
    registries.write_text(json.dumps({dest.host: {"ca_file": str(tls_files.ca_cert)}}))
    images_list = write_list(tmp_path, _lines(source_registry, dest.host))
    assert cli(images_list, "sync", "--copier", copier, registries=registries) == 0
    _assert_mirrored(source_registry, dest.url, ssl_context=tls_files.ssl_context())


def test_tls_destination_without_the_ca_fails_with_a_hint(
    source_registry: SeededRegistry, registry_factory: RegistryFactory, tls_files: TLSFiles, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dest = registry_factory(tls=tls_files)
    registries = tmp_path / "registries.yaml"
    registries.write_text(json.dumps({dest.host: {"endpoint": f"https://{dest.host}"}}))
    images_list = write_list(tmp_path, _lines(source_registry, dest.host)[:1])
    assert cli(images_list, "sync", registries=registries) == 1
    failed = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.copy.failed"]
    assert failed and "ca_file" in failed[0]["reason"]


HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _push_chart(base_url: str, repo: str, tag: str) -> tuple[str, bytes]:
    """A Helm-chart-like OCI artifact, pushed with the stdlib helpers; returns (digest, manifest bytes)."""
    config = json.dumps({"name": "demo", "version": tag, "apiVersion": "v2"}).encode()
    chart = b"\x1f\x8b" + b"not really a tarball, but content-addressed all the same " * 20
    push_blob(base_url, repo, config)
    push_blob(base_url, repo, chart)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": HELM_CHART, "digest": sha256_digest(chart), "size": len(chart),
                    "annotations": {"org.opencontainers.image.title": f"demo-{tag}.tgz"}}],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }
    # Deliberately unusual formatting: a re-serialising client would change the digest.
    body = json.dumps(manifest, indent=3, sort_keys=False).encode() + b"\n"
    digest = push_manifest(base_url, repo, tag, body, OCI_MANIFEST)
    return digest, body


@pytest.mark.parametrize("copier", ["oras", "native"])
def test_helm_chart_artifact(copier: str, registry_factory: RegistryFactory, tmp_path: Path) -> None:
    source = registry_factory()
    dest = registry_factory()
    digest, body = _push_chart(source.url, "charts/demo", "1.2.3")
    images_list = write_list(tmp_path, [f"{source.host}/charts/demo {dest.host}/mirror/charts/demo 1.2.3"])
    assert cli(images_list, "sync", "--copier", copier) == 0
    got = get_manifest(dest.url, "mirror/charts/demo", "1.2.3")
    assert got.digest == digest and got.body == body
    doc = got.json()
    assert doc["config"]["mediaType"] == HELM_CONFIG
    assert get_blob(dest.url, "mirror/charts/demo", doc["layers"][0]["digest"]).startswith(b"\x1f\x8b")
    assert list_tags(dest.url, "mirror/charts/demo") == ["1.2.3"]


def test_oras_copier_reaches_an_htpasswd_destination(registry_factory: RegistryFactory, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = registry_factory()
    dest = registry_factory(htpasswd={"charts": "helm-pass"})
    docker_config(tmp_path, monkeypatch, {dest.host: ("charts", "helm-pass")})
    digest, _ = _push_chart(source.url, "charts/demo", "0.1.0")
    images_list = write_list(tmp_path, [f"{source.host}/charts/demo {dest.host}/charts/demo 0.1.0"])
    assert cli(images_list, "sync", "--copier", "oras") == 0
    assert get_manifest(dest.url, "charts/demo", "0.1.0", auth=("charts", "helm-pass")).digest == digest
    # oras never logged in: no docker config was written to HOME
    assert not (Path.home() / ".docker" / "config.json").exists()


@pytest.mark.parametrize("copier", ["native", "oras"])
def test_a_blob_that_does_not_match_its_digest_fails_the_line(
    copier: str, registry_factory: RegistryFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = registry_factory()
    dest = registry_factory()
    from tests.support.images import push_image

    good = push_image(source.url, "team/good", "1", kind="oci-manifest")
    bad = push_image(source.url, "team/bad", "1", kind="oci-manifest")
    layer = bad.layers["linux/amd64"][-1]
    data_file = source.storage_dir / "docker/registry/v2/blobs/sha256" / layer[7:9] / layer[7:] / "data"
    data_file.write_bytes(data_file.read_bytes()[:-4] + b"XXXX")  # same size, other content
    images_list = write_list(tmp_path, [
        f"{source.host}/team/bad {dest.host}/mirror/bad 1",
        f"{source.host}/team/good {dest.host}/mirror/good 1",
    ])
    assert cli(images_list, "sync", "--copier", copier) == 1
    failed = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.copy.failed"]
    assert len(failed) == 1 and failed[0]["destination"].endswith("mirror/bad")
    assert failed[0]["reason"].startswith(f"blob {layer} from {source.host}/team/bad: ")
    assert f"digest mismatch {layer}" in failed[0]["reason"] and "cannot reach" not in failed[0]["reason"]
    assert get_manifest(dest.url, "mirror/good", "1").digest == good.digest
    with pytest.raises(Exception):
        get_manifest(dest.url, "mirror/bad", "1")


def test_oras_copier_also_copies_indexes_byte_exact_and_filtered(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    busybox = source_registry.image("library/busybox", "1.36.1")
    whole = write_list(tmp_path, [f"{source_registry.host}/library/busybox {dest_registry.host}/oras/busybox 1.36.1"],
                       "whole")
    assert cli(whole, "sync", "--copier", "oras") == 0
    assert get_manifest(dest_registry.url, "oras/busybox", "1.36.1").digest == busybox.digest
    part = write_list(tmp_path, [f"{source_registry.host}/library/busybox {dest_registry.host}/oras/part 1.36.1"],
                      "part")
    assert cli(part, "sync", "--copier", "oras", "--platforms", "linux/arm64") == 0
    children = get_manifest(dest_registry.url, "oras/part", "1.36.1").json()["manifests"]
    assert [c["digest"] for c in children] == [busybox.children["linux/arm64"]]


def test_oras_copier_reaches_a_token_auth_destination_with_the_runs_tokens(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """oras gets the token mirror's authenticator fetched (pull and push in one), never logs in."""
    secret = "t0ken-pa55-never-printed"
    tokens = token_server_factory({"ci": secret})
    source = registry_factory()
    dest = registry_factory(token_auth=tokens.registry_auth())
    docker_config(tmp_path, monkeypatch, {dest.host: ("ci", secret)})
    digest, body = _push_chart(source.url, "charts/demo", "0.2.0")
    images_list = write_list(tmp_path, [f"{source.host}/charts/demo {dest.host}/charts/demo 0.2.0"])
    assert cli(images_list, "sync", "--copier", "oras") == 0
    got = get_manifest(dest.url, "charts/demo", "0.2.0", auth=("ci", secret))
    assert got.digest == digest and got.body == body
    granted = [(a.name, set(a.actions)) for req in tokens.requests for a in req.granted]
    assert ("charts/demo", {"pull", "push"}) in granted
    assert {req.user for req in tokens.requests} == {"ci"} and tokens.refused == 0
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    assert not (Path.home() / ".docker" / "config.json").exists()


@pytest.mark.anyio
async def test_oras_copier_keeps_to_the_registries_files_concurrency(
    registry_factory: RegistryFactory, tmp_path: Path
) -> None:
    """oras' requests hold the host's slots like ours: with concurrency 1 the registry never sees two."""
    source = registry_factory()
    dest = registry_factory()
    for i in range(4):
        _push_chart(source.url, f"charts/demo{i}", "1.0.0")
    async with CountingProxy(dest.url) as proxy:
        registries = tmp_path / "registries.yaml"
        registries.write_text(json.dumps({proxy.host: {"concurrency": 1}}))
        lines = [f"{source.host}/charts/demo{i} {proxy.host}/mirror/demo{i} 1.0.0" for i in range(4)]
        images_list = write_list(tmp_path, lines)
        assert await cli_in_thread(images_list, "sync", "--copier", "oras", "--jobs", "4",
                                   registries=registries) == 0
        assert proxy.count(method="PUT", kind="upload") == 8  # two blobs a chart, all through the proxy
        assert proxy.peak_in_flight == 1
    for i in range(4):
        assert list_tags(dest.url, f"mirror/demo{i}") == ["1.0.0"]


def test_oras_copier_names_a_blob_the_source_does_not_serve(
    registry_factory: RegistryFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """oras' reply becomes the same typed error as ours (one status function), naming the blob."""
    storage = tmp_path / "source-storage"
    source = registry_factory(storage_dir=storage)
    dest = registry_factory()
    _push_chart(source.url, "charts/gone", "1.0.0")
    manifest = get_manifest(source.url, "charts/gone", "1.0.0").json()
    layer = manifest["layers"][0]["digest"]
    link = storage / "docker/registry/v2/repositories/charts/gone/_layers/sha256" / layer[7:] / "link"
    link.unlink()  # the repository no longer knows the blob: the registry answers 404 BLOB_UNKNOWN
    source.stop()
    source = registry_factory(storage_dir=storage)  # a fresh process: no cached blob descriptor
    images_list = write_list(tmp_path, [f"{source.host}/charts/gone {dest.host}/mirror/gone 1.0.0"])
    assert cli(images_list, "sync", "--copier", "oras") == 1
    failed = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.copy.failed"]
    assert len(failed) == 1
    assert failed[0]["reason"].startswith(f"blob {layer} from {source.host}/charts/gone: not found on {source.host}")
    assert "BLOB_UNKNOWN" in failed[0]["reason"]

"""The skopeo command line: credentials only in a private file, TLS and endpoint decisions applied."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mirror.copy.base import Destination, SourceImage
from mirror.copy.skopeo import SkopeoCopier, check_supported, skopeo_arguments
from mirror.errors import CopyError, InputError
from mirror.ref import parse
from mirror.registry import Credential, Registries, parse_registries


def _hosts(tmp_path: Path) -> Registries:
    ca = tmp_path / "ca.pem"
    # A real PEM is needed only to build an SSL context; reuse the system bundle.
    ca.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
    return parse_registries({
        "docker.io": {"endpoint": "http://127.0.0.1:5001", "repository_prefix": "dockerhub"},
        "registry.example.com": {"ca_file": str(ca)},
    })


def test_arguments(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    secret = "s3cret-value"
    invocation = skopeo_arguments(
        work,
        parse("flannel/flannel:v0.25.1"),
        parse("registry.example.com/rancher/mirrored-flannel-flannel:v0.25.1"),
        hosts.resolve("docker.io"),
        hosts.resolve("registry.example.com"),
        None,
        Credential("robot", secret),
    )
    argv = invocation.argv
    assert argv[:6] == ["skopeo", "copy", "--all", "--preserve-digests", "--retry-times", "3"]
    assert argv[-2:] == [
        "docker://127.0.0.1:5001/dockerhub/flannel/flannel:v0.25.1",
        "docker://registry.example.com/rancher/mirrored-flannel-flannel:v0.25.1",
    ]
    assert "--src-tls-verify=false" in argv and "--dest-tls-verify=false" not in argv
    assert f"--dest-cert-dir={work / 'certs-dest'}" in argv and not any(a.startswith("--src-cert-dir") for a in argv)
    assert (work / "certs-dest" / "ca.crt").is_file()
    assert f"--src-authfile={invocation.auth_file}" in argv and f"--dest-authfile={invocation.auth_file}" in argv
    assert not any(secret in a or "robot" in a for a in argv)
    assert invocation.auth_file is not None
    assert stat.S_IMODE(invocation.auth_file.stat().st_mode) == 0o600
    auths = json.loads(invocation.auth_file.read_text())["auths"]
    assert list(auths) == ["registry.example.com"]  # keyed by the host skopeo connects to
    assert f"--digestfile={work / 'digest'}" in argv


def test_no_credentials_no_auth_file(tmp_path: Path) -> None:
    hosts = parse_registries({})
    invocation = skopeo_arguments(tmp_path, parse("a/b:1"), parse("ghcr.io/c/d:1"), hosts.resolve("docker.io"),
                                  hosts.resolve("ghcr.io"), None, None)
    assert invocation.auth_file is None and not any("authfile" in a for a in invocation.argv)
    assert invocation.argv[-2:] == ["docker://registry-1.docker.io/a/b:1", "docker://ghcr.io/c/d:1"]


def test_platforms_are_refused() -> None:
    check_supported(platforms=False)
    with pytest.raises(InputError, match="--copier native"):
        check_supported(platforms=True)


@pytest.mark.anyio
async def test_a_filtered_manifest_is_refused() -> None:
    from mirror.registry.media import Manifest

    copier = SkopeoCopier(resolver=None)  # type: ignore[arg-type]
    filtered = Manifest(b"{}", "application/vnd.oci.image.index.v1+json", "sha256:" + "b" * 64)
    [result] = await copier.copy(SourceImage(parse("a/b:1"), "sha256:" + "a" * 64), [Destination(parse("c/d:1"))],
                                 filtered)
    assert isinstance(result.error, CopyError) and "--copier native" in str(result.error)


def test_schema1_is_converted_without_preserving_digests(tmp_path: Path) -> None:
    hosts = parse_registries({})
    invocation = skopeo_arguments(tmp_path, parse("quay.io/old/app:1"), parse("ghcr.io/c/d:1"),
                                  hosts.resolve("quay.io"), hosts.resolve("ghcr.io"), None, None,
                                  preserve_digests=False, convert_to="v2s2")
    assert "--preserve-digests" not in invocation.argv
    assert invocation.argv[invocation.argv.index("--format") + 1] == "v2s2"

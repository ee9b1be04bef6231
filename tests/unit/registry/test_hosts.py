"""The registries file: validation, endpoint and scheme resolution, TLS settings."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import ModuleType

import pytest

import mirror.registry as registry_api
from mirror import ref as imageref
from mirror.errors import InputError, RegistriesFileError
from mirror.registry import Registries, is_loopback, load_registries, parse_registries


def test_public_api_is_explicit() -> None:
    assert sorted(registry_api.__all__) == sorted(set(registry_api.__all__))
    for name in registry_api.__all__:
        assert getattr(registry_api, name) is not None
    public = {
        name for name in dir(registry_api)
        if not name.startswith("_") and not isinstance(getattr(registry_api, name), ModuleType)
    }
    assert public - {"annotations"} == set(registry_api.__all__)


@pytest.mark.parametrize(
    ("netloc", "expected"),
    [
        ("127.0.0.1:5000", True),
        ("127.8.9.1", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(netloc: str, expected: bool) -> None:
    assert is_loopback(netloc) is expected


def test_defaults_docker_hub_and_https() -> None:
    hosts = Registries()
    hub = hosts.resolve("docker.io")
    assert (hub.scheme, hub.netloc, hub.base_url) == ("https", "registry-1.docker.io", "https://registry-1.docker.io")
    assert hub.tls_verify and not hub.may_fall_back and not hub.redirected
    assert hub.concurrency == 8 and hub.rate is None
    assert hosts.resolve("index.docker.io") == hub
    quay = hosts.resolve("quay.io")
    assert quay.base_url == "https://quay.io" and not quay.may_fall_back


def test_loopback_and_insecure_hosts_may_fall_back_to_http() -> None:
    hosts = parse_registries({"registry.internal:5000": {"insecure": True}})
    local = hosts.resolve("127.0.0.1:5000")
    assert local.scheme == "https" and local.may_fall_back and local.tls_verify
    internal = hosts.resolve("registry.internal:5000")
    assert internal.may_fall_back and internal.insecure and not internal.tls_verify
    assert internal.ssl is False
    assert local.with_scheme("http").plain_http and not local.with_scheme("http").tls_verify


def test_endpoint_and_repository_prefix() -> None:
    hosts = parse_registries({
        "docker.io": {"endpoint": "http://127.0.0.1:5001", "repository_prefix": "/dockerhub/"},
        "quay.io": {"endpoint": "127.0.0.1:5002"},
        "ghcr.io": {"endpoint": "https://mirror.example.com/ghcr/"},
    })  # fmt: skip
    hub = hosts.resolve("docker.io")
    assert hub.base_url == "http://127.0.0.1:5001" and hub.redirected and not hub.may_fall_back
    assert hub.remote_name("flannel/flannel") == "dockerhub/flannel/flannel"
    ref = imageref.parse("flannel/flannel:v0.25.1")
    assert hub.remote_reference(ref) == "127.0.0.1:5001/dockerhub/flannel/flannel:v0.25.1"
    assert hub.credential_host == "127.0.0.1:5001"  # the endpoint's credentials, never Docker Hub's
    quay = hosts.resolve("quay.io")
    assert (quay.scheme, quay.netloc, quay.may_fall_back) == ("https", "127.0.0.1:5002", True)
    ghcr = hosts.resolve("ghcr.io")
    assert ghcr.url("/v2/") == "https://mirror.example.com/ghcr/v2/"


def test_resolve_url_rewrites_to_the_endpoint() -> None:
    hosts = parse_registries({"charts.example.com": {"endpoint": "http://127.0.0.1:9000"},
                              "plain.example.com": {"endpoint": "127.0.0.1:9001"}})
    target, url = hosts.resolve_url("https://charts.example.com/stable/index.yaml?x=1")
    assert url == "http://127.0.0.1:9000/stable/index.yaml?x=1" and target.host == "charts.example.com"
    target, url = hosts.resolve_url("https://plain.example.com/index.yaml")
    assert url == "https://127.0.0.1:9001/index.yaml"
    target, url = hosts.resolve_url("http://127.0.0.1:8080/index.yaml")
    assert url == "http://127.0.0.1:8080/index.yaml" and target.scheme == "http" and not target.may_fall_back


def test_ca_file_builds_a_context(tmp_path: Path) -> None:
    from tests.support.tls import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    hosts = parse_registries({"127.0.0.1:5443": {"ca_file": str(tls.ca_cert), "concurrency": 3, "rate": 2}})
    target = hosts.resolve("127.0.0.1:5443")
    assert isinstance(target.ssl, ssl.SSLContext)
    assert target.scheme == "https" and not target.may_fall_back and target.tls_verify
    assert target.ca_file == str(tls.ca_cert) and target.concurrency == 3 and target.rate == 2.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quay.io": {"concurency": 3}}, "host 'quay.io' field 'concurency' is unknown"),
        ({"quay.io": {"concurrency": "3"}}, "host 'quay.io' field 'concurrency' must be a whole number"),
        ({"quay.io": {"concurrency": 0}}, "host 'quay.io' field 'concurrency'"),
        ({"quay.io": {"concurrency": True}}, "host 'quay.io' field 'concurrency'"),
        ({"quay.io": {"rate": -1}}, "host 'quay.io' field 'rate' must be a finite number > 0"),
        ({"quay.io": {"insecure": "yes"}}, "host 'quay.io' field 'insecure' must be true or false"),
        ({"quay.io": {"endpoint": 5}}, "host 'quay.io' field 'endpoint' must be a non-empty string"),
        ({"quay.io": {"endpoint": "ftp://x"}}, "host 'quay.io' field 'endpoint' must be host"),
        ({"quay.io": {"endpoint": "https://u:p@x"}}, "without credentials"),
        ({"quay.io": {"ca_file": "/nonexistent/ca.crt"}}, "host 'quay.io' field 'ca_file': cannot load"),
        ({"quay.io": ["x"]}, "host 'quay.io' must be a mapping"),
        ({"docker.io": {}, "index.docker.io": {}}, "configured twice"),
        ({"https://quay.io": {}}, "is not a registry host"),
        (["quay.io"], "top level must be a mapping"),
    ],
)
def test_bad_registries_files_name_host_and_field(data: object, message: str) -> None:
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries(data, source="regs.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("regs.yaml: ")
    assert isinstance(caught.value, InputError)


def test_load_registries_file(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text("docker.io:\n  endpoint: http://127.0.0.1:5001\n  repository_prefix: dockerhub\nquay.io:\n")
    hosts = load_registries(path)
    assert hosts.resolve("docker.io").remote_name("a/b") == "dockerhub/a/b"
    assert hosts.resolve("quay.io").base_url == "https://quay.io"
    assert load_registries(None) == Registries()
    path.write_text("docker.io: [\n")
    with pytest.raises(RegistriesFileError, match="invalid YAML"):
        load_registries(path)
    with pytest.raises(RegistriesFileError, match="cannot read"):
        load_registries(tmp_path / "missing.yaml")

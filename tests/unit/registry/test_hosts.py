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
        ({"docker.io": {"pull_floor": -1}}, "host 'docker.io' field 'pull_floor' must be a whole number >= 0"),
        ({"docker.io": {"pull_floor": "10"}}, "host 'docker.io' field 'pull_floor' must be a whole number >= 0"),
        ({"docker.io": {"pull_floor": 2.5}}, "host 'docker.io' field 'pull_floor'"),
        ({"docker.io": {"pull_floor": False}}, "host 'docker.io' field 'pull_floor'"),
        ({"quay.io": {"insecure": "yes"}}, "host 'quay.io' field 'insecure' must be true or false"),
        ({"quay.io": {"referrers": "yes"}}, "host 'quay.io' field 'referrers' must be true or false"),
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


# ---- hostile input (issue 12) -------------------------------------------------------------


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), float("-inf"), -0.5, 0])
def test_rate_must_be_finite_and_positive(rate: float) -> None:
    # NaN compares false with everything: a bare "<= 0" check let it through and the
    # ceiling was off.
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries({"quay.io": {"rate": rate}}, source="regs.yaml")
    assert str(caught.value) == "regs.yaml: host 'quay.io' field 'rate' must be a finite number > 0"


def test_huge_host_and_field_names_are_quoted_short() -> None:
    big = "h" * 10_000_000
    for data in ({big + "/x": {}}, {"quay.io": {big: 1}}, {"quay.io": {"ca_file": "/nonexistent/" + big}}):
        with pytest.raises(RegistriesFileError) as caught:
            parse_registries(data, source="regs.yaml")
        message = str(caught.value)
        assert len(message) < 600 and "… (" in message, message[:600]


def test_non_string_host_is_shown_as_a_short_repr() -> None:
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries({5000: {}}, source="regs.yaml")
    assert str(caught.value) == "regs.yaml: 5000 is not a registry host (host[:port])"


def test_control_characters_in_messages_are_escaped() -> None:
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries({"quay.io": {"\x1b[2Jrate": 1}}, source="regs.yaml")
    assert "\x1b" not in str(caught.value) and "'\\x1b[2Jrate'" in str(caught.value)


def test_yaml_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text("quay.io:\n  rate: 5\n  endpoint: [a, b\n")
    with pytest.raises(RegistriesFileError) as caught:
        load_registries(path)
    assert str(caught.value) == (
        f"{path}:4:1: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"
    )


def test_forbidden_characters_and_bad_bytes_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text("quay.io:\n  endpoint: http://x\u2066y\n")
    with pytest.raises(RegistriesFileError) as caught:
        load_registries(path)
    assert str(caught.value).startswith(f"{path}:2:21: character \\u2066 is not allowed")
    path.write_bytes(b"quay.io:\n  rate: 5\xa0\n")
    with pytest.raises(RegistriesFileError) as caught:
        load_registries(path)
    assert str(caught.value) == f"{path}:2:10: not UTF-8 text (byte 0xa0)"


def test_nesting_bomb_is_a_registries_file_error(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text("quay.io: " + ("[" * 1000 + "\n") * 200)
    with pytest.raises(RegistriesFileError) as caught:
        load_registries(path)
    assert str(caught.value) == f"{path}: invalid YAML: nested too deeply"


def test_pull_floor_defaults_to_10_on_docker_hub_and_0_elsewhere() -> None:
    defaults = parse_registries(None)
    assert defaults.resolve("docker.io").pull_floor == 10
    assert defaults.resolve("quay.io").pull_floor == 0
    configured = parse_registries({"docker.io": {"pull_floor": 0}, "ghcr.io": {"pull_floor": 25}})
    assert configured.resolve("docker.io").pull_floor == 0  # 0: off
    assert configured.resolve("ghcr.io").pull_floor == 25


def test_referrers_is_off_unless_a_host_asks_for_it() -> None:
    configured = parse_registries({"ghcr.io": {"referrers": True}, "quay.io": {"concurrency": 2}})
    assert configured.config("ghcr.io").referrers is True
    assert configured.config("quay.io").referrers is False
    assert configured.config("docker.io").referrers is False  # not in the file at all
    # A config.yaml's ReqConcurrent keeps it (the settings are copied, not rebuilt).
    assert configured.with_concurrency_defaults({"ghcr.io": 3}).config("ghcr.io").referrers is True

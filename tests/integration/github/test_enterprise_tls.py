"""GitHub Enterprise behind TLS with a private CA, configured through the registries file.

A real ``image-mirror discover`` process against the fake GitHub served over HTTPS with a
certificate from a throw-away CA: the registries file's ``ca_file`` for the API host (the
host of ``GITHUB_API_URL``, or the ``endpoint`` given for it) makes it work; without it the
entry fails with a message that says which host to configure.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.integration.discover.helpers import LoopThread, run_cli, write_registries
from tests.support.tls import TLSFiles, make_tls_files

TOKEN = "ghp_gheT0ken0123456789abcdefABCDEFGHIJ"
CONFIG = {"flannel": {"images": ["flannel/flannel"], "versionSource": "github-latest-release:flannel-io/flannel"}}
LIST = "flannel/flannel rancher/mirrored-flannel-flannel v0.25.0\n"
FOUND = {"flannel": {"images": ["flannel/flannel"], "tags": ["v0.25.1"]}}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("ghe-tls"))


@pytest.fixture(scope="module")
def ghe(tls: TLSFiles) -> Iterator[FakeGitHub]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls.cert), str(tls.key))
    with LoopThread() as thread:
        gh = FakeGitHub(tokens={TOKEN}, prefix="/api/v3", ssl_context=context)
        flannel = gh.add_repo("flannel-io/flannel")
        flannel.add_release("v0.25.0")
        flannel.add_release("v0.25.1")
        thread.call(gh.start())
        try:
            yield gh
        finally:
            thread.call(gh.close())


def discover(tmp_path: Path, api_url: str, hosts: dict[str, dict[str, object]]) -> tuple[int, str, str]:
    (tmp_path / "images-list").write_text(LIST)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    registries = write_registries(tmp_path / "registries.yaml", hosts)
    result = run_cli(
        ["--images-list", str(tmp_path / "images-list"), "--config", str(tmp_path / "config.json"),
         "--registries", str(registries), "--no-cache", "--log-format", "plain", "discover"],
        env={"GITHUB_API_URL": api_url, "GITHUB_TOKEN": TOKEN},
    )
    return result.returncode, result.stdout, result.stderr


def test_ca_file_for_the_api_host_trusts_the_private_ca(ghe: FakeGitHub, tls: TLSFiles, tmp_path: Path) -> None:
    assert ghe.url.startswith("https://127.0.0.1:")
    host = ghe.origin.removeprefix("https://")
    code, out, err = discover(tmp_path, ghe.url, {host: {"ca_file": str(tls.ca_cert)}})
    assert code == 0, err
    assert json.loads(out) == FOUND
    assert TOKEN not in out + err


def test_an_endpoint_with_ca_file_for_the_named_host_wins(ghe: FakeGitHub, tls: TLSFiles, tmp_path: Path) -> None:
    hosts = {"ghe.example.com": {"endpoint": ghe.origin, "ca_file": str(tls.ca_cert)}}
    code, out, err = discover(tmp_path, "https://ghe.example.com/api/v3", hosts)
    assert code == 0, err
    assert json.loads(out) == FOUND
    assert any(r.path.startswith("/api/v3/repos/flannel-io/flannel") and r.authorized for r in ghe.requests)


def test_without_ca_file_the_entry_fails_with_a_clear_tls_error(ghe: FakeGitHub, tmp_path: Path) -> None:
    host = ghe.origin.removeprefix("https://")
    code, out, err = discover(tmp_path, ghe.url, {})
    assert code == 1
    assert json.loads(out) == {}  # the failed entry is left out
    assert f"TLS certificate of {host} not trusted" in err
    assert f"set ca_file or insecure for {host} in the registries file" in err
    assert "Traceback" not in err and TOKEN not in err

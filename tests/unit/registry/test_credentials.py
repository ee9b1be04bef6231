"""WWW-Authenticate parsing and docker config.json credentials (files and helpers)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from mirror.errors import InputError
from mirror.registry import Challenge, Credential, CredentialStore, parse_challenges
from mirror.registry.credentials import credential_key


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            [('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/busybox:pull"')],
            [Challenge("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                                  "scope": "repository:library/busybox:pull"})],
        ),
        (  # a quoted value with commas, an escaped quote, odd spacing and case
            ['BEARER Realm = "https://h/token?a=1,2" , Service="svc \\"x\\"",scope="repository:a:pull,push"'],
            [Challenge("bearer", {"realm": "https://h/token?a=1,2", "service": 'svc "x"',
                                  "scope": "repository:a:pull,push"})],
        ),
        (  # two challenges in one header, one unquoted value
            ['Basic realm="Registry Realm", Bearer realm=https://h/token,service=svc'],
            [Challenge("basic", {"realm": "Registry Realm"}),
             Challenge("bearer", {"realm": "https://h/token", "service": "svc"})],
        ),
        (  # several headers; a parameterless scheme
            ["Negotiate", 'Basic realm="x"'],
            [Challenge("negotiate", {}), Challenge("basic", {"realm": "x"})],
        ),
        ([""], []),
    ],
)
def test_parse_challenges(headers: list[str], expected: list[Challenge]) -> None:
    assert parse_challenges(headers) == expected


def test_challenge_scopes() -> None:
    (challenge,) = parse_challenges(['Bearer realm="r",scope="repository:a:pull repository:b:pull"'])
    assert challenge.scopes == ("repository:a:pull", "repository:b:pull")
    assert challenge.realm == "r" and challenge.service is None


@pytest.mark.parametrize(
    ("server", "key"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("https://Quay.io", "quay.io"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("ghcr.io/owner", "ghcr.io"),
    ],
)
def test_credential_key(server: str, key: str) -> None:
    assert credential_key(server) == key


def _write_config(path: Path, data: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.anyio
async def test_auths_entries(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"hubuser:hub:pass:with:colons").decode()
    path = _write_config(tmp_path / "config.json", {"auths": {
        "https://index.docker.io/v1/": {"auth": encoded},
        "quay.io": {"username": "q", "password": "qp"},
        "ghcr.io": {"identitytoken": "idtok"},
        "empty.example.com": {},
    }})  # fmt: skip
    store = CredentialStore.from_paths([path])
    for alias in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        assert await store.get(alias) == Credential("hubuser", "hub:pass:with:colons")
    assert await store.get("quay.io") == Credential("q", "qp")
    assert await store.get("ghcr.io") == Credential(identity_token="idtok")
    assert await store.get("empty.example.com") is None
    assert await store.get("unknown.example.com") is None


def test_credential_repr_and_header_hide_nothing_they_should_not() -> None:
    credential = Credential("user", "secret-pass", "secret-token")
    assert "secret" not in repr(credential)
    assert credential.basic_header == "Basic " + base64.b64encode(b"user:secret-pass").decode()
    assert not Credential()


@pytest.mark.anyio
async def test_environment_files_and_precedence(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home_entry = {"username": "home", "password": "h"}
    home_auths = {"a.example.com": home_entry, "b.example.com": home_entry}
    _write_config(home / ".docker" / "config.json", {"auths": home_auths})
    docker_config = tmp_path / "dc"
    _write_config(docker_config / "config.json", {"auths": {"a.example.com": {"username": "dc", "password": "d"}}})
    auth_file = _write_config(tmp_path / "auth.json", {"auths": {"c.example.com": {"username": "af", "password": "a"}}})

    store = CredentialStore.from_environment({"HOME": str(home)})
    assert (await store.get("b.example.com")) == Credential("home", "h")
    # DOCKER_CONFIG replaces ~/.docker; REGISTRY_AUTH_FILE comes first
    store = CredentialStore.from_environment(
        {"HOME": str(home), "DOCKER_CONFIG": str(docker_config), "REGISTRY_AUTH_FILE": str(auth_file)}
    )
    assert (await store.get("a.example.com")) == Credential("dc", "d")
    assert (await store.get("b.example.com")) is None
    assert (await store.get("c.example.com")) == Credential("af", "a")
    assert "auth.json" in repr(store)


def test_invalid_config_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="config.json: invalid docker config JSON"):
        CredentialStore.from_paths([path])


def _helper(bin_dir: Path, name: str, answers: dict[str, dict[str, str]]) -> None:
    """A ``docker-credential-<name>`` that answers from a table and logs what it was asked."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    log = bin_dir / f"{name}.log"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"answers = {answers!r}\n"
        "server = sys.stdin.read().strip()\n"
        f"open({str(log)!r}, 'a').write(sys.argv[1] + ' ' + server + '\\n')\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(answers[server]))\n"
    )
    script.chmod(0o755)


@pytest.mark.anyio
async def test_cred_helpers_and_creds_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    _helper(bin_dir, "pass", {"quay.io": {"ServerURL": "quay.io", "Username": "qu", "Secret": "qs"}})
    _helper(bin_dir, "desktop", {
        "https://index.docker.io/v1/": {"ServerURL": "https://index.docker.io/v1/", "Username": "hu", "Secret": "hs"},
        "ghcr.io": {"ServerURL": "ghcr.io", "Username": "<token>", "Secret": "refresh"},
    })  # fmt: skip
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    path = _write_config(tmp_path / "config.json", {
        "credHelpers": {"quay.io": "pass", "gone.example.com": "missing-helper"},
        "credsStore": "desktop",
        "auths": {"file.example.com": {"username": "f", "password": "fp"}, "docker.io": {}},
    })  # fmt: skip
    store = CredentialStore.from_paths([path])
    assert await store.get("quay.io") == Credential("qu", "qs")
    assert await store.get("docker.io") == Credential("hu", "hs")
    assert await store.get("ghcr.io") == Credential(identity_token="refresh")
    assert await store.get("file.example.com") == Credential("f", "fp")
    assert await store.get("other.example.com") is None
    assert await store.get("gone.example.com") is None  # a missing helper is logged, not fatal
    assert await store.get("quay.io") == Credential("qu", "qs")  # cached: asked once
    asked = (bin_dir / "pass.log").read_text().splitlines()
    assert asked == ["get quay.io"]
    assert "get https://index.docker.io/v1/" in (bin_dir / "desktop.log").read_text()

"""The test bed itself: real registries, auth variants and the stdlib image helpers.

Every other test trusts these helpers to set up and check its data, so they are checked
here against the real registry (and skopeo and helm, which the tool drives), not against
our own reading of the spec.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import registry as registry_mod
from tests.support.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ImageKind,
    RegistryHTTPError,
    blob_exists,
    get_blob,
    get_manifest,
    list_repositories,
    list_tags,
    push_image,
    sha256_digest,
)
from tests.support.registry import RegistryFactory, RegistryServer, RegistryStartError
from tests.support.seed import SOURCE_IMAGES, SeededRegistry
from tests.support.tls import TLSFiles
from tests.support.tokenserver import Access, TokenServerFactory


def _platforms_of(index: dict[str, object]) -> list[str]:
    out = []
    for entry in index["manifests"]:  # type: ignore[attr-defined]
        plat = entry["platform"]
        out.append(
            "/".join(
                filter(None, (plat["os"], plat["architecture"], plat.get("variant")))
            )
        )
    return out


def _raw_get(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str]]:
    """Plain GET without any of the helpers' auth handling: what an anonymous client sees."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as r:
            return r.status, dict(r.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items())


# --------------------------------------------------------------------------------------------
# Pushing and reading back
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "top_type", "child_type"),
    [
        ("oci-index", OCI_INDEX, OCI_MANIFEST),
        ("docker-list", DOCKER_LIST, DOCKER_MANIFEST),
    ],
)
def test_multi_platform_roundtrip(
    dest_registry: RegistryServer, kind: ImageKind, top_type: str, child_type: str
) -> None:
    platforms = ("linux/amd64", "linux/arm64", "linux/arm/v7")
    pushed = push_image(
        dest_registry.url,
        "team/app",
        "v1.0.0",
        kind=kind,
        platforms=platforms,
    )

    got = get_manifest(dest_registry.url, "team/app", "v1.0.0")
    assert got.media_type == top_type == pushed.media_type
    assert sha256_digest(got.body) == got.digest == pushed.digest
    assert got.body == pushed.manifest
    index = got.json()
    assert _platforms_of(index) == list(platforms)
    assert {e["mediaType"] for e in index["manifests"]} == {child_type}
    assert [e["digest"] for e in index["manifests"]] == [
        pushed.children[p] for p in platforms
    ]

    for platform, child_digest in pushed.children.items():
        child = get_manifest(dest_registry.url, "team/app", child_digest)
        assert child.media_type == child_type
        assert sha256_digest(child.body) == child_digest
        config = json.loads(
            get_blob(dest_registry.url, "team/app", child.json()["config"]["digest"])
        )
        assert (
            "/".join(
                filter(
                    None, (config["os"], config["architecture"], config.get("variant"))
                )
            )
            == platform
        )
        assert config["created"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("oci-manifest", OCI_MANIFEST), ("docker-manifest", DOCKER_MANIFEST)],
)
def test_single_manifest_roundtrip(
    dest_registry: RegistryServer, kind: ImageKind, media_type: str
) -> None:
    pushed = push_image(
        dest_registry.url,
        "single",
        "1",
        kind=kind,
        platforms=["linux/arm64"],
    )
    got = get_manifest(dest_registry.url, "single", "1")
    assert (got.media_type, got.digest, sha256_digest(got.body)) == (
        media_type,
        pushed.digest,
        pushed.digest,
    )
    assert pushed.children == {}
    assert pushed.platform_digests == {"linux/arm64": pushed.digest}


def test_layer_bytes_are_a_real_gzip_tar_with_right_diff_ids(
    dest_registry: RegistryServer,
) -> None:
    import gzip

    pushed = push_image(
        dest_registry.url, "r", "t", kind="oci-manifest", shared_layer=b"base"
    )
    manifest = get_manifest(dest_registry.url, "r", "t").json()
    config = json.loads(get_blob(dest_registry.url, "r", manifest["config"]["digest"]))
    diff_ids = [
        sha256_digest(
            gzip.decompress(get_blob(dest_registry.url, "r", layer["digest"]))
        )
        for layer in manifest["layers"]
    ]
    assert config["rootfs"]["diff_ids"] == diff_ids
    assert manifest["layers"][0]["digest"] == pushed.shared_layer_digest


def test_same_seed_same_digest_other_seed_differs(
    dest_registry: RegistryServer, registry_factory: RegistryFactory
) -> None:
    other = registry_factory()
    a = push_image(dest_registry.url, "x/y", "1.0", kind="docker-list")
    b = push_image(other.url, "x/y", "1.0", kind="docker-list")
    c = push_image(other.url, "x/y", "1.1", kind="docker-list", layers_seed="x/y:1.0")
    d = push_image(other.url, "x/y", "1.2", kind="docker-list")
    assert a.digest == b.digest == c.digest != d.digest


def test_shared_layer_is_one_blob_across_images(dest_registry: RegistryServer) -> None:
    base = b"shared base\n"
    one = push_image(dest_registry.url, "a/one", "1", shared_layer=base)
    two = push_image(dest_registry.url, "b/two", "1", shared_layer=base)
    shared = one.shared_layer_digest
    assert shared is not None and shared == two.shared_layer_digest
    for image in (one, two):
        assert all(image.layers[p][0] == shared for p in image.platforms)
        assert blob_exists(dest_registry.url, image.repo, shared)
    # Content-addressed storage: the shared layer is stored once on disk.
    hexpart = shared.split(":")[1]
    stored = list(
        dest_registry.storage_dir.rglob(f"blobs/sha256/{hexpart[:2]}/{hexpart}/data")
    )
    assert len(stored) == 1


def test_list_tags_and_repositories(dest_registry: RegistryServer) -> None:
    for tag in ("b", "a", "c"):
        push_image(dest_registry.url, "lib/thing", tag, kind="oci-manifest")
    assert list_tags(dest_registry.url, "lib/thing") == ["a", "b", "c"]
    assert list_repositories(dest_registry.url) == ["lib/thing"]
    with pytest.raises(RegistryHTTPError) as err:
        list_tags(dest_registry.url, "no/such")
    assert err.value.status == 404 and b"NAME_UNKNOWN" in err.value.body


def test_oci_index_needs_accept_header(dest_registry: RegistryServer) -> None:
    """TESTBED.md: without an Accept listing the OCI index type, the registry says 404."""
    push_image(dest_registry.url, "idx", "1")
    status, _ = _raw_get(f"{dest_registry.url}/v2/idx/manifests/1")
    assert status == 404
    with pytest.raises(RegistryHTTPError):
        get_manifest(dest_registry.url, "idx", "1", accept=[DOCKER_MANIFEST])


def test_push_image_rejects_bad_platform_arguments(
    dest_registry: RegistryServer,
) -> None:
    with pytest.raises(ValueError):
        push_image(
            dest_registry.url,
            "r",
            "t",
            kind="oci-manifest",
            platforms=["linux/amd64", "linux/arm64"],
        )
    with pytest.raises(ValueError):
        push_image(dest_registry.url, "r", "t", platforms=["amd64"])


# --------------------------------------------------------------------------------------------
# The seeded source registry
# --------------------------------------------------------------------------------------------


def test_source_registry_is_seeded_and_read_only(
    source_registry: SeededRegistry,
) -> None:
    expected_repos = sorted(img.repo for img in SOURCE_IMAGES)
    assert source_registry.repositories == expected_repos
    assert sorted(list_repositories(source_registry.url)) == expected_repos
    for image in SOURCE_IMAGES:
        assert list_tags(source_registry.url, image.repo) == sorted(image.tags)
        for tag in image.tags:
            pushed = source_registry.image(image.repo, tag)
            got = get_manifest(source_registry.url, image.repo, tag)
            assert got.digest == pushed.digest == sha256_digest(got.body)
            assert pushed.platforms == image.platforms

    busybox = source_registry.image("library/busybox", "1.37.0")
    assert busybox.media_type == OCI_INDEX
    assert set(busybox.children) == {"linux/amd64", "linux/arm64", "linux/arm/v7"}
    calico = [source_registry.image("calico/node", t) for t in ("v3.28.0", "v3.29.0")]
    assert calico[0].media_type == DOCKER_LIST
    assert calico[0].shared_layer_digest == calico[1].shared_layer_digest is not None
    assert (
        source_registry.image("flannel/flannel", "v0.25.1").media_type == OCI_MANIFEST
    )
    assert (
        source_registry.image("library/alpine", "3.20.0").media_type == DOCKER_MANIFEST
    )

    with pytest.raises(RegistryHTTPError) as err:
        push_image(source_registry.url, "library/busybox", "scribble")
    assert err.value.status in (405, 503)


# --------------------------------------------------------------------------------------------
# Auth and TLS variants
# --------------------------------------------------------------------------------------------


def test_htpasswd_registry(registry_factory: RegistryFactory) -> None:
    reg = registry_factory(htpasswd={"alice": "wonder land", "bob": "builder"})
    status, headers = _raw_get(f"{reg.url}/v2/")
    assert status == 401
    assert headers["Www-Authenticate"] == 'Basic realm="test"'

    pushed = push_image(reg.url, "private/app", "1", auth=("alice", "wonder land"))
    got = get_manifest(reg.url, "private/app", "1", auth=("bob", "builder"))
    assert got.digest == pushed.digest

    with pytest.raises(RegistryHTTPError) as err:
        get_manifest(reg.url, "private/app", "1", auth=("alice", "wrong"))
    assert err.value.status == 401
    with pytest.raises(RegistryHTTPError) as err:
        list_tags(reg.url, "private/app")
    assert err.value.status == 401


def test_tls_registry(registry_factory: RegistryFactory, tls_files: TLSFiles) -> None:
    reg = registry_factory(tls=tls_files)
    assert reg.url.startswith("https://127.0.0.1:")
    ctx = tls_files.ssl_context()
    pushed = push_image(reg.url, "secure/app", "1", ssl_context=ctx)
    assert (
        get_manifest(reg.url, "secure/app", "1", ssl_context=ctx).digest
        == pushed.digest
    )
    # localhost is in the certificate too.
    assert list_tags(
        reg.url.replace("127.0.0.1", "localhost"), "secure/app", ssl_context=ctx
    ) == ["1"]
    # Without our CA the default trust store must refuse the certificate.
    with pytest.raises(urllib.error.URLError) as err:
        list_tags(reg.url, "secure/app", ssl_context=ssl.create_default_context())
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
    assert sorted(p.name for p in tls_files.cert_dir.iterdir()) == ["ca.crt"]


def test_token_auth_registry(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory
) -> None:
    tokens = token_server_factory({"ci": "t0ken"})
    reg = registry_factory(token_auth=tokens.registry_auth())

    status, headers = _raw_get(f"{reg.url}/v2/private/app/tags/list")
    assert status == 401
    challenge = headers["Www-Authenticate"]
    assert challenge.startswith(
        f'Bearer realm="{tokens.realm}",service="test-registry"'
    )
    assert 'scope="repository:private/app:pull"' in challenge

    pushed = push_image(reg.url, "private/app", "1", auth=("ci", "t0ken"))
    got = get_manifest(reg.url, "private/app", "1", auth=("ci", "t0ken"))
    assert got.digest == pushed.digest
    assert tokens.issued >= 2
    # distribution 2.8 joins the challenged actions from a Go map: "pull,push" or "push,pull".
    assert ("repository", "private/app", {"pull", "push"}) in [
        (a.type, a.name, set(a.actions)) for req in tokens.requests for a in req.granted
    ]
    assert {req.user for req in tokens.requests} == {"ci"}

    # A token from the server, used by hand, is accepted by the registry.
    token = tokens.make_token("ci", [Access("repository", "private/app", ("pull",))])
    status, _ = _raw_get(
        f"{reg.url}/v2/private/app/tags/list",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 200

    with pytest.raises(RegistryHTTPError) as err:
        list_tags(reg.url, "private/app", auth=("ci", "wrong"))
    assert err.value.status == 401
    assert tokens.refused == 1


def test_token_server_anonymous_pull_only(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory
) -> None:
    tokens = token_server_factory({"ci": "pw"}, anonymous=True)
    reg = registry_factory(token_auth=tokens.registry_auth())
    push_image(reg.url, "pub/app", "1", auth=("ci", "pw"))
    assert list_tags(reg.url, "pub/app") == ["1"]
    with pytest.raises(RegistryHTTPError) as err:
        push_image(reg.url, "pub/app", "2")
    assert err.value.status == 401


# --------------------------------------------------------------------------------------------
# Server lifecycle
# --------------------------------------------------------------------------------------------


def test_missing_registry_binary_is_a_clear_error() -> None:
    with pytest.raises(RegistryStartError, match="docker-registry.*scripts/test.sh"):
        RegistryServer(executable="/nonexistent/docker-registry").start()


def test_bad_config_reports_registry_stderr() -> None:
    server = RegistryServer(extra_config={"storage": {"nosuchdriver": {}}})
    with pytest.raises(RegistryStartError, match="nosuchdriver|storage"):
        server.start()
    assert not server.running


def test_start_retries_when_the_port_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real_free_port = registry_mod.free_port
    monkeypatch.setattr(
        registry_mod, "free_port", lambda: next(ports, None) or real_free_port()
    )
    try:
        with RegistryServer() as reg:
            assert reg.port != taken.getsockname()[1]
            assert _raw_get(f"{reg.url}/v2/")[0] == 200
    finally:
        taken.close()


def test_stop_removes_storage_and_process() -> None:
    server = RegistryServer().start()
    storage = server.storage_dir
    assert storage.is_dir() and server.running
    server.stop()
    assert not server.running and not storage.exists()
    server.stop()  # idempotent


# --------------------------------------------------------------------------------------------
# The real tools the suite relies on
# --------------------------------------------------------------------------------------------


def test_skopeo_copies_our_images_keeping_digests(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is missing: run the suite through scripts/test.sh"
    src = source_registry.image("library/busybox", "1.37.0")
    subprocess.run(
        [skopeo, "copy", "--all", "--retry-times", "0",
         "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{source_registry.host}/{src.reference}",
         f"docker://{dest_registry.host}/mirrored/busybox:1.37.0"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    got = get_manifest(dest_registry.url, "mirrored/busybox", "1.37.0")
    assert got.digest == src.digest
    assert hashlib.sha256(got.body).hexdigest() == src.digest.split(":")[1]


def test_helm_is_installed_and_runs(tmp_path: Path) -> None:
    helm = shutil.which("helm")
    assert helm, (
        "helm is missing: run scripts/install-helm.sh (scripts/test.sh does it)"
    )
    out = subprocess.run(
        [helm, "version", "--short"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert out.startswith("v3.")

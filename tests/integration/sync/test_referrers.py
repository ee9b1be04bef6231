"""``sync --referrers`` against real docker-registry 2.8 on both sides: the referrers tag schema.

docker-registry 2.8 stores manifests with a ``subject`` but has no referrers API (404), so the
source's referrers are found through the ``sha256-<hex>`` tags its pushers kept, cosign's
``.sig`` tag through the tag list, and at the destination (no ``OCI-Subject`` on the PUT)
the mirror keeps the referrers tags itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.fakes.faults import FaultProxy
from tests.fakes.proxy import CountingProxy
from tests.integration.sync.helpers import cli, cli_in_thread, events, write_list
from tests.support.images import RegistryHTTPError, blob_exists, get_manifest, list_tags, push_image
from tests.support.referrers import (NOTARY, SIMPLE_SIGNING, SignedImage, add_to_referrers_tag, push_artifact,
                                     push_signed_image, tag_of)
from tests.support.registry import RegistryFactory, RegistryServer

REPO, DEST = "team/app", "mirror/app"


@pytest.fixture
def signed(registry_factory: RegistryFactory) -> tuple[RegistryServer, SignedImage]:
    source = registry_factory()
    return source, push_signed_image(source.url, REPO, "v1", tag_schema=True)


def _one_line(source: RegistryServer, dest_host: str, tmp_path: Path) -> Path:
    return write_list(tmp_path, [f"{source.host}/{REPO} {dest_host}/{DEST} v1"])


def _report(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())["results"][0]  # type: ignore[no-any-return]


def _index(url: str, digest: str) -> list[dict[str, object]]:
    return json.loads(get_manifest(url, DEST, tag_of(digest)).body)["manifests"]  # type: ignore[no-any-return]


def test_signature_attestation_sbom_and_signature_of_the_attestation_arrive_byte_identical(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    source, image = signed
    # Another tool already attached something to the image at the destination.
    other = push_artifact(dest_registry.url, DEST, b"a scan report", "application/vnd.example.scan.v1+json",
                          artifact_type="application/vnd.example.scan.v1+json",
                          subject={"mediaType": "application/vnd.oci.image.index.v1+json", "digest": image.image.digest,
                                   "size": len(image.image.manifest)})
    foreign = {**other.descriptor(), "annotations": {"tool": "other", "kept": "as it is"}}
    add_to_referrers_tag(dest_registry.url, DEST, image.image.digest, [], extra=[foreign])
    images_list = _one_line(source, dest_registry.host, tmp_path)

    assert cli(images_list, "sync", "--referrers", "--report", str(tmp_path / "r.json")) == 0

    for artifact in image.referrers:
        assert get_manifest(dest_registry.url, DEST, artifact.digest).body == artifact.manifest
        assert all(blob_exists(dest_registry.url, DEST, blob) for blob in artifact.blobs)
    assert get_manifest(dest_registry.url, DEST, tag_of(image.image.digest) + ".sig").digest == image.sig.digest
    # The referrers tags: the foreign entry exactly as it was, then ours, each listed once.
    assert _index(dest_registry.url, image.image.digest) == [foreign, image.att.descriptor(), image.notary.descriptor()]
    # A destination without the tag gets the source's own index, byte for byte.
    assert get_manifest(dest_registry.url, DEST, tag_of(image.amd64)).body == \
        get_manifest(source.url, REPO, tag_of(image.amd64)).body
    assert _index(dest_registry.url, image.att.digest) == [image.att_sig.descriptor()]
    result = _report(tmp_path / "r.json")
    assert result["outcome"] == "copied"
    assert (result["referrers_copied"], result["referrers_failed"]) == (5, [])

    # A second run finds everything there; compare agrees.
    assert cli(images_list, "sync", "--referrers", "--report", str(tmp_path / "r2.json")) == 0
    again = _report(tmp_path / "r2.json")
    assert (again["outcome"], again["referrers_copied"], again["referrers_present"]) == ("skipped", 0, 5)
    assert _index(dest_registry.url, image.image.digest)[0] == foreign
    assert cli(images_list, "compare", "--referrers") == 0


def test_referrers_types_sig_copies_only_signatures(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    source, image = signed
    images_list = _one_line(source, dest_registry.host, tmp_path)

    assert cli(images_list, "sync", "--referrers", "--referrers-types", "sig", "--report", str(tmp_path / "r.json")) == 0

    tags = list_tags(dest_registry.url, DEST)
    assert tag_of(image.image.digest) + ".sig" in tags
    assert get_manifest(dest_registry.url, DEST, image.notary.digest).body == image.notary.manifest
    assert [d["artifactType"] for d in _index(dest_registry.url, image.image.digest)] == [NOTARY]
    # Not signatures: the attestation and the SBOM; the attestation's signature is not reached
    # (the filter applies at every level, and its subject was not copied).
    for artifact in (image.att, image.sbom, image.att_sig):
        with pytest.raises(Exception, match="404"):
            get_manifest(dest_registry.url, DEST, artifact.digest)
    assert tag_of(image.amd64) not in tags and tag_of(image.att.digest) not in tags
    assert _report(tmp_path / "r.json")["referrers_copied"] == 2
    # compare with the same filter is satisfied; without it the attestation is missing.
    assert cli(images_list, "compare", "--referrers", "--referrers-types", "sig") == 0
    assert cli(images_list, "compare", "--referrers") == 1


def test_platforms_skip_and_report_the_index_referrers_and_copy_the_kept_platforms(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    source, image = signed
    images_list = _one_line(source, dest_registry.host, tmp_path)

    assert cli(images_list, "sync", "--referrers", "--platforms", "linux/amd64",
               "--report", str(tmp_path / "r.json")) == 0

    assert get_manifest(dest_registry.url, DEST, image.sbom.digest).body == image.sbom.manifest
    result = _report(tmp_path / "r.json")
    assert result["referrers_copied"] == 1
    skipped = result["referrers_skipped"]
    assert isinstance(skipped, list) and len(skipped) == 3  # the attestation, the notary signature, cosign's .sig
    assert all("rewritten by --platforms" in reason for reason in skipped)
    assert any(image.att.digest in reason for reason in skipped)
    assert any(f"{tag_of(image.image.digest)}.sig" in reason for reason in skipped)
    assert tag_of(image.image.digest) + ".sig" not in list_tags(dest_registry.url, DEST)


def test_compare_referrers_finds_a_missing_referrer(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, image = signed
    images_list = _one_line(source, dest_registry.host, tmp_path)
    assert cli(images_list, "sync") == 0  # the image alone
    capsys.readouterr()

    assert cli(images_list, "compare") == 0
    capsys.readouterr()
    assert cli(images_list, "compare", "--referrers", "--json") == 1
    out = json.loads(capsys.readouterr().out)
    assert out[0]["status"] == "NOT MATCHED"
    # Named once each: what is attached to the missing attestation is missing with it.
    assert len(out[0]["referrers_missing"]) == 4
    assert any(image.att.digest in text for text in out[0]["referrers_missing"])


def test_referrers_true_in_the_registries_file_asks_for_them_per_destination_host(
    signed: tuple[RegistryServer, SignedImage], registry_factory: RegistryFactory, tmp_path: Path,
) -> None:
    source, image = signed
    wanted, plain = registry_factory(), registry_factory()
    registries = tmp_path / "registries.yaml"
    registries.write_text(f"{wanted.host}:\n  referrers: true\n")
    images_list = write_list(tmp_path, [f"{source.host}/{REPO} {wanted.host}/{DEST} v1",
                                        f"{source.host}/{REPO} {plain.host}/{DEST} v1"])

    assert cli(images_list, "sync", registries=registries) == 0

    assert get_manifest(wanted.url, DEST, image.att.digest).body == image.att.manifest
    assert list_tags(plain.url, DEST) == ["v1"]


@pytest.mark.anyio
async def test_a_referrer_that_fails_leaves_the_line_copied_exit_1_and_a_metric(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    source, image = signed
    async with FaultProxy(dest_registry.url) as dst:
        dst.fail(lambda s: s.method == "PUT" and s.kind == "manifest" and s.ref == image.sbom.digest, 403, times=None)
        images_list = _one_line(source, dst.host, tmp_path)
        metrics = tmp_path / "metrics.prom"

        code = await cli_in_thread(images_list, "--metrics-file", str(metrics), "sync", "--referrers",
                                   "--report", str(tmp_path / "r.json"))

    assert code == 1
    result = _report(tmp_path / "r.json")
    assert result["outcome"] == "copied"
    failed = result["referrers_failed"]
    assert isinstance(failed, list) and len(failed) == 1 and image.sbom.digest in failed[0]
    assert result["referrers_copied"] == 4
    err = capfd.readouterr().err
    assert f"referrer {image.sbom.digest}" in err
    assert [e["failed"] for e in events(err) if e["event"] == "sync.referrers"] == [failed]
    text = metrics.read_text()
    assert f'image_mirror_sync_referrers{{result="failed",target="{dst.host}"}} 1.0' in text
    assert f'image_mirror_sync_referrers{{result="copied",target="{dst.host}"}} 4.0' in text
    assert get_manifest(dest_registry.url, DEST, "v1").digest == image.image.digest


def test_a_cosign_signature_added_upstream_replaces_the_tag_at_the_destination(
    signed: tuple[RegistryServer, SignedImage], dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    source, image = signed
    images_list = _one_line(source, dest_registry.host, tmp_path)
    assert cli(images_list, "sync", "--referrers") == 0
    # cosign appends a second signature: the .sig tag now names a new manifest.
    resigned = push_artifact(source.url, REPO, b'{"second": "signature"}', SIMPLE_SIGNING,
                             tag=tag_of(image.image.digest) + ".sig")

    assert cli(images_list, "sync", "--referrers", "--report", str(tmp_path / "r.json")) == 0

    sig_tag = tag_of(image.image.digest) + ".sig"
    assert get_manifest(dest_registry.url, DEST, sig_tag).body == resigned.manifest
    assert _report(tmp_path / "r.json")["referrers_copied"] == 1


def test_referrers_of_referrers_are_followed_eight_levels_deep_and_the_rest_reported(
    registry_factory: RegistryFactory, dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    source = registry_factory()
    image = push_image(source.url, REPO, "v1", kind="oci-manifest")
    chain = []
    subject = {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest)}
    for level in range(1, 11):  # a signature of a signature of ... ten levels
        link = push_artifact(source.url, REPO, f"level {level}".encode(), SIMPLE_SIGNING, artifact_type=NOTARY,
                             subject=subject)
        add_to_referrers_tag(source.url, REPO, str(subject["digest"]), [link])
        chain.append(link)
        subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": link.digest,
                   "size": len(link.manifest)}

    assert cli(_one_line(source, dest_registry.host, tmp_path), "sync", "--referrers",
               "--report", str(tmp_path / "r.json")) == 0

    for link in chain[:8]:
        assert get_manifest(dest_registry.url, DEST, link.digest).body == link.manifest
    result = _report(tmp_path / "r.json")
    assert result["referrers_copied"] == 8
    skipped = result["referrers_skipped"]
    assert isinstance(skipped, list) and len(skipped) == 1
    assert chain[8].digest in skipped[0] and "deeper than 8 levels" in skipped[0]
    for link in chain[8:]:
        with pytest.raises(RegistryHTTPError):
            get_manifest(dest_registry.url, DEST, link.digest)


@pytest.mark.anyio
async def test_two_sources_updating_one_referrers_tag_are_serialised_and_both_listed(
    registry_factory: RegistryFactory, dest_registry: RegistryServer, tmp_path: Path,
) -> None:
    # The same image in two source registries, each with its own attestation of it.
    sources = [registry_factory(), registry_factory()]
    found = []
    for number, source in enumerate(sources):
        image = push_image(source.url, REPO, f"v{number + 1}", layers_seed="the same image")
        subject = {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest)}
        attestation = push_artifact(source.url, REPO, f"attestation {number}".encode(), "application/vnd.dsse.envelope.v1+json",
                                    artifact_type="application/vnd.in-toto+json", subject=subject)
        add_to_referrers_tag(source.url, REPO, image.digest, [attestation])
        found.append((image, attestation))
    digest = found[0][0].digest
    assert found[1][0].digest == digest
    async with CountingProxy(dest_registry.url) as dst:
        images_list = write_list(tmp_path, [f"{sources[0].host}/{REPO} {dst.host}/{DEST} v1",
                                            f"{sources[1].host}/{REPO} {dst.host}/{DEST} v2"])
        is_tag = lambda s: s.kind == "manifest" and s.ref == tag_of(digest)  # noqa: E731
        gate = dst.hold(lambda s: s.method == "PUT" and is_tag(s))  # the first write of the tag

        def both_pushed(proxy: CountingProxy) -> bool:
            return all(any(s.method == "PUT" and s.ref == a.digest and s.status == 201 for s in proxy.seen)
                       for _, a in found)

        async with anyio.create_task_group() as group:
            outcome: list[int] = []

            async def run() -> None:
                outcome.append(await cli_in_thread(images_list, "sync", "--referrers"))

            group.start_soon(run)
            with anyio.fail_after(30):
                await dst.wait_for(both_pushed)
                await dst.wait_for(lambda proxy: any(s.method == "PUT" and is_tag(s) for s in proxy.seen))
            # The other update waits for the lock, not at the registry.
            assert gate.waiting == 1 and len([s for s in dst.seen if is_tag(s)]) == 1
            gate.release()
        assert outcome == [0]
        # Written (new), then read and written again: never two writes from what was read before.
        assert [s.method for s in dst.seen if is_tag(s)] == ["PUT", "GET", "PUT"]
    listed = {m["digest"] for m in _index(dest_registry.url, digest)}
    assert listed == {a.digest for _, a in found}

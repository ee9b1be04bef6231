"""Signed images for the referrers tests: what cosign, in-toto tools and SBOM generators push.

Built with the stdlib client of :mod:`tests.support.images` (not the code under test). A
:class:`SignedImage` is a two-platform OCI index with:

* ``sig`` -- a cosign signature under cosign's tag ``sha256-<hex>.sig`` (no ``subject``; the
  layer is a simple-signing payload carrying ``dev.cosignproject.cosign/signature``);
* ``att`` -- an in-toto attestation (DSSE envelope) whose ``subject`` is the index;
* ``sbom`` -- an SPDX SBOM whose ``subject`` is the linux/amd64 manifest;
* ``att_sig`` -- a signature whose ``subject`` is the attestation;
* ``notary`` -- a notation-style signature of the index (a second referrer of it, so a
  referrers listing of the index needs two pages at a page size of 1).

On a registry without the referrers API (``tag_schema=True``) the pusher also keeps each
subject's referrers tag ``sha256-<hex>``, as the distribution spec tells clients to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .images import (OCI_INDEX, OCI_MANIFEST, PushedImage, RegistryHTTPError, get_manifest, push_blob, push_image,
                     push_manifest, sha256_digest)

__all__ = ["Artifact", "SignedImage", "add_to_referrers_tag", "push_artifact", "push_signed_image", "tag_of"]

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
SPDX = "application/spdx+json"
NOTARY = "application/vnd.cncf.notary.signature"


def tag_of(digest: str) -> str:
    """The referrers tag of ``digest`` (sha256 only, as these tests use)."""
    return digest.replace(":", "-")


@dataclass(frozen=True)
class Artifact:
    repo: str
    manifest: bytes
    digest: str
    blobs: tuple[str, ...]
    subject: str | None = None
    tag: str | None = None

    def descriptor(self) -> dict[str, Any]:
        """Its entry in a referrers list, by the spec's rules."""
        doc = json.loads(self.manifest)
        out: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
                               "artifactType": doc.get("artifactType") or doc["config"]["mediaType"]}
        if doc.get("annotations"):
            out["annotations"] = doc["annotations"]
        return out


def push_artifact(base_url: str, repo: str, payload: bytes, layer_type: str, *, artifact_type: str | None = None,
                  subject: Mapping[str, Any] | None = None, annotations: Mapping[str, str] | None = None,
                  layer_annotations: Mapping[str, str] | None = None, config: tuple[str, bytes] | None = None,
                  tag: str | None = None) -> Artifact:
    """Push blobs and an OCI image manifest holding ``payload``; by digest unless ``tag``."""
    config_type, config_bytes = config or (EMPTY_CONFIG, b"{}")
    blobs = (push_blob(base_url, repo, config_bytes), push_blob(base_url, repo, payload))
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = {"mediaType": config_type, "digest": blobs[0], "size": len(config_bytes)}
    layer: dict[str, Any] = {"mediaType": layer_type, "digest": blobs[1], "size": len(payload)}
    if layer_annotations:
        layer["annotations"] = dict(layer_annotations)
    doc["layers"] = [layer]
    if subject is not None:
        doc["subject"] = dict(subject)
    if annotations:
        doc["annotations"] = dict(annotations)
    body = json.dumps(doc, indent=2).encode()  # not compact: a re-serialising copier would change it
    digest = sha256_digest(body)
    push_manifest(base_url, repo, tag or digest, body, OCI_MANIFEST)
    return Artifact(repo, body, digest, blobs, subject["digest"] if subject else None, tag)


def add_to_referrers_tag(base_url: str, repo: str, subject: str, artifacts: Sequence[Artifact],
                         extra: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """What a client pushing to a registry without the referrers API does: the subject's
    referrers tag gets the artifacts' descriptors (and ``extra`` entries). Returns its bytes."""
    tag = tag_of(subject)
    try:
        doc = json.loads(get_manifest(base_url, repo, tag).body)
    except RegistryHTTPError as exc:
        if exc.status != 404:
            raise
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    doc["manifests"].extend([*extra, *(a.descriptor() for a in artifacts)])
    body = json.dumps(doc).encode()
    push_manifest(base_url, repo, tag, body, OCI_INDEX)
    return body


@dataclass(frozen=True)
class SignedImage:
    image: PushedImage
    sig: Artifact
    att: Artifact
    sbom: Artifact
    att_sig: Artifact
    notary: Artifact

    @property
    def amd64(self) -> str:
        return self.image.children["linux/amd64"]

    @property
    def referrers(self) -> tuple[Artifact, ...]:
        return (self.sig, self.att, self.sbom, self.att_sig, self.notary)


def push_signed_image(base_url: str, repo: str, tag: str, *, tag_schema: bool) -> SignedImage:
    """The image and its five referrers (see the module docstring)."""
    image = push_image(base_url, repo, tag, platforms=("linux/amd64", "linux/arm64"))
    index = {"mediaType": OCI_INDEX, "digest": image.digest, "size": len(image.manifest)}
    simple = json.dumps({"critical": {"identity": {"docker-reference": repo},
                                      "image": {"docker-manifest-digest": image.digest},
                                      "type": "cosign container image signature"}, "optional": None}).encode()
    sig = push_artifact(base_url, repo, simple, SIMPLE_SIGNING,
                        layer_annotations={"dev.cosignproject.cosign/signature": "MEUCIQDsig=="},
                        config=("application/vnd.oci.image.config.v1+json", b'{"architecture":"","os":""}'),
                        tag=tag_of(image.digest) + ".sig")
    att = push_artifact(base_url, repo, b'{"payloadType":"application/vnd.in-toto+json","payload":"e30=",'
                        b'"signatures":[]}', DSSE, artifact_type=IN_TOTO, subject=index,
                        annotations={"org.opencontainers.image.created": "2024-05-01T00:00:00Z"},
                        layer_annotations={"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"})
    amd64 = image.children["linux/amd64"]
    child = get_manifest(base_url, repo, amd64)
    sbom = push_artifact(base_url, repo, b'{"spdxVersion":"SPDX-2.3","name":"amd64"}', SPDX, artifact_type=SPDX,
                         subject={"mediaType": child.media_type, "digest": amd64, "size": len(child.body)},
                         annotations={"org.example.sbom.format": "spdx"})
    att_sig = push_artifact(base_url, repo, b'{"signature of":"the attestation"}', SIMPLE_SIGNING,
                            artifact_type=COSIGN_SIG,
                            subject={"mediaType": OCI_MANIFEST, "digest": att.digest, "size": len(att.manifest)})
    notary = push_artifact(base_url, repo, b"notary signature envelope", "application/jose+json",
                           artifact_type=NOTARY, subject=index,
                           annotations={"io.cncf.notary.x509chain.thumbprint#S256": "[\"abc\"]"})
    if tag_schema:
        add_to_referrers_tag(base_url, repo, image.digest, [att, notary])
        add_to_referrers_tag(base_url, repo, amd64, [sbom])
        add_to_referrers_tag(base_url, repo, att.digest, [att_sig])
    return SignedImage(image, sig, att, sbom, att_sig, notary)

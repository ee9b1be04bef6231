"""The OCI 1.1 referrers API in front of a real registry, as distribution spec 1.1 says.

docker-registry 2.8 stores manifests with a ``subject`` but has no referrers API (it answers
404, the tag-schema path). :class:`ReferrersFront` forwards everything to it like
:class:`~tests.fakes.proxy.CountingProxy` (and counts what arrived), and adds the API:

* a manifest ``PUT`` whose body has a ``subject`` is remembered as a referrer of that subject
  in its repository, and its answer carries ``OCI-Subject: <subject digest>``;
* ``GET /v2/<name>/referrers/<digest>`` answers 200 with an image index of the descriptors of
  those referrers (``mediaType``, ``digest``, ``size``, ``artifactType`` -- the manifest's own,
  else its config's media type, omitted for an index without one -- and the manifest's
  ``annotations``), ``page_size`` per page, further pages linked with
  ``Link: <…>; rel="next"`` (a relative URL, as registries send);
* ``?artifactType=`` is applied, with ``OCI-Filters-Applied: artifactType``, when
  ``filters=True``; with ``filters=False`` it is ignored and the header is left out, as a
  registry that does not filter does.

Only referrers pushed through the front are known to it: seed through ``front.url``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .proxy import CountingProxy, Seen

__all__ = ["OCI_INDEX", "ReferrersFront"]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _descriptor(body: bytes, doc: dict[str, Any]) -> dict[str, Any]:
    media_type = doc.get("mediaType") or OCI_MANIFEST
    out: dict[str, Any] = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                           "size": len(body)}
    artifact = doc.get("artifactType")
    if not artifact and media_type != OCI_INDEX and isinstance(doc.get("config"), dict):
        artifact = doc["config"].get("mediaType")
    if artifact:
        out["artifactType"] = artifact
    if isinstance(doc.get("annotations"), dict):
        out["annotations"] = doc["annotations"]
    return out


class ReferrersFront(CountingProxy):
    """A counting proxy that implements the referrers API over the registry behind it."""

    def __init__(self, upstream: str, *, page_size: int = 2, filters: bool = True) -> None:
        super().__init__(upstream)
        self.page_size = page_size
        self.filters = filters
        #: (repository, subject digest) -> descriptors, in the order they were pushed
        self.referrers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._pending: dict[int, tuple[str, str, dict[str, Any]]] = {}

    def received(self, seen: Seen, body: bytes) -> None:
        if seen.method != "PUT" or seen.kind != "manifest" or seen.repo is None:
            return
        try:
            doc = json.loads(body)
        except ValueError:
            return
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
            self._pending[seen.number] = (seen.repo, subject["digest"], _descriptor(body, doc))

    def extra_headers(self, seen: Seen, status: int) -> dict[str, str]:
        pending = self._pending.pop(seen.number, None)
        if pending is None or not 200 <= status < 300:
            return {}
        repo, subject, descriptor = pending
        listed = self.referrers.setdefault((repo, subject), [])
        if all(d["digest"] != descriptor["digest"] for d in listed):
            listed.append(descriptor)
        return {"OCI-Subject": subject}

    def refuse(self, seen: Seen) -> web.Response | None:
        if seen.kind != "referrers" or seen.repo is None or seen.ref is None:
            return None
        if seen.method != "GET":
            return web.Response(status=405)
        found = list(self.referrers.get((seen.repo, seen.ref), []))
        wanted = seen.query.get("artifactType")
        headers: dict[str, str] = {}
        if wanted and self.filters:
            found = [d for d in found if d.get("artifactType") == wanted]
            headers["OCI-Filters-Applied"] = "artifactType"
        page = int(seen.query.get("page", "0"))
        start = page * self.page_size
        if start + self.page_size < len(found):
            query = {"page": str(page + 1), **({"artifactType": wanted} if wanted else {})}
            headers["Link"] = f'</v2/{seen.repo}/referrers/{seen.ref}?{urlencode(query)}>; rel="next"'
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found[start:start + self.page_size]}
        return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": OCI_INDEX, **headers})

    def pages_served(self, subject: str) -> int:
        """Referrers answers sent for ``subject`` (pages included)."""
        return self.count(method="GET", kind="referrers", ref=subject)

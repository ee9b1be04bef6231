"""The OCI 1.1 referrers API: ``GET /v2/<name>/referrers/<digest>`` (distribution spec 1.1).

A registry with the API answers 200 and an image index whose ``manifests`` are the
descriptors of every manifest in the repository whose ``subject`` is ``<digest>`` (with
``artifactType`` and annotations); long lists come in pages linked with ``Link: rel="next"``.
A registry without it answers 404, and the caller falls back to the referrers tag schema
(:mod:`mirror.referrers`). ``?artifactType=`` asks the registry to filter; it did so only
when the answer says ``OCI-Filters-Applied: artifactType``, otherwise the caller filters.

Descriptors are returned as the JSON objects the registry sent, untouched: a mirror writes
them into a destination's fallback index as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import NotFound, ProtocolError
from ..value import frozen
from .auth import repository_scope
from .media import OCI_INDEX
from .pages import json_object, pages

if TYPE_CHECKING:
    from ..ref import ImageRef
    from .client import RegistryClient

__all__ = ["ReferrersAnswer", "list_referrers"]

REFERRERS_LIMIT = 4 * 1024 * 1024  # one page: the manifest limit


@frozen
class ReferrersAnswer:
    """Every page's descriptors, in order, and the filters the registry says it applied."""

    manifests: tuple[Mapping[str, Any], ...]
    filters_applied: frozenset[str] = frozenset()


async def list_referrers(client: RegistryClient, ref: ImageRef, digest: str,
                         artifact_type: str | None = None) -> ReferrersAnswer | None:
    """The referrers of ``digest`` in ``ref``'s repository; ``None`` when the registry has no
    referrers API (404 to the first page)."""
    target = await client.endpoint(ref.host)
    name = target.remote_name(ref.repository)
    url = target.url(f"/v2/{name}/referrers/{digest}")
    if artifact_type:
        url += f"?artifactType={quote(artifact_type, safe='')}"
    what = f"referrers of {ref.name}@{digest}"
    found: list[Mapping[str, Any]] = []
    applied: set[str] | None = None
    try:
        async for reply in pages(client.transport, target, url, what=what, scopes=[repository_scope(name, "pull")],
                                 max_pages=client.max_pages, limit=REFERRERS_LIMIT,
                                 headers={"Accept": OCI_INDEX}, noun="pages of referrers"):
            found.extend(_page(reply.body, what))
            page_filters = {f.strip() for f in reply.headers.get("OCI-Filters-Applied", "").split(",") if f.strip()}
            # Every page must say so: a filter applied to the first page only would let the
            # other pages' unfiltered descriptors through as if they had been filtered.
            applied = page_filters if applied is None else applied & page_filters
    except NotFound:
        if found:
            raise
        return None
    return ReferrersAnswer(tuple(found), frozenset(applied or ()))


def _page(body: bytes, what: str) -> list[Mapping[str, Any]]:
    manifests = json_object(body, what, "the answer").get("manifests")
    if manifests is None:
        return []
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise ProtocolError(f"{what}: 'manifests' is not a list of descriptors")
    return manifests

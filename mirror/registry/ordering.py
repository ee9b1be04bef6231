"""Newest-first tag orderings, for the ``latest_entry`` filter.

The distribution API has no notion of time: ``tags/list`` is in whatever order
the registry likes (docker-registry 2.8 does not even sort). So:

* Docker Hub (``docker.io`` not redirected by an endpoint): its web API lists a
  repository's tags by ``last_updated``, newest first, 100 per page, ``next``
  links to the following page;
* quay.io (not redirected): ``/api/v1/repository/{ns}/{repo}/tag/`` lists
  active tags newest first, ``has_additional`` says another page exists;
* any other registry: read each candidate's image config ``created`` time
  (manifest → for an index linux/amd64 or the first real child → config blob).
  That costs three requests per tag, so the ``registry`` source asks only for
  the tags that passed its filters. On a host with a pull quota (a ``pull_floor``,
  or ``ratelimit-*`` headers seen) every tag is HEADed first, which is free, and
  each distinct digest is read once: tags that share an image cost one pull.

All requests go through the client's transport (limits, retries, the
registries file), so the vendor APIs can be pointed at a fake in tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import anyio

from ..errors import NotFound, ProtocolError
from ..flight import SingleFlight
from ..ref import ImageRef
from .media import pick_child

if TYPE_CHECKING:
    from .client import RegistryClient

__all__ = ["HUB_API", "QUAY_API", "created", "newest_first", "order_by_created", "parse_created"]

HUB_API = "https://hub.docker.com"
QUAY_API = "https://quay.io"
PAGE_SIZE = 100
CONFIG_LIMIT = 4 * 1024 * 1024

_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?\Z")


def parse_created(text: Any) -> datetime | None:
    """An RFC 3339 time as Go writes it (nanoseconds, ``Z``); None when absent or zero."""
    if not isinstance(text, str):
        return None
    match = _TIME.match(text.strip())
    if match is None:
        return None
    fraction = (match[3] or "")[:7]
    zone = match[4] or "Z"
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        when = datetime.fromisoformat(f"{match[1]}T{match[2]}{fraction}{zone}")
    except ValueError:
        return None
    return None if when.year <= 1 else when


async def created(client: RegistryClient, ref: ImageRef) -> datetime | None:
    """The image config's ``created`` time, or None when it has none (or vanished)."""
    try:
        manifest = await client.get_manifest(ref)
        if manifest.is_index:
            child = pick_child(manifest.children())
            if child is None:
                return None
            manifest = await client.get_manifest(ImageRef(ref.host, ref.repository, None, child.digest))
        config = manifest.config()
        if config is None:
            return None
        blob = await client.read_blob(ref, config.digest, limit=CONFIG_LIMIT)
    except NotFound:
        return None  # deleted between listing and reading: it cannot be the newest
    try:
        data = json.loads(blob)
    except ValueError:
        return None
    return parse_created(data.get("created")) if isinstance(data, dict) else None


async def order_by_created(client: RegistryClient, ref: ImageRef, tags: Sequence[str]) -> list[str]:
    """``tags`` newest first by ``created``; tags without a time keep their order, last."""
    times: dict[str, datetime | None] = {}
    target = await client.endpoint(ref.host)
    quota = client.transport.quota(target)
    head_first = target.pull_floor > 0 or quota.remaining is not None
    by_digest: SingleFlight[datetime | None] = SingleFlight()

    async def one(tag: str) -> None:
        if not head_first:
            times[tag] = await created(client, ref.with_tag(tag))
            return
        try:
            digest = (await client.head_manifest(ref.with_tag(tag))).digest
        except NotFound:
            times[tag] = None  # deleted between listing and reading: it cannot be the newest
            return
        times[tag] = await by_digest.run(digest, lambda: created(client, ref.bare().with_digest(digest)))

    async with anyio.create_task_group() as group:  # the host gate bounds the concurrency
        for tag in dict.fromkeys(tags):
            group.start_soon(one, tag)
    unique = list(dict.fromkeys(tags))
    dated = [(when, tag) for tag in unique if (when := times.get(tag)) is not None]
    dated.sort(key=lambda item: item[0], reverse=True)  # stable: equal times keep their order
    return [tag for _, tag in dated] + [tag for tag in unique if times.get(tag) is None]


async def newest_first(client: RegistryClient, ref: ImageRef, candidates: Sequence[str] | None) -> list[str]:
    target = await client.endpoint(ref.host)
    wanted = None if candidates is None else set(candidates)
    order: list[str] | None = None
    if ref.host == "docker.io" and not target.redirected and client.hub_api:
        order = await _hub(client, ref, client.hub_api, wanted)
    elif ref.host == "quay.io" and not target.redirected and client.quay_api:
        order = await _quay(client, ref, client.quay_api, wanted)
    if order is None:
        tags = list(candidates) if candidates is not None else await client.list_tags(ref)
        return await order_by_created(client, ref, tags)
    if candidates is None:
        return order
    listed = [tag for tag in order if tag in wanted] if wanted is not None else order
    missing = [tag for tag in dict.fromkeys(candidates) if tag not in set(listed)]
    return listed + missing  # tags the API does not (yet) know go last


def _namespace_and_name(ref: ImageRef) -> tuple[str, str]:
    namespace, _, name = ref.repository.partition("/")
    if not name:
        raise ProtocolError(f"{ref.name}: expected a namespace/name repository")
    return namespace, name


async def _hub(client: RegistryClient, ref: ImageRef, api: str, wanted: set[str] | None) -> list[str]:
    namespace, name = _namespace_and_name(ref)
    query = urlencode({"page_size": PAGE_SIZE, "ordering": "last_updated"})
    url = f"{api.rstrip('/')}/v2/namespaces/{namespace}/repositories/{name}/tags?{query}"
    origin = urlsplit(url)[:2]
    order: list[str] = []
    seen_urls = {url}
    for _ in range(client.max_pages):
        data = await client.fetch_json(url)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ProtocolError(f"Docker Hub tags of {ref.name}: unexpected answer")
        order.extend(item["name"] for item in results if isinstance(item, dict) and isinstance(item.get("name"), str))
        next_url = data.get("next")
        if not next_url or (wanted is not None and wanted <= set(order)):
            return order
        if not isinstance(next_url, str) or urlsplit(next_url)[:2] != origin:
            raise ProtocolError(f"Docker Hub tags of {ref.name}: next page link leaves {origin[1]}")
        if next_url in seen_urls:
            raise ProtocolError(f"Docker Hub tags of {ref.name}: pagination loops")
        seen_urls.add(next_url)
        url = next_url
    raise ProtocolError(f"Docker Hub tags of {ref.name}: more than {client.max_pages} pages")


async def _quay(client: RegistryClient, ref: ImageRef, api: str, wanted: set[str] | None) -> list[str]:
    namespace, name = _namespace_and_name(ref)
    tags: list[tuple[str, float | None]] = []
    for page in range(1, client.max_pages + 1):
        query = urlencode({"limit": PAGE_SIZE, "page": page, "onlyActiveTags": "true"})
        data = await client.fetch_json(f"{api.rstrip('/')}/api/v1/repository/{namespace}/{name}/tag/?{query}")
        items = data.get("tags") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ProtocolError(f"quay.io tags of {ref.name}: unexpected answer")
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                start = item.get("start_ts")
                tags.append((item["name"], float(start) if isinstance(start, (int, float)) else None))
        if not data.get("has_additional") or (wanted is not None and wanted <= {tag for tag, _ in tags}):
            break
    else:
        raise ProtocolError(f"quay.io tags of {ref.name}: more than {client.max_pages} pages")
    if all(start is not None for _, start in tags):  # quay lists newest first; make sure of it
        tags.sort(key=lambda item: item[1] or 0.0, reverse=True)
    return list(dict.fromkeys(tag for tag, _ in tags))

"""``--arch-tags`` at the destination: the seed's ``TAG-<arch><variant>`` tags.

Both functions read only the destination (our registry, no pull counted upstream) and re-put
platform manifests under extra tags: no blob moves. The naming rules are pure
(:mod:`.platforms`); this is their I/O.
"""

from __future__ import annotations

import json

from ..ref import ImageRef
from ..registry.client import RegistryClient
from .planner import Plan, Planner
from .platforms import ARCH_TAG_ARCHES, arch_tag_for_image, arch_tags

__all__ = ["missing_arch_tags", "put_arch_tags"]


async def missing_arch_tags(planner: Planner, client: RegistryClient, plan: Plan) -> bool:
    """For an up-to-date line with ``--arch-tags``: are any of its arch tags absent?"""
    present = await planner.destination_tags(plan.destination)
    tag = plan.destination.tag or ""
    if planner.options.missing:
        # --missing judges by tag presence only: no request per present tag.
        return not any(f"{tag}-{arch}" in present for arch in ARCH_TAG_ARCHES)
    if plan.manifest is not None:
        doc = plan.manifest.json()
    else:
        top = await client.get_manifest(plan.destination)
        if not top.is_index:
            return not any(f"{tag}-{arch}" in present for arch in ARCH_TAG_ARCHES)
        doc = top.json()
    return any(t.tag not in present for t in arch_tags(tag, doc))


async def put_arch_tags(client: RegistryClient, destination: ImageRef, present: frozenset[str] = frozenset()) -> list[str]:
    """Write the arch tags of what ``destination`` now holds (skipping those in ``present``)."""
    tag = destination.tag or ""
    top = await client.get_manifest(destination)
    written: list[str] = []
    if top.is_index:
        for arch_tag in arch_tags(tag, top.json()):
            if arch_tag.tag in present:
                continue
            child = await client.get_manifest(destination.bare().with_digest(arch_tag.digest))
            await client.put_manifest(destination.with_tag(arch_tag.tag), child.data, child.media_type)
            written.append(arch_tag.tag)
        return written
    config = top.config()
    if config is None:
        return written
    raw = json.loads(await client.read_blob(destination.bare(), config.digest))
    architecture = raw.get("architecture") if isinstance(raw, dict) else None
    if not isinstance(architecture, str):
        return written
    single = arch_tag_for_image(tag, architecture, top.digest, str(raw.get("os") or "linux"))
    if single is not None and single.tag not in present:
        await client.put_manifest(destination.with_tag(single.tag), top.data, top.media_type)
        written.append(single.tag)
    return written

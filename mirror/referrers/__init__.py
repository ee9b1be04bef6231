"""Signatures, attestations and SBOMs travel with the image: OCI 1.1 referrers and cosign's tags.

Public API (the engine's only way in)::

    mirror = ReferrerMirror(client, ReferrerOptions(everywhere=True))
    outcome = await mirror.mirror(source_repo, destination_repo, [top_digest, *platform_digests])
    missing = await mirror.missing(source_repo, destination_repo, digests)   # compare

Modules, in dependency order:

* ``model``        options, ``--referrers-types`` aliases, tag names, outcomes, the index merge (pure)
* ``source``       what is attached to a digest at the source: API, referrers tag, cosign tags
* ``destination``  referrers pushed byte for byte; the destination's referrers tag kept right
* ``run``          :class:`ReferrerMirror`: the walk over subjects, depth and visited set
"""

from __future__ import annotations

from .model import ALIASES, MAX_DEPTH, Referrer, ReferrerOptions, ReferrerOutcome, parse_types, referrers_tag
from .run import ReferrerMirror

__all__ = [
    "ALIASES",
    "MAX_DEPTH",
    "Referrer",
    "ReferrerMirror",
    "ReferrerOptions",
    "ReferrerOutcome",
    "parse_types",
    "referrers_tag",
]

"""Image references, parsed and normalised once.

Every other module works with :class:`ImageRef` values, never with strings, so
the docker.io / ``library/`` rules live in exactly one place. The grammar is the
one of the distribution project's reference package:

* the first path component is a registry host when it contains ``.`` or ``:``
  or is ``localhost``; otherwise the host is ``docker.io``;
* a single-component Docker Hub name gets ``library/`` in front;
* path components are lower-case alphanumerics joined by ``.``, ``_``, ``__``
  or runs of ``-``; a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``; a digest is
  ``algorithm:hex``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from .errors import InvalidReference

__all__ = [
    "DOCKER_HUB",
    "ImageRef",
    "mirrored_name",
    "normalize_host",
    "parse",
    "split_tag",
    "valid_digest",
]

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?\Z"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}\Z")


def normalize_host(host: str) -> str:
    """Docker Hub's aliases all mean ``docker.io``; other hosts are lower-cased."""
    lowered = host.lower()
    # Interned: a list names a handful of hosts thousands of times, and every reference keeps one.
    return DOCKER_HUB if lowered in _HUB_ALIASES else sys.intern(lowered)


@dataclass(frozen=True, order=True, slots=True)
class ImageRef:
    """A normalised image reference: ``host/repository[:tag][@digest]``."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name, e.g. ``docker.io/library/busybox``.

        Interned: names are the keys of what a run remembers per repository (blobs placed,
        tags listed), thousands of times for a few hundred repositories.
        """
        return sys.intern(f"{self.host}/{self.repository}")

    @property
    def familiar(self) -> str:
        """The short form people write: ``docker.io/`` stripped, ``library/`` kept."""
        return self.repository if self.host == DOCKER_HUB else self.name

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/`` in the v2 API: the digest wins over the tag."""
        if self.digest:
            return self.digest
        if self.tag:
            return self.tag
        raise InvalidReference(f"image reference {str(self)!r} has neither tag nor digest")

    def with_tag(self, tag: str) -> ImageRef:
        self.check_tag(tag)
        return ImageRef(self.host, self.repository, tag, None)

    def check_tag(self, tag: str) -> None:
        """Raise :class:`InvalidReference` as :meth:`with_tag` would, without making the
        reference (a list's reader checks thousands of lines; the message is built on failure only)."""
        if not _TAG.match(tag):
            _check_tag(tag, f"{self.name}:{tag}")

    def with_digest(self, digest: str) -> ImageRef:
        _check_digest(digest, f"{self.name}@{digest}")
        return ImageRef(self.host, self.repository, self.tag, digest)

    def bare(self) -> ImageRef:
        """The repository alone, without tag or digest."""
        return ImageRef(self.host, self.repository)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _check_tag(tag: str, text: str) -> None:
    if not _TAG.match(tag):
        raise InvalidReference(f"invalid tag {tag!r} in image reference {text!r}")


def _check_digest(digest: str, text: str) -> None:
    if not valid_digest(digest):
        raise InvalidReference(f"invalid digest {digest!r} in image reference {text!r}")


def valid_digest(text: str) -> bool:
    """Whether ``text`` is a digest a reference may carry (``algorithm:hex``; sha256 exactly 64 hex)."""
    return bool(_DIGEST.match(text)) and (not text.startswith("sha256:") or bool(_SHA256.match(text)))


def split_tag(text: str) -> tuple[str, str | None]:
    """Split ``name:tag`` at the last colon after the last ``/`` (ports stay with the host)."""
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        return text[:colon], text[colon + 1 :]
    return text, None


def parse(text: str, *, default_tag: str | None = None) -> ImageRef:
    """Parse and normalise an image reference; raise :class:`InvalidReference` quoting ``text``."""
    if not isinstance(text, str) or not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {text!r}: empty or surrounded by whitespace")
    remainder = text
    digest: str | None = None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        _check_digest(digest, text)
    name, tag = split_tag(remainder)
    if tag is not None:
        _check_tag(tag, text)
    elif digest is None:
        tag = default_tag
    parts = name.split("/")
    if any(part == "" for part in parts):
        raise InvalidReference(f"invalid image reference {text!r}: empty path component")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise InvalidReference(f"invalid registry host {first!r} in image reference {text!r}")
        host = normalize_host(first)
        path = parts[1:]
    else:
        host = DOCKER_HUB
        path = parts
    if host == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    for component in path:
        if not _COMPONENT.match(component):
            hint = " (repository names must be lower case)" if component.lower() != component else ""
            raise InvalidReference(
                f"invalid repository component {component!r} in image reference {text!r}{hint}"
            )
    repository = "/".join(path)
    if len(host) + 1 + len(repository) > 255:
        raise InvalidReference(f"image reference {text!r} is longer than 255 characters")
    return ImageRef(host, repository, tag, digest)


def mirrored_name(source: ImageRef, org: str = "rancher") -> str:
    """The destination name for a newly mirrored source: ``<org>/mirrored-<path joined by ->``.

    ``quay.io/calico/node`` becomes ``rancher/mirrored-calico-node``. Existing
    images-list lines keep whatever mapping they already have; this is only for
    new ones.
    """
    return f"{org}/mirrored-{'-'.join(source.repository.split('/'))}"

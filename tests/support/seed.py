"""The fixed set of images in the session's source registry, and its handle type.

Kept out of conftest.py so tests can import ``SeededRegistry`` for annotations and read
``SOURCE_IMAGES`` to know what exists without hard-coding it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .images import ImageKind, PushedImage, push_image
from .registry import RegistryServer

__all__ = ["SOURCE_IMAGES", "SeededRegistry", "SourceImage", "seed_images"]


@dataclass(frozen=True)
class SourceImage:
    """One repository of the seed: every tag gets the same kind, platforms and base layer."""

    repo: str
    tags: tuple[str, ...]
    kind: ImageKind
    platforms: tuple[str, ...]
    shared_layer: bytes | None = None


#: One of each manifest kind, a variant platform (arm/v7), and a base layer shared by tags.
SOURCE_IMAGES: tuple[SourceImage, ...] = (
    SourceImage(
        "library/busybox",
        ("1.36.0", "1.36.1", "1.37.0"),
        "oci-index",
        ("linux/amd64", "linux/arm64", "linux/arm/v7"),
    ),
    SourceImage(
        "calico/node",
        ("v3.28.0", "v3.29.0"),
        "docker-list",
        ("linux/amd64", "linux/arm64"),
        shared_layer=b"calico shared base layer\n",
    ),
    SourceImage("flannel/flannel", ("v0.25.1",), "oci-manifest", ("linux/amd64",)),
    SourceImage("library/alpine", ("3.20.0",), "docker-manifest", ("linux/amd64",)),
)


def seed_images(
    base_url: str, images: tuple[SourceImage, ...] = SOURCE_IMAGES
) -> dict[str, PushedImage]:
    """Push ``images`` to ``base_url``; tags get increasing ``created`` dates in the order
    listed (2024-01-01, 2024-01-02, ...). Returns what was pushed keyed by ``repo:tag``."""
    pushed: dict[str, PushedImage] = {}
    day = 1
    for image in images:
        for tag in image.tags:
            pushed[f"{image.repo}:{tag}"] = push_image(
                base_url,
                image.repo,
                tag,
                kind=image.kind,
                platforms=image.platforms,
                shared_layer=image.shared_layer,
                created=f"2024-01-{day:02d}T00:00:00Z",
            )
            day += 1
    return pushed


@dataclass(frozen=True)
class SeededRegistry:
    """A started registry and what was pushed to it, keyed by ``repo:tag``.

    Read-only: the fixture restarts it with ``storage.maintenance.readonly`` after seeding,
    so a test that writes to it by mistake fails instead of disturbing other tests.
    """

    server: RegistryServer
    images: Mapping[str, PushedImage] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host(self) -> str:
        return self.server.host

    def image(self, repo: str, tag: str) -> PushedImage:
        return self.images[f"{repo}:{tag}"]

    def tags(self, repo: str) -> list[str]:
        return sorted(img.tag for img in self.images.values() if img.repo == repo)

    @property
    def repositories(self) -> list[str]:
        return sorted({img.repo for img in self.images.values()})

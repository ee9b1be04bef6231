"""The source side: every source repository and tag of an images-list as tiny images.

Each upstream host of the list (docker.io, quay.io, registry.k8s.io, …) becomes
a path prefix in one local ``docker-registry``: ``quay.io/calico/node:v3.29.0``
is stored as repository ``quay.io/calico/node``, and the registries file sends
``quay.io`` there with ``repository_prefix: quay.io``. So the real list runs
unchanged.

Images are two-platform indexes (linux/amd64, linux/arm64; OCI index or
Docker manifest list, alternating by repository) with a base layer shared by
every tag of the repository (as real tags share base layers) plus one layer
and one config per platform and tag.

Seeded data is kept between runs: the registry storage and ``seed.json`` (what
was pushed, with digests and blobs) live under the work directory (default
``/dev/shm/image-mirror-bench``). A run pushes only what is missing, so a
changed list costs only its new lines; a change of :data:`SCHEME` wipes it.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mirror.imageslist import Line, load

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # pragma: no cover - `python -m bench` from the repo root
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.images import get_manifest, push_image  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402

__all__ = ["SCHEME", "SeedIndex", "SourceSide", "read_lines", "source_key"]

#: Bump when the shape of seeded images changes: the stored data is then rebuilt.
SCHEME = 2
PLATFORMS = ("linux/amd64", "linux/arm64")


def read_lines(path: Path) -> list[Line]:
    images = load(str(path), strict=False)
    if images.problems:
        raise SystemExit(f"{path}: {len(images.problems)} invalid line(s), first: {images.problems[0]}")
    return list(images)


def source_key(line: Line) -> str:
    """``<host>/<repository>:<tag>`` — the repository name in the source registry, and tag."""
    return f"{line.source_image.host}/{line.source_image.repository}:{line.tag}"


@dataclass(frozen=True)
class SeededImage:
    repo: str  # with the host prefix
    tag: str
    digest: str
    blobs: tuple[str, ...]  # configs and layers
    manifests: tuple[str, ...]  # child manifests (by digest)


@dataclass
class SeedIndex:
    """What the source registry holds: ``seed.json``."""

    images: dict[str, SeededImage]

    @classmethod
    def load(cls, path: Path) -> SeedIndex | None:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if doc.get("scheme") != SCHEME:
            return None
        images = {
            key: SeededImage(v["repo"], v["tag"], v["digest"], tuple(v["blobs"]), tuple(v["manifests"]))
            for key, v in doc["images"].items()
        }
        return cls(images)

    def save(self, path: Path) -> None:
        doc = {
            "scheme": SCHEME,
            "images": {
                key: {"repo": i.repo, "tag": i.tag, "digest": i.digest, "blobs": list(i.blobs),
                      "manifests": list(i.manifests)}
                for key, i in sorted(self.images.items())
            },
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(path)


def _kind(repo: str) -> str:
    return "oci-index" if int(hashlib.sha256(repo.encode()).hexdigest(), 16) % 2 == 0 else "docker-list"


def _push(url: str, repo: str, tags: list[str]) -> list[SeededImage]:
    out = []
    for number, tag in enumerate(tags):
        pushed = push_image(
            url, repo, tag, platforms=PLATFORMS, kind=_kind(repo),  # type: ignore[arg-type]
            shared_layer=f"base layer of {repo}\n".encode(),
            created=f"2024-{1 + number // 28 % 12:02d}-{1 + number % 28:02d}T00:00:00Z",
        )
        out.append(SeededImage(repo, tag, pushed.digest, pushed.blobs, tuple(pushed.children.values())))
    return out


class SourceSide:
    """The seeded source registry (started, storage kept under ``workdir``)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.storage = workdir / "source-storage"
        self.index_path = workdir / "seed.json"
        self.server: RegistryServer | None = None
        self.index = SeedIndex({})

    def start(self, lines: Iterable[Line], log: Callable[[str], None] = print) -> float:
        """Start the registry and push whatever ``lines`` need that is not there yet.

        Returns the seconds spent seeding (0 when everything was reused).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        index = SeedIndex.load(self.index_path) if self.storage.is_dir() else None
        if index is None:
            shutil.rmtree(self.storage, ignore_errors=True)
            self.index_path.unlink(missing_ok=True)
            index = SeedIndex({})
        self.storage.mkdir(parents=True, exist_ok=True)
        self.server = RegistryServer(storage_dir=self.storage).start()
        if index.images and not self._spot_check(index):
            log("seed: stored data does not answer as recorded; reseeding from scratch")
            self.server.stop()
            shutil.rmtree(self.storage, ignore_errors=True)
            self.storage.mkdir(parents=True)
            index = SeedIndex({})
            self.server = RegistryServer(storage_dir=self.storage).start()
        wanted: dict[str, list[str]] = {}
        for line in lines:
            key = source_key(line)
            if key not in index.images:
                repo, tag = key.rsplit(":", 1)
                if tag not in wanted.setdefault(repo, []):
                    wanted[repo].append(tag)
        self.index = index
        count = sum(len(t) for t in wanted.values())
        if not count:
            log(f"seed: reusing {len(index.images)} seeded images in {self.storage}")
            return 0.0
        log(f"seed: pushing {count} images in {len(wanted)} repositories to {self.storage} "
            f"({len(index.images)} already there)")
        started = time.monotonic()
        url = self.server.url
        # Every tag of one repository in one worker: the shared base layer is pushed once.
        with ThreadPoolExecutor(max_workers=6) as pool:
            for images in pool.map(lambda item: _push(url, item[0], item[1]), sorted(wanted.items())):
                for image in images:
                    index.images[f"{image.repo}:{image.tag}"] = image
        index.save(self.index_path)
        elapsed = time.monotonic() - started
        log(f"seed: pushed {count} images in {elapsed:.1f}s")
        return elapsed

    def _spot_check(self, index: SeedIndex) -> bool:
        assert self.server is not None
        sample = random.Random(1).sample(sorted(index.images), min(3, len(index.images)))
        for key in sample:
            image = index.images[key]
            try:
                found = get_manifest(self.server.url, image.repo, image.tag)
            except Exception:
                return False
            if found.digest != image.digest:
                return False
        return True

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def image(self, line: Line) -> SeededImage:
        return self.index.images[source_key(line)]

"""The repositories the GitHub tests run against, with their expected answers written out.

``etcd-io/etcd`` has 250 releases (three pages of 100) mixing every case a source
must handle: drafts, pre-releases, tags that are not strict semver, tags with and
without ``v``. Each release's *kind* is decided here, by construction, so the
expected tags do not come from the code under test.
"""

from __future__ import annotations

from tests.fakes.github import FakeGitHub

BIG_REPO = "etcd-io/etcd"
FILE_REPO = "longhorn/longhorn"
BROKEN_FILE_REPO = "acme/widgets"
MISSING_REPO = "acme/does-not-exist"
IMAGES_FILE = "deploy/longhorn-images.txt"

# Overrides for the newest releases (creation index -> (tag, kind)).
_SPECIAL = {
    249: ("v4.0.0", "draft"),
    248: ("v4.0.0-rc.1", "prerelease"),
    247: ("v3.247.0", "ok"),
    246: ("v3.0246.0", "nonsemver"),  # a leading zero is not strict semver
    245: ("v3.245.0-beta.1", "ok"),  # semver-valid and not flagged pre-release: kept
    244: ("v3.244.0+build.7", "ok"),  # build metadata is valid semver
}
_NONSEMVER = ("v3.{i}", "release-3.{i}", "nightly-{i}", "3.{i}")


def big_repo_releases() -> list[tuple[str, str]]:
    """(tag, kind) in creation order, oldest first; kind is ok/draft/prerelease/nonsemver."""
    releases = []
    for i in range(250):
        if i in _SPECIAL:
            releases.append(_SPECIAL[i])
        elif i % 10 == 3:
            releases.append((f"v3.{i}.0-rc.1", "prerelease"))
        elif i % 10 == 7:
            releases.append((f"v3.{i}.0", "draft"))
        elif i % 25 == 11:
            releases.append((_NONSEMVER[(i // 25) % len(_NONSEMVER)].format(i=i), "nonsemver"))
        elif i % 5 == 0:
            releases.append((f"3.{i}.0", "ok"))
        else:
            releases.append((f"v3.{i}.0", "ok"))
    return releases


def expected_big_repo_tags() -> list[str]:
    """Every ``ok`` tag, newest first (the API's order)."""
    return [tag for tag, kind in reversed(big_repo_releases()) if kind == "ok"]


#: github-releases on BIG_REPO with versionConstraint ">=3.238.0" and versionFilter "^v", by hand:
#: 249 draft, 248 pre, 247 ok, 246 leading zero, 245 ok, 244 ok, 243 pre, 242 ok, 241 ok,
#: 240 no "v" (filtered), 239 ok, 238 ok.
EXPECTED_CONSTRAINED = [
    "v3.247.0",
    "v3.245.0-beta.1",
    "v3.244.0+build.7",
    "v3.242.0",
    "v3.241.0",
    "v3.239.0",
    "v3.238.0",
]

#: The images file of FILE_REPO at each tag (v1.3.2 is excluded by the entry's constraint).
FILE_AT = {
    "v1.3.2": "longhornio/longhorn-manager:v1.3.2\n",
    "v1.4.0": """# Longhorn images for v1.4.0
longhornio/longhorn-manager:v1.4.0
longhornio/longhorn-engine:v1.4.0

docker.io/longhornio/csi-attacher:v3.4.0
rancher/mirrored-longhornio-ui:v1.4.0
longhornio/support-bundle-kit:latest
""",
    "v1.4.1": """longhornio/longhorn-manager:v1.4.1
longhornio/longhorn-engine:v1.4.1
longhornio/csi-attacher:v3.4.0
   longhornio/backing-image-manager:v3_20230320   \r
  # indented comment
""",
    "v1.5.0": """longhornio/longhorn-manager:v1.5.0
longhornio/longhorn-engine:v1.5.0
registry.k8s.io/sig-storage/csi-provisioner:v3.4.1
longhornio/openshift-origin-oauth-proxy:4.13
""",
}

EXPECTED_FULL_IMAGES = [
    "longhornio/backing-image-manager:v3_20230320",
    "longhornio/csi-attacher:v3.4.0",
    "longhornio/longhorn-engine:v1.4.0",
    "longhornio/longhorn-engine:v1.4.1",
    "longhornio/longhorn-engine:v1.5.0",
    "longhornio/longhorn-manager:v1.4.0",
    "longhornio/longhorn-manager:v1.4.1",
    "longhornio/longhorn-manager:v1.5.0",
    "registry.k8s.io/sig-storage/csi-provisioner:v3.4.1",
]

CONFIG = {
    "etcd": {
        "images": ["quay.io/coreos/etcd"],
        "versionSource": f"github-releases:{BIG_REPO}",
    },
    "etcd-constrained": {
        "images": ["quay.io/coreos/etcd"],
        "versionSource": f"github-releases:{BIG_REPO}",
        "versionConstraint": ">=3.238.0",
        "versionFilter": "^v",
    },
    "etcd-latest": {
        "images": ["quay.io/coreos/etcd"],
        "versionSource": f"github-latest-release:{BIG_REPO}",
    },
    "longhorn": {
        "imagesFilePath": IMAGES_FILE,
        "versionSource": f"github-tagged-images-file:{FILE_REPO}",
        "versionConstraint": ">=1.4.0",
        "imageDenylist": ["longhornio/openshift-origin-oauth-proxy"],
    },
    "missing-repo": {
        "images": ["acme/nothing"],
        "versionSource": f"github-latest-release:{MISSING_REPO}",
    },
    "missing-file": {
        "imagesFilePath": "deploy/images.txt",
        "versionSource": f"github-tagged-images-file:{BROKEN_FILE_REPO}",
    },
}


def populate(gh: FakeGitHub) -> None:
    """Create the repositories above in the fake."""
    big = gh.add_repo(BIG_REPO)
    for tag, kind in big_repo_releases():
        big.add_release(tag, draft=kind == "draft", prerelease=kind == "prerelease")

    files = gh.add_repo(FILE_REPO)
    for tag, kind in [
        ("v1.3.2", "ok"),
        ("v1.4.0", "ok"),
        ("v1.4.1", "ok"),
        ("v1.5.0-rc.1", "prerelease"),
        ("v1.5.0", "ok"),
        ("latest-dev", "nonsemver"),
        ("v1.6.0", "draft"),
    ]:
        files.add_release(tag, draft=kind == "draft", prerelease=kind == "prerelease")
    for tag, text in FILE_AT.items():
        files.add_file(tag, IMAGES_FILE, text)
    files.add_file("v1.5.0-rc.1", IMAGES_FILE, "longhornio/longhorn-manager:v1.5.0-rc.1\n")
    files.add_file("v1.6.0", IMAGES_FILE, "longhornio/longhorn-manager:v1.6.0\n")

    broken = gh.add_repo(BROKEN_FILE_REPO)
    broken.add_release("v1.0.0")
    broken.add_release("v1.1.0")
    broken.add_file("v1.1.0", "deploy/images.txt", "acme/widget:v1.1.0\n")

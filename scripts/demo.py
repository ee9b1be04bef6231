"""The end-to-end demo behind ``scripts/demo.sh``: real registries on loopback, nothing else.

It starts an "upstream" registry that stands in for docker.io, quay.io and
registry.k8s.io (through a registries file: ``endpoint`` + ``repository_prefix``),
a destination registry (``DEST_REGISTRY_OVERRIDE``), and a local GitHub API for
the example config's GitHub sources (``GITHUB_API_URL``). Then it runs what a
maintainer runs, on a copy of the example files in ``.demo/``:

1. ``image-mirror discover --apply`` — finds the newer upstream tags and adds them;
2. ``image-mirror sync`` — mirrors every line with digests preserved;
3. ``image-mirror compare`` — every line must be MATCHED.

The same commands work against real registries: drop ``--registries`` and the
override variables, log in with ``docker login`` (or a credential helper), and
set ``GITHUB_TOKEN``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.github import FakeGitHub  # noqa: E402  (local stand-in for api.github.com)
from tests.support.images import push_image  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402

# What the stand-in upstreams hold: (host, repository, tags). Tags beyond the
# example images-list are what discover should find.
UPSTREAM = [
    ("docker.io", "library/busybox", ["1.36.0", "1.36.1", "1.37.0"]),
    ("docker.io", "flannel/flannel", ["v0.25.1", "v0.25.2", "v0.26.0"]),
    ("quay.io", "calico/node", ["v3.28.0", "v3.29.0", "v3.29.1"]),
    ("registry.k8s.io", "pause", ["3.9", "3.10"]),
    ("registry.k8s.io", "sig-storage/csi-attacher", ["v4.6.1"]),
]
PREFIX = {"docker.io": "dockerhub", "quay.io": "quay", "registry.k8s.io": "k8s"}
RELEASES = {
    "flannel-io/flannel": ["v0.25.1", "v0.25.2", "v0.26.0"],
    "projectcalico/calico": ["v3.27.4", "v3.28.0", "v3.29.0", "v3.29.1-0.dev", "v3.29.1"],
}


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


async def run(*args: str, env: dict[str, str], check_codes: tuple[int, ...] = (0,)) -> int:
    """Run image-mirror with the terminal inherited, so the live dashboard shows."""
    print("$ image-mirror " + " ".join(args), flush=True)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "mirror", *args, env=env, cwd=ROOT / ".demo")
    code = await process.wait()
    if code not in check_codes:
        raise SystemExit(f"demo: `image-mirror {' '.join(args)}` exited {code}")
    return code


async def main() -> None:
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    shutil.copy(ROOT / "images-list", work / "images-list")
    shutil.copy(ROOT / "config.json", work / "config.json")

    with RegistryServer() as upstream, RegistryServer() as destination:
        banner(f"upstream registry {upstream.url} (docker.io, quay.io, registry.k8s.io); destination {destination.url}")
        for host, repository, tags in UPSTREAM:
            for tag in tags:
                kind = "docker-list" if host == "quay.io" else "oci-index"
                push_image(upstream.url, f"{PREFIX[host]}/{repository}", tag, kind=kind)
            print(f"  seeded {host}/{repository}: {', '.join(tags)}")
        registries = "".join(
            f"{host}:\n  endpoint: {upstream.url}\n  repository_prefix: {prefix}\n" for host, prefix in PREFIX.items()
        )
        (work / "registries.yaml").write_text(registries)

        async with FakeGitHub(tokens={"demo-token"}) as github:
            for full_name, tags in RELEASES.items():
                repo = github.add_repo(full_name)
                for tag in tags:
                    repo.add_release(tag, prerelease="dev" in tag)
            env = dict(os.environ)
            env.update(
                GITHUB_API_URL=github.url,
                GITHUB_TOKEN="demo-token",
                IMAGE_MIRROR_REGISTRIES=str(work / "registries.yaml"),
                DEST_REGISTRY_OVERRIDE=destination.host,
                HOME=str(work),
            )
            env.pop("GITHUB_STEP_SUMMARY", None)
            common = ["--cache", str(work / "state.db")]

            banner("1. discover new tags and add them to images-list (discover --apply)")
            await run(*common, "discover", "--apply", env=env)
            banner("images-list now")
            print((work / "images-list").read_text(), end="")

            banner("2. mirror every line to the destination (sync)")
            await run(*common, "sync", env=env)
            banner("3. a second sync copies nothing (digests already equal)")
            await run(*common, "sync", env=env)
            banner("4. compare source and destination")
            await run(*common, "compare", env=env)

    banner("done")
    print(
        "Every line was discovered, mirrored with its digest preserved, and compared MATCHED.\n"
        f"The files used are in {work}.\n"
        "Against real registries: run the same commands without IMAGE_MIRROR_REGISTRIES and\n"
        "DEST_REGISTRY_OVERRIDE, after `docker login` to your destination, with GITHUB_TOKEN set."
    )


if __name__ == "__main__":
    asyncio.run(main())

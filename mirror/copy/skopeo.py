"""The ``skopeo`` copier: ``skopeo copy --all --preserve-digests`` per line.

Why keep skopeo next to the native copier: it is the reference implementation
users trust, it handles schema 1 images (converting them) and every exotic
transport, and it is what the seed used. What this module adds is safety:

* an argument list through ``anyio.run_process`` — never a shell;
* credentials never on the command line: a private temporary directory (0700)
  holds an auth file (0600) with exactly the two hosts' credentials as the
  registry client resolved them (docker config, helpers), passed with
  ``--src-authfile``/``--dest-authfile`` and deleted when the copy ends;
* the registries-file decision (:class:`~mirror.registry.hosts.ResolvedHost`)
  applied the same way the native client applies it: ``endpoint`` and
  ``repository_prefix`` rewrite the ``docker://`` references, plain HTTP and
  ``insecure`` give ``--*-tls-verify=false``, ``ca_file`` becomes a
  ``--*-cert-dir`` holding ``ca.crt``.

skopeo 1.9 cannot filter an index by platform, so ``--platforms`` is refused
before a run starts (see :func:`check_supported`). A Docker schema 1 source is
converted to schema 2 (``--format v2s2`` without ``--preserve-digests``, as the
seed did); the native copier refuses those and points here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import anyio

from ..errors import CopyError, InputError
from ..ref import ImageRef
from ..tempdir import private_tempdir
from ..registry.credentials import Credential
from ..registry.hosts import ResolvedHost
from ..registry.media import Manifest
from ..value import frozen
from .base import SCHEMA1_MEDIA_TYPES, CopyResult, Destination, HostResolver, SourceImage, each_destination

__all__ = ["HostResolver", "SkopeoCopier", "SkopeoInvocation", "check_supported", "skopeo_arguments"]

STDERR_TAIL = 1500


def check_supported(*, platforms: bool) -> None:
    """Refuse options skopeo 1.9 cannot honour (exit 2, before anything is copied)."""
    if platforms:
        raise InputError(
            "--platforms cannot be used with --copier skopeo: skopeo 1.9 copies a whole index or one "
            "platform, it cannot filter a list; use --copier native"
        )


@frozen
class SkopeoInvocation:
    """The argument list and the files it refers to (for tests and the dry-run)."""

    argv: list[str]
    auth_file: Path | None
    cert_dirs: tuple[Path, ...]
    digest_file: Path


def _auth_entry(credential: Credential) -> dict[str, str]:
    if credential.identity_token and not credential.password:
        return {"identitytoken": credential.identity_token}
    raw = f"{credential.username}:{credential.password or credential.identity_token}".encode()
    return {"auth": base64.b64encode(raw).decode("ascii")}


def _private_file(path: Path, content: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (no window where others can read it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def skopeo_arguments(
    workdir: Path,
    source: ImageRef,
    destination: ImageRef,
    src_host: ResolvedHost,
    dest_host: ResolvedHost,
    src_credential: Credential | None,
    dest_credential: Credential | None,
    *,
    executable: str = "skopeo",
    retry_times: int = 3,
    preserve_digests: bool = True,
    copy_all: bool = True,
    convert_to: str | None = None,
) -> SkopeoInvocation:
    """Write the auth file and cert dirs into ``workdir`` (blocking, small) and build argv."""
    argv = [executable, "copy"]
    if copy_all:
        argv.append("--all")
    if preserve_digests:
        argv.append("--preserve-digests")
    if convert_to:
        argv += ["--format", convert_to]
    argv += ["--retry-times", str(retry_times)]
    auths: dict[str, dict[str, str]] = {}
    for host, credential in ((src_host, src_credential), (dest_host, dest_credential)):
        if credential:
            # skopeo looks credentials up by the registry it connects to: the endpoint's netloc.
            auths[host.netloc] = _auth_entry(credential)
    auth_file: Path | None = None
    if auths:
        auth_file = workdir / "auth.json"
        _private_file(auth_file, json.dumps({"auths": auths}).encode())
    cert_dirs: list[Path] = []
    for side, host in (("src", src_host), ("dest", dest_host)):
        if auth_file is not None:
            argv.append(f"--{side}-authfile={auth_file}")
        if not host.tls_verify:
            argv.append(f"--{side}-tls-verify=false")
        if host.ca_file and host.scheme == "https":
            cert_dir = workdir / f"certs-{side}"
            cert_dir.mkdir(mode=0o700)
            shutil.copyfile(host.ca_file, cert_dir / "ca.crt")
            cert_dirs.append(cert_dir)
            argv.append(f"--{side}-cert-dir={cert_dir}")
    digest_file = workdir / "digest"
    argv.append(f"--digestfile={digest_file}")
    argv.append("docker://" + src_host.remote_reference(source))
    argv.append("docker://" + dest_host.remote_reference(destination))
    return SkopeoInvocation(argv, auth_file, tuple(cert_dirs), digest_file)


def _stderr_tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    tail = "\n".join(lines[-6:])
    return tail[-STDERR_TAIL:]


class SkopeoCopier:
    """Runs one ``skopeo copy`` per line; the pipeline's worker pool bounds how many at once."""

    name = "skopeo"

    def __init__(
        self,
        resolver: HostResolver,
        *,
        executable: str = "skopeo",
        retry_times: int = 3,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.resolver = resolver
        self.executable = executable
        self.retry_times = retry_times
        self.extra_args = tuple(extra_args)

    async def copy(self, source: SourceImage, destinations: Sequence[Destination],
                   manifest: Manifest | None) -> list[CopyResult]:
        return await each_destination(self._copy_one, source, destinations, manifest)

    async def _copy_one(self, source: SourceImage, destination: Destination, manifest: Manifest | None) -> CopyResult:
        if manifest is not None and manifest.digest != source.digest:
            raise CopyError("the skopeo copier cannot push a filtered index; use --copier native")
        # Schema 1 cannot keep its digest (registries refuse it, and it is signed for its
        # name): convert to schema 2 as the seed did. Such a line is copied on every run.
        schema1 = source.media_type in SCHEMA1_MEDIA_TYPES
        return await self.copy_ref(source.ref, destination.ref, copy_all=True, convert_to="v2s2" if schema1 else None)

    async def copy_ref(self, source: ImageRef, destination: ImageRef, *, copy_all: bool = True,
                       convert_to: str | None = None) -> CopyResult:
        """``skopeo copy`` one reference (tag or digest) to a destination tag."""
        src_host = await self.resolver.endpoint(source.host)
        dest_host = await self.resolver.endpoint(destination.host)
        src_cred = await self.resolver.credential(src_host.credential_host)
        dest_cred = await self.resolver.credential(dest_host.credential_host)
        if shutil.which(self.executable) is None:
            raise CopyError(f"{self.executable} is not installed (Debian: apt-get install skopeo); "
                            "or use --copier native")
        async with private_tempdir("image-mirror-skopeo-") as workdir:
            invocation = await anyio.to_thread.run_sync(
                lambda: skopeo_arguments(
                    workdir, source, destination, src_host, dest_host, src_cred, dest_cred,
                    executable=self.executable, retry_times=self.retry_times, copy_all=copy_all,
                    preserve_digests=convert_to is None, convert_to=convert_to,
                )
            )
            argv = invocation.argv[:-2] + list(self.extra_args) + invocation.argv[-2:]
            env = {k: v for k, v in os.environ.items() if k != "REGISTRY_AUTH_FILE"}
            result = await anyio.run_process(argv, check=False, env=env)
            if result.returncode != 0:
                raise CopyError(
                    f"skopeo copy {source} -> {destination} failed (exit {result.returncode}): "
                    f"{_stderr_tail(result.stderr)}"
                )
            digest_path = anyio.Path(invocation.digest_file)
            digest = (await digest_path.read_text()).strip() if await digest_path.exists() else None
            return CopyResult(digest=digest or None)

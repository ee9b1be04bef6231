"""oras-py's side of the ``oras`` copier: synchronous (``requests``), run ONLY in worker threads.

:class:`~mirror.copy.oras.OrasCopier` calls every method here through
``anyio.to_thread.run_sync`` while it holds the host's slot, so nothing in this module ever runs
on the event loop — the blocking HTTP of oras-py and ``requests`` (and their imports, done lazily
here) stay off it. Errors leave as mirror's typed errors: a status through
:func:`~mirror.transport.status.status_error`, anything else as a :class:`~mirror.errors.CopyError`
with the reason and no URL state.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import CopyError
from ..ref import ImageRef
from ..registry.credentials import Credential
from ..registry.hosts import ResolvedHost
from ..registry.media import Descriptor
from ..text import excerpt
from ..transport import Failure, safe_url
from ..transport.status import status_error

__all__ = ["OrasSide"]

CHUNK = 1024 * 1024
ERROR_BODY_LIMIT = 64 * 1024
UPLOADED = (200, 201, 202)
_URL = re.compile(r"https?://\S+")


@contextmanager
def _oras_failures(what: str, netloc: str) -> Iterator[None]:
    """oras-py's exceptions as a :class:`CopyError` with the reason (no status: oras keeps it)."""
    import requests

    try:
        yield
    except ValueError as exc:  # oras' "Issue retrieving session url: …", "Cannot respond to … authentication"
        text = _URL.sub(lambda m: safe_url(m.group()), str(exc))  # upload URLs carry state in their query
        raise CopyError(f"{what}: {netloc} refused it (oras-py: {excerpt(text)})") from None
    except requests.RequestException as exc:  # after oras' own retries; the text would hold the URL
        raise CopyError(f"{what}: cannot reach {netloc} ({type(exc).__name__})") from None


class OrasSide:
    """One side of one copy as oras-py reaches it; used by one worker thread at a time."""

    def __init__(self, target: ResolvedHost, ref: ImageRef, scopes: tuple[str, ...], basic: Credential | None) -> None:
        import oras.provider  # imported lazily: only runs of --copier oras pay for it

        self.target = target
        self.display = ref.name
        self.scopes = scopes
        self.registry = oras.provider.Registry(
            hostname=target.netloc, insecure=target.plain_http, tls_verify=target.ca_file or target.tls_verify,
            auth_backend="basic" if basic else "token",
        )  # fmt: skip
        if basic:
            # the backend answers 401s; the header spares a blob PUT sent twice (once refused)
            self.registry.auth.set_basic_auth(basic.username, basic.password or basic.identity_token)
            self.registry.set_header("Authorization", basic.basic_header)
        self.container = self.registry.get_container(f"{target.netloc}/{target.remote_name(ref.repository)}")

    def authorize(self, header: str | None) -> None:
        """Hand oras the Bearer token mirror's authenticator holds now (fresh, right scopes)."""
        if header and header.startswith("Bearer "):
            self.registry.auth.set_token_auth(header.removeprefix("Bearer "))

    def close(self) -> None:
        self.registry.session.close()

    def _fail(self, response: Any, what: str) -> Exception:
        body = b"".join(itertools.islice(response.iter_content(chunk_size=8192), ERROR_BODY_LIMIT // 8192))
        response.close()
        return status_error(Failure(response.status_code, body, what, self.target.netloc))

    def exists(self, blob: Descriptor) -> bool:
        with _oras_failures(f"blob {blob.digest} in {self.display}", self.target.netloc):
            return bool(self.registry.blob_exists({"digest": blob.digest}, self.container))

    def download(self, blob: Descriptor, path: Path) -> int:
        """Stream a blob into ``path``, checking its sha256 on the way; return its size."""
        what = f"blob {blob.digest} from {self.display}"
        with _oras_failures(what, self.target.netloc):
            response = self.registry.get_blob(self.container, blob.digest, stream=True)
            if response.status_code != 200:
                raise self._fail(response, what)
            hasher = hashlib.sha256()
            size = 0
            with response, open(path, "wb") as handle:
                for chunk in response.iter_content(chunk_size=CHUNK):
                    hasher.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != blob.digest:
            raise CopyError(f"{what}: digest mismatch {blob.digest} (the bytes hash to {actual})")
        return size

    def upload(self, blob: Descriptor, path: Path, size: int) -> None:
        what = f"blob {blob.digest} upload to {self.display}"
        layer = {"digest": blob.digest, "size": size, "mediaType": blob.media_type}
        try:
            with _oras_failures(what, self.target.netloc):
                response = self.registry.put_upload(str(path), self.container, layer)
                if response.status_code not in UPLOADED:
                    raise self._fail(response, what)
        finally:
            path.unlink(missing_ok=True)  # the copy's directory holds one blob at a time

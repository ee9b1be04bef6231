"""A hostile registry front: every request is answered with an error whose body steers terminals.

Plain ``http.server`` in a thread, because no real registry sends such a body. The body is a
distribution error document (``{"errors": [{"code", "message"}]}``, as the distribution spec
defines it) whose message carries an OSC "set window title" and a "clear screen" sequence.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["CLEAR", "TITLE", "HostileRegistry"]

TITLE = "\x1b]0;X\x07"
CLEAR = "\x1b[2J"


class _Handler(BaseHTTPRequestHandler):
    status = 403

    def _answer(self, body: bool) -> None:
        data = json.dumps({"errors": [{"code": "DENIED", "message": f"{TITLE}owned{CLEAR}"}]}).encode()
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


class HostileRegistry:
    """``with HostileRegistry(403) as front: front.host`` — ``127.0.0.1:PORT``."""

    def __init__(self, status: int = 403) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.status = status  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-registry", daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

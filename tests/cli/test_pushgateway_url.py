"""A malformed Pushgateway URL is bad input found before the run: exit 2, naming the option,
no request sent, no list read — not a failed push after the work."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror.cli import EXIT_INPUT, main


class _Recording(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_POST = do_PUT = do_GET  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def registry() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request (it would be the run's registry)."""
    seen: list[str] = []
    handler = type("Handler", (_Recording,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, command: str, options: list[str],
         env: dict[str, str]) -> tuple[int, list[str]]:
    """``main`` on a list and a config naming ``host``; the exit code and the files it read."""
    images = tmp_path / "images-list"
    images.write_text(f"{host}/library/busybox {host}/mirrored/busybox 1.36.1\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"busybox": {"images": [f"{host}/library/busybox"], "versionSource": "registry"}}))
    reads: list[str] = []
    real_open = Path.open

    def watched_open(self: Path, *args: object, **kwargs: object) -> object:
        if self.name in ("images-list", "config.json"):
            reads.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(Path, "open", watched_open)
    code = main(["--images-list", str(images), "--config", str(config), "--no-cache", "--log-format", "plain",
                 *options, command])
    monkeypatch.undo()
    return code, reads


@pytest.mark.parametrize("command", ["sync", "discover"])
@pytest.mark.parametrize(
    ("flag", "env", "named"),
    [(["--pushgateway", "http://pusher:hunter2@pg.example:notaport"], {}, "--pushgateway"),
     ([], {"IMAGE_MIRROR_PUSHGATEWAY": "pg.example:9091"}, "IMAGE_MIRROR_PUSHGATEWAY")],
)
def test_a_malformed_pushgateway_exits_2_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    registry: tuple[str, list[str]], command: str, flag: list[str], env: dict[str, str], named: str,
) -> None:
    host, seen = registry
    metrics = tmp_path / "m.prom"
    code, reads = _run(tmp_path, monkeypatch, host, command, ["--metrics-file", str(metrics), *flag], env)
    err = capsys.readouterr().err
    assert code == EXIT_INPUT, err
    assert named in err and "expected http(s)://" in err
    assert "hunter2" not in err
    assert seen == [] and reads == [] and not metrics.exists()


def test_a_good_pushgateway_lets_the_work_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    registry: tuple[str, list[str]],
) -> None:
    """The control: the same watchers see the list read and the requests (and the push)."""
    host, seen = registry
    code, reads = _run(tmp_path, monkeypatch, host, "sync", ["--pushgateway", f"http://{host}/gw"], {})
    err = capsys.readouterr().err
    assert code == 1, err  # the source answers 404
    assert "images-list" in reads
    assert any(request.startswith("HEAD /v2/") for request in seen)
    assert seen[-1] == "POST /gw/metrics/job/image-mirror-sync"  # a failed run: POST keeps the last success
    assert "pushing metrics to" in err  # the push's 404 is reported, not fatal

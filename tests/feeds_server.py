"""A loopback HTTP server for tests: serves written responses (and records POSTed bodies, as a webhook receiver), honours conditional GET for static
ones, misbehaves on request (status codes, delays, dropped connections, endless or dribbled bodies), and records every request."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since
    drop_after: int | None = None  # close the connection after this many body bytes
    statuses: list[int] = field(default_factory=list)  # answered first, one per request, before `status`
    stream: Callable[[], Iterable[bytes]] | None = None  # body written piece by piece, no Content-Length
    chunk_delay: float = 0.0  # seconds between streamed pieces (a slow-loris server)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


class FeedServer:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[Recorded] = []
        self.last_modified = "Tue, 10 Nov 2026 08:00:00 GMT"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def requests_for(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - a webhook receiver: recorded with its body, answered as routed
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(Recorded("POST", self.path, dict(self.headers), body))
                self._route()

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(Recorded("GET", self.path, dict(self.headers)))
                self._route()

            def _route(self) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    self._answer(404, b"not found", {})
                    return
                if route.delay:
                    time.sleep(route.delay)
                status = route.statuses.pop(0) if route.statuses else route.status
                etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                headers = dict(route.headers)
                if status == 200 and route.conditional:
                    headers.setdefault("ETag", etag)
                    headers.setdefault("Last-Modified", server.last_modified)
                    if self.headers.get("If-None-Match") == etag or (
                        "If-None-Match" not in self.headers and self.headers.get("If-Modified-Since") == server.last_modified
                    ):
                        self._answer(304, b"", {"ETag": etag})
                        return
                if route.stream is not None:
                    self._stream(status, headers, route)
                    return
                self._answer(status, route.body, headers, route.drop_after)

            def _stream(self, status: int, headers: dict[str, str], route: Route) -> None:
                self.send_response(status)
                headers.setdefault("Content-Type", "application/xml")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for piece in route.stream():
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if route.chunk_delay:
                            time.sleep(route.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def _answer(self, status: int, body: bytes, headers: dict[str, str], drop_after: int | None = None) -> None:
                self.send_response(status)
                headers.setdefault("Content-Type", "application/xml")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if drop_after is not None:
                    self.wfile.write(body[:drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if status != 304:
                    self.wfile.write(body)

        return Handler

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[FeedServer]:
    with FeedServer(routes) as server:
        yield server

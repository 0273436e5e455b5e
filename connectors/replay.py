"""Serve recorded HTTP responses (Betamax cassettes) on loopback, so Reddit runs offline.

The demo and the tests point praw's `oauth_url`/`reddit_url` here. Requests are matched on method,
path (case-folded, trailing slash ignored) and the parameters that select content (`after`,
`before`, `q`, `id`, `children`); parameters that only shape a request (`limit`, `sort`,
`raw_json`, ...) are ignored, so a connector need not repeat a recording's exact query string.
Several recordings for one request are served in order and the last one repeats, which also lets
a test script a 429 followed by a 200. A request nothing matches gets a 404 and is remembered.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

LOOPBACK = "127.0.0.1"  # replays serve this machine only
SELECTING_PARAMS = ("after", "before", "q", "id", "children")
_SKIPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection", "set-cookie"}


@dataclass(frozen=True)
class Recorded:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def request_key(method: str, path: str, params: dict[str, str]) -> str:
    """The part of a request that decides which recording answers it."""
    path = unquote(path).rstrip("/").casefold() or "/"
    chosen = "&".join(f"{k}={params[k]}" for k in SELECTING_PARAMS if params.get(k))
    return f"{method.upper()} {path}?{chosen}"


def read_cassette(path: Path, *, rename: dict[str, str] | None = None) -> list[tuple[str, Recorded]]:
    """Read one Betamax cassette into (key, response) pairs; `rename` rewrites placeholders like <TEST_SUBREDDIT>."""
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = []
    for interaction in data.get("interactions", []):
        request, response = interaction["request"], interaction["response"]
        uri = _renamed(request["uri"], rename)
        parts = urlsplit(uri)
        params = dict(parse_qsl(parts.query))
        if request.get("body") and isinstance(request["body"], str):
            params.update(parse_qsl(request["body"]))
        body = _renamed(response["body"].get("string", ""), rename).encode("utf-8")
        headers = {
            k: v[0] if isinstance(v, list) else v
            for k, v in response.get("headers", {}).items()
            if k.lower() not in _SKIPPED_HEADERS
        }
        status = response["status"]["code"]
        pairs.append((request_key(request["method"], parts.path, params), Recorded(status, body, headers)))
    return pairs


class ReplayServer:
    """A threaded loopback server answering from recordings; use as a context manager."""

    def __init__(self, recordings: list[tuple[str, Recorded]] | None = None) -> None:
        self._queues: dict[str, list[Recorded]] = defaultdict(list)
        self.requests: list[str] = []
        self.unmatched: list[str] = []
        self._lock = threading.Lock()
        for key, recorded in recordings or []:
            self.add(key, recorded)
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add(self, key: str, recorded: Recorded) -> None:
        with self._lock:
            self._queues[key].append(recorded)

    def replace(self, key: str, *recorded: Recorded) -> None:
        """Answer `key` from now on with these responses instead (a source that changed overnight)."""
        with self._lock:
            self._queues[key] = list(recorded)

    def add_cassettes(self, paths: list[Path], *, rename: dict[str, str] | None = None) -> None:
        for path in paths:
            for key, recorded in read_cassette(path, rename=rename):
                self.add(key, recorded)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_port}"

    def __enter__(self) -> "ReplayServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, target: str, body: bytes) -> Recorded:
        parts = urlsplit(target)
        params = dict(parse_qsl(parts.query))
        if body and method == "POST":
            params.update(parse_qsl(body.decode("utf-8", "replace")))
        key = request_key(method, parts.path, params)
        with self._lock:
            self.requests.append(key)
            queue = self._queues.get(key)
            if not queue:
                self.unmatched.append(key)
                message = json.dumps({"message": "Not Found", "error": 404, "replay": f"nothing recorded for {key}"})
                return Recorded(404, message.encode("utf-8"), {"Content-Type": "application/json"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = replay.answer(self.command, self.path, body)
                self.send_response(recorded.status)
                for name, value in recorded.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(recorded.body)))
                self.end_headers()
                self.wfile.write(recorded.body)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

        return Handler


def _renamed(text: str, rename: dict[str, str] | None) -> str:
    for old, new in (rename or {}).items():
        text = text.replace(old, new)
    return text

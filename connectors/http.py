"""Polite HTTP for every connector: timeouts, a size cap, conditional GET, retries that honour
Retry-After and rate-limit headers, and errors typed so callers retry a 429 but never a 404."""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import hashlib
import http.client
import io
import logging
import random
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
EXCERPT_BYTES = 2_000
CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    timeout_seconds: float = 20.0
    max_retries: int = 3
    backoff_seconds: float = 1.0
    max_retry_after_seconds: float = 120.0
    max_bytes: int = 10_000_000

    @property
    def deadline_seconds(self) -> float:
        """Wall-clock budget for one fetch, retries included: a slow-loris server cannot hang the run."""
        return self.timeout_seconds * (self.max_retries + 1) * 2 + self.max_retry_after_seconds


class FetchError(Exception):
    """A fetch failed; `reason` is a short code for the rejects table, `message` says what to do."""

    transient = False

    def __init__(self, reason: str, url: str, message: str, excerpt: str = "") -> None:
        super().__init__(f"{url}: {message}")
        self.reason = reason
        self.url = url
        self.message = message
        self.excerpt = excerpt


class TransientFetchError(FetchError):
    """Worth retrying later: rate limits, server errors, timeouts, dropped connections. `retry_after` is
    the wait the server asked for (Retry-After or a rate-limit reset), when it asked."""

    transient = True

    def __init__(self, reason: str, url: str, message: str, excerpt: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(reason, url, message, excerpt)
        self.retry_after = retry_after


class TerminalFetchError(FetchError):
    """Retrying will not help until someone changes something: 404, 403, too large, bad scheme."""


@dataclass
class FetchResponse:
    url: str
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    etag: str | None = None,
    last_modified: str | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResponse:
    """GET a URL politely; `file:` URLs read a local file with the same cap and conditional logic."""
    if url.startswith("file:"):
        return _fetch_file(url, policy, etag, last_modified)
    if not url.startswith(("http://", "https://")):
        raise TerminalFetchError("bad_scheme", url, "only http://, https:// and file: URLs can be fetched")
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own_session = session is None
    session = session or polite_session()
    try:
        return retrying(url, policy, sleep, lambda deadline: _attempt(session, url, headers, policy, deadline))
    finally:
        if own_session:
            session.close()


def post(
    url: str,
    body: bytes,
    *,
    policy: FetchPolicy,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    label: str | None = None,
) -> FetchResponse:
    """POST a body with the same timeouts, size cap, deadline and retries (Retry-After honoured) as `fetch`.

    A retried POST may reach the server twice (a timeout after the server acted): receivers dedupe on
    an idempotency header the caller sends. `label` names the URL in logs when the URL is a secret."""
    if not url.startswith(("http://", "https://")):
        raise TerminalFetchError("bad_scheme", url, "only http:// and https:// URLs can be posted to")
    sent = {"User-Agent": policy.user_agent, **(headers or {})}
    own_session = session is None
    session = session or polite_session()
    try:
        return retrying(label or url, policy, sleep, lambda deadline: _attempt(session, url, sent, policy, deadline, body))
    finally:
        if own_session:
            session.close()


T = TypeVar("T")


def retrying(name: str, policy: FetchPolicy, sleep: Callable[[float], None], attempt: Callable[[float], T]) -> T:
    """Run `attempt(deadline)` until it succeeds, retrying transient failures only: the server's wait
    (`retry_after`, clamped) when it gave one, else exponential backoff with jitter, all within the fetch
    deadline. Every connector's retries go through here; `name` is what the log calls the URL."""
    deadline = time.monotonic() + policy.deadline_seconds
    attempts = 0
    while True:
        attempts += 1
        try:
            result = attempt(deadline)
        except TransientFetchError as exc:
            if attempts > policy.max_retries or time.monotonic() >= deadline:
                if attempts > 1:
                    exc.message = f"{exc.message}; gave up after {attempts} attempts"
                    exc.args = (f"{exc.url}: {exc.message}",)
                raise
            wait = exc.retry_after
            if wait is None:
                wait = policy.backoff_seconds * 2 ** (attempts - 1) * (0.5 + random.random())
            wait = min(wait, policy.max_retry_after_seconds, max(0.0, deadline - time.monotonic()))
            log.info("%s: %s; retry %d/%d in %.1fs", name, exc.message, attempts, policy.max_retries, wait)
            sleep(wait)
        else:
            if isinstance(result, FetchResponse):
                result.requests = attempts
            return result


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose sockets a watchdog can cut. A server that dribbles its status line or headers
    resets the per-read timeout with every byte, and requests has no overall deadline of its own."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _tracked_pool(HTTPConnectionPool, self._sockets),
            "https": _tracked_pool(HTTPSConnectionPool, self._sockets),
        }

    def cut(self) -> None:
        """Shut down every socket this adapter opened: a read blocked on one returns at once."""
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _tracked_pool(pool: type[HTTPConnectionPool], sockets: weakref.WeakSet[socket.socket]) -> type[HTTPConnectionPool]:
    class TrackedConnection(pool.ConnectionCls):  # type: ignore[name-defined,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            sockets.add(sock)
            return sock

    return type(pool.__name__, (pool,), {"ConnectionCls": TrackedConnection})


def polite_session(session: requests.Session | None = None) -> requests.Session:
    """A session (a new one, or the one given) whose requests `cut_at_deadline` can stop, whatever the server dribbles."""
    session = session or requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, DeadlineAdapter())
    return session


@contextlib.contextmanager
def cut_at_deadline(session: requests.Session, url: str, deadline: float) -> Iterator[threading.Event]:
    """Cut the session's connections a second after `deadline` (readers check the deadline themselves
    between reads; this catches a read that never returns); the event says whether it fired."""
    fired = threading.Event()
    adapter = session.get_adapter(url)
    if not isinstance(adapter, DeadlineAdapter):
        yield fired
        return

    def fire() -> None:
        fired.set()
        adapter.cut()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()) + 1.0, fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _attempt(session: requests.Session, url: str, headers: Mapping[str, str], policy: FetchPolicy, deadline: float,
             body: bytes | None = None) -> FetchResponse:
    with cut_at_deadline(session, url, deadline) as cut:
        try:
            response = _request(session, url, headers, policy, deadline, body)
        except TransientFetchError:
            if not cut.is_set():
                raise
        if cut.is_set():  # a cut mid-headers can even parse as a complete, empty answer: never trust it
            raise TransientFetchError("slow_response", url, "the server was still answering at the fetch deadline "
                                      "(status line or headers dribbled); gave up")
        return response


def _request(session: requests.Session, url: str, headers: Mapping[str, str], policy: FetchPolicy, deadline: float,
             body: bytes | None = None) -> FetchResponse:
    """One GET, or one POST of `body` (a POST follows no redirects: a webhook that moved must be reconfigured)."""
    timeout = (policy.timeout_seconds, policy.timeout_seconds)
    try:
        if body is None:
            response = session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=True)
        else:
            response = session.post(url, data=body, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise request_error(exc, url, policy.timeout_seconds) from None
    with response:
        if response.status_code == 304:
            return FetchResponse(url, 304, b"", dict(response.headers), headers.get("If-None-Match"), headers.get("If-Modified-Since"))
        if response.status_code >= 400:
            body = read_capped(response, url, min(policy.max_bytes, EXCERPT_BYTES * 4), deadline, truncate=True)
            raise _status_error(response, url, body)
        body = read_capped(response, url, policy.max_bytes, deadline)
        return FetchResponse(
            response.url or url, response.status_code, body, dict(response.headers),
            response.headers.get("ETag"), response.headers.get("Last-Modified"),
        )


def request_error(exc: requests.exceptions.RequestException, url: str, timeout: float) -> FetchError:
    """Name what went wrong before a response arrived, for the rejects table; shared with the Reddit reader."""
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return TerminalFetchError("redirect_loop", url, "too many redirects; check the URL")
    if isinstance(exc, requests.exceptions.InvalidSchema):  # only a redirect gets here: our own URL was checked
        return TerminalFetchError("bad_redirect", url, f"refused a redirect that is not http(s): {_short(exc)}")
    if isinstance(exc, requests.exceptions.SSLError):
        return TerminalFetchError("tls", url, f"TLS error: {_short(exc)}; check the certificate or the URL")
    if isinstance(exc, requests.exceptions.Timeout):  # ConnectTimeout is also a ConnectionError: test this first
        return TransientFetchError("timeout", url, f"no answer within {timeout:g}s")
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename nor servname" in text:
            return TerminalFetchError("dns", url, "the host name does not resolve; check the URL")
        if _not_http(exc):
            return TransientFetchError("bad_response", url, f"the server's answer is not HTTP: {_short(exc)}")
        return TransientFetchError("connection", url, f"connection failed: {_short(exc)}")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return TransientFetchError("connection_reset", url, f"connection dropped mid-body: {_short(exc)}")
    return TransientFetchError("connection", url, f"request failed: {_short(exc)}")


def _not_http(exc: requests.exceptions.ConnectionError) -> bool:
    """A garbled status line or headers, as opposed to a refused or dropped connection."""
    inner = exc.args[0] if exc.args else None
    causes = inner.args if isinstance(inner, urllib3.exceptions.ProtocolError) else ()
    return any(isinstance(c, http.client.HTTPException) and not isinstance(c, ConnectionError) for c in causes)


def read_capped(response: requests.Response, url: str, limit: int, deadline: float, *, truncate: bool = False) -> bytes:
    """Read the decompressed body as it arrives, stopping at the cap (gzip bombs included) and the deadline.

    One socket read at a time (`read1`), not `iter_content`, whose reads wait for a whole chunk: a
    server dribbling a few bytes a second would otherwise never let the deadline be checked.
    """
    declared = response.headers.get("Content-Length")
    if not truncate and declared and declared.isdigit() and int(declared) > limit and "gzip" not in response.headers.get("Content-Encoding", ""):
        raise TerminalFetchError("too_large", url, f"body is {int(declared):,} bytes, over the {limit:,}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limit:
                if truncate:
                    chunks.append(chunk[: limit - (size - len(chunk))])
                    break
                raise TerminalFetchError("too_large", url, f"body exceeds the {limit:,}-byte limit; raise http.max_bytes if it is legitimate")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise TransientFetchError("slow_body", url, f"the body was still arriving after {size:,} bytes at the deadline")
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise TransientFetchError("timeout", url, f"the body stopped arriving: {_short(exc)}") from None
    except urllib3.exceptions.DecodeError as exc:
        raise TerminalFetchError("bad_encoding", url, f"cannot decompress the body: {_short(exc)}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise TransientFetchError("connection_reset", url, f"connection dropped mid-body: {_short(exc)}") from None
    return b"".join(chunks)


def _status_error(response: requests.Response, url: str, body: bytes) -> FetchError:
    status = response.status_code
    excerpt = body[:EXCERPT_BYTES].decode("utf-8", "replace")
    if status in RETRY_STATUSES:
        return TransientFetchError(f"http_{status}", url, f"server answered {status} {response.reason}", excerpt,
                                   retry_after=retry_after_seconds(response.headers))
    advice = {403: "the site refuses us; do not work around it", 404: "the URL is gone; fix or remove it",
              401: "it needs credentials", 410: "the resource was removed; remove the source"}.get(status, "check the URL")
    return TerminalFetchError(f"http_{status}", url, f"server answered {status} {response.reason}: {advice}", excerpt)


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or rate-limit reset headers."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
    for name in ("X-RateLimit-Reset", "RateLimit-Reset", "X-Ratelimit-Reset"):
        reset = headers.get(name)
        if reset:
            try:
                number = float(reset)
            except ValueError:
                continue
            if number > 1e9:  # an epoch timestamp, not a delay
                number -= (now or datetime.now(timezone.utc)).timestamp()
            return max(0.0, number)
    return None


def _fetch_file(url: str, policy: FetchPolicy, etag: str | None, last_modified: str | None) -> FetchResponse:
    path = Path(unquote(urlparse(url).path))
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise TerminalFetchError("not_found", url, f"no file at {path}") from None
    if stat.st_size > policy.max_bytes:
        raise TerminalFetchError("too_large", url, f"file is {stat.st_size:,} bytes, over the {policy.max_bytes:,}-byte limit")
    file_etag = '"' + hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16] + '"'
    file_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
    if etag == file_etag or (etag is None and last_modified == file_modified):
        return FetchResponse(url, 304, b"", {}, file_etag, file_modified)
    with path.open("rb") as handle:
        body = handle.read(policy.max_bytes + 1)
    if len(body) > policy.max_bytes:
        raise TerminalFetchError("too_large", url, f"file exceeds the {policy.max_bytes:,}-byte limit")
    if body.startswith(GZIP_MAGIC):
        body = _gunzip(body, url, policy.max_bytes)
    return FetchResponse(url, 200, body, {}, file_etag, file_modified)


def _gunzip(body: bytes, url: str, limit: int) -> bytes:
    """A gzip-compressed file, read as an HTTP `Content-Encoding: gzip` body is: the cap applies to the
    decompressed bytes, which are decompressed no further than the cap (a gzip bomb stops there)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
            data = handle.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; EOFError: cut short
        raise TerminalFetchError("bad_encoding", url, f"cannot decompress the gzip file: {_short(exc)}") from None
    if len(data) > limit:
        raise TerminalFetchError("too_large", url, f"file exceeds the {limit:,}-byte limit once decompressed; "
                                 "raise http.max_bytes if it is legitimate")
    return data


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."

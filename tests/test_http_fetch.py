"""Polite HTTP: retries that honour Retry-After, no retry where it cannot help, hard limits on size and time."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.http import (
    FetchPolicy,
    TerminalFetchError,
    TransientFetchError,
    fetch,
    retry_after_seconds,
)
from tests.feeds_server import Route, serve

POLICY = FetchPolicy(user_agent="ZMOT-Monitor/test (+https://example.org)", timeout_seconds=1, max_retries=2, backoff_seconds=0.5)


def test_a_polite_user_agent_is_sent() -> None:
    with serve({"/x": Route(b"ok")}) as server:
        fetch(server.url("/x"), policy=POLICY)
        assert server.requests[0].headers["User-Agent"] == POLICY.user_agent


def test_a_server_error_is_retried_then_succeeds() -> None:
    waits: list[float] = []
    with serve({"/x": Route(b"fine", statuses=[500, 503])}) as server:
        response = fetch(server.url("/x"), policy=POLICY, sleep=waits.append)
    assert response.body == b"fine" and response.requests == 3 and len(waits) == 2


def test_retry_after_is_honoured() -> None:
    waits: list[float] = []
    with serve({"/x": Route(b"fine", statuses=[429], headers={"Retry-After": "7"})}) as server:
        fetch(server.url("/x"), policy=POLICY, sleep=waits.append)
    assert waits == [7.0]


def test_retry_after_is_clamped_to_the_policy() -> None:
    waits: list[float] = []
    policy = FetchPolicy(user_agent="t", max_retries=1, max_retry_after_seconds=30)
    with serve({"/x": Route(b"fine", statuses=[429], headers={"Retry-After": "86400"})}) as server:
        fetch(server.url("/x"), policy=policy, sleep=waits.append)
    assert waits == [30.0]


def test_retry_after_as_http_date_and_rate_limit_reset_headers() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds({"Retry-After": "Tue, 24 Nov 2026 12:00:30 GMT"}, now) == 30
    assert retry_after_seconds({"X-RateLimit-Reset": "12"}, now) == 12
    assert retry_after_seconds({"X-RateLimit-Reset": str(now.timestamp() + 5)}, now) == pytest.approx(5)
    assert retry_after_seconds({}, now) is None


def test_persistent_server_errors_become_a_transient_error() -> None:
    with serve({"/x": Route(b"down", status=502)}) as server:
        with pytest.raises(TransientFetchError) as error:
            fetch(server.url("/x"), policy=POLICY, sleep=lambda s: None)
        assert len(server.requests) == 3
    assert error.value.reason == "http_502" and error.value.excerpt == "down"


@pytest.mark.parametrize("status", [403, 404, 410])
def test_client_errors_are_terminal_and_not_retried(status: int) -> None:
    with serve({"/x": Route(b"no", status=status)}) as server:
        with pytest.raises(TerminalFetchError) as error:
            fetch(server.url("/x"), policy=POLICY, sleep=lambda s: None)
        assert len(server.requests) == 1
    assert error.value.reason == f"http_{status}"


def test_a_slow_server_times_out() -> None:
    policy = FetchPolicy(user_agent="t", timeout_seconds=0.3, max_retries=0)
    with serve({"/x": Route(b"late", delay=1.5)}) as server:
        with pytest.raises(TransientFetchError) as error:
            fetch(server.url("/x"), policy=policy)
    assert error.value.reason == "timeout"


def test_a_body_over_the_limit_is_refused_without_reading_it_all() -> None:
    policy = FetchPolicy(user_agent="t", max_retries=0, max_bytes=1000)
    with serve({"/x": Route(b"x" * 5000)}) as server:
        with pytest.raises(TerminalFetchError) as error:
            fetch(server.url("/x"), policy=policy)
    assert error.value.reason == "too_large"


def test_a_connection_dropped_mid_body_is_transient() -> None:
    policy = FetchPolicy(user_agent="t", max_retries=0)
    with serve({"/x": Route(b"<rss>" + b"a" * 10_000, drop_after=100)}) as server:
        with pytest.raises(TransientFetchError) as error:
            fetch(server.url("/x"), policy=policy)
    assert error.value.reason in {"connection_reset", "connection"}


def test_a_closed_port_is_a_transient_connection_error() -> None:
    with serve({}) as server:
        url = server.url("/x")
    with pytest.raises(TransientFetchError) as error:
        fetch(url, policy=FetchPolicy(user_agent="t", max_retries=0))
    assert error.value.reason == "connection"


def test_redirect_loops_are_terminal() -> None:
    with serve({}) as server:
        server.routes["/a"] = Route(b"", status=302, headers={"Location": server.url("/b")})
        server.routes["/b"] = Route(b"", status=302, headers={"Location": server.url("/a")})
        with pytest.raises(TerminalFetchError) as error:
            fetch(server.url("/a"), policy=POLICY)
    assert error.value.reason == "redirect_loop"


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(TerminalFetchError, match="only http"):
        fetch("ftp://example.org/feed", policy=POLICY)


def test_file_urls_support_conditional_reads(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<rss/>")
    first = fetch(path.as_uri(), policy=POLICY)
    again = fetch(path.as_uri(), policy=POLICY, etag=first.etag)
    assert first.body == b"<rss/>" and again.not_modified
    with pytest.raises(TerminalFetchError):
        fetch((tmp_path / "missing.xml").as_uri(), policy=POLICY)

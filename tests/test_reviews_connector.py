"""The review-page connector over loopback HTTP: politeness, pagination to the cursor, refusals, failures."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors import reviews
from connectors.http import FetchPolicy, TransientFetchError
from connectors.kinds.reviews import ReviewSource, ReviewsState
from connectors.records import SourceState
from tests.feeds_server import Route, serve
from tests.reliability.harness import query, run_day, write_config

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT / "config" / "sample" / "reviews"
FIXTURES = PROJECT / "tests" / "fixtures" / "reviews"
POLICY = FetchPolicy(user_agent="ZMOT-Monitor-tests/1.0", timeout_seconds=5, max_retries=2, backoff_seconds=0.01)
END = datetime(2026, 11, 16, tzinfo=timezone.utc)
HTML = {"Content-Type": "text/html; charset=utf-8"}
ALLOW_ALL = Route(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})


class FakeClock:
    """Time that only moves when the connector sleeps, so the host delay can be checked exactly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _k2_routes() -> dict[str, Route]:
    return {
        "/robots.txt": ALLOW_ALL,
        "/k2/kettleworks-k2-reviews.html": Route((SAMPLE / "kettleworks-k2-reviews.html").read_bytes(), headers=HTML),
        "/k2/kettleworks-k2-reviews-2.html": Route((SAMPLE / "kettleworks-k2-reviews-2.html").read_bytes(), headers=HTML),
    }


def _run(server, paths: list[str], state: SourceState | None = None, *, clock: FakeClock | None = None,
         delay: float = 2.0, policy: FetchPolicy = POLICY, max_pages: int = 5):
    clock = clock or FakeClock()
    plan = ReviewSource(name="k2", kind="reviews", urls=[server.url(p) for p in paths], brand="Kettleworks",
                        product="Kettleworks K2", max_pages=max_pages, host_delay_seconds=delay)
    return reviews.fetch_reviews(
        plan, state=ReviewsState.read(state or SourceState("k2", "reviews")), policy=policy, interval_end=END,
        backfill_start=datetime(2025, 1, 1, tzinfo=timezone.utc), fetched_at=END, sleep=clock.sleep, clock=clock,
    )


def test_pages_are_followed_paced_and_every_review_kept_with_its_rating() -> None:
    clock = FakeClock()
    with serve(_k2_routes()) as server:
        result = _run(server, ["/k2/kettleworks-k2-reviews.html"], clock=clock)
        paths = [r.path for r in server.requests]
        agents = {r.headers.get("User-Agent") for r in server.requests}
    assert paths == ["/robots.txt", "/k2/kettleworks-k2-reviews.html", "/k2/kettleworks-k2-reviews-2.html"]
    assert agents == {POLICY.user_agent}
    assert clock.sleeps == [2.0, 2.0]  # the host delay between each pair of requests
    assert len(result.mentions) == 12 and result.rejects == []
    leak = next(m for m in result.mentions if m.title == "Leaks after three weeks")
    assert leak.rating == 0.0 and leak.author == "Priya S." and leak.published_at == datetime(2026, 11, 14, tzinfo=timezone.utc)
    assert leak.metadata["subject_product"] == "Kettleworks K2" and leak.metadata["aggregate_count"] == 41
    replied = next(m for m in result.mentions if m.title == "Pump got loud")
    assert replied.metadata["reply"].startswith("Sorry to hear this") and replied.rating == 0.25


def test_the_next_run_is_a_conditional_get_and_a_new_review_stops_paging_at_the_cursor() -> None:
    routes = _k2_routes()
    with serve(routes) as server:
        first = _run(server, ["/k2/kettleworks-k2-reviews.html"])
        before = len(server.requests)
        unchanged = _run(server, ["/k2/kettleworks-k2-reviews.html"], first.state)
        assert unchanged.mentions == [] and server.requests[-1].headers.get("If-None-Match")
        page = routes["/k2/kettleworks-k2-reviews.html"].body.decode()
        newest = '{"@type": "Review", "@id": "#review-new", "author": "Zoe", "datePublished": "2026-11-15", "reviewBody": "Arrived broken.", "reviewRating": {"ratingValue": 1}},'
        routes["/k2/kettleworks-k2-reviews.html"] = Route(page.replace('"review": [', '"review": [' + newest, 1).encode(), headers=HTML)
        changed = _run(server, ["/k2/kettleworks-k2-reviews.html"], unchanged.state)
        later = [r.path for r in server.requests[before:]]
    assert "/k2/kettleworks-k2-reviews-2.html" not in later[2:]  # page 2 holds nothing new: not fetched again
    assert {m.text for m in changed.mentions} >= {"Arrived broken."}
    assert len(changed.mentions) == 9  # page 1 re-read whole, so edits and replies land as updates


def test_robots_txt_is_honoured_and_read_once_per_host() -> None:
    routes = _k2_routes()
    routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /k2/kettleworks-k2-reviews-2.html\n", headers={"Content-Type": "text/plain"})
    with serve(routes) as server:
        result = _run(server, ["/k2/kettleworks-k2-reviews.html"])
        assert len(server.requests_for("/robots.txt")) == 1
        assert server.requests_for("/k2/kettleworks-k2-reviews-2.html") == []
    assert [r.reason for r in result.rejects] == ["robots_disallowed"] and len(result.mentions) == 8


def test_a_robots_txt_server_error_keeps_us_away_and_a_missing_one_allows_all() -> None:
    routes = _k2_routes()
    routes["/robots.txt"] = Route(b"oops", status=503)
    with serve(routes) as server:
        away = _run(server, ["/k2/kettleworks-k2-reviews.html"], policy=FetchPolicy(user_agent="t", max_retries=0))
        assert server.requests_for("/k2/kettleworks-k2-reviews.html") == []
    assert [r.reason for r in away.rejects] == ["robots_unavailable"]
    del routes["/robots.txt"]
    with serve(routes) as server:
        allowed = _run(server, ["/k2/kettleworks-k2-reviews.html"])
    assert len(allowed.mentions) == 12


def test_bot_walls_and_refusals_are_rejects_and_the_next_url_is_still_read() -> None:
    routes = _k2_routes()
    routes["/captcha"] = Route((FIXTURES / "amazon_captcha.html").read_bytes(), headers=HTML)
    routes["/forbidden"] = Route((FIXTURES / "cloudflare_challenge.html").read_bytes(), status=403, headers=HTML)
    with serve(routes) as server:
        result = _run(server, ["/captcha", "/forbidden", "/k2/kettleworks-k2-reviews.html"])
    assert [r.reason for r in result.rejects] == ["bot_wall_captcha", "http_403"]
    assert "do not" in result.rejects[0].message and result.rejects[1].payload_excerpt
    assert len(result.mentions) == 12


def test_a_429_waits_for_retry_after_and_a_source_whose_every_page_fails_fails() -> None:
    routes = _k2_routes()
    routes["/k2/kettleworks-k2-reviews.html"] = Route(
        (SAMPLE / "kettleworks-k2-reviews.html").read_bytes(), headers={**HTML, "Retry-After": "9"}, statuses=[429]
    )
    clock = FakeClock()
    with serve(routes) as server:
        result = _run(server, ["/k2/kettleworks-k2-reviews.html"], clock=clock, delay=0)
    assert 9.0 in clock.sleeps and len(result.mentions) == 12
    routes = {"/robots.txt": ALLOW_ALL, "/down": Route(b"", status=503)}
    with serve(routes) as server, pytest.raises(TransientFetchError):
        _run(server, ["/down"], delay=0, policy=FetchPolicy(user_agent="t", max_retries=1, backoff_seconds=0.01))


def test_a_page_over_the_size_limit_is_refused_by_name() -> None:
    routes = _k2_routes()
    routes["/huge"] = Route(b"<html><body>" + b"<p>filler</p>" * 200_000 + b"</body></html>", headers=HTML)
    with serve(routes) as server:
        result = _run(server, ["/huge", "/k2/kettleworks-k2-reviews.html"], delay=0,
                      policy=FetchPolicy(user_agent="t", max_bytes=1_000_000))
    assert [r.reason for r in result.rejects] == ["too_large"] and len(result.mentions) == 12


def test_garbage_instead_of_html_is_a_reject() -> None:
    routes = _k2_routes()
    routes["/binary"] = Route(bytes(range(256)) * 40, headers={"Content-Type": "application/octet-stream"})
    with serve(routes) as server:
        result = _run(server, ["/binary"], delay=0)
    assert [r.reason for r in result.rejects] == ["not_html"] and result.mentions == []


def _undated_review_page(body: str) -> bytes:
    review = {"@context": "https://schema.org", "@type": "Product", "name": "Kettleworks K2", "review": [
        {"@type": "Review", "@id": "#r-undated", "author": "Ana", "reviewBody": body, "reviewRating": {"ratingValue": 2}}]}
    return f'<html><body><script type="application/ld+json">{json.dumps(review)}</script></body></html>'.encode()


def test_an_undated_review_is_stored_once_dated_by_the_first_run_and_an_edit_never_moves_it(tmp_path: Path) -> None:
    page = tmp_path / "k2.html"
    page.write_bytes(_undated_review_page("The Kettleworks K2 leaks."))
    config = write_config(tmp_path / "config", f"sources:\n  - name: k2\n    kind: reviews\n    urls: [{page.as_uri()}]\n"
                                               "    brand: Kettleworks\n    host_delay_seconds: 0\n")
    data = tmp_path / "data"
    run_day(config, data, "2026-11-30")
    page.write_bytes(_undated_review_page("The Kettleworks K2 leaks. Update: the replacement leaks too."))
    edited = run_day(config, data, "2026-12-01")
    run_day(config, data, "2026-11-30")
    assert (edited.load["mentions_new"], edited.load["mentions_updated"]) == (0, 1)
    rows = query(data / "zmot.duckdb", "SELECT text, published_at, date_missing, metadata->>'date_missing' FROM mentions")
    assert rows == [("The Kettleworks K2 leaks. Update: the replacement leaks too.", datetime(2026, 11, 30), True, None)]
    state = json.loads(query(data / "zmot.duckdb", "SELECT state::VARCHAR FROM source_state")[0][0])
    assert state["watermark"] is None  # an undated review's date is each run's own: it never moves the watermark

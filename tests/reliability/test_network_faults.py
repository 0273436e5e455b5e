"""Network faults through a whole daily run: the healthy source is stored, the faulty one is a reject row
with a reason that names the fault and its cursor stays put, and a rerun once the fault is healed stores
what was missing exactly once.

Every source already ran once (a baseline day that stored each source's first items), so "the cursor
stays put" is a real comparison. Servers are loopback only (tests/reliability/fault_server.py); the
resolver is never asked about a real name: `.invalid` hosts fail in a patched getaddrinfo.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors import reddit
from tests.conftest import PROJECT
from tests.reliability.fault_server import Answer, FaultServer, self_signed_tls
from tests.reliability.harness import query, run_day, write_config

DAY0 = "2026-11-10T09:00"  # the baseline: each source's items published by then
DAY = "2026-11-16"  # the faulty day, then its rerun
HTTP = "http:\n  timeout_seconds: 1\n  max_retries: 2\n  backoff_seconds: 0\n  max_retry_after_seconds: 1\n"
HANG = 60  # seconds: far more than any case needs; only proves nothing hangs
ATOM = {"Content-Type": "application/atom+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


def _file(relative: str) -> bytes:
    return (PROJECT / relative).read_bytes()


def _listing(*posts: tuple[str, str, datetime]) -> bytes:
    children = [
        {"kind": "t3", "data": {"id": pid, "name": f"t3_{pid}", "title": title, "selftext": "", "author": "ana",
                                "subreddit": "phones", "created_utc": when.timestamp(), "score": 1, "is_self": True,
                                "permalink": f"/r/phones/comments/{pid}/x/"}}
        for pid, title, when in posts
    ]
    return json.dumps({"kind": "Listing", "data": {"after": None, "before": None, "children": children}}).encode()


NEWS = Answer(200, _file("tests/fixtures/feeds/acme-news.rss.xml"), {"Content-Type": "application/rss+xml"})
FORUM = Answer(200, _file("tests/fixtures/feeds/juniper-forum.atom.xml"), ATOM)
K2_PAGE = "/k2/kettleworks-k2-reviews.html"
K2 = Answer(200, _file("config/sample/reviews/kettleworks-k2-reviews.html"), HTML)
K2_NEXT = Answer(200, _file("config/sample/reviews/kettleworks-k2-reviews-2.html"), HTML)
ALLOW_ALL = Answer(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
TOKEN = Answer(200, b'{"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}', JSON)
PHONES = Answer(200, _listing(("p3", "Acme Mobile outage again", datetime(2026, 11, 14, 9, tzinfo=timezone.utc)),
                              ("p2", "Acme Nova battery?", datetime(2026, 11, 12, 9, tzinfo=timezone.utc)),
                              ("p1", "Acme Mobile support", datetime(2026, 11, 10, 8, tzinfo=timezone.utc))), JSON)
HEALTHY = {"/news.xml": NEWS, "/forum.xml": FORUM, "/robots.txt": ALLOW_ALL, K2_PAGE: K2,
           "/k2/kettleworks-k2-reviews-2.html": K2_NEXT, "/api/v1/access_token": TOKEN, "/r/phones/new": PHONES}


@dataclass(frozen=True)
class Kind:
    """The faulty source of one connector: its sources.yaml block, the path faults hit, what it stores."""

    source: str
    block: Callable[[str], str]  # base URL -> sources.yaml entry
    path: str
    baseline: int  # mentions stored by the baseline day
    total: int  # mentions once every item is in
    ids: list[str] | None = None  # the exact native ids once every item is in, where the fixture makes them short


RSS = Kind("forum", lambda base: f"  - name: forum\n    kind: rss\n    url: {base}/forum.xml\n", "/forum.xml", 1, 3,
           [f"tag:forum.example.net,2026:post-{n}" for n in (1, 2, 3)])
REVIEWS = Kind(
    "k2", lambda base: (f"  - name: k2\n    kind: reviews\n    urls: [{base}{K2_PAGE}]\n    brand: Kettleworks\n"
                        "    product: Kettleworks K2\n    host_delay_seconds: 0\n"), K2_PAGE, 10, 12,
)
REDDIT = Kind(
    "rd", lambda base: ("  - name: rd\n    kind: reddit\n    subreddits: [phones]\n    include_comments: false\n"
                        "    backfill_days: 30\n    http: {timeout_seconds: 1, max_retries: 1, backoff_seconds: 0, "
                        "max_retry_after_seconds: 1}\n"), "/r/phones/new", 1, 3, ["t3_p1", "t3_p2", "t3_p3"],
)
KINDS = {"rss": RSS, "reviews": REVIEWS, "reddit": REDDIT}


def _config(directory: Path, base: str, kind: Kind, faulty_base: str | None = None) -> Path:
    """The healthy feed beside the faulty source; `faulty_base` points the faulty one elsewhere (DNS, TLS)."""
    news = f"  - name: news\n    kind: rss\n    url: {base}/news.xml\n"
    return write_config(directory, HTTP + "sources:\n" + news + kind.block(faulty_base or base))


def _ids(data: Path, source: str) -> list[str]:
    return [r[0] for r in query(data / "zmot.duckdb", "SELECT native_id FROM mentions WHERE source_id = ? ORDER BY 1", [source])]


def _rejects(data: Path) -> list[tuple[str, str, str]]:
    return query(data / "zmot.duckdb", "SELECT source_id, stage, reason FROM rejects ORDER BY ALL")


def _cursor(data: Path, source: str) -> str:
    return query(data / "zmot.duckdb", "SELECT state::VARCHAR FROM source_state WHERE source_id = ?", [source])[0][0]


def _no_duplicates(data: Path) -> None:
    total, distinct = query(data / "zmot.duckdb", "SELECT count(*), count(DISTINCT (source_id, native_id)) FROM mentions")[0]
    assert total == distinct


@pytest.fixture(scope="module")
def web() -> Iterator[FaultServer]:
    with FaultServer(HEALTHY) as server:
        yield server


@pytest.fixture(autouse=True)
def _healthy_web_and_no_real_dns(web: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every path healthy again; Reddit pointed at loopback; a `.invalid` name never reaches a real resolver."""
    for path, answer in HEALTHY.items():
        web.script(path, answer)
    _reddit_env(monkeypatch, web.base)
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - socket's own signature
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _reddit_env(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    for name, value in ((reddit.ENV_OAUTH_URL, base), (reddit.ENV_REDDIT_URL, base),
                        (reddit.ENV_CLIENT_ID, "id"), (reddit.ENV_CLIENT_SECRET, "secret")):
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def baselines(web: FaultServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per connector, a data dir after one healthy baseline day (copied by each case, built once)."""
    made = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        _reddit_env(monkeypatch, web.base)
        for name, kind in KINDS.items():
            root = tmp_path_factory.mktemp(f"baseline-{name}")
            run = run_day(_config(root / "config", web.base, kind), root / "data", DAY0)
            assert run.failed == {}
            assert len(_ids(root / "data", kind.source)) == kind.baseline and _ids(root / "data", "news") == ["guid-a1"]
            made[name] = root / "data"
    return made


def _fault_then_heal(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind_name: str, fault: list[Answer] | None, reason: str,
    *, fails: bool = True, faulty_base: str | None = None, heal: Callable[[], None] = lambda: None,
) -> float:
    """The faulty day, then the healed rerun; returns how long the faulty day took."""
    kind = KINDS[kind_name]
    data = tmp_path / "data"
    shutil.copytree(baselines[kind_name], data)
    config = _config(tmp_path / "config", web.base, kind, faulty_base)
    cursor = _cursor(data, kind.source)
    if fault is not None:
        web.script(kind.path, fault)
    started = time.monotonic()
    run = run_day(config, data, DAY)
    took = time.monotonic() - started
    assert set(run.failed) == ({kind.source} if fails else set())
    assert _ids(data, "news") == ["guid-a1", "guid-a2"]  # the healthy source is stored beside the fault
    assert len(_ids(data, kind.source)) == kind.baseline
    assert _rejects(data) == [(kind.source, "extract", reason)]
    assert _cursor(data, kind.source) == cursor
    web.script(kind.path, {"rss": FORUM, "reviews": K2, "reddit": PHONES}[kind_name])
    heal()
    rerun = run_day(_config(tmp_path / "config", web.base, kind), data, DAY)
    assert rerun.failed == {}
    stored = _ids(data, kind.source)
    assert len(stored) == kind.total and (kind.ids is None or stored == kind.ids)
    assert _ids(data, "news") == ["guid-a1", "guid-a2"]
    assert _rejects(data) == [(kind.source, "extract", reason)]  # the rerun rejected nothing
    assert _cursor(data, kind.source) != cursor
    _no_duplicates(data)
    assert took < HANG
    return took


FEED_BODY = FORUM.body
# (fault, the reject's reason, whether the source fails the run); reviews fail a source only when a transient
# fault hit every URL: a terminal one (a loop, a bad redirect) is a reject beside a source that did its best.
SERVER_FAULTS = {
    "timeout": ([Answer(200, FEED_BODY, ATOM, delay=2.5)], "timeout", True),
    "reset_mid_body": ([Answer(200, FEED_BODY, ATOM, reset_after=200)], "connection_reset", True),
    "slow_loris": ([Answer(200, headers=ATOM, dribble=0.2)], "slow_body", True),
    "slow_loris_headers": ([Answer(200, dribble_headers=0.2)], "slow_response", True),
    "429_without_retry_after": ([Answer(429, b"slow down")], "http_429", True),
    "429_with_huge_retry_after": ([Answer(429, b"", {"Retry-After": "86400"})], "http_429", True),
    "5xx_storm": ([Answer(500), Answer(502), Answer(503)], "http_503", True),
    "redirect_loop": ([Answer(302, headers={"Location": "?again"})], "redirect_loop", False),
    "redirect_to_file": ([Answer(302, headers={"Location": "file:///etc/passwd"})], "bad_redirect", False),
    "not_http": ([Answer(garbage=b"\x00\xffSSH-2.0-OpenSSH\r\n\r\n")], "bad_response", True),
}


@pytest.mark.parametrize("kind", ["rss", "reviews"])
@pytest.mark.parametrize("fault", list(SERVER_FAULTS))
def test_a_server_fault_is_a_named_reject_and_the_healed_rerun_stores_the_rest_once(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind: str, fault: str,
) -> None:
    answers, reason, fails = SERVER_FAULTS[fault]
    took = _fault_then_heal(tmp_path, web, baselines, kind, answers, reason, fails=fails or kind == "rss")
    path = KINDS[kind].path
    if reason.startswith("http_") or reason in ("timeout", "connection_reset"):
        assert web.hits(path) >= 3  # retried: max_retries 2 (it was asked again on the rerun too)
    if fault.startswith("slow_loris"):
        assert took >= 6  # gave up at the deadline (1 s x 3 attempts x 2 + 1 s), not at the first dribble
    if fault == "redirect_to_file":
        excerpts = query(tmp_path / "data" / "zmot.duckdb", "SELECT message || payload_excerpt FROM rejects")
        assert "root:" not in excerpts[0][0]  # the local file was never read


@pytest.mark.parametrize("kind", ["rss", "reviews", "reddit"])
@pytest.mark.parametrize("script", ["429_retry_after_then_ok", "5xx_then_ok"])
def test_a_fault_that_clears_within_the_retries_is_stored_on_the_same_run(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind: str, script: str,
) -> None:
    spec = KINDS[kind]
    healthy = {"rss": FORUM, "reviews": K2, "reddit": PHONES}[kind]
    first = [Answer(429, b"", {"Retry-After": "1"})] if script == "429_retry_after_then_ok" else [Answer(503)]
    web.script(spec.path, [*first, healthy])
    data = tmp_path / "data"
    shutil.copytree(baselines[kind], data)
    run = run_day(_config(tmp_path / "config", web.base, spec), data, DAY)
    assert run.failed == {} and _rejects(data) == []
    stored = _ids(data, spec.source)
    assert len(stored) == spec.total and (spec.ids is None or stored == spec.ids)
    assert _ids(data, "news") == ["guid-a1", "guid-a2"]
    assert web.hits(spec.path) >= 2
    _no_duplicates(data)


@pytest.mark.parametrize("kind", ["rss", "reviews"])
def test_an_unresolvable_host_is_a_dns_reject_and_fixing_the_url_heals_it(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind: str,
) -> None:
    _fault_then_heal(tmp_path, web, baselines, kind, None, "dns", fails=kind == "rss",
                     faulty_base="http://feeds.example.invalid")


@pytest.mark.parametrize("kind", ["rss", "reviews"])
def test_an_untrusted_certificate_is_a_tls_reject_not_retried_and_trusting_it_heals_it(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    context, certificate = self_signed_tls(tmp_path)
    with FaultServer(HEALTHY, tls=context) as secure:
        took = _fault_then_heal(tmp_path, web, baselines, kind, None, "tls", fails=kind == "rss", faulty_base=secure.base,
                                heal=lambda: monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate)))
        assert secure.requests == []  # no request got past the handshake
    assert took < 10  # a TLS failure is terminal: no retries, no backoff


@pytest.mark.parametrize("kind", ["rss", "reviews"])
def test_https_to_a_port_that_speaks_plain_http_is_a_tls_reject(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], kind: str,
) -> None:
    _fault_then_heal(tmp_path, web, baselines, kind, None, "tls", fails=kind == "rss",
                     faulty_base=web.base.replace("http://", "https://"))


# --- robots.txt (RFC 9309): 4xx means no rules, 5xx or no answer means stay away ------------------------


ROBOTS_FAULTS = {
    "robots_500": ([Answer(500, b"oops")], "robots_unavailable", False),
    "robots_503": ([Answer(503, b"busy")], "robots_unavailable", False),
    "robots_timeout": ([Answer(200, ALLOW_ALL.body, delay=2.5)], "timeout", True),
    "robots_reset": ([Answer(200, ALLOW_ALL.body * 20, reset_after=10)], "connection_reset", True),
}


@pytest.mark.parametrize("fault", list(ROBOTS_FAULTS))
def test_a_robots_txt_that_fails_keeps_us_off_the_host_and_says_why(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], fault: str,
) -> None:
    answers, reason, fails = ROBOTS_FAULTS[fault]
    web.script("/robots.txt", answers)
    pages_before = web.hits(K2_PAGE)

    def heal() -> None:
        assert web.hits(K2_PAGE) == pages_before  # stayed away from the pages while robots.txt failed
        web.script("/robots.txt", ALLOW_ALL)

    _fault_then_heal(tmp_path, web, baselines, "reviews", None, reason, fails=fails, heal=heal)


def test_a_missing_robots_txt_allows_everything(tmp_path: Path, web: FaultServer, baselines: dict[str, Path]) -> None:
    web.script("/robots.txt", Answer(404, b"no such file"))
    data = tmp_path / "data"
    shutil.copytree(baselines["reviews"], data)
    run = run_day(_config(tmp_path / "config", web.base, REVIEWS), data, DAY)
    assert run.failed == {} and _rejects(data) == []
    assert len(_ids(data, "k2")) == REVIEWS.total
    _no_duplicates(data)


# --- Reddit through praw -----------------------------------------------------------------------------------


REDDIT_FAULTS = {
    "reset_mid_body": ([Answer(200, PHONES.body, JSON, reset_after=50)], "connection_reset"),
    "slow_loris": ([Answer(200, headers=JSON, dribble=0.2)], "slow_body"),
    "slow_loris_headers": ([Answer(200, dribble_headers=0.2)], "timeout"),
    "429_with_huge_rate_limit_reset": (
        [Answer(429, b"", {"Retry-After": "86400", "x-ratelimit-remaining": "0", "x-ratelimit-used": "600",
                           "x-ratelimit-reset": "86400"})], "http_429"),
    "5xx_storm": ([Answer(500), Answer(502), Answer(503)], "http_503"),
    "timeout": ([Answer(200, PHONES.body, JSON, delay=2.5)], "timeout"),
}


@pytest.mark.parametrize("fault", [pytest.param(f, marks=pytest.mark.slow) if f in ("5xx_storm", "timeout") else f
                                   for f in REDDIT_FAULTS])
def test_a_reddit_fault_is_a_named_reject_and_the_healed_rerun_stores_the_rest_once(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path], fault: str,
) -> None:
    answers, reason = REDDIT_FAULTS[fault]
    _fault_then_heal(tmp_path, web, baselines, "reddit", answers, reason)
    assert web.hits(REDDIT.path) >= 3  # retried (praw's own retries included), then healed


def test_reddit_rate_limit_headers_that_are_not_numbers_do_not_crash_the_run(
    tmp_path: Path, web: FaultServer, baselines: dict[str, Path],
) -> None:
    headers = {**JSON, "x-ratelimit-remaining": "lots", "x-ratelimit-used": "1", "x-ratelimit-reset": "soon"}
    web.script(REDDIT.path, Answer(200, PHONES.body, headers))
    data = tmp_path / "data"
    shutil.copytree(baselines["reddit"], data)
    run = run_day(_config(tmp_path / "config", web.base, REDDIT), data, DAY)
    assert run.failed == {} and _rejects(data) == []
    assert _ids(data, "rd") == REDDIT.ids

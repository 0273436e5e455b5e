"""`kind: hackernews` against a loopback stand-in for the Algolia HN Search API, which filters and pages the
fixture's hits as the API documents (numericFilters on created_at_i, tags, page/nbPages, a paging limit)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from connectors.http import FetchPolicy, TerminalFetchError
from connectors.kinds import KINDS
from connectors.kinds.base import Window
from connectors.kinds.hackernews import HackerNewsSource, HackerNewsState
from connectors.records import ExtractResult
from tests.conftest import PROJECT
from zmot.cli import main
from zmot.config import SourcesConfig, load_config

FIXTURE = json.loads((PROJECT / "tests" / "fixtures" / "hackernews" / "search_by_date.json").read_text())
END = datetime(2026, 11, 11, tzinfo=timezone.utc)
POLICY = FetchPolicy(user_agent="zmot-test", timeout_seconds=2, max_retries=1, backoff_seconds=0)


class FakeAlgolia:
    """Answers search_by_date from `hits` as Algolia would: newest first, `page_size` a page, no page past
    `pagination_limit` hits; `statuses` are answered first, one per request."""

    def __init__(self, hits: list[dict], *, page_size: int = 2, pagination_limit: int = 1000) -> None:
        self.hits, self.page_size, self.pagination_limit = hits, page_size, pagination_limit
        self.statuses: list[tuple[int, dict[str, str]]] = []
        self.queries: list[dict[str, str]] = []

    def answer(self, query: dict[str, str]) -> dict:
        low, high = (int(part.split("=")[1]) for part in query["numericFilters"].split(","))
        tags = set(query["tags"].strip("()").split(","))
        found = sorted((h for h in self.hits if low <= h["created_at_i"] <= high and tags & set(h["_tags"])),
                       key=lambda h: -h["created_at_i"])
        pages = -(-min(len(found), self.pagination_limit) // self.page_size)
        page = int(query["page"])
        return {"hits": found[page * self.page_size:(page + 1) * self.page_size], "nbHits": len(found), "page": page,
                "nbPages": pages, "hitsPerPage": self.page_size, "query": query["query"], "processingTimeMS": 1}


@contextmanager
def serving(api: FakeAlgolia) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            api.queries.append(query)
            status, headers = api.statuses.pop(0) if api.statuses else (200, {})
            body = json.dumps(api.answer(query)).encode() if status == 200 and parts.path == "/api/v1/search_by_date" else b"{}"
            self.send_response(status if parts.path == "/api/v1/search_by_date" else 404)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


def _source(api_url: str, **keys) -> HackerNewsSource:
    return HackerNewsSource(name="hn", kind="hackernews", query="acme", api_url=api_url, request_delay_seconds=0.25, **keys)


def _window(end: datetime = END) -> Window:
    return Window(interval_end=end, backfill_start=end - timedelta(days=7), fetched_at=end,
                  keep=lambda text: "acme" in text.casefold())


def _run(api: FakeAlgolia, state: HackerNewsState | None = None, *, end: datetime = END, **keys) -> tuple[ExtractResult, list[float]]:
    pauses: list[float] = []
    with serving(api) as url:
        result = KINDS["hackernews"].fetch(_source(url, **keys), state or HackerNewsState(), _window(end), POLICY, pauses.append)
    return result, pauses


def test_a_hackernews_source_is_configured_by_query_with_stories_and_comments_by_default() -> None:
    sources = SourcesConfig.model_validate({"sources": [{"name": "hn", "kind": "hackernews", "query": "Acme Mobile"}]})
    (source,) = sources.sources
    assert isinstance(source, HackerNewsSource) and source.tags == ["story", "comment"]
    assert source.describe() == "Hacker News story/comment matching 'Acme Mobile'"
    with pytest.raises(ValidationError, match="tags"):
        HackerNewsSource(name="hn", kind="hackernews", query="acme", tags=["poll"])


def test_stories_and_comments_that_name_a_brand_become_mentions_with_points_and_thread_ids() -> None:
    api = FakeAlgolia(FIXTURE["hits"])
    result, pauses = _run(api)
    by_id = {m.native_id: m for m in result.mentions}
    assert set(by_id) == {"41000005", "41000004", "41000003", "41000001"}  # h2 names Acme only in its story's title; h0 is deleted
    comment, story = by_id["41000005"], by_id["41000004"]
    assert comment.text == "I left Acme Mobile after the third outage. Never again." and comment.title == "Acme Mobile raises prices again"
    assert comment.metadata == {"kind": "comment", "parent_id": 41000004, "story_id": 41000004,
                                "link_url": "https://news.example.com/acme-prices"}
    assert story.metadata["points"] == 12 and story.metadata["num_comments"] == 3 and story.metadata["kind"] == "story"
    assert story.url == "https://news.ycombinator.com/item?id=41000004" and story.author == "erin"
    assert by_id["41000003"].text == "Looking at Acme Mobile vs Orbit Telecom & wondering."
    assert story.published_at == datetime(2026, 11, 10, 17, tzinfo=timezone.utc)
    assert [q["page"] for q in api.queries] == ["0", "1", "2"]  # six hits, two a page
    first = api.queries[0]
    assert first["tags"] == "(story,comment)" and first["query"] == "acme"
    assert first["numericFilters"] == f"created_at_i>={int((END - timedelta(days=7)).timestamp())},created_at_i<={int(END.timestamp())}"
    assert pauses == [0.25, 0.25] and result.requests == 3 and result.rejects == []  # a pause before every request but the first
    state = HackerNewsState.read(result.state)
    assert state.watermark == datetime(2026, 11, 10, 18, tzinfo=timezone.utc) and state.boundary_ids == ["41000005"]


def test_the_next_run_reads_from_the_cursor_and_stores_nothing_twice_at_its_second() -> None:
    first, _ = _run(FakeAlgolia(FIXTURE["hits"]))
    twin = {**FIXTURE["hits"][0], "objectID": "41000006", "comment_text": "Acme Mobile support hung up on me too."}
    later = {**FIXTURE["hits"][1], "objectID": "41000007", "created_at_i": 1794340800, "title": "Acme Mobile refunds customers"}
    api = FakeAlgolia([later, twin, *FIXTURE["hits"]])
    second, _ = _run(api, HackerNewsState.read(first.state), end=END + timedelta(days=1))
    assert [m.native_id for m in second.mentions] == ["41000007", "41000006"]  # the twin shares the cursor's second
    assert api.queries[0]["numericFilters"].startswith("created_at_i>=1794333600,")
    assert HackerNewsState.read(second.state).boundary_ids == ["41000007"]


def test_past_algolias_paging_limit_it_searches_again_below_the_oldest_hit_read() -> None:
    api = FakeAlgolia(FIXTURE["hits"], pagination_limit=4)
    result, _ = _run(api)
    assert {m.native_id for m in result.mentions} == {"41000005", "41000004", "41000003", "41000001"}
    assert api.queries[2]["numericFilters"].endswith(",created_at_i<=1794308400")  # the fourth hit's second, re-read inclusive
    assert HackerNewsState.read(result.state).watermark == datetime(2026, 11, 10, 18, tzinfo=timezone.utc)


def test_a_rate_limited_answer_is_waited_for_and_retried() -> None:
    api = FakeAlgolia(FIXTURE["hits"], page_size=10)
    api.statuses.append((429, {"Retry-After": "0"}))
    result, _ = _run(api)
    assert len(result.mentions) == 4 and result.requests == 2 and len(api.queries) == 2


def test_running_out_of_requests_stores_what_was_read_and_leaves_the_cursor() -> None:
    result, _ = _run(FakeAlgolia(FIXTURE["hits"]), max_requests=2)
    assert {m.native_id for m in result.mentions} == {"41000005", "41000004", "41000003"}
    assert result.rejects[0].reason == "request_cap" and HackerNewsState.read(result.state) == HackerNewsState()


def test_a_hit_of_the_wrong_shape_is_rejected_and_the_cursor_waits() -> None:
    odd = {**FIXTURE["hits"][1], "objectID": "41000009", "points": "many"}
    result, _ = _run(FakeAlgolia([odd, *FIXTURE["hits"]], page_size=10))
    assert len(result.mentions) == 4 and [r.reason for r in result.rejects] == ["unexpected_item"]
    assert "points of the wrong type" in result.rejects[0].message and HackerNewsState.read(result.state) == HackerNewsState()


def test_a_wrong_api_url_fails_as_terminal_after_one_request() -> None:
    api = FakeAlgolia(FIXTURE["hits"])
    with serving(api) as url, pytest.raises(TerminalFetchError, match="404"):
        KINDS["hackernews"].fetch(_source(url + "/nope"), HackerNewsState(), _window(), POLICY)
    assert len(api.queries) == 1


def _demo_source(name: str) -> HackerNewsSource:
    (source,) = (s for s in load_config(PROJECT / "config" / "sample").sources.sources if s.name == name)
    assert isinstance(source, HackerNewsSource)
    return source


def test_the_demos_recorded_answer_gives_each_run_only_the_hits_of_its_range_and_nothing_twice() -> None:
    """The file answers every search with all its hits (it cannot apply numericFilters): the run before the
    outage must not store the outage thread nor move its cursor past its interval; the next one reads it."""
    source = _demo_source("hn-acme")
    assert source.api_url == (PROJECT / "config" / "sample" / "hackernews" / "acme").as_uri()  # against the config folder
    before = datetime(2026, 11, 10, tzinfo=timezone.utc)
    window = Window(interval_end=before, backfill_start=before - timedelta(days=60), fetched_at=before,
                    keep=lambda text: "acme" in text.casefold())
    first = KINDS["hackernews"].fetch(source, HackerNewsState(), window, POLICY)
    assert sorted(m.native_id for m in first.mentions) == ["47390512", "47390977", "47392340", "47598830", "47599402", "47606118"]
    assert first.requests == 1 and first.rejects == [] and first.state.watermark == datetime(2026, 10, 28, 9, 30, 47, tzinfo=timezone.utc)
    after = before + timedelta(days=3)
    second = KINDS["hackernews"].fetch(source, HackerNewsState.read(first.state), replace(window, interval_end=after), POLICY)
    by_id = {m.native_id: m for m in second.mentions}
    assert sorted(by_id) == ["47741207", "47741655", "47755930"]  # the outage thread, read once it is inside the range
    assert by_id["47741207"].metadata["points"] == 412 and by_id["47741655"].metadata["parent_id"] == 47741207
    assert second.requests == 1 and second.state.watermark == datetime(2026, 11, 12, 19, 40, 6, tzinfo=timezone.utc)


def test_a_recorded_answer_of_more_than_one_page_is_refused_as_terminal(tmp_path: Path) -> None:
    (tmp_path / "search_by_date.json").write_text(json.dumps({"hits": FIXTURE["hits"], "page": 0, "nbPages": 2, "nbHits": 150}))
    with pytest.raises(TerminalFetchError, match="put every hit on page 0 and set nbPages to 1"):
        KINDS["hackernews"].fetch(_source(tmp_path.as_uri()), HackerNewsState(), _window(), POLICY)


def test_check_config_names_a_missing_recorded_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cfg"
    shutil.copytree(PROJECT / "config" / "sample", config)
    (config / "hackernews" / "kettleworks" / "search_by_date.json").unlink()
    assert main(["check-config", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"config error: {config / 'sources.yaml'}: sources[hn-kettleworks].api_url: no such file "
        f"{config / 'hackernews' / 'kettleworks' / 'search_by_date.json'}; expected an existing file "
        "(file: paths are relative to the config directory)\n")

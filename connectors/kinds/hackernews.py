"""`kind: hackernews`: Hacker News stories and comments that match a search, through the public Algolia HN
Search API (https://hn.algolia.com/api): `search_by_date`, newest first, paged by `page`/`nbPages`.

A `file:` `api_url` names a folder holding one recorded answer, `search_by_date.json` (the demo's replay):
it is read whole for every search, whatever the query string asks, so its `nbPages` must be 1."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import AfterValidator, Field

from connectors.kinds.base import HttpPolicy, KindSpec, KindState, SourceConfig, WebUrl, Window, printable
from connectors.records import ExtractResult, Mention, Reject

if TYPE_CHECKING:
    from connectors.http import FetchPolicy

SOURCE_KIND = "hackernews"
HN_ITEM = "https://news.ycombinator.com/item?id="
HITS_PER_PAGE = 100
RAW_LIMIT = 20_000
TEXT_FIELDS = ("title", "url", "author", "story_text", "comment_text", "story_title", "story_url")
NUMBER_FIELDS = ("points", "parent_id", "story_id", "num_comments")


class HackerNewsSource(SourceConfig):
    """Everything Hacker News says that matches `query`; its rate limit is 10,000 requests an hour per address."""

    kind: Literal["hackernews"]
    query: Annotated[str, AfterValidator(printable)] = Field(min_length=1, max_length=512, description='Algolia search text, e.g. "Acme Mobile".')
    tags: list[Literal["story", "comment"]] = Field(default=["story", "comment"], min_length=1,
                                                    description="Which items to read: stories, comments or both.")
    api_url: WebUrl = Field(default="https://hn.algolia.com/api/v1",
                            description="The HN Search API's base URL, or a file: folder with a recorded answer.")
    max_requests: int = Field(default=50, ge=1, le=1000, description="Requests per run; the cursor waits when they run out.")
    request_delay_seconds: float = Field(default=0.5, ge=0, le=60, description="Pause between requests (under 10,000 an hour).")
    backfill_days: int = Field(default=7, ge=0, le=3650)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        recorded = f", recorded in {search_url(self.api_url)}" if self.api_url.startswith("file:") else ""
        return f"Hacker News {'/'.join(self.tags)} matching {self.query!r}{recorded}"

    def local_urls(self) -> list[tuple[str, str]]:
        return [("api_url", search_url(self.api_url))]


class HackerNewsState(KindState):
    """`watermark` is the newest created_at stored (whole seconds, as `created_at_i`), `boundary_ids` the
    objectIDs created in that second, so the next run's inclusive `created_at_i>=` re-reads it without twins."""

    boundary_ids: list[str] = Field(default_factory=list)


def fetch(config: HackerNewsSource, state: HackerNewsState, window: Window, http: FetchPolicy,
          sleep: Callable[[float], None] = time.sleep) -> ExtractResult:
    """The stories and comments since the cursor that name a watched brand. Pages newest first through
    [cursor or backfill start, interval end]; when Algolia's paging (1,000 hits) ends before the results
    do, it searches again below the oldest hit read."""
    wm = int(state.watermark.timestamp()) if state.watermark else None
    lower = max(wm or 0, math.ceil(window.backfill_start.timestamp()))
    upper = int(window.interval_end.timestamp())
    boundary = set(state.boundary_ids) if lower == wm else set()
    hits: dict[str, dict[str, Any]] = {}
    rejects: list[Reject] = []
    requests, complete = 0, False
    while requests < config.max_requests and not complete:
        oldest = upper
        for page in _pages(config, lower, upper, http, sleep, first=requests == 0):
            requests += page.requests
            for hit in page.hits:
                if problem := _malformed(hit):
                    rejects.append(Reject(config.name, SOURCE_KIND, "extract", "unexpected_item",
                                          f"a search hit with {problem}; skipped, the cursor waits", page.url,
                                          json.dumps(hit, default=str)[:500]))
                    continue
                if not lower <= hit["created_at_i"] <= upper:
                    continue  # outside the range asked for: a recorded answer ignores numericFilters
                hits.setdefault(hit["objectID"], hit)
                oldest = min(oldest, hit["created_at_i"])
            if requests >= config.max_requests and not page.last:
                break
        else:
            complete = page.exhaustive or oldest == upper
        upper = oldest
    fresh = [hit for hit in hits.values() if not (hit["created_at_i"] == lower and hit["objectID"] in boundary)]
    mentions = [mention for hit in fresh if (mention := hit_to_mention(hit, config.name, window))]
    next_state = _advance(state, list(hits.values())) if complete and not rejects else state
    if not complete:
        rejects.append(Reject(config.name, SOURCE_KIND, "extract", "request_cap",
                              f"{config.max_requests} requests did not reach the cursor; what was read is stored, the "
                              "cursor waits: raise max_requests or narrow the query", config.api_url))
    return ExtractResult(config.name, SOURCE_KIND, mentions, next_state.stored(config.name, SOURCE_KIND), rejects, requests)


class _Page:
    """One answer of search_by_date: its hits, whether it is the last page of this search, and whether the
    search's pages held every hit (Algolia stops paging at 1,000)."""

    def __init__(self, url: str, body: Any, requests: int) -> None:
        from connectors.http import TransientFetchError

        if not isinstance(body, dict) or not isinstance(body.get("hits"), list) or not all(
                isinstance(body.get(key), int) and not isinstance(body.get(key), bool) for key in ("page", "nbPages", "nbHits")):
            raise TransientFetchError("unexpected_json", url, "the HN Search API's answer has no hits, page, nbPages and "
                                      "nbHits; nothing stored, the cursor stays", json.dumps(body, default=str)[:500])
        self.url, self.hits, self.requests = url, body["hits"], requests
        self.last = body["page"] + 1 >= body["nbPages"]
        self.exhaustive = body["nbHits"] <= body["nbPages"] * int(body.get("hitsPerPage") or HITS_PER_PAGE)


def _pages(config: HackerNewsSource, lower: int, upper: int, http: FetchPolicy, sleep: Callable[[float], None], *,
           first: bool) -> Iterator[_Page]:
    """The pages of one search over [lower, upper], pausing before every request but a run's first."""
    from connectors.http import TerminalFetchError, TransientFetchError
    from connectors.http import fetch as get

    page = 0
    while True:
        if page or not first:
            sleep(config.request_delay_seconds)
        params = {"query": config.query, "tags": f"({','.join(config.tags)})", "hitsPerPage": HITS_PER_PAGE, "page": page,
                  "numericFilters": f"created_at_i>={lower},created_at_i<={upper}"}
        url = f"{search_url(config.api_url)}?{urlencode(params)}"
        response = get(url, policy=http)
        try:
            answer = _Page(url, json.loads(response.body), response.requests)
        except ValueError:
            raise TransientFetchError("unexpected_json", url, "the HN Search API answered with a body that is not JSON; "
                                      "nothing stored, the cursor stays", response.body[:500].decode("utf-8", "replace")) from None
        if url.startswith("file:") and not answer.last:
            raise TerminalFetchError("unexpected_json", url, "a recorded answer is the whole search, read again for every "
                                     "page: put every hit on page 0 and set nbPages to 1")
        yield answer
        if answer.last:
            return
        page += 1


def search_url(api_url: str) -> str:
    """search_by_date under the API's URL; under a `file:` folder, the recorded answer in it."""
    return api_url.rstrip("/") + ("/search_by_date.json" if api_url.startswith("file:") else "/search_by_date")


def _malformed(hit: Any) -> str | None:
    """Why a hit is not a story or comment we can read, or None when it is one."""
    if not isinstance(hit, dict):
        return f"a {type(hit).__name__}"
    if not isinstance(hit.get("objectID"), str) or not hit["objectID"]:
        return "no objectID"
    created = hit.get("created_at_i")
    if isinstance(created, bool) or not isinstance(created, int):
        return f"created_at_i {str(created)[:20]!r}"
    if not isinstance(hit.get("_tags") or [], list):
        return "_tags not a list"
    wrong = [key for key in TEXT_FIELDS if hit.get(key) is not None and not isinstance(hit[key], str)]
    wrong += [key for key in NUMBER_FIELDS if hit.get(key) is not None and (isinstance(hit[key], bool) or not isinstance(hit[key], int))]
    return f"{', '.join(wrong)} of the wrong type" if wrong else None


def hit_to_mention(hit: dict[str, Any], source_id: str, window: Window) -> Mention | None:
    """A story or comment as a mention, or None when it names no watched brand (a comment by its own words,
    not its story's title) or is deleted."""
    from connectors.text import clean_text, clean_url, html_to_text

    is_comment = "comment" in (hit.get("_tags") or []) or hit.get("comment_text") is not None
    text = clean_text(html_to_text(hit.get("comment_text") or hit.get("story_text") or ""))
    title = clean_text((hit.get("story_title") if is_comment else hit.get("title")) or "") or None
    if not (text or title) or not window.keep(text if is_comment else f"{title or ''}\n{text}"):
        return None
    metadata: dict[str, Any] = {
        "kind": "comment" if is_comment else "story", "points": hit.get("points"), "parent_id": hit.get("parent_id"),
        "story_id": hit.get("story_id"),
        "num_comments": hit.get("num_comments"), "link_url": clean_url(hit.get("url") or hit.get("story_url") or "") or None,
    }
    return Mention(
        source_kind=SOURCE_KIND, source_id=source_id, native_id=hit["objectID"], url=HN_ITEM + hit["objectID"],
        author=clean_text(hit.get("author") or "") or None, title=title, text=text,
        published_at=datetime.fromtimestamp(hit["created_at_i"], tz=timezone.utc), fetched_at=window.fetched_at,
        metadata={k: v for k, v in metadata.items() if v is not None}, raw=json.dumps(hit, ensure_ascii=False)[:RAW_LIMIT],
    )


def _advance(state: HackerNewsState, hits: list[dict[str, Any]]) -> HackerNewsState:
    """The cursor after a complete read: the newest second read and every id created in it (read now or before)."""
    newest = max((hit["created_at_i"] for hit in hits), default=None)
    if newest is None or (state.watermark and newest < state.watermark.timestamp()):
        return state
    at_newest = {hit["objectID"] for hit in hits if hit["created_at_i"] == newest}
    carried = set(state.boundary_ids) if state.watermark and newest == state.watermark.timestamp() else set()
    return HackerNewsState(watermark=datetime.fromtimestamp(newest, tz=timezone.utc), boundary_ids=sorted(at_newest | carried))


SPEC = KindSpec(SOURCE_KIND, HackerNewsSource, HackerNewsState, fetch)

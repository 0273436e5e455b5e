"""Review pages as a source: fetch politely, extract every review, follow pagination to the cursor.

Politeness comes first: robots.txt is read once per host per run (RFC 9309: a 4xx means no rules,
a 5xx or no answer means stay away), requests to one host are spaced by the configured delay or
the site's Crawl-delay, whichever is longer, and page 1 is fetched conditionally. A refusal (403,
429 after retries, a bot wall or login page) is a reject row and a warning, never a workaround.

Pages are newest first; paging stops at the first page that holds a review we already stored
(the cursor keeps the newest ids per URL) or at `max_pages`. Reviews on page 1 are re-read every
run, which is how an edited review or a new company reply reaches the warehouse (as an update).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests

from connectors.http import FetchError, FetchPolicy, FetchResponse, TransientFetchError, fetch, polite_session
from connectors.kinds.reviews import ListingCursor, ReviewSource, ReviewsState
from connectors.records import ExtractResult, Mention, Reject, first_seen_at, utc
from connectors.review_extract import ExtractedReview, PageExtraction, ReviewPageError, extract_page

log = logging.getLogger(__name__)

SOURCE_KIND = "reviews"
SEEN_PER_URL = 200
RAW_LIMIT = 8_000


@dataclass
class _Politeness:
    """Per-host robots rules and request spacing, for one run."""

    policy: FetchPolicy
    host_delay: float
    session: requests.Session
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    robots: dict[str, urllib.robotparser.RobotFileParser | FetchError | None] = field(default_factory=dict)
    last_request: dict[str, float] = field(default_factory=dict)
    requests: int = 0

    def refusal(self, url: str) -> tuple[str, str] | None:
        """Why robots.txt keeps us off this URL, or None when we may fetch it."""
        if url.startswith("file:"):
            return None
        origin = _origin(url)
        if origin not in self.robots:
            self.robots[origin] = self._read_robots(origin)
        rules = self.robots[origin]
        if isinstance(rules, FetchError):
            raise rules  # the host itself is unreachable: the reject names why (timeout, dns, tls...)
        if rules is None:
            return "robots_unavailable", f"{origin}/robots.txt answered a server error; we stay away until it works"
        if not rules.can_fetch(self.policy.user_agent, url):
            return "robots_disallowed", f"{url}: robots.txt does not allow us to fetch this page; skipped"
        return None

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResponse:
        self._wait_turn(url)
        try:
            response = fetch(url, policy=self.policy, etag=etag, last_modified=last_modified, session=self.session, sleep=self.sleep)
        finally:
            self.last_request[_origin(url)] = self.clock()
        self.requests += response.requests
        return response

    def _wait_turn(self, url: str) -> None:
        if url.startswith("file:"):
            return
        origin = _origin(url)
        rules = self.robots.get(origin)
        crawl_delay = rules.crawl_delay(self.policy.user_agent) if isinstance(rules, urllib.robotparser.RobotFileParser) else None
        delay = max(self.host_delay, float(crawl_delay or 0))
        last = self.last_request.get(origin)
        if last is not None and (wait := last + delay - self.clock()) > 0:
            self.sleep(wait)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | FetchError | None:
        """The host's rules. None means "stay away": robots.txt answered 5xx or 429 (RFC 9309 2.3.1.4).
        A FetchError means no answer at all (timeout, DNS, TLS, reset): we stay away too, and say why."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            response = self.get(origin + "/robots.txt")
            parser.parse(response.body.decode("utf-8", "replace").splitlines())
        except FetchError as exc:
            if not exc.reason.startswith("http_"):
                return exc
            if exc.transient:
                return None
            parser.parse([])  # 4xx, no robots.txt: everything is allowed (RFC 9309 2.3.1.3)
        return parser


def fetch_reviews(
    plan: ReviewSource,
    *,
    state: ReviewsState,
    policy: FetchPolicy,
    interval_end: datetime,
    backfill_start: datetime,
    fetched_at: datetime,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExtractResult:
    """Every review page of the source; a source fails only when no URL could be read at all."""
    source_id = plan.name
    own_session = session is None
    polite = _Politeness(policy, plan.host_delay_seconds, session or polite_session(), sleep, clock)
    run = _Run(source_id, plan, state, utc(interval_end), utc(backfill_start), utc(fetched_at))
    failures: list[FetchError] = []
    try:
        for url in plan.urls:
            try:
                run.read(polite, url)
            except FetchError as exc:
                failures.append(exc)
                run.reject(exc.reason, f"{url}: {exc.message}", exc.url, exc.excerpt)
                log.warning("reviews %s: %s: %s", source_id, url, exc.message)
    finally:
        if own_session:
            polite.session.close()
    transient = [f for f in failures if isinstance(f, TransientFetchError)]
    if plan.urls and len(transient) == len(plan.urls):
        raise transient[0]
    log.info("reviews %s: %d reviews from %d pages, %d rejects, %d requests",
             source_id, len(run.mentions), run.pages, len(run.rejects), polite.requests)
    return ExtractResult(source_id, SOURCE_KIND, list(run.mentions.values()), run.next_state().stored(source_id, SOURCE_KIND), run.rejects,
                         polite.requests, held_back=run.held_back)


def review_to_mention(
    review: ExtractedReview, page: PageExtraction, *, source_id: str, page_url: str, start_url: str,
    fetched_at: datetime, undated_at: datetime | None = None, subject_brand: str | None = None,
    subject_product: str | None = None,
) -> Mention:
    """One review as a mention; the site's host scopes its id, so two sites never collide.

    A review without a date gets `undated_at` (the run's first_seen_at; fetched_at outside a run) and the
    date_missing flag; the loader keeps the date of the run that stored it first.
    """
    published = utc(review.published_at) if review.published_at else undated_at or fetched_at
    metadata = {
        "site": urlsplit(start_url).hostname or "file", "page_url": page_url, "item": review.item_name,
        "item_brand": review.item_brand, "rating_raw": review.rating_raw, "verified": review.verified,
        "reply": review.reply, "extracted_by": review.extracted_by,
        "aggregate_rating": page.aggregate.value if page.aggregate else None,
        "aggregate_count": page.aggregate.count if page.aggregate else None,
        "subject_brand": subject_brand, "subject_product": subject_product,
    }
    raw = json.dumps(asdict(review), ensure_ascii=False, default=str)[:RAW_LIMIT]
    return Mention(
        source_kind=SOURCE_KIND, source_id=source_id, native_id=f"{metadata['site']}:{review.native_id}",
        url=page_url, author=review.author, title=review.title, text=review.body, published_at=published,
        fetched_at=fetched_at, rating=review.rating, metadata=metadata, raw=raw, date_missing=review.published_at is None,
    )


class _Run:
    def __init__(self, source_id: str, plan: ReviewSource, state: ReviewsState, interval_end: datetime,
                 backfill_start: datetime, fetched_at: datetime) -> None:
        self.source_id, self.plan, self.state = source_id, plan, state
        self.interval_end, self.backfill_start, self.fetched_at = interval_end, backfill_start, fetched_at
        self.mentions: dict[str, Mention] = {}
        self.rejects: list[Reject] = []
        self.listings = {url: cursor.model_copy() for url, cursor in state.listings.items()}
        self.pages = 0
        self.held_back = 0

    def reject(self, reason: str, message: str, url: str | None = None, excerpt: str = "") -> None:
        self.rejects.append(Reject(self.source_id, SOURCE_KIND, "extract", reason, message, url, excerpt[:2000]))

    def read(self, polite: _Politeness, start_url: str) -> None:
        """Page 1 conditionally, then next pages until a known review, the page limit or the end."""
        seen = list(self._listing(start_url).seen)
        newest_ids: list[str] = []
        url: str | None = start_url
        visited: set[str] = set()
        for page_number in range(1, self.plan.max_pages + 1):
            if url is None or url in visited:
                return self._remember(start_url, newest_ids, seen)
            visited.add(url)
            if refusal := polite.refusal(url):
                self.reject(*refusal, url)
                log.warning("reviews %s: %s", self.source_id, refusal[1])
                return self._remember(start_url, newest_ids, seen)
            first = page_number == 1
            response = polite.get(url, *self._validators(start_url) if first else (None, None))
            if response.not_modified:
                return self._remember(start_url, newest_ids, seen)
            self.pages += 1
            excerpt = response.body[:500].decode("utf-8", "replace")
            if not response.body.strip():
                self.reject("empty_body", f"{url}: the server sent an empty page instead of reviews", url)
                return self._remember(start_url, newest_ids, seen)
            try:
                page = extract_page(response.body, url=response.url or url, content_type=response.content_type)
            except ReviewPageError as exc:
                self.reject(exc.reason, f"{url}: {exc}", url, excerpt)
                return self._remember(start_url, newest_ids, seen)
            for reason, message in page.damage:  # what was readable is kept; the reject says what was not
                self.reject(reason, f"{url}: {message}", url, excerpt)
            if page.bot_wall:
                self.reject(f"bot_wall_{page.bot_wall}", f"{url}: the site showed a {page.bot_wall.replace('_', ' ')} page "
                            "instead of reviews; we do not get around it", url, excerpt)
                log.warning("reviews %s: %s at %s", self.source_id, page.bot_wall, url)
                return self._remember(start_url, newest_ids, seen)
            held_before = self.held_back
            known = self._take(page, url, start_url, seen, newest_ids)
            if first and self.held_back == held_before:  # a 304 next time must not hide reviews held back now
                self._store_validators(start_url, response.etag, response.last_modified)
            if known:
                break
            url = page.next_url
        self._remember(start_url, newest_ids, seen)

    def _take(self, page: PageExtraction, page_url: str, start_url: str, seen: list[str], newest_ids: list[str]) -> bool:
        known = False
        for review in page.reviews:
            mention = review_to_mention(
                review, page, source_id=self.source_id, page_url=page_url, start_url=start_url,
                fetched_at=self.fetched_at, undated_at=first_seen_at(self.fetched_at, self.interval_end),
                subject_brand=self.plan.brand,
                subject_product=self.plan.product,
            )
            known = known or mention.native_id in seen
            if mention.published_at > self.interval_end:
                self.held_back += 1
                continue
            if mention.published_at < self.backfill_start and mention.native_id not in seen:
                continue
            newest_ids.append(mention.native_id)
            self.mentions.setdefault(mention.native_id, mention)
        return known

    def _remember(self, start_url: str, newest_ids: list[str], seen: list[str]) -> None:
        ordered = list(dict.fromkeys(newest_ids + seen))[:SEEN_PER_URL]
        if ordered:
            self._listing(start_url).seen = ordered

    def _listing(self, start_url: str) -> ListingCursor:
        return self.listings.setdefault(start_url, ListingCursor())

    def _validators(self, start_url: str) -> tuple[str | None, str | None]:
        cursor = self._listing(start_url)
        return cursor.etag, cursor.last_modified

    def _store_validators(self, start_url: str, etag: str | None, modified: str | None) -> None:
        cursor = self._listing(start_url)
        cursor.etag, cursor.last_modified = etag or None, modified or None

    def next_state(self) -> ReviewsState:
        times = [m.published_at for m in self.mentions.values() if not m.date_missing]  # undated: each run's own date
        watermark = max([*times, *([self.state.watermark] if self.state.watermark else [])], default=None)
        listings = {url: cursor for url, cursor in self.listings.items() if cursor != ListingCursor()}
        return ReviewsState(watermark=watermark, listings=listings)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

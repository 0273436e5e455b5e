"""RSS and Atom feeds: conditional GET, a per-feed cursor, brand prefilter, and malformed input
rejected clearly instead of crashing the run."""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import requests

from connectors.http import FetchPolicy, TerminalFetchError, fetch
from connectors.kinds.rss import RssState
from connectors.records import ExtractResult, Mention, Reject, first_seen_at
from connectors.text import clean_text, clean_url, html_to_text

log = logging.getLogger(__name__)

SOURCE_KIND = "rss"
RAW_LIMIT = 20_000
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*(?:<!doctype html|<html)", re.IGNORECASE | re.DOTALL)
_DOCUMENT_END = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*$")
_TRACKING = re.compile(r"^(?:utm_|fbclid$|gclid$|mc_)")
# Full-text extension elements by namespace URI (lower case, no trailing slash) and local name:
# Yandex News' full text and Yandex Turbo pages' content.
FULL_TEXT_ELEMENTS = (("http://news.yandex.ru", "full-text"), ("http://turbo.yandex.ru", "content"))
FULL_TEXT_DEFAULT_KEYS = (("yandex", "full-text"), ("turbo", "content"))


class FeedError(TerminalFetchError):
    """The body is not a feed we can read: HTML, garbage, or XML too broken to salvage."""


def fetch_feed(
    source_id: str,
    url: str,
    *,
    state: RssState,
    policy: FetchPolicy,
    keep: Callable[[str], bool],
    interval_end: datetime,
    backfill_start: datetime,
    fetched_at: datetime,
    lag: timedelta = timedelta(0),
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ExtractResult:
    """New entries of one feed that name a watched brand, published in (cursor, interval_end]."""
    response = fetch(url, policy=policy, etag=state.etag, last_modified=state.last_modified, session=session, sleep=sleep)
    if response.not_modified:
        log.info("feed %s: not modified", source_id)
        return ExtractResult(source_id, SOURCE_KIND, [], state.stored(source_id, SOURCE_KIND), requests=response.requests,
                             not_modified=True)
    parsed, rejects = parse_feed(response.body, url=url, source_id=source_id, content_type=response.content_type)
    undated_at = first_seen_at(fetched_at, interval_end)
    entries = [
        entry_to_mention(e, source_id, parsed.feed, fetched_at, undated_at=undated_at, namespaces=parsed.get("namespaces", {}), keep=keep)
        for e in parsed.entries
    ]
    mentions, new_state, held_back, filtered = _select(entries, state, keep, interval_end, backfill_start, lag)
    if is_damaged(parsed):
        new_state = state  # what was salvaged is stored; the entries the damage hid are read once the feed is whole
    elif not held_back:
        new_state = new_state.model_copy(update={"etag": response.etag, "last_modified": response.last_modified})
    log.info(
        "feed %s: %d entries, %d new with a brand, %d without a brand, %d held back for a later run",
        source_id, len(entries), len(mentions), filtered, held_back,
    )
    return ExtractResult(source_id, SOURCE_KIND, mentions, new_state.stored(source_id, SOURCE_KIND), rejects,
                         response.requests, False, held_back)


def parse_feed(body: bytes, *, url: str, source_id: str, content_type: str = "") -> tuple[feedparser.FeedParserDict, list[Reject]]:
    """Parse feed bytes; refuse what is not a feed, keep salvaged entries of a sloppy one with a reject row."""
    if not body.strip():
        raise FeedError("empty_body", url, "the server sent an empty body instead of a feed")
    if _declares_entities(body):
        raise FeedError("xml_entities", url, "the feed declares XML entities (entity-expansion risk); refused")
    if _HTML_START.search(body[:4096]):
        raise FeedError("not_a_feed", url, "this is an HTML page, not a feed; point the source at the feed URL",
                        body[:500].decode("utf-8", "replace"))
    # RFC 7303: without a charset parameter the document's BOM and XML declaration decide, even for text/xml
    charset_given = "charset=" in content_type.lower()
    parsed = _feedparse(body, content_type if charset_given else "")
    overruled = charset_given and not parsed.entries and bool(parsed.bozo)
    if overruled:
        parsed = _feedparse(body, "")  # the server's charset is wrong; the document's own declaration may be right
    version = parsed.get("version") or ""
    if not parsed.entries and (parsed.bozo or not version):
        problem = parsed.get("bozo_exception") or "no feed elements found"
        raise FeedError("malformed_feed", url, f"not a readable feed: {problem}", body[:500].decode("utf-8", "replace"))
    problem = _salvage(parsed, body) if is_damaged(parsed) else None
    if problem is None and overruled:
        problem = "feed_encoding", f"the server's {content_type!r} does not fit the body; read as the feed itself declares"
    elif problem is None and parsed.bozo:
        exc = parsed.get("bozo_exception")
        encoding = isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown))
        problem = ("feed_encoding" if encoding else "feed_mislabelled",
                   f"the feed is readable but mislabelled ({exc}); all {len(parsed.entries)} entries read")
    rejects = [Reject(source_id, SOURCE_KIND, "extract", *problem, url, body[:500].decode("utf-8", "replace"))] if problem else []
    return parsed, rejects


def _salvage(parsed: feedparser.FeedParserDict, body: bytes) -> tuple[str, str]:
    """Keep the entries of an ill-formed feed that can be trusted; say what was skipped and why."""
    cut = _cut_short(body, parsed.get("encoding"))
    if cut:
        parsed.entries.pop()
    unidentified = _drop_unidentified(parsed.entries)
    skipped = [*(["the cut-off last one"] if cut else []), *([f"{unidentified} whose id the damage hid"] if unidentified else [])]
    return ("feed_truncated" if cut else "feed_bozo",
            f"the feed {'stops mid-document' if cut else 'is not well-formed'} ({parsed.get('bozo_exception')}); "
            f"{len(parsed.entries)} entries salvaged{', skipped: ' + ' and '.join(skipped) if skipped else ''}; "
            "others may be damaged or missing, so the cursor stays until a well-formed feed arrives")


def is_damaged(parsed: feedparser.FeedParserDict) -> bool:
    """Ill-formed XML, not just a wrong encoding label: entries may be lost or cut, so the cursor must not pass them."""
    return bool(parsed.bozo) and not isinstance(parsed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe)


def _drop_unidentified(entries: list[feedparser.FeedParserDict]) -> int:
    """In a damaged feed, an entry without the id its siblings have (or without any id or link) lost it to the
    damage; stored under a stand-in id it would be stored twice once the feed is whole."""
    uses_ids = any(entry.get("id") for entry in entries)
    kept = [entry for entry in entries if entry.get("id") or (not uses_ids and entry.get("link"))]
    dropped = len(entries) - len(kept)
    entries[:] = kept
    return dropped


def _feedparse(body: bytes, content_type: str) -> feedparser.FeedParserDict:
    headers = {"content-type": content_type} if content_type else None
    return feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)


def _declares_entities(body: bytes) -> bool:
    """Entities are declared after a DOCTYPE, which comes before the root element but may follow any amount of
    comments; UTF-16 and UTF-32 spread the markup over NUL bytes, so those are dropped before looking."""
    text = body.replace(b"\x00", b"").decode("latin-1")  # markup is ASCII in every encoding a feed uses
    doctype = _DOCTYPE.search(text, 0, _root_start(text) + 1)
    return doctype is not None and _ENTITY_DECLARATION.search(text, doctype.start()) is not None


def _root_start(text: str) -> int:
    """Where the first element starts, skipping comments, processing instructions and declarations."""
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        if text.startswith("<!--", start):
            end, step = text.find("-->", start + 4), 3
        elif text.startswith("<?", start):
            end, step = text.find("?>", start + 2), 2
        elif text.startswith("<!", start):
            end, step = start, 2
        else:
            return start
        if end < 0:
            break
        pos = end + step
    return len(text)


def _cut_short(body: bytes, encoding: str | None) -> bool:
    """The root element never closes: the body was cut, so its last entry may be incomplete."""
    try:
        text = body.decode(encoding or "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    return not _DOCUMENT_END.search(text[-512:])


def entry_to_mention(
    entry: feedparser.FeedParserDict, source_id: str, feed: feedparser.FeedParserDict, fetched_at: datetime, *,
    undated_at: datetime | None = None, namespaces: dict[str, str] | None = None, keep: Callable[[str], bool] | None = None,
) -> Mention:
    """One feed entry as a Mention; the stable id comes from the guid, else the canonical link.

    An entry without a date gets `undated_at` (the run's first_seen_at; fetched_at outside a run) and
    the date_missing flag. With `keep`, a full-text extension element stands in for a description that
    names no watched brand.
    """
    link = clean_url(entry.get("link") or "") or None
    title = clean_text(html_to_text(entry.get("title", ""))) or None
    text = _entry_text(entry, title, namespaces or {}, keep)
    published = _entry_date(entry)
    native_id = (entry.get("id") or "").strip() or (canonical_url(link) if link else "") or _content_id(title, published, text)
    author = entry.get("author") or (entry.get("author_detail") or {}).get("name")
    language = (entry.get("language") or feed.get("language") or "")[:2].lower() or None
    metadata = {"feed_title": feed.get("title"), "tags": ", ".join(t.get("term", "") for t in entry.get("tags", []) if t.get("term")) or None}
    return Mention(
        source_kind=SOURCE_KIND, source_id=source_id, native_id=native_id[:2000], url=link, author=clean_text(author) if author else None,
        title=title, text=text, published_at=published or undated_at or fetched_at, fetched_at=fetched_at, language=language,
        metadata={k: v for k, v in metadata.items() if v is not None}, raw=_raw(entry), date_missing=published is None,
    )


def _content_id(title: str | None, published: datetime | None, text: str) -> str:
    """A stand-in id for an entry with neither guid nor link. An undated entry's comes from its words
    alone, so every run that sees it gives the same id (an edit of its text is a new entry)."""
    parts = [title or "", *([published.isoformat()] if published else []), text[:500]]
    return "sha:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def canonical_url(url: str) -> str:
    """Drop tracking parameters and fragments so the same article gets the same id."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


def _select(
    entries: list[Mention], state: RssState, keep: Callable[[str], bool], interval_end: datetime,
    backfill_start: datetime, lag: timedelta,
) -> tuple[list[Mention], RssState, int, int]:
    """Apply the cursor, the run's time slice and the brand prefilter; compute the new cursor.

    Dated entries pass the watermark; undated ones pass the ids of the undated entries already
    stored (`undated_ids`), so each is stored once, by the first run that sees it, and never
    moves the watermark (which would hide dated entries published just before it).
    """
    lower = state.watermark - lag if state.watermark else backfill_start
    boundary = set(state.boundary_ids) if lag == timedelta(0) else set()
    stored_undated = set(state.undated_ids)
    seen: set[str] = set()
    kept: list[Mention] = []
    held_back = filtered = 0
    for mention in entries:
        if mention.native_id in seen:
            continue
        seen.add(mention.native_id)
        if mention.date_missing:
            if mention.native_id in stored_undated:
                continue
        elif mention.published_at > interval_end:
            held_back += 1
            continue
        elif mention.published_at < lower or mention.published_at < backfill_start:
            continue
        elif state.watermark and mention.published_at == state.watermark and mention.native_id in boundary:
            continue
        if not keep(f"{mention.title or ''}\n{mention.text}"):
            filtered += 1
            continue
        kept.append(mention)
    new_state = _advance(state, [m for m in kept if not m.date_missing], boundary)
    undated = sorted({m.native_id for m in entries if m.date_missing and m.native_id in stored_undated | {k.native_id for k in kept}})
    return kept, new_state.model_copy(update={"undated_ids": undated}), held_back, filtered


def _advance(state: RssState, dated: list[Mention], boundary: set[str]) -> RssState:
    """The cursor after storing `dated`: the newest date stored and the ids published at it."""
    newest = max((m.published_at for m in dated), default=None)
    if not newest or (state.watermark is not None and newest < state.watermark):
        return state
    at_newest = {m.native_id for m in dated if m.published_at == newest}
    return state.model_copy(update={"watermark": newest,
                                    "boundary_ids": sorted(at_newest | (boundary if newest == state.watermark else set()))})


def _entry_text(entry: feedparser.FeedParserDict, title: str | None, namespaces: dict[str, str], keep: Callable[[str], bool] | None) -> str:
    """The longest of the description and the content elements; when that names no watched brand, the
    first full-text extension element that does (feeds made for aggregators put the article there)."""
    candidates = [c.get("value", "") for c in entry.get("content", []) if isinstance(c, dict)]
    candidates.append(entry.get("summary", ""))
    texts = [html_to_text(c) for c in candidates if c]
    text = max(texts, key=len, default="")
    if keep is None or keep(f"{title or ''}\n{text}"):
        return text
    return next((full for full in _full_texts(entry, namespaces) if keep(f"{title or ''}\n{full}")), text)


def _full_texts(entry: feedparser.FeedParserDict, namespaces: dict[str, str]) -> list[str]:
    """The entry's full-text extension elements as text. feedparser keys an element of a namespace it
    does not know by the document's own prefix, so the prefix is looked up by namespace URI."""
    prefixes = {uri.rstrip("/").lower(): prefix for prefix, uri in namespaces.items()}
    keys = [f"{prefixes[uri]}_{name}" for uri, name in FULL_TEXT_ELEMENTS if uri in prefixes]
    keys += [f"{prefix}_{name}" for prefix, name in FULL_TEXT_DEFAULT_KEYS]  # the prefix undeclared: feedparser keeps it
    values = dict.fromkeys(value for key in keys if isinstance(value := entry.get(key), str) and value.strip())
    return [html_to_text(value) for value in values]


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    """The entry's own date (published, else updated, else created); None when it has none we can read."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _raw(entry: feedparser.FeedParserDict) -> str:
    text = json.dumps(entry, default=str, ensure_ascii=False)
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT]

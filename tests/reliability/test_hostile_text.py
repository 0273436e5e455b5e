"""Hostile text through the whole pipeline: well-formed sources whose mentions carry emoji, RTL scripts,
zero-width and control characters, look-alike letters, lone surrogates, SQL and HTML, fed through
extract, NLP, load, detect and notify, then shown to people in an alert email, `zmot report` and `zmot sql`.

The stored text is the source's text byte for byte, except for one deliberate normalisation that
every connector applies (connectors/text.py `plain_unicode`): NFC; lone surrogates become U+FFFD;
control characters become a space (line ends become "\\n"); zero-width space, word joiner and BOM go;
ZWJ/ZWNJ go next to ASCII (where they only hide a word) and stay inside emoji and joining scripts.
Feed and review markup is HTML (scripts dropped, tags stripped); Reddit text is kept as written.
Look-alike letters are different letters: "Аcme" (Cyrillic А) is not "Acme".
"""

from __future__ import annotations

import html
import json
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import lxml.html
import pytest

from connectors import reddit
from connectors.records import stable_mention_id
from connectors.replay import Recorded, ReplayServer, request_key
from nlp.pipeline import MAX_TEXT_CHARS
from tests.feeds_server import Route, serve
from tests.reliability.harness import FAST_HTTP, query, run_day, snapshot, write_config
from tests.smtp_server import smtp_server
from zmot.cli import main

DAY = "2026-11-10"  # the run; every hostile mention is published on the 9th, the quiet baseline before
SPIKE = datetime(2026, 11, 9, tzinfo=timezone.utc)
CAFE = "Café Ñandú"  # a brand whose name has letters that NFD writes as two code points
EXTRA_BRAND = f"  - name: {CAFE}\n    products:\n      - name: {CAFE} Roast\n"
TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what could drive a terminal (tab and newline allowed)


# --- the sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One feed entry: what the feed says (HTML inside XML) and what the warehouse must hold."""

    guid: str
    title: str  # HTML, as the feed's <title> carries it
    body: str  # HTML, as <description> carries it
    stored_title: str | None
    stored_text: str
    refs: list[tuple[str, str]]  # (brand, matched text) in order
    author: str | None = None
    link: str | None = None
    stored_url: str | None = None
    hour: int = 12


# a leaving story (not a one-off complaint), so the report lists it among the top LZMOT stories
SCRIPT_TEXT = "I typed <script>alert(1)</script> into the Acme Mobile chat and it broke again, cancelling my plan, never again </style>"
RSS_ITEMS = [
    Item("emoji", "Acme Mobile family plan 👨‍👩‍👧‍👦", "Acme Mobile is the worst network, I hate it 👎🏽 🇬🇧 🏳️‍🌈 😡",
         "Acme Mobile family plan 👨‍👩‍👧‍👦", "Acme Mobile is the worst network, I hate it 👎🏽 🇬🇧 🏳️‍🌈 😡",
         [("Acme Mobile", "Acme Mobile")] * 2),
    Item("rtl", "شكوى", "خدمة Acme Mobile سيئة جدا — השירות של Acme Mobile גרוע, terrible and awful",
         "شكوى", "خدمة Acme Mobile سيئة جدا — השירות של Acme Mobile גרוע, terrible and awful",
         [("Acme Mobile", "Acme Mobile")] * 2),
    Item("zwsp-inside", "Dropped calls", "Ac\u200bme Mobile dropped my calls again, awful service",
         "Dropped calls", "Acme Mobile dropped my calls again, awful service", [("Acme Mobile", "Acme Mobile")]),
    Item("zw-around", "Outage", "\ufeff\u200bAcme Mobile\u200b\u2060 is down again, the worst",
         "Outage", "Acme Mobile is down again, the worst", [("Acme Mobile", "Acme Mobile")]),
    Item("zwj-latin", "Support", "Acme\u200dMobile\u200c support is useless and rude",
         "Support", "AcmeMobile support is useless and rude", [("Acme Mobile", "AcmeMobile")]),
    Item("zwnj-persian", "نظر", "من از Acme Mobile می\u200cخواهم استفاده کنم",
         "نظر", "من از Acme Mobile می\u200cخواهم استفاده کنم", [("Acme Mobile", "Acme Mobile")]),
    Item("nfd", "Roast", unicodedata.normalize("NFD", f"{CAFE} Roast tastes lovely"),
         "Roast", f"{CAFE} Roast tastes lovely", [(CAFE, f"{CAFE} Roast")]),
    Item("nfc", "Beans", f"I buy {CAFE} beans", "Beans", f"I buy {CAFE} beans", [(CAFE, CAFE)]),
    Item("homoglyph-only", "Scam", "\u0410cme Mobile is a scam, send money here", None, "", []),
    Item("homoglyph-mixed", "Copycat", "\u0410cme Mobile is a copycat of Acme Mobile, both awful",
         "Copycat", "\u0410cme Mobile is a copycat of Acme Mobile, both awful", [("Acme Mobile", "Acme Mobile")]),
    Item("sql", "Robert'); DROP TABLE mentions;--",
         "Acme Mobile '; DROP TABLE mentions; -- \" OR 1=1; DELETE FROM daily_signals; -- awful",
         "Robert'); DROP TABLE mentions;--",
         "Acme Mobile '; DROP TABLE mentions; -- \" OR 1=1; DELETE FROM daily_signals; -- awful",
         [("Acme Mobile", "Acme Mobile")]),
    # the feed escaped the markup, so it is text the author typed: stored, and shown escaped
    Item("script", "&lt;/title&gt;Acme Mobile hates &lt;b&gt;you&lt;/b&gt;", html.escape(SCRIPT_TEXT) + ' <a href="javascript:alert(2)">x</a>',
         "</title>Acme Mobile hates <b>you</b>", SCRIPT_TEXT + " x", [("Acme Mobile", "Acme Mobile")] * 2,
         author="<img src=x onerror=alert(1)>", link="javascript:alert(1)", stored_url="javascript:alert(1)"),
    # markup in the feed's HTML is markup: the script and the image are dropped, not stored
    Item("markup", "Acme Mobile <script>alert(3)</script>", "<p>Acme Mobile is awful</p><script>alert(4)</script><img src=x onerror=alert(5)>",
         "Acme Mobile", "Acme Mobile is awful", [("Acme Mobile", "Acme Mobile")]),  # the title starts the text: read once
    # an entity the author escaped ("&lt;b&gt;" typed as text) is decoded once, not twice into markup
    Item("escaped-entity", "Entities", "Acme Mobile shows &amp;lt;b&amp;gt; in its app, awful",
         "Entities", "Acme Mobile shows &lt;b&gt; in its app, awful", [("Acme Mobile", "Acme Mobile")]),
    # HTML drops character references to control characters; a brand glued to what is left still matches
    Item("controls", "Acme Mobile&#x1b;[2J", "Acme Mobile&#x1b;[31m red&#x1b;[0m &#x0b;vt&#13;cr&#x7f;del, awful",
         "Acme Mobile[2J", "Acme Mobile[31m red[0m vt\ncrdel, awful", [("Acme Mobile", "Acme Mobile")] * 2),
]
BASELINE_DAYS = 14


def _feed() -> bytes:
    """An RSS 2.0 feed, well-formed XML: the hostile entries on the 9th and one calm mention a day before."""
    items = []
    for index, item in enumerate(RSS_ITEMS):
        link = item.link or f"https://forum.example.net/t/{item.guid}"
        author = f"<author>{xml_escape(item.author)}</author>" if item.author else ""
        items.append(
            f"<item><guid isPermaLink='false'>{item.guid}</guid><title>{xml_escape(item.title)}</title>"
            f"<link>{xml_escape(link)}</link>{author}<pubDate>Mon, 09 Nov 2026 {item.hour:02d}:{index:02d}:00 GMT</pubDate>"
            f"<description>{xml_escape(item.body)}</description></item>"
        )
    for n in range(1, BASELINE_DAYS + 1):
        day = SPIKE - timedelta(days=n)
        items.append(
            f"<item><guid isPermaLink='false'>calm-{n}</guid><title>Store hours</title><link>https://forum.example.net/c/{n}</link>"
            f"<pubDate>{day:%a, %d %b %Y} 09:00:00 GMT</pubDate><description>Acme Mobile publishes its store hours.</description></item>"
        )
    body = "".join(items)
    # control characters arrive as character references inside escaped HTML: legal XML, so not a bozo feed
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Forum</title>'
            f"<link>https://forum.example.net/</link><description>d</description>{body}</channel></rss>").encode()


@dataclass(frozen=True)
class Post:
    """One Reddit post as the API's JSON carries it, and what the warehouse must hold."""

    pid: str
    title: str
    text: str
    author: str
    stored_title: str
    stored_text: str
    stored_author: str
    refs: list[str]  # matched texts, all Acme Mobile


REDDIT_POSTS = [
    Post("c1", "Acme Mobile \x1b[2J\x1b[H fake\x00prompt", "line1\r\nline2\rline3 \x00 NUL \x0b VT \x1b]0;pwned\x07 \x9b31m Acme Mobile is terrible",
         "ana", "Acme Mobile fake prompt", "line1\nline2\nline3   NUL   VT   Acme Mobile is terrible", "ana",
         ["Acme Mobile", "Acme Mobile"]),
    Post("s1", "Acme Mobile lone \ud800 surrogate", "half a pair \udfff then Acme Mobile, awful", "x\ud83dy",
         "Acme Mobile lone \ufffd surrogate", "half a pair \ufffd then Acme Mobile, awful", "x\ufffdy", ["Acme Mobile", "Acme Mobile"]),
    Post("f1", '=HYPERLINK("https://evil.example/","Acme Mobile refund")', "+cmd|' /C calc'!A0 Acme Mobile, awful", "@SUM(1+1)",
         '=HYPERLINK("https://evil.example/","Acme Mobile refund")', "+cmd|' /C calc'!A0 Acme Mobile, awful", "@SUM(1+1)",
         ["Acme Mobile", "Acme Mobile"]),  # the title's is glued to a URL ("evil.example/","Acme), which ends at the quote
    Post("h1", "</style><script>alert(1)</script>", "Acme Mobile <img src=x onerror=alert(1)> [x](javascript:alert(1)) worst",
         "<script>alert(2)</script>", "</style><script>alert(1)</script>",
         "Acme Mobile <img src=x onerror=alert(1)> [x](javascript:alert(1)) worst", "<script>alert(2)</script>", ["Acme Mobile"]),
    Post("z1", "Ac\u200bme Mobile", "Ac\u200bme\u200d Mobile is 👨‍👩‍👧 for families", "bo", "Acme Mobile",
         "Acme Mobile is 👨‍👩‍👧 for families", "bo", ["Acme Mobile"]),
]
JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}


def _listing() -> Recorded:
    children = []
    for index, post in enumerate(REDDIT_POSTS):
        data = {"id": post.pid, "name": f"t3_{post.pid}", "title": post.title, "selftext": post.text, "author": post.author,
                "subreddit": "phones", "created_utc": (SPIKE + timedelta(hours=13, minutes=index)).timestamp(), "score": 1,
                "num_comments": 0, "is_self": True, "permalink": f"/r/phones/comments/{post.pid}/x/", "edited": False,
                "removed_by_category": None}
        children.append({"kind": "t3", "data": data})
    body = {"kind": "Listing", "data": {"after": None, "before": None, "children": children}}
    return Recorded(200, json.dumps(body).encode(), JSON_HEADERS)  # ASCII JSON: lone surrogates as \\ud800 escapes


REVIEW_PAGE = {
    "@context": "https://schema.org", "@type": "Product", "name": "Kettleworks K2",
    "review": [
        {"@type": "Review", "@id": "https://shop.example/k2#r1", "author": {"@type": "Person", "name": "<img src=x onerror=alert(1)>"},
         "name": "</style><script>alert(1)</script>", "datePublished": "2026-11-09",
         "reviewBody": "Kettleworks K2 😍 boils fast — אחלה קומקום — <script>alert(1)</script>great",
         "reviewRating": {"@type": "Rating", "ratingValue": "5", "bestRating": "5", "worstRating": "1"}},
        {"@type": "Review", "@id": "https://shop.example/k2#r2\ud800", "author": {"@type": "Person", "name": "Dana\u0000\u001b[2J"},
         "name": "Lone \udc00 surrogate", "datePublished": "2026-11-09",
         "reviewBody": "Ke\u200btt\u00adleworks K2 broke after a week \u0000; DROP TABLE mentions;--",
         "reviewRating": {"@type": "Rating", "ratingValue": "1", "bestRating": "5", "worstRating": "1"}},
    ],
}
STORED_REVIEWS = {  # native id -> (author, title, text)
    # JSON-LD strings are HTML to the review extractor: an author or title that is only markup is none
    "127.0.0.1:https://shop.example/k2#r1": (None, None,
                                             "Kettleworks K2 😍 boils fast — אחלה קומקום — great"),
    "127.0.0.1:https://shop.example/k2#r2\ufffd": ("Dana", "Lone \ufffd surrogate",
                                                   "Kettleworks K2 broke after a week ; DROP TABLE mentions;--"),
}


def _review_html() -> bytes:
    data = json.dumps(REVIEW_PAGE).replace("</", "<\\/")  # as a site writes JSON into a <script> block
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>K2 reviews</title>'
            f'<script type="application/ld+json">{data}</script></head><body><h1>Kettleworks K2</h1></body></html>').encode()


# --- one world: three sources, two runs of the same day, a mail server ------------------------


@dataclass
class World:
    config: Path
    warehouse: Path
    loads: list[dict]
    failed: list[dict]
    snapshots: list[dict]
    emails: list[EmailMessage]
    rcpt: list[list[str]]
    seconds: list[float] = field(default_factory=list)


def _sources(feed_url: str, review_url: str) -> str:
    return (
        "sources:\n"
        f"  - name: forum\n    kind: rss\n    url: {feed_url}\n    backfill_days: 30\n"
        "  - name: rd\n    kind: reddit\n    subreddits: [phones]\n    include_comments: false\n    backfill_days: 30\n"
        f"  - name: k2\n    kind: reviews\n    urls: [{review_url}]\n    brand: Kettleworks\n    product: Kettleworks K2\n"
        "    host_delay_seconds: 0\n    backfill_days: 30\n"
        + FAST_HTTP
    )


def _alerts(smtp_port: int) -> str:
    return ("sender: zmot@example.com\nrecipients: [team@example.com]\n"
            f"smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}\n"
            "rules:\n  max_mentions_per_email: 20\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    routes = {
        "/forum.xml": Route(_feed(), headers={"Content-Type": "application/rss+xml; charset=utf-8"}),
        "/robots.txt": Route(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}),
        "/k2/reviews.html": Route(_review_html(), headers={"Content-Type": "text/html; charset=utf-8"}),
    }
    token = Recorded(200, b'{"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}', JSON_HEADERS)
    replay = ReplayServer([(request_key("POST", "/api/v1/access_token", {}), token),
                           (request_key("GET", "/r/phones/new", {}), _listing())])
    with serve(routes) as feeds, replay, smtp_server() as (controller, mailbox), pytest.MonkeyPatch.context() as env:
        for name, value in ((reddit.ENV_OAUTH_URL, replay.url), (reddit.ENV_REDDIT_URL, replay.url),
                            (reddit.ENV_CLIENT_ID, "id"), (reddit.ENV_CLIENT_SECRET, "secret")):
            env.setenv(name, value)
        config = write_config(root / "config", _sources(feeds.url("/forum.xml"), feeds.url("/k2/reviews.html")),
                              alerts_yaml=_alerts(controller.port))
        (config / "brands.yaml").write_text((config / "brands.yaml").read_text() + EXTRA_BRAND)
        data = root / "data"
        world = World(config, data / "zmot.duckdb", [], [], [], mailbox.messages, [])
        for _ in range(2):  # the same day twice: the rerun must change nothing and send nothing
            started = time.monotonic()
            run = run_day(config, data, DAY)
            world.seconds.append(time.monotonic() - started)
            world.loads.append(run.load)
            world.failed.append(run.failed)
            world.snapshots.append(snapshot(world.warehouse))
        world.rcpt = [e.rcpt_tos for e in mailbox.envelopes]
        assert replay.unmatched == []
        yield world


def _row(world: World, mention_id: str, columns: str = "title, text, author, url") -> tuple | None:
    rows = query(world.warehouse, f"SELECT {columns} FROM mentions WHERE mention_id = ?", [mention_id])
    return rows[0] if rows else None


def _refs(world: World, mention_id: str) -> list[tuple[str, str]]:
    """(brand, matched text) of the explicit references, checked to point at what they say they matched."""
    rows = query(world.warehouse, """
        SELECT r.brand, r.matched_text, r.start_char, r.end_char, m.title, m.text
        FROM mention_refs r JOIN mentions m USING (mention_id)
        WHERE mention_id = ? AND NOT r.implicit ORDER BY r.ref_index""", [mention_id])
    for _, matched, start, end, title, text in rows:
        analysed = f"{title}\n\n{text}" if title and not text.startswith(title) else text
        assert analysed[start:end] == matched  # offsets count code points of the stored text
    return [(brand, matched) for brand, matched, *_ in rows]


# --- storage: every source, every case ----------------------------------------------------------


def test_both_runs_succeed_without_rejects_and_the_rerun_stores_nothing_new(world: World) -> None:
    assert world.failed == [{}, {}]
    expected_new = (len(RSS_ITEMS) - 1) + BASELINE_DAYS + len(REDDIT_POSTS) + len(STORED_REVIEWS)  # one homoglyph-only entry filtered
    assert [(load["mentions_new"], load["mentions_updated"], load["rejects"]) for load in world.loads] == [(expected_new, 0, 0), (0, 0, 0)]
    assert world.snapshots[0] == world.snapshots[1]
    counts = query(world.warehouse, "SELECT count(*), count(DISTINCT mention_id), count(DISTINCT (source_id, native_id)) FROM mentions")
    assert counts == [(expected_new, expected_new, expected_new)]
    assert query(world.warehouse, "SELECT count(*) FROM rejects") == [(0,)]


@pytest.mark.parametrize("item", RSS_ITEMS, ids=[i.guid for i in RSS_ITEMS])
def test_a_hostile_feed_entry_is_stored_once_as_normalised_and_matched_as_an_analyst_expects(world: World, item: Item) -> None:
    mention_id = stable_mention_id("rss", item.guid)
    row = _row(world, mention_id)
    if not item.refs:  # a look-alike brand alone is not the brand: filtered before storage, by design
        assert row is None
        return
    url = item.stored_url or f"https://forum.example.net/t/{item.guid}"
    assert row == (item.stored_title, item.stored_text, item.author, url)
    assert _refs(world, mention_id) == item.refs


@pytest.mark.parametrize("post", REDDIT_POSTS, ids=[p.pid for p in REDDIT_POSTS])
def test_a_hostile_reddit_post_is_stored_once_as_normalised_and_matched(world: World, post: Post) -> None:
    mention_id = stable_mention_id("reddit", f"t3_{post.pid}")
    assert _row(world, mention_id, "title, text, author") == (post.stored_title, post.stored_text, post.stored_author)
    assert _refs(world, mention_id) == [("Acme Mobile", m) for m in post.refs]


def test_a_lone_surrogate_in_one_post_does_not_cost_the_source_its_other_posts(world: World) -> None:
    stored = query(world.warehouse, "SELECT native_id FROM mentions WHERE source_id = 'rd' ORDER BY native_id")
    assert stored == sorted((f"t3_{p.pid}",) for p in REDDIT_POSTS)
    raw = _row(world, stable_mention_id("reddit", "t3_s1"), "raw")[0]
    assert "\ufffd" in raw and json.loads(raw)["title"] == "Acme Mobile lone \ufffd surrogate"


def test_hostile_reviews_are_stored_once_with_markup_dropped_and_the_product_implied(world: World) -> None:
    rows = query(world.warehouse, "SELECT native_id, author, title, text FROM mentions WHERE source_id = 'k2' ORDER BY native_id")
    assert {native: tuple(rest) for native, *rest in rows} == STORED_REVIEWS
    targets = query(world.warehouse, """
        SELECT m.native_id, r.brand, r.product, r.matched_text FROM mention_refs r JOIN mentions m USING (mention_id)
        WHERE m.source_id = 'k2' ORDER BY m.native_id, r.ref_index""")
    assert [t[1:] for t in targets] == [("Kettleworks", "Kettleworks K2", "Kettleworks K2")] * 2  # the soft hyphen and ZWSP hid nothing


def test_sql_looking_text_is_stored_as_data_and_every_table_is_still_there(world: World) -> None:
    stored = query(world.warehouse, "SELECT title, text FROM mentions WHERE text LIKE '%DROP TABLE mentions%' ORDER BY title")
    assert len(stored) == 2 and stored[-1] == ("Robert'); DROP TABLE mentions;--", RSS_ITEMS[10].stored_text)
    assert query(world.warehouse, "SELECT count(*) FROM daily_signals WHERE brand = 'Acme Mobile'")[0][0] > 0


# --- shown to people: the alert email -------------------------------------------------------------


def _no_active_html(page: lxml.html.HtmlElement) -> None:
    """Nothing in the document can run or fetch: no scripts, no event handlers, links only to web pages."""
    assert page.xpath("//script | //iframe | //object | //embed | //link") == []
    assert page.xpath("//@*[starts-with(name(), 'on')]") == []
    assert all(href.startswith(("https://", "http://")) for href in page.xpath("//a/@href"))


def test_the_alert_email_is_sent_once_and_shows_every_hostile_text_as_text(world: World) -> None:
    [email] = world.emails  # two runs of the same day, one email
    assert world.rcpt == [["team@example.com"]]
    assert set(email.keys()) == {"Subject", "From", "To", "Date", "Message-ID", "X-ZMOT-Alert-Id", "MIME-Version", "Content-Type"}
    assert email["Subject"].startswith("Acme Mobile: negative mentions") and not re.search(r"[\r\n]", email["Subject"])
    page = lxml.html.fromstring(email.get_body(("html",)).get_content())
    _no_active_html(page)
    assert [src.split(":")[0] for src in page.xpath("//img/@src")] == ["cid"]  # only the chart, inline
    shown = page.text_content()
    for text in ("<img src=x onerror=alert(1)>", "</title>Acme Mobile hates <b>you</b>", "<script>alert(1)</script>",
                 "Robert'); DROP TABLE mentions;--", "<script>alert(2)</script>", '=HYPERLINK("https://evil.example/",',
                 "Acme Mobile family plan 👨‍👩‍👧‍👦", "🏳️‍🌈", "\u0410cme Mobile is a copycat"):
        assert text in shown
    plain = email.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert not TERMINAL_CONTROL.search(plain)
    assert "I typed <script>alert(1)</script> into the Acme Mobile chat" in plain  # plain text needs no escaping


def test_control_characters_in_older_rows_never_reach_the_email(world: World) -> None:
    """Rows stored before the connectors cleaned text can still hold ESC; the email drops it on the way out."""
    from alerts.compose import AlertEmail, DrivingMention, compose
    from alerts.deliver import SmtpTarget, send_smtp

    mention = DrivingMention(SPIKE, "old\x1b[2Jfeed", "\x1b]0;pwned\x07eve\x9b31m", "Acme Mobile\x1b[2J\x00 is \x85down\u2028now",
                             "https://e.example/\x1b[H\r\nBcc: x@example.com", "negative", -0.9)
    alert = AlertEmail("legacy1", "Acme Mobile", "*", "*", "negative_mentions", SPIKE, SPIKE + timedelta(days=1), 9, 1.0, 9.0,
                       9.0, "9 vs about 1 expected", [(SPIKE.replace(tzinfo=None), 9.0)], [mention], "SELECT 1")
    with smtp_server() as (controller, mailbox):
        send_smtp(compose(alert, sender="zmot@example.com", recipients=["team@example.com"], sent_at=SPIKE),
                  SmtpTarget("127.0.0.1", controller.port, "none"))
    [email] = mailbox.messages
    assert email["Bcc"] is None and mailbox.envelopes[0].rcpt_tos == ["team@example.com"]
    plain = email.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert not TERMINAL_CONTROL.search(plain)
    assert "Acme Mobile [2J is down now" in plain and "  https://e.example/ [H Bcc: x@example.com\n" in plain
    _no_active_html(lxml.html.fromstring(email.get_body(("html",)).get_content()))


# --- shown to people: zmot report ------------------------------------------------------------------


def _report(world: World, out: Path) -> str:
    assert main(["report", "--brand", "Acme Mobile", "--days", "30", "--end", "2026-11-09",
                 "--warehouse", str(world.warehouse), "--output", str(out)]) == 0
    return out.read_text(encoding="utf-8")


CSP = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"


def test_the_report_escapes_hostile_text_and_keeps_its_content_security_policy(world: World, tmp_path: Path) -> None:
    source = _report(world, tmp_path / "acme.html")
    head = source[: source.index("</head>")]
    assert source.count(CSP) == 1 and head.index(CSP) < head.index("<title>")  # before anything from the warehouse
    assert not re.search(r"<(script|img|iframe|link|object|embed)\b", source, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source and "&lt;/title&gt;Acme Mobile hates" in source
    page = lxml.html.fromstring(source)
    _no_active_html(page)
    assert page.findtext(".//title").startswith("Acme Mobile: ZMOT report")
    assert "I typed <script>alert(1)</script> into the Acme Mobile chat" in page.text_content()


def test_the_report_runs_no_script_in_a_real_browser(world: World, tmp_path: Path) -> None:
    from tests.test_report import _dom  # headless Chromium with no network; skips where Chromium is missing

    out = tmp_path / "acme.html"
    _report(world, out)
    page = lxml.html.fromstring(_dom(out))  # the DOM after Chromium parsed and ran whatever it would run
    assert page.findtext(".//title").startswith("Acme Mobile: ZMOT report")  # no script rewrote it
    _no_active_html(page)
    assert "I typed <script>alert(1)</script>" in page.text_content()


# --- shown to people: zmot sql ---------------------------------------------------------------------


SQL = ("SELECT native_id, title, text, author, text || chr(27) || '[2J' || chr(155) || '31m' AS evil "
       "FROM mentions WHERE native_id IN ('t3_f1', 't3_c1') ORDER BY native_id")


def _sql(world: World, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["sql", "--warehouse", str(world.warehouse), "--format", fmt, SQL]) == 0
    return capsys.readouterr().out


def test_zmot_sql_table_output_shows_control_characters_instead_of_sending_them(world: World, capsys) -> None:
    out = _sql(world, "table", capsys)
    assert not TERMINAL_CONTROL.search(out)
    assert "␛[2J\ufffd31m" in out and '=HYPERLINK("https://evil.example/","Acme Mobile refund")' in out


def test_zmot_sql_csv_output_cannot_run_a_formula_in_a_spreadsheet(world: World, capsys) -> None:
    import csv
    import io

    header, *rows = list(csv.reader(io.StringIO(_sql(world, "csv", capsys))))
    assert header == ["native_id", "title", "text", "author", "evil"]
    assert rows[1][:4] == ["t3_f1", "'" + REDDIT_POSTS[2].stored_title, "'" + REDDIT_POSTS[2].stored_text, "'@SUM(1+1)"]
    assert rows[0][2] == REDDIT_POSTS[0].stored_text  # text that is no formula is exact
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_zmot_sql_json_output_is_exact_and_escapes_every_control_character(world: World, capsys) -> None:
    out = _sql(world, "json", capsys)
    assert not TERMINAL_CONTROL.search(out) and len(out.splitlines()) == 2
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["title"], r["text"], r["author"]) for r in rows] == [
        (p.stored_title, p.stored_text, p.stored_author) for p in (REDDIT_POSTS[0], REDDIT_POSTS[2])
    ]
    assert rows[1]["evil"] == REDDIT_POSTS[2].stored_text + "\x1b[2J\x9b31m"


# --- one post of a megabyte -------------------------------------------------------------------------


def test_a_one_megabyte_post_is_stored_whole_and_read_by_nlp_up_to_its_limit_in_bounded_time(tmp_path: Path) -> None:
    filler = "the signal keeps dropping in the tunnel and nobody answers the phone " * 15_000  # ~1 MB
    text = f"Acme Mobile is terrible. {filler}Orbit Telecom named only at the very end"
    feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title><link>https://b.example/</link>'
            f"<description>d</description><item><guid>big</guid><title>Long rant</title><link>https://b.example/1</link>"
            f"<pubDate>Mon, 09 Nov 2026 12:00:00 GMT</pubDate><description>{text}</description></item></channel></rss>").encode()
    assert len(text) > 1_000_000
    with serve({"/big.xml": Route(feed)}) as server:
        config = write_config(tmp_path / "config", f"sources:\n  - name: big\n    kind: rss\n    url: {server.url('/big.xml')}\n"
                              f"    backfill_days: 30\n{FAST_HTTP}")
        started = time.monotonic()
        first = run_day(config, tmp_path / "data", DAY)
        seconds = time.monotonic() - started
        second = run_day(config, tmp_path / "data", DAY)
    warehouse = tmp_path / "data" / "zmot.duckdb"
    assert first.failed == {} and (first.load["mentions_new"], second.load["mentions_new"], second.load["mentions_updated"]) == (1, 0, 0)
    [(stored, raw_chars)] = query(warehouse, "SELECT text, length(raw) FROM mentions")
    assert stored == text and raw_chars <= 20_000  # the text whole; the raw payload bounded
    refs = query(warehouse, "SELECT brand, start_char FROM mention_refs")
    assert refs == [("Acme Mobile", len("Long rant\n\n"))]  # NLP reads the first MAX_TEXT_CHARS: Orbit, past them, is not counted
    assert text.index("Orbit Telecom") > MAX_TEXT_CHARS
    assert query(warehouse, "SELECT ref_count FROM mention_nlp") == [(1,)]
    assert seconds < 60  # did not hang: about 3 s here


# --- a feed whose XML carries raw control bytes ----------------------------------------------------


def test_raw_control_bytes_in_a_feed_are_a_bozo_reject_and_the_salvaged_entries_are_clean_and_stored_once(tmp_path: Path) -> None:
    feed = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://c.example/</link>'
            b"<description>d</description><item><guid>ctl</guid><title>Acme Mobile \x1b[2J outage</title>"
            b"<link> https://c.example/1\x1b[H\x00 </link><pubDate>Mon, 09 Nov 2026 12:00:00 GMT</pubDate>"
            b"<description>Acme\x00 Mobile \x1b[31mis down\x1b[0m\x0b again</description></item></channel></rss>")
    with serve({"/ctl.xml": Route(feed)}) as server:
        config = write_config(tmp_path / "config", f"sources:\n  - name: ctl\n    kind: rss\n    url: {server.url('/ctl.xml')}\n"
                              f"    backfill_days: 30\n{FAST_HTTP}")
        runs = [run_day(config, tmp_path / "data", DAY) for _ in range(2)]
    warehouse = tmp_path / "data" / "zmot.duckdb"
    assert [r.failed for r in runs] == [{}, {}] and [r.load["mentions_new"] for r in runs] == [1, 0]
    assert query(warehouse, "SELECT title, text, url FROM mentions") == [
        ("Acme Mobile outage", "Acme Mobile is down again", "https://c.example/1%1B[H")]  # a trailing NUL trimmed as a browser would
    assert query(warehouse, "SELECT reason FROM rejects") == [("feed_bozo",)]  # said once per run key, not per attempt
    assert query(warehouse, "SELECT brand, matched_text FROM mention_refs") == [("Acme Mobile", "Acme Mobile")] * 2

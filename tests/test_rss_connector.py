"""The RSS/Atom connector: parsing into Mentions, the cursor, the prefilter, and hostile feeds."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.http import FetchPolicy, TerminalFetchError
from connectors.kinds.rss import RssState
from connectors.records import ExtractResult, SourceState
from connectors.rss import FeedError, canonical_url, fetch_feed, parse_feed
from tests.conftest import PROJECT, shared_data
from tests.feeds_server import Route, serve

FIXTURES = PROJECT / "tests" / "fixtures" / "feeds"
POLICY = FetchPolicy(user_agent="zmot-tests", timeout_seconds=2, max_retries=1, backoff_seconds=0)
END = datetime(2026, 11, 11, tzinfo=timezone.utc)
START = END - timedelta(days=30)
NOW = datetime(2026, 11, 11, 1, tzinfo=timezone.utc)


def _fetch(url: str, state: SourceState | None = None, keep=lambda text: "Acme" in text or "Juniper" in text, end=END, now=NOW):
    return fetch_feed("feed", url, state=RssState.read(state or SourceState("feed", "rss")), policy=POLICY, keep=keep,
                      interval_end=end, backfill_start=START, fetched_at=now, sleep=lambda s: None)


def _state(result: ExtractResult) -> RssState:
    return RssState.read(result.state)


def _feed(*items: str, header: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{header}<rss version="2.0"><channel><title>T</title>'
            + "".join(items) + "</channel></rss>").encode()


def _item(guid: str, day: int, text: str = "Acme news", hour: int = 12) -> str:
    return (f"<item><guid>{guid}</guid><title>{text}</title><link>https://n.example/{guid}</link>"
            f"<pubDate>{day:02d} Nov 2026 {hour:02d}:00:00 +0000</pubDate><description>{text}</description></item>")


def test_rss_and_atom_entries_become_mentions_with_utc_dates_and_plain_text() -> None:
    with serve({"/a.xml": Route((FIXTURES / "acme-news.rss.xml").read_bytes()),
                "/f.xml": Route((FIXTURES / "juniper-forum.atom.xml").read_bytes())}) as server:
        rss = _fetch(server.url("/a.xml"))
        atom = _fetch(server.url("/f.xml"))
    first = rss.mentions[0]
    assert [m.native_id for m in rss.mentions] == ["guid-a1", "guid-a2"]
    assert first.published_at == datetime(2026, 11, 10, 8, 15, tzinfo=timezone.utc)
    assert first.author == "Priya Shah" and first.language == "en"
    assert first.text.startswith("Customers of Acme Mobile reported no signal") and "<" not in first.text
    assert "alert(1)" not in first.text
    assert first.mention_id != rss.mentions[1].mention_id
    assert [m.author for m in atom.mentions] == ["dana", "lee", "jonas"]
    assert atom.mentions[2].published_at == datetime(2026, 11, 10, 14, 0, tzinfo=timezone.utc)
    assert rss.state.watermark == datetime(2026, 11, 10, 23, 40, tzinfo=timezone.utc)
    assert _state(rss).etag and rss.requests == 1


def test_the_cursor_skips_what_was_stored_and_keeps_what_is_new() -> None:
    body = _feed(_item("a", 5), _item("b", 6), _item("c", 6))
    with serve({"/x": Route(body)}) as server:
        first = _fetch(server.url("/x"))
        assert [m.native_id for m in first.mentions] == ["a", "b", "c"]
        assert _state(first).boundary_ids == ["b", "c"]
        server.routes["/x"] = Route(_feed(_item("a", 5), _item("b", 6), _item("c", 6), _item("d", 6), _item("e", 7)))
        second = _fetch(server.url("/x"), first.state)
    assert [m.native_id for m in second.mentions] == ["d", "e"]  # d shares the boundary timestamp
    assert second.state.watermark.day == 7 and _state(second).boundary_ids == ["e"]


def test_entries_after_the_runs_interval_are_held_back_and_the_etag_is_not_kept() -> None:
    with serve({"/x": Route(_feed(_item("a", 9), _item("late", 12)))}) as server:
        result = _fetch(server.url("/x"))
        assert [m.native_id for m in result.mentions] == ["a"] and result.held_back == 1
        assert _state(result).etag is None  # a 304 next time would hide the held-back entry
        later = _fetch(server.url("/x"), result.state, end=END + timedelta(days=2))
    assert [m.native_id for m in later.mentions] == ["late"]


def test_a_second_fetch_of_an_unchanged_feed_is_a_conditional_304() -> None:
    with serve({"/x": Route(_feed(_item("a", 9)))}) as server:
        first = _fetch(server.url("/x"))
        second = _fetch(server.url("/x"), first.state)
        headers = server.requests_for("/x")[1].headers
    assert second.not_modified and second.mentions == [] and second.state == first.state
    assert headers["If-None-Match"] == _state(first).etag


def test_the_prefilter_drops_entries_without_a_brand_and_duplicates_are_kept_once() -> None:
    body = _feed(_item("a", 9, "Acme outage"), _item("b", 9, "Weather"), _item("a", 9, "Acme outage"))
    with serve({"/x": Route(body)}) as server:
        result = _fetch(server.url("/x"))
    assert [m.native_id for m in result.mentions] == ["a"]


def test_entries_without_guid_use_the_canonical_link() -> None:
    item = ("<item><title>Acme</title><link>https://N.example/a?utm_source=x&amp;id=3#top</link>"
            "<pubDate>09 Nov 2026 10:00:00 +0000</pubDate></item>")
    with serve({"/x": Route(_feed(item))}) as server:
        [mention] = _fetch(server.url("/x")).mentions
    assert mention.native_id == "https://n.example/a?id=3" == canonical_url("https://N.example/a?utm_source=x&id=3#top")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty_body"),
        (b"<!DOCTYPE html><html><head><title>Login</title></head><body>nope</body></html>", "not_a_feed"),
        (b"\x00\xff\xfe garbage \x89PNG" * 1000, "malformed_feed"),
        (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><rss><channel><title>&lol2;</title></channel></rss>', "xml_entities"),
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&xxe;</title></item></channel></rss>', "xml_entities"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Cut off', "malformed_feed"),
        (b'{"data": {"children": []}}', "malformed_feed"),
    ],
)
def test_what_is_not_a_feed_is_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as error:
        parse_feed(body, url="http://x", source_id="feed")
    assert error.value.reason == reason and error.value.message


def test_a_sloppy_feed_keeps_its_salvaged_entries_and_records_a_reject() -> None:
    body = _feed(_item("a", 9, "Acme & friends"))  # a bare & makes it ill-formed
    parsed, rejects = parse_feed(body, url="http://x", source_id="feed")
    assert len(parsed.entries) == 1
    assert [r.reason for r in rejects] == ["feed_bozo"]


def test_latin1_bytes_declared_as_utf8_do_not_crash() -> None:
    body = _feed(_item("a", 9, "Café Acme")).replace("Café".encode(), "Café".encode("latin-1"))
    parsed, rejects = parse_feed(body, url="http://x", source_id="feed")
    assert len(parsed.entries) == 1 and "Acme" in parsed.entries[0].title


def test_a_gzip_bomb_is_stopped_at_the_size_limit() -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 50_000_000)
    small = FetchPolicy(user_agent="t", timeout_seconds=5, max_retries=0, max_bytes=1_000_000)
    with serve({"/x": Route(bomb, headers={"Content-Encoding": "gzip"})}) as server:
        with pytest.raises(Exception) as error:
            fetch_feed("feed", server.url("/x"), state=RssState(), policy=small, keep=bool,
                       interval_end=END, backfill_start=START, fetched_at=NOW, sleep=lambda s: None)
    assert getattr(error.value, "reason", None) == "too_large"


def _feed_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in {".xml", ".rss", ".atom", ".rdf"}]


def test_every_real_captured_feed_parses_or_is_refused_cleanly() -> None:
    folder = shared_data("rss-real-feeds")
    counts = {"parsed": 0, "refused": 0, "entries": 0}
    for path in _feed_files(folder):
        try:
            parsed, _ = parse_feed(path.read_bytes(), url=path.as_uri(), source_id="real")
        except FeedError:
            counts["refused"] += 1
            continue
        counts["parsed"] += 1
        counts["entries"] += len(parsed.entries)
    assert counts["parsed"] >= 5 and counts["entries"] > 100, counts


def test_feedparsers_own_fixtures_never_crash_the_connector() -> None:
    folder = shared_data("feedparser-tests", "tests")
    from connectors.rss import entry_to_mention

    crashes = []
    files = _feed_files(folder)
    for path in files:
        try:
            parsed, _ = parse_feed(path.read_bytes(), url=path.as_uri(), source_id="fp")
            for entry in parsed.entries:
                entry_to_mention(entry, "fp", parsed.feed, NOW)
        except FeedError:
            continue
        except Exception as exc:  # noqa: BLE001 - anything else is a crash the run would suffer
            crashes.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert len(files) > 1000
    assert crashes == []


# --- entries without a date (issue 13): stored by the first run that sees them, dated by its window ---


def _undated(guid: str | None, text: str = "Acme news", link: str | None = None) -> str:
    return ("<item>" + (f"<guid>{guid}</guid>" if guid else "") + f"<title>{text}</title>"
            + (f"<link>{link}</link>" if link else "") + f"<description>{text}, in full</description></item>")


def test_an_undated_entry_is_stored_once_dated_by_the_first_run_and_never_moves_the_watermark() -> None:
    with serve({"/x": Route(_feed(_undated("u1"), _item("d1", 9)))}) as server:
        first = _fetch(server.url("/x"))
        undated = next(m for m in first.mentions if m.native_id == "u1")
        assert undated.date_missing and undated.published_at == END and undated.fetched_at == NOW
        assert not next(m for m in first.mentions if m.native_id == "d1").date_missing
        assert first.held_back == 0 and _state(first).etag  # nothing held back, so the ETag is kept
        assert first.state.watermark == datetime(2026, 11, 9, 12, tzinfo=timezone.utc)  # the dated entry's
        assert _state(first).undated_ids == ["u1"]
        # the next day the feed also carries a dated entry published late, before the undated one's date, and a new undated one
        server.routes["/x"] = Route(_feed(_undated("u2"), _undated("u1", "Acme news, edited"), _item("d2", 10, hour=20), _item("d1", 9)))
        second = _fetch(server.url("/x"), first.state, end=END + timedelta(days=1), now=NOW + timedelta(days=1))
    assert {m.native_id: m.published_at for m in second.mentions} == {
        "u2": END + timedelta(days=1), "d2": datetime(2026, 11, 10, 20, tzinfo=timezone.utc)}  # u1 is not taken again
    assert _state(second).undated_ids == ["u1", "u2"] and _state(second).etag


def test_an_undated_entry_dropped_from_the_feed_is_forgotten_and_undated_entries_without_a_brand_are_not_remembered() -> None:
    with serve({"/x": Route(_feed(_undated("u1"), _undated("w1", "Weather")))}) as server:
        first = _fetch(server.url("/x"))
        server.routes["/x"] = Route(_feed(_undated("w1", "Weather"), _item("d1", 9)))
        second = _fetch(server.url("/x"), first.state)
    assert _state(first).undated_ids == ["u1"]
    assert _state(second).undated_ids == []  # bounded by what the feed still carries


def test_an_undated_entry_without_guid_or_link_gets_the_same_id_every_run() -> None:
    with serve({"/x": Route(_feed(_undated(None)))}) as server:
        [first] = _fetch(server.url("/x")).mentions
        [later] = _fetch(server.url("/x"), end=END + timedelta(days=3), now=NOW + timedelta(days=3)).mentions
        server.routes["/x"] = Route(_feed(_undated(None, "Acme news, edited")))
        [edited] = _fetch(server.url("/x")).mentions
    assert first.native_id.startswith("sha:") and first.native_id == later.native_id
    assert later.published_at == END + timedelta(days=3)  # a fresh cursor: a run that has not seen it dates it by its own window
    assert edited.native_id != first.native_id  # no id to tell an edit from a new entry: a new mention


def test_an_undated_entry_read_before_the_interval_end_is_dated_when_fetched() -> None:
    with serve({"/x": Route(_feed(_undated("u1")))}) as server:
        [mention] = _fetch(server.url("/x"), end=NOW + timedelta(days=1)).mentions
    assert mention.published_at == NOW


# --- full-text extension elements and gzip behind file: --------------------------------------------


def test_a_full_text_extension_element_is_read_when_the_description_names_no_brand() -> None:
    url = (FIXTURES / "full-text.rss.xml").as_uri()
    result = _fetch(url, keep=lambda text: "Acme" in text or "Orbit" in text)
    texts = {m.native_id: m.text for m in result.mentions}
    assert set(texts) == {"ft-1", "ft-2", "ft-3"}
    assert texts["ft-1"].endswith("Acme Mobile says engineers are on site.")
    assert "Orbit Telecom goes first" in texts["ft-2"] and "<b>" not in texts["ft-2"]  # turbo:content under the prefix tb:
    assert texts["ft-3"] == "Acme Mobile opens a shop downtown."  # the description names the brand: it is the text


def test_a_full_text_element_whose_prefix_is_never_declared_is_still_read_from_the_salvaged_feed() -> None:
    item = ("<item><guid>u</guid><title>Outage</title><pubDate>09 Nov 2026 10:00:00 +0000</pubDate>"
            "<description>No signal.</description><yandex:full-text>No signal from Acme Mobile.</yandex:full-text></item>")
    with serve({"/x": Route(_feed(item))}) as server:
        result = _fetch(server.url("/x"))
    assert [m.text for m in result.mentions] == ["No signal from Acme Mobile."]
    assert [r.reason for r in result.rejects] == ["feed_bozo"]  # the unbound prefix makes it ill-formed


def test_a_gzip_compressed_file_is_read_like_a_gzip_http_body(tmp_path: Path) -> None:
    feed = tmp_path / "acme.rss.xml.gz"
    feed.write_bytes(gzip.compress((FIXTURES / "acme-news.rss.xml").read_bytes()))
    assert [m.native_id for m in _fetch(feed.as_uri()).mentions] == ["guid-a1", "guid-a2"]
    feed.write_bytes(gzip.compress(b"<rss>" + b" " * 50_000_000))
    with pytest.raises(TerminalFetchError) as bomb:
        _fetch(feed.as_uri())
    assert bomb.value.reason == "too_large" and "once decompressed" in bomb.value.message
    feed.write_bytes(gzip.compress((FIXTURES / "acme-news.rss.xml").read_bytes())[:-40])
    with pytest.raises(TerminalFetchError) as cut:
        _fetch(feed.as_uri())
    assert cut.value.reason == "bad_encoding"

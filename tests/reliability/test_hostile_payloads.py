"""Hostile payloads through whole daily runs: a healthy source beside a hostile one, served on loopback.

Every case runs the real steps three times: with the hostile payload (the healthy source is stored;
the hostile one is refused with a specific reason, or its intact part is stored with a reject that
names the damage), again with the same payload (the warehouse does not change), and the next day
with the payload fixed (exactly the mentions that were missing are stored, once; the only updates are
of mentions the damage had garbled, corrected in place).
"""

from __future__ import annotations

import gzip
import json
import random
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

import nlp.pipeline
from connectors import reddit
from connectors.kinds.base import STATE_KEY
from connectors.kinds.reddit import RedditState
from connectors.records import SourceState
from connectors.replay import Recorded, ReplayServer, request_key
from nlp.catalog import Brand
from nlp.pipeline import build_pipeline
from tests.feeds_server import FeedServer, Route
from tests.reliability.harness import FAST_HTTP, DayRun, query, run_day, snapshot, write_config

DAY, NEXT_DAY = "2026-11-10", "2026-11-11"
MB = 1024 * 1024
CAP = 2 * MB  # the hostile sources' http.max_bytes
MEMORY_BOUND = 150 * MB  # generous: what one run may allocate (traced) while refusing a giant body or a bomb
HOSTILE_HTTP = f"    http: {{timeout_seconds: 5, max_retries: 0, backoff_seconds: 0, max_bytes: {CAP}}}\n"
HEALTHY_ITEMS = [
    ("healthy-2", "Acme Mobile support fixed my line in minutes", "Mon, 09 Nov 2026 09:00:00 +0000"),
    ("healthy-1", "Is Acme Unlimited worth it for a family of four?", "Mon, 09 Nov 2026 08:00:00 +0000"),
]
HEALTHY_IDS = {guid for guid, _, _ in HEALTHY_ITEMS}


def _items(word: str = "") -> list[tuple[str, str, str]]:
    """The hostile source's three entries, newest first as feeds list them; `word` goes into every title."""
    return [
        ("hostile-3", f"Orbit Telecom outage again {word}".strip(), "Sun, 08 Nov 2026 12:00:00 +0000"),
        ("hostile-2", f"Switching from Orbit Telecom to Acme Mobile {word}".strip(), "Sun, 08 Nov 2026 11:00:00 +0000"),
        ("hostile-1", f"Orbit Telecom refund never came {word}".strip(), "Sun, 08 Nov 2026 10:00:00 +0000"),
    ]


HOSTILE_IDS = {guid for guid, _, _ in _items()}


def _rss(items: list[tuple[str, str, str]], *, encoding: str | None = "UTF-8", doctype: str = "") -> str:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title><pubDate>{when}</pubDate>'
        f"<description>{title}. Posted by a customer.</description></item>\n"
        for guid, title, when in items
    )
    return f'{declaration}\n{doctype}<rss version="2.0"><channel><title>Telecom talk</title>\n{entries}</channel></rss>\n'


FIXED = _rss(_items()).encode()


# --- the scenario every case runs ------------------------------------------------------------------


class QuickServer(FeedServer):
    """The loopback feed server, polling for shutdown every 50 ms instead of 500 (many cases, each its own server)."""

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(routes)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)


@dataclass
class Scenario:
    """A loopback server with a healthy and a hostile source, a config pointing at it, and the warehouse."""

    config: Path
    data: Path
    serve_hostile: Callable[[object], None]  # answer the hostile source's request with this from now on
    fixed: object  # what the hostile source serves once it is fixed
    runs: list[DayRun] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return self.data / "zmot.duckdb"

    def run(self, day: str = DAY) -> DayRun:
        result = run_day(self.config, self.data, day)
        self.runs.append(result)
        return result

    def stored(self, source: str) -> set[str]:
        return {row[0] for row in query(self.warehouse, "SELECT native_id FROM mentions WHERE source_id = ?", [source])}

    def column(self, source: str, name: str) -> dict[str, object]:
        return dict(query(self.warehouse, f"SELECT native_id, {name} FROM mentions WHERE source_id = ?", [source]))

    def rejects(self, source: str) -> list[tuple[str, str]]:
        return sorted(query(self.warehouse, "SELECT reason, message FROM rejects WHERE source_id = ?", [source]))

    def reasons(self, source: str) -> list[str]:
        return [reason for reason, _ in self.rejects(source)]

    def has_cursor(self, source: str) -> bool:
        return bool(query(self.warehouse, "SELECT 1 FROM source_state WHERE source_id = ?", [source]))

    def everything_stored(self) -> str:
        """Every value of every table as text, to prove a secret never reached the warehouse."""
        tables = [t for (t,) in query(self.warehouse, "SELECT table_name FROM information_schema.tables")]
        return "\n".join(repr(query(self.warehouse, f'SELECT * FROM "{t}"')) for t in tables)


@contextmanager
def rss_scenario(tmp_path: Path, hostile: Route | None = None) -> Iterator[tuple[Scenario, FeedServer]]:
    routes = {"/healthy.xml": Route(_rss(HEALTHY_ITEMS).encode()), "/hostile.xml": hostile or Route(FIXED)}
    with QuickServer(routes) as server:
        sources = (
            f"{FAST_HTTP}sources:\n"
            f"  - name: healthy\n    kind: rss\n    url: {server.url('/healthy.xml')}\n"
            f"  - name: hostile\n    kind: rss\n    url: {server.url('/hostile.xml')}\n{HOSTILE_HTTP}"
        )
        serve_hostile = lambda route: routes.__setitem__("/hostile.xml", route)  # noqa: E731
        yield Scenario(write_config(tmp_path / "config", sources), tmp_path / "data", serve_hostile, Route(FIXED)), server


def lifecycle(sc: Scenario, *, reason: str | None, kept: set[str], fixed: object = None,
              healthy: set[str] = HEALTHY_IDS, everything: set[str] = HOSTILE_IDS, first: DayRun | None = None,
              updated: int = 0, fails: bool | None = None) -> DayRun:
    """Hostile run, the same payload again, then the fixed payload the next day; asserts each step."""
    first = first or sc.run(DAY)
    assert sc.stored("healthy") == healthy
    assert sc.stored("hostile") == kept
    assert sc.reasons("hostile") == ([reason] if reason else [])
    assert sc.reasons("healthy") == []
    if fails if fails is not None else not kept and reason is not None:
        assert "hostile" in first.failed and not sc.has_cursor("hostile")  # refused: its cursor never moved
    else:
        assert "hostile" not in first.failed  # salvaged or accepted: the source did not fail
    before = snapshot(sc.warehouse)
    again = sc.run(DAY)
    assert (again.load["mentions_new"], again.load["mentions_updated"]) == (0, 0)
    assert snapshot(sc.warehouse) == before
    sc.serve_hostile(fixed or sc.fixed)
    healed = sc.run(NEXT_DAY)
    assert healed.failed == {}
    assert sc.stored("hostile") == everything and sc.stored("healthy") == healthy
    assert (healed.load["mentions_new"], healed.load["mentions_updated"]) == (len(everything - kept), updated)
    assert_no_duplicates(sc.warehouse)
    return first


def assert_no_duplicates(warehouse: Path) -> None:
    counts = query(warehouse, "SELECT (SELECT count(*) FROM mentions), (SELECT count(DISTINCT (source_id, native_id)) FROM mentions), "
                              "(SELECT count(*) FROM mention_nlp), (SELECT count(DISTINCT mention_id) FROM mention_nlp)")[0]
    assert len(set(counts)) == 1, counts


def traced_run(sc: Scenario, day: str = DAY) -> tuple[DayRun, int]:
    """One run and the peak of what Python allocated during it."""
    tracemalloc.start()
    try:
        result = sc.run(day)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module", autouse=True)
def _pipeline_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The real spaCy pipeline, built once per brand catalog instead of once per run (the cases run ~200 days),
    and built before any case so memory traced in a case is the case's own."""
    built: dict[str, object] = {}

    def build_once(brands: Sequence[Brand], **kwargs: object) -> object:
        key = json.dumps([[b.model_dump() for b in brands], kwargs], sort_keys=True, default=str)
        if key not in built:
            built[key] = build_pipeline(brands, **kwargs)
        return built[key]

    patch = pytest.MonkeyPatch()
    patch.setattr(nlp.pipeline, "build_pipeline", build_once)  # steps.enrich imports it when it runs
    tmp = tmp_path_factory.mktemp("warm")
    feed = tmp / "warm.xml"
    feed.write_bytes(_rss(HEALTHY_ITEMS).encode())
    run_day(write_config(tmp / "config", f"sources:\n  - name: warm\n    kind: rss\n    url: {feed.as_uri()}\n"), tmp / "data", DAY)
    yield
    patch.undo()


# --- RSS and Atom: broken XML -----------------------------------------------------------------------


MALFORMED = {
    # damage, what the loose parser salvages, the fix, mentions the fix corrects in place
    "bare-ampersand-and-angle": (FIXED.replace(b"Switching from", b"Switching & from <", 1), HOSTILE_IDS,
                                 FIXED.replace(b"Switching from", b"Switching &amp; from &lt;", 1), 0),
    "unterminated-comment": (FIXED.replace(b'<item><guid isPermaLink="false">hostile-2', b'<!-- <item><guid>hostile-2', 1),
                             {"hostile-3"}, FIXED, 0),
    "guid-never-closed": (FIXED.replace(b"hostile-2</guid>", b"hostile-2", 1), {"hostile-3", "hostile-1"}, FIXED, 0),
    "title-tag-misspelt": (FIXED.replace(b"<title>Switching", b"<titel>Switching", 1), HOSTILE_IDS, FIXED, 1),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_xml_keeps_the_intact_entries_and_holds_the_cursor_until_the_feed_is_whole(tmp_path: Path, case: str) -> None:
    broken, kept, fixed, corrected = MALFORMED[case]
    with rss_scenario(tmp_path, Route(broken)) as (sc, _):
        lifecycle(sc, reason="feed_bozo", kept=kept, fixed=Route(fixed), updated=corrected)
        assert f"{len(kept)} entries salvaged" in sc.rejects("hostile")[0][1]
        assert sc.column("hostile", "title")["hostile-2"] == ("Switching & from < Orbit Telecom to Acme Mobile"
                                                              if case.startswith("bare") else "Switching from Orbit Telecom to Acme Mobile")


def test_a_feed_cut_mid_entry_keeps_the_complete_entries_and_skips_the_cut_one(tmp_path: Path) -> None:
    cut = FIXED[: FIXED.index(b"Orbit Telecom refund")]  # inside hostile-1's title
    with rss_scenario(tmp_path, Route(cut)) as (sc, _):
        lifecycle(sc, reason="feed_truncated", kept={"hostile-3", "hostile-2"})
        assert "2 entries salvaged, skipped: the cut-off last one" in sc.rejects("hostile")[0][1]


def test_a_feed_cut_between_tags_skips_the_possibly_cut_last_entry_and_loses_nothing(tmp_path: Path) -> None:
    cut = FIXED[: FIXED.index(b"</channel>")]  # every item complete, but the document never closes
    with rss_scenario(tmp_path, Route(cut)) as (sc, _):
        lifecycle(sc, reason="feed_truncated", kept={"hostile-3", "hostile-2"})


# --- entity expansion, external entities, DTDs ---------------------------------------------------------

LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">']
    + [f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
)
PADDING = "<!--" + "padding " * 10_000 + "-->\n"  # 80 KB of comment before the DOCTYPE


def _laughs(style: str) -> bytes:
    doctype = f"<!DOCTYPE rss [{LAUGHS}]>\n"
    items = [(guid, f"{title} &lol9;", when) for guid, title, when in _items()]
    if style == "utf16":
        return _rss(items, encoding="UTF-16", doctype=doctype).encode("utf-16")
    text = _rss(items, doctype=doctype)
    return (text.replace("?>\n", "?>\n" + PADDING, 1) if style == "padded" else text).encode()


@pytest.mark.parametrize("style", ["plain", "padded", "utf16"])
def test_billion_laughs_is_refused_before_parsing_however_it_is_hidden(tmp_path: Path, style: str) -> None:
    with rss_scenario(tmp_path, Route(_laughs(style))) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="xml_entities", kept=set(), first=first)
        assert "lollol" not in sc.everything_stored()
    assert peak < MEMORY_BOUND


def test_quadratic_blowup_is_refused(tmp_path: Path) -> None:
    doctype = f'<!DOCTYPE rss [<!ENTITY big "{"x" * 100_000}">]>\n'
    items = [(guid, title + " " + "&big;" * 5_000, when) for guid, title, when in _items()]
    body = _rss(items, doctype=doctype).encode()
    assert len(body) < CAP
    with rss_scenario(tmp_path, Route(body)) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="xml_entities", kept=set(), first=first)
    assert peak < MEMORY_BOUND


@pytest.mark.parametrize("style", ["plain", "padded", "utf16"])
def test_external_entities_never_read_a_file_or_call_a_url(tmp_path: Path, style: str) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("zmot-file-secret-6d1f")
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    with rss_scenario(tmp_path) as (sc, server):
        server.routes["/secret"] = Route(b"zmot-url-secret-93ab")
        doctype = (f'<!DOCTYPE rss [<!ENTITY file SYSTEM "{secret_file.as_uri()}"><!ENTITY passwd SYSTEM "file:///etc/passwd">'
                   f'<!ENTITY web SYSTEM "{server.url("/secret")}">]>\n')
        items = [(guid, f"{title} &file; &passwd; &web;", when) for guid, title, when in _items()]
        if style == "utf16":
            body = _rss(items, encoding="UTF-16", doctype=doctype).encode("utf-16")
        else:
            text = _rss(items, doctype=doctype)
            body = (text.replace("?>\n", "?>\n" + PADDING, 1) if style == "padded" else text).encode()
        sc.serve_hostile(Route(body))
        lifecycle(sc, reason="xml_entities", kept=set())
        stored = sc.everything_stored()
        assert server.requests_for("/secret") == []
    assert "zmot-file-secret" not in stored and "zmot-url-secret" not in stored and passwd not in stored


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE rss SYSTEM "{url}">',
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{url}">',
], ids=["system", "public-rss-0.91"])
def test_a_doctype_naming_an_external_dtd_is_read_without_fetching_it(tmp_path: Path, doctype: str) -> None:
    with rss_scenario(tmp_path) as (sc, server):
        server.routes["/evil.dtd"] = Route(b'<!ENTITY lol "zmot-dtd-secret">')
        sc.serve_hostile(Route(_rss(_items(), doctype=doctype.format(url=server.url("/evil.dtd")) + "\n").encode()))
        lifecycle(sc, reason=None, kept=HOSTILE_IDS)
        assert server.requests_for("/evil.dtd") == []


def test_a_parameter_entity_pulling_a_remote_dtd_is_refused_without_fetching_it(tmp_path: Path) -> None:
    with rss_scenario(tmp_path) as (sc, server):
        server.routes["/evil.dtd"] = Route(b'<!ENTITY lol "zmot-dtd-secret">')
        doctype = f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{server.url("/evil.dtd")}"> %remote;]>\n'
        sc.serve_hostile(Route(_rss(_items(), doctype=doctype).encode()))
        lifecycle(sc, reason="xml_entities", kept=set())
        assert server.requests_for("/evil.dtd") == []
        assert "zmot-dtd-secret" not in sc.everything_stored()


# --- gzip bombs and giant bodies -------------------------------------------------------------------------


@dataclass
class Sent:
    """How many bytes a streamed route actually wrote before the client hung up."""

    total: int = 0


def _gzip_bomb(sent: Sent, *, layers: int, expanded: int = 8 * 1024 * MB) -> Callable[[], Iterator[bytes]]:
    """A feed's opening and then GBs of spaces, gzipped `layers` times, compressed as the server writes it."""
    def stream() -> Iterator[bytes]:
        compressors = [zlib.compressobj(9, zlib.DEFLATED, 31) for _ in range(layers)]

        def squeeze(data: bytes) -> bytes:
            for compressor in compressors:
                data = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
            return data

        spaces = b" " * MB
        for data in [FIXED[: FIXED.index(b"<item>")], *(spaces for _ in range(expanded // MB))]:
            piece = squeeze(data)
            sent.total += len(piece)
            yield piece
    return stream


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
def test_a_gzip_bomb_is_stopped_at_the_size_cap_with_memory_bounded(tmp_path: Path, encoding: str) -> None:
    sent = Sent()
    bomb = Route(stream=_gzip_bomb(sent, layers=encoding.count("gzip")), headers={"Content-Encoding": encoding})
    with rss_scenario(tmp_path, bomb) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="too_large", kept=set(), first=first)
        assert f"{CAP:,}-byte limit" in sc.rejects("hostile")[0][1]
    assert sent.total < 2 * MB  # 8 GB expanded were on offer; a few KB of it were sent per run
    assert peak < MEMORY_BOUND


def _gzip_members(data: bytes) -> bytes:
    """One gzip member; members laid end to end are one gzip file, so a bomb is made without compressing GBs."""
    return gzip.compress(data, compresslevel=9)


@contextmanager
def file_scenario(tmp_path: Path, hostile: bytes) -> Iterator[Scenario]:
    """The healthy feed on loopback and the hostile one as a local file behind a file: URL."""
    feed = tmp_path / "hostile.xml.gz"
    feed.write_bytes(hostile)
    with QuickServer({"/healthy.xml": Route(_rss(HEALTHY_ITEMS).encode())}) as server:
        sources = (
            f"{FAST_HTTP}sources:\n"
            f"  - name: healthy\n    kind: rss\n    url: {server.url('/healthy.xml')}\n"
            f"  - name: hostile\n    kind: rss\n    url: {feed.as_uri()}\n{HOSTILE_HTTP}"
        )
        yield Scenario(write_config(tmp_path / "config", sources), tmp_path / "data", feed.write_bytes, gzip.compress(FIXED))


def test_a_gzip_compressed_feed_behind_a_file_url_is_read_like_a_gzip_http_body(tmp_path: Path) -> None:
    with file_scenario(tmp_path, gzip.compress(FIXED)) as sc:
        lifecycle(sc, reason=None, kept=HOSTILE_IDS)


@pytest.mark.parametrize(("layers", "expanded"), [(1, 1024 * MB), (2, 8 * 1024 * MB)], ids=["gzip", "gzip-of-gzip"])
def test_a_gzip_bomb_behind_a_file_url_is_stopped_at_the_size_cap_with_memory_bounded(tmp_path: Path, layers: int, expanded: int) -> None:
    bomb = _gzip_members(FIXED[: FIXED.index(b"<item>")]) + _gzip_members(b" " * MB) * (expanded // MB)  # 1 GB: ~1 MB
    for _ in range(layers - 1):
        bomb = gzip.compress(bomb)
    assert len(bomb) < CAP  # on disk under the cap: only decompressing finds the size
    with file_scenario(tmp_path, bomb) as sc:
        first, peak = traced_run(sc)
        lifecycle(sc, reason="too_large", kept=set(), first=first)
        assert f"{CAP:,}-byte limit once decompressed" in sc.rejects("hostile")[0][1]
    assert peak < MEMORY_BOUND


def _giant(sent: Sent, total: int = 100 * MB, head: bytes = b"") -> Callable[[], Iterator[bytes]]:
    """A 100 MB body made 64 KB at a time as the server writes it: a feed's opening, then endless comment."""
    def stream() -> Iterator[bytes]:
        pieces = [head or FIXED[: FIXED.index(b"<item>")]]
        pieces += [b"<!--" + b"x" * (64 * 1024 - 7) + b"-->"] * (total // (64 * 1024))
        for piece in pieces:
            sent.total += len(piece)
            yield piece
    return stream


def test_a_100mb_body_is_refused_at_the_size_limit_without_reading_it_all(tmp_path: Path) -> None:
    sent = Sent()
    with rss_scenario(tmp_path, Route(stream=_giant(sent))) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="too_large", kept=set(), first=first)
    assert sent.total < 40 * MB  # two runs; each stopped a little past the 2 MB cap (socket buffers)
    assert peak < MEMORY_BOUND


def test_a_declared_100mb_body_is_refused_before_reading_it(tmp_path: Path) -> None:
    sent = Sent()
    honest = Route(stream=_giant(sent), headers={"Content-Length": str(100 * MB)})
    with rss_scenario(tmp_path, honest) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="too_large", kept=set(), first=first)
        assert f"body is {100 * MB:,} bytes" in sc.rejects("hostile")[0][1]
    assert peak < MEMORY_BOUND


def test_a_content_length_that_undercounts_a_100mb_body_reads_only_what_it_declared(tmp_path: Path) -> None:
    sent = Sent()
    declared = FIXED.index(b"Orbit Telecom refund")  # ends inside hostile-1: the lie truncates the feed
    liar = Route(stream=_giant(sent, head=FIXED), headers={"Content-Length": str(declared)})
    with rss_scenario(tmp_path, liar) as (sc, _):
        first, peak = traced_run(sc)
        lifecycle(sc, reason="feed_truncated", kept={"hostile-3", "hostile-2"}, first=first)
    assert sent.total < 40 * MB
    assert peak < MEMORY_BOUND


# --- not a feed at all ----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


@pytest.mark.parametrize(("body", "content_type"), [
    (random.Random(8).randbytes(64 * 1024), "application/rss+xml"),
    (PNG + random.Random(9).randbytes(4096), "image/png"),
    (PNG + random.Random(9).randbytes(4096), "application/rss+xml"),
    (b"\x00" * 4096, "application/xml"),
], ids=["random-bytes", "png", "png-claiming-rss", "nul-bytes"])
def test_binary_garbage_is_refused_as_malformed(tmp_path: Path, body: bytes, content_type: str) -> None:
    with rss_scenario(tmp_path, Route(body, headers={"Content-Type": content_type})) as (sc, _):
        lifecycle(sc, reason="malformed_feed", kept=set())


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head><title>Telecom talk</title></head><body><p>Orbit Telecom news</p></body></html>",
    b"\xef\xbb\xbf<!-- served by a CMS -->\n<!doctype html>\n<html lang=en><body>Orbit Telecom</body></html>",
    b"\n\n   <html><body><h1>Feed moved</h1><a href='/feed'>Orbit Telecom</a></body></html>",
], ids=["doctype", "bom-and-comment-first", "bare-html"])
def test_html_claiming_to_be_a_feed_is_refused_as_not_a_feed(tmp_path: Path, body: bytes) -> None:
    with rss_scenario(tmp_path, Route(body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})) as (sc, _):
        lifecycle(sc, reason="not_a_feed", kept=set())
        assert "point the source at the feed URL" in sc.rejects("hostile")[0][1]


@pytest.mark.parametrize("body", [b"", b"  \r\n\t \n  "], ids=["empty", "whitespace"])
def test_an_empty_body_is_refused_as_empty(tmp_path: Path, body: bytes) -> None:
    with rss_scenario(tmp_path, Route(body, headers={"Content-Type": "application/rss+xml"})) as (sc, _):
        lifecycle(sc, reason="empty_body", kept=set())


# --- wrong encodings: every entry is stored with the right text, and the fixed feed changes nothing ---------


def _declared(encoding: str | None, codec: str, word: str, *, bom: bytes = b"") -> bytes:
    return bom + _rss(_items(word), encoding=encoding).encode(codec)


ENCODINGS = {
    "latin1-declared-utf8": ("café naïve", lambda w: _declared("UTF-8", "latin-1", w), "application/rss+xml", "feed_encoding"),
    "cp1252-smart-quotes-declared-utf8": ("“smart” – café", lambda w: _declared("UTF-8", "cp1252", w), "application/rss+xml", "feed_encoding"),
    "cp1252-undeclared": ("“smart” – café", lambda w: _declared(None, "cp1252", w), "text/xml", "feed_encoding"),
    "utf16-with-bom": ("日本語 “ok”", lambda w: _declared("UTF-16", "utf-16", w), "application/rss+xml", None),
    "utf16-without-bom": ("日本語 “ok”", lambda w: _declared("UTF-16", "utf-16-le", w), "application/rss+xml", None),
    "shift-jis-in-prolog": ("日本語のレビュー", lambda w: _declared("Shift_JIS", "shift_jis", w), "application/rss+xml", None),
    "utf8-bom-contradicts-latin1-prolog": ("café “ok”", lambda w: _declared("ISO-8859-1", "utf-8", w, bom=b"\xef\xbb\xbf"),
                                           "application/rss+xml", None),
    "header-latin1-contradicts-utf8-prolog": ("café “ok”", lambda w: _declared("UTF-8", "utf-8", w),
                                              "application/rss+xml; charset=ISO-8859-1", None),
    "header-utf16-contradicts-utf8-prolog": ("café “ok”", lambda w: _declared("UTF-8", "utf-8", w),
                                             "application/rss+xml; charset=utf-16", "feed_encoding"),
    # RFC 7303: no charset parameter means the document decides (RFC 3023's us-ascii made this a reject every day)
    "text-xml-without-charset": ("café “ok”", lambda w: _declared("UTF-8", "utf-8", w), "text/xml", None),
}


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_wrongly_labelled_encodings_store_every_entry_with_the_right_text(tmp_path: Path, case: str) -> None:
    word, make, content_type, reason = ENCODINGS[case]
    body = make(word)
    if case == "header-utf16-contradicts-utf8-prolog" and len(body) % 2:
        body += b"\n"  # an even length decodes as (garbage) UTF-16, the case that used to refuse the feed
    with rss_scenario(tmp_path, Route(body, headers={"Content-Type": content_type})) as (sc, _):
        fixed = Route(_rss(_items(word)).encode())
        first = sc.run(DAY)
        assert sc.column("hostile", "title") == {guid: title for guid, title, _ in _items(word)}
        lifecycle(sc, reason=reason, kept=HOSTILE_IDS, fixed=fixed, first=first)


# --- review pages ---------------------------------------------------------------------------------------


def _review(rid: str, body: str | None = "", rating: object = 4, day: str = "2026-11-08", **extra: object) -> dict[str, object]:
    review: dict[str, object] = {"@type": "Review", "@id": rid, "author": {"@type": "Person", "name": f"Buyer {rid}"},
                                 "datePublished": day, "reviewRating": {"@type": "Rating", "ratingValue": rating, "bestRating": 5}}
    if body is not None:
        review["reviewBody"] = body or f"The Kettleworks K2 boils fast, review {rid}."
    return {**review, **extra}


def _review_page(reviews: list[dict[str, object]], *, head: str = "", body: str = "", charset: str = "utf-8", **product: object) -> str:
    data = json.dumps({"@context": "https://schema.org", "@type": "Product", "name": "Kettleworks K2", **product, "review": reviews})
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>K2 reviews</title>'
            f'<script type="application/ld+json">{data}</script>{head}</head><body><h1>Reviews</h1>{body}</body></html>')


HOSTILE_REVIEWS = [_review("h3"), _review("h2"), _review("h1")]
REVIEWS_FIXED = _review_page(HOSTILE_REVIEWS).encode()


def _site(*ids: str) -> set[str]:
    """Review ids as stored: scoped by the site's host."""
    return {f"127.0.0.1:{rid}" for rid in ids}


@contextmanager
def review_scenario(tmp_path: Path, hostile: Route, fixed: bytes = REVIEWS_FIXED) -> Iterator[Scenario]:
    routes = {"/good.html": Route(_review_page([_review("g2", day="2026-11-09"), _review("g1", day="2026-11-09")]).encode()),
              "/bad.html": hostile}
    with QuickServer(routes) as server:
        sources = (
            f"{FAST_HTTP}sources:\n"
            f"  - name: healthy\n    kind: reviews\n    urls: [{server.url('/good.html')}]\n    brand: Kettleworks\n"
            "    host_delay_seconds: 0\n"
            f"  - name: hostile\n    kind: reviews\n    urls: [{server.url('/bad.html')}]\n    brand: Kettleworks\n"
            f"    host_delay_seconds: 0\n{HOSTILE_HTTP}"
        )
        serve_hostile = lambda route: routes.__setitem__("/bad.html", route)  # noqa: E731
        yield Scenario(write_config(tmp_path / "config", sources), tmp_path / "data", serve_hostile, Route(fixed))


def review_lifecycle(sc: Scenario, *, reason: str | None, kept: set[str], everything: set[str] = _site("h1", "h2", "h3"),
                     **kwargs: object) -> DayRun:
    """A page that cannot be read is a reject of its source, not a failed source: the other pages would go on."""
    return lifecycle(sc, reason=reason, kept=kept, healthy=_site("g1", "g2"), everything=everything, fails=False, **kwargs)


def test_a_page_nested_100k_divs_deep_keeps_what_precedes_the_depth_limit_and_says_the_rest_is_missing(tmp_path: Path) -> None:
    late = f'<script type="application/ld+json">{json.dumps({"@type": "Product", "review": HOSTILE_REVIEWS[1:]})}</script>'
    page = _review_page(HOSTILE_REVIEWS[:1], body="<div>" * 100_000 + "deep" + "</div>" * 100_000 + late).encode()
    assert len(page) < CAP
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": "text/html"})) as sc:
        first, peak = traced_run(sc)
        review_lifecycle(sc, reason="html_too_deep", kept=_site("h3"), first=first)
        assert "reviews after that point are missing" in sc.rejects("hostile")[0][1]
    assert peak < MEMORY_BOUND


BROKEN_JSON_LD = {
    "truncated": '{"@type": "Product", "review": [{"@type": "Review", "@id": "h2", "reviewBody": "Kettleworks',
    "html-inside": "<p>reviews coming soon</p>",
    "nested-900-deep": "[" * 900 + json.dumps(HOSTILE_REVIEWS[1]) + "]" * 900,  # used to exhaust the stack: a crash
    "nested-100k-deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("case", list(BROKEN_JSON_LD))
def test_a_broken_json_ld_block_is_noted_and_the_other_blocks_are_kept(tmp_path: Path, case: str) -> None:
    broken = f'<script type="application/ld+json">{BROKEN_JSON_LD[case]}</script>'
    page = _review_page([HOSTILE_REVIEWS[0], HOSTILE_REVIEWS[2]], head=broken).encode()
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": "text/html; charset=utf-8"})) as sc:
        review_lifecycle(sc, reason="jsonld_malformed", kept=_site("h3", "h1"))
        assert "1 JSON-LD block(s) could not be read" in sc.rejects("hostile")[0][1]


def test_an_enormous_json_ld_block_is_read_within_the_size_cap(tmp_path: Path) -> None:
    page = _review_page(HOSTILE_REVIEWS, description="Kettle lore. " * 120_000).encode()  # 1.4 MB of JSON-LD
    assert MB < len(page) < CAP
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": "text/html"})) as sc:
        first, peak = traced_run(sc)
        review_lifecycle(sc, reason=None, kept=_site("h1", "h2", "h3"), first=first)
    assert peak < MEMORY_BOUND


def test_ratings_of_the_wrong_type_or_range_are_stored_as_no_rating_or_clamped_and_never_divide_by_zero(tmp_path: Path) -> None:
    odd = [
        _review("h6", rating="five"), _review("h5", reviewRating={"ratingValue": 3, "bestRating": 0}),
        _review("h4", rating=7), _review("h3", rating=-3), _review("h2", rating=float("nan")),
        _review("h1", rating=float("inf"), author=42, itemReviewed=["not", "an", "item"], reviewBody=["Kettleworks", {"x": 1}]),
    ]
    page = _review_page(odd, aggregateRating={"@type": "AggregateRating", "ratingValue": "4", "bestRating": 0,
                                              "ratingCount": float("inf")}).encode()  # an infinite count used to crash
    ids = _site(*(f"h{n}" for n in range(1, 7)))
    fixed = _review_page([_review(f"h{n}") for n in range(1, 7)]).encode()
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": "text/html"}), fixed) as sc:
        first = sc.run(DAY)
        assert sc.column("hostile", "rating") == {
            "127.0.0.1:h6": None, "127.0.0.1:h5": 0.5, "127.0.0.1:h4": 1.0, "127.0.0.1:h3": 0.0, "127.0.0.1:h2": None, "127.0.0.1:h1": None,
        }
        assert sc.column("hostile", "text")["127.0.0.1:h1"] == "Kettleworks"
        review_lifecycle(sc, reason=None, kept=ids, everything=ids, first=first, updated=6)  # the fix changes every rating
        assert set(sc.column("hostile", "rating").values()) == {0.75}


def test_a_review_with_only_a_rating_is_stored_with_empty_text_and_one_with_neither_is_not_a_review(tmp_path: Path) -> None:
    page = _review_page([_review("h3"), _review("h2", body=None, rating=None), _review("h1", body=None)]).encode()
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": "text/html"})) as sc:
        first = sc.run(DAY)
        assert sc.column("hostile", "text") == {"127.0.0.1:h3": "The Kettleworks K2 boils fast, review h3.", "127.0.0.1:h1": ""}
        review_lifecycle(sc, reason=None, kept=_site("h3", "h1"), first=first, updated=1)  # h1 gains its text


@pytest.mark.parametrize("body", [b"", b" \r\n\t "], ids=["empty", "whitespace"])
def test_an_empty_review_page_is_a_reject(tmp_path: Path, body: bytes) -> None:
    with review_scenario(tmp_path, Route(body, headers={"Content-Type": "text/html"})) as sc:
        review_lifecycle(sc, reason="empty_body", kept=set())


@pytest.mark.parametrize(("body", "content_type"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "application/pdf"),
    (json.dumps({"reviews": HOSTILE_REVIEWS}).encode(), "application/json"),
    (PNG + random.Random(9).randbytes(4096), "image/png"),
    (random.Random(8).randbytes(8192), "text/html"),
], ids=["pdf", "json", "png", "random-bytes-as-html"])
def test_a_body_that_is_not_html_is_a_reject(tmp_path: Path, body: bytes, content_type: str) -> None:
    with review_scenario(tmp_path, Route(body, headers={"Content-Type": content_type})) as sc:
        review_lifecycle(sc, reason="not_html", kept=set())


REVIEW_ENCODINGS = {
    # words, the bytes' real codec, the charset the page's meta declares, the HTTP content type
    "windows-1252-in-meta": ("“Smart” kettle – café", "cp1252", "windows-1252", "text/html"),
    "shift-jis-in-meta": ("日本語のレビュー", "shift_jis", "shift_jis", "text/html"),
    "utf16-bom-no-meta": ("Café “ok” 日本", "utf-16", "utf-16", "text/html"),
    "header-overrides-wrong-meta": ("Café “ok”", "cp1252", "utf-8", "text/html; charset=windows-1252"),
    "latin1-declared-utf8": ("Café crème", "latin-1", "utf-8", "text/html"),
}


@pytest.mark.parametrize("case", list(REVIEW_ENCODINGS))
def test_review_pages_in_wrong_or_unusual_encodings_are_stored_with_the_right_text(tmp_path: Path, case: str) -> None:
    word, codec, declared, content_type = REVIEW_ENCODINGS[case]
    reviews = [_review(rid, body=f"{word} Kettleworks {rid}") for rid in ("h3", "h2", "h1")]
    page = _review_page(reviews, charset=declared).encode(codec)
    with review_scenario(tmp_path, Route(page, headers={"Content-Type": content_type}), _review_page(reviews).encode()) as sc:
        first = sc.run(DAY)
        assert sc.column("hostile", "text") == {f"127.0.0.1:{rid}": f"{word} Kettleworks {rid}" for rid in ("h3", "h2", "h1")}
        review_lifecycle(sc, reason=None, kept=_site("h1", "h2", "h3"), first=first)  # the UTF-8 fix changes nothing


# --- Reddit: JSON that is not what Reddit returns ----------------------------------------------------------

JSON_TYPE = {"Content-Type": "application/json; charset=UTF-8"}
TOKEN = Recorded(200, b'{"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}', JSON_TYPE)
BROKEN_NEW = request_key("GET", "/r/broken/new", {})


def _post(pid: str, title: str, hour: int, day: int = 8, **data: object) -> dict[str, object]:
    created = datetime(2026, 11, day, hour, tzinfo=timezone.utc).timestamp()
    return {"kind": "t3", "data": {"id": pid, "name": f"t3_{pid}", "title": title, "selftext": "", "author": "ana",
                                   "subreddit": "broken", "created_utc": created, "permalink": f"/r/broken/comments/{pid}/x/",
                                   "is_self": True, **data}}


def _listing(children: list[object], **data: object) -> bytes:
    return json.dumps({"kind": "Listing", "data": {"after": None, "before": None, "children": children, **data}}).encode()


REDDIT_POSTS = [_post("h3", "Orbit Telecom dropped my calls", 12), _post("h2", "Leaving Orbit Telecom", 11),
                _post("h1", "Orbit Telecom refund?", 10)]
REDDIT_FIXED = Recorded(200, _listing(REDDIT_POSTS), JSON_TYPE)


@contextmanager
def reddit_scenario(tmp_path: Path, hostile: Recorded, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    healthy = [_post("g2", "Acme Mobile is great", 9, day=9, subreddit="phones"), _post("g1", "Acme Unlimited worth it?", 8, day=9)]
    with ReplayServer([(request_key("POST", "/api/v1/access_token", {}), TOKEN),
                       (request_key("GET", "/r/phones/new", {}), Recorded(200, _listing(healthy), JSON_TYPE)),
                       (BROKEN_NEW, hostile)]) as server:
        for name, value in ((reddit.ENV_OAUTH_URL, server.url), (reddit.ENV_REDDIT_URL, server.url),
                            (reddit.ENV_CLIENT_ID, "id"), (reddit.ENV_CLIENT_SECRET, "secret")):
            monkeypatch.setenv(name, value)
        common = "    include_comments: false\n    thread_comments: false\n    backfill_days: 10\n"
        sources = (f"{FAST_HTTP}sources:\n  - name: healthy\n    kind: reddit\n    subreddits: [phones]\n{common}"
                   f"  - name: hostile\n    kind: reddit\n    subreddits: [broken]\n{common}{HOSTILE_HTTP}")
        yield Scenario(write_config(tmp_path / "config", sources), tmp_path / "data",
                       lambda recorded: server.replace(BROKEN_NEW, recorded), REDDIT_FIXED)


def reddit_lifecycle(sc: Scenario, *, reason: str, kept: set[str], first: DayRun | None = None) -> DayRun:
    return lifecycle(sc, reason=reason, kept=kept, healthy={"t3_g1", "t3_g2"}, everything={"t3_h1", "t3_h2", "t3_h3"}, first=first)


NOT_REDDIT = {
    "a-list-for-an-object": (json.dumps(REDDIT_POSTS).encode(), JSON_TYPE),
    "listing-without-data": (b'{"kind": "Listing"}', JSON_TYPE),
    "data-is-a-list": (b'{"kind": "Listing", "data": [1, 2]}', JSON_TYPE),
    "children-is-a-string": (b'{"kind": "Listing", "data": {"children": "t3_h1"}}', JSON_TYPE),
    "after-is-an-object": (_listing(REDDIT_POSTS, after={"next": 2}), JSON_TYPE),
    "a-string": (b'"Too Many Requests"', JSON_TYPE),
    "null": (b"null", JSON_TYPE),
    "truncated-json": (_listing(REDDIT_POSTS)[:200], JSON_TYPE),
    "html-error-page-with-200": (b"<!doctype html><html><body><h1>Our CDN was unable to reach our servers</h1></body></html>",
                                 {"Content-Type": "text/html; charset=utf-8"}),
    "empty-body": (b"", JSON_TYPE),
}


@pytest.mark.parametrize("case", list(NOT_REDDIT))
def test_json_that_is_not_a_reddit_listing_fails_the_source_clearly_without_moving_its_cursor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    body, headers = NOT_REDDIT[case]
    with reddit_scenario(tmp_path, Recorded(200, body, headers), monkeypatch) as sc:
        first = reddit_lifecycle(sc, reason="unexpected_json", kept=set())
        assert "nothing stored, the cursor stays" in sc.rejects("hostile")[0][1]
        assert "Reddit" in first.failed["hostile"] and "the cursor stays" in first.failed["hostile"]


def test_children_that_are_not_posts_or_comments_are_skipped_and_the_streams_cursor_waits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = [
        {"kind": "t5", "data": {"name": "t5_x", "created_utc": REDDIT_POSTS[0]["data"]["created_utc"] + 60}},  # a subreddit
        {"kind": "more", "data": {"children": ["a"]}}, "t3_h9", 7, None, {"kind": "t3", "data": None},
        _post("h2", "Leaving Orbit Telecom", 11, created_utc="yesterday"),  # used to crash comparing str with float
        _post("h1", "Orbit Telecom refund?", 10, selftext={"text": "nested"}),  # used to crash on .strip()
    ]
    broken = Recorded(200, _listing([REDDIT_POSTS[0], *odd]), JSON_TYPE)
    with reddit_scenario(tmp_path, broken, monkeypatch) as sc:
        first = sc.run(DAY)
        stored = SourceState.from_json(query(sc.warehouse, "SELECT state::VARCHAR FROM source_state WHERE source_id = 'hostile'")[0][0])
        assert STATE_KEY in stored.extra and "r/broken/new" not in RedditState.read(stored).cursors
        assert "8 listing item(s)" in sc.rejects("hostile")[0][1]
        reddit_lifecycle(sc, reason="unexpected_item", kept={"t3_h3"}, first=first)

"""Every alert says what drives it: the phrases that carry the jump, the sources and products,
and how many distinct people are talking; on the demo's outage and on real airline tweets."""

from __future__ import annotations

import csv
import html
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from alerts.compose import AlertEmail, DrivingMention, compose
from tests.conftest import shared_data
from warehouse.alert_drivers import AlertDrivers, Phrase, Share, over_represented, terms
from warehouse.alert_queue import StoredAlert
from zmot.config import AlertsConfig
from zmot.notify import build_alert_email
from zmot.report import write_report

SPIKE_DAY = datetime(2026, 11, 11)


def _demo_alert(warehouse: Path) -> tuple[AlertDrivers, int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        [(drivers,)] = con.execute(
            "SELECT drivers FROM alerts WHERE brand = 'Acme Mobile' AND product = '*' AND source_kind = '*' "
            "AND metric = 'negative_mentions' AND window_start = ?", [SPIKE_DAY]).fetchall()
        mentions, authors = con.execute(
            "SELECT count(*), count(DISTINCT source_kind || ':' || author) FROM v_target_mentions WHERE brand = 'Acme Mobile' "
            "AND product = '*' AND sentiment_label = 'negative' AND published_day = ?::DATE", [SPIKE_DAY]).fetchall()[0]
    finally:
        con.close()
    return AlertDrivers.from_json(drivers), mentions, authors


def test_the_demo_outage_alert_names_the_outage_and_the_billing_story_and_counts_voices(demo_warehouse: Path) -> None:
    drivers, mentions, authors = _demo_alert(demo_warehouse)
    words = {w for p in drivers.phrases for w in p.text.split()}
    assert words & {"down", "outage"} and words & {"charged", "twice", "billing"}
    assert not words & {"acme", "mobile", "acmemobile"}  # the brand's own name is never news
    assert drivers.mentions == mentions and drivers.authors == authors < mentions
    assert f"{mentions} mentions from {authors} distinct authors" in drivers.voices
    assert sum(s.mentions for s in drivers.sources) == mentions or len(drivers.sources) == 3
    assert {s.name for s in drivers.tags} >= {"outage", "billing"}  # config/sample/tags.yaml's rules
    assert 0 < drivers.clusters < drivers.mentions and f"{drivers.clusters} distinct stories" in drivers.voices
    assert drivers.stories and all(s.mentions > 1 for s in drivers.stories)  # a copied story is one voice, shown with its size
    down = next(p for p in drivers.phrases if p.text in ("down", "outage"))
    assert down.window > down.baseline / drivers.baseline_days  # it rose against its own usual rate


def test_the_demo_email_says_what_drives_it(demo_warehouse: Path) -> None:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        names = "alert_id, brand, product, source_kind, metric, window_start, window_end, observed, expected, ratio, severity, reason, drivers"
        row = StoredAlert(*con.execute(
            f"SELECT {names} FROM alerts WHERE brand = 'Acme Mobile' AND metric = 'negative_mentions' AND window_start = ?",
            [SPIKE_DAY]).fetchall()[0])
        alert = build_alert_email(con, row, AlertsConfig())
    finally:
        con.close()
    msg = compose(alert, sender="zmot@example.com", recipients=["team@example.com"], sent_at=datetime(2026, 11, 12, tzinfo=timezone.utc))
    for part in (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()):
        assert "What drives it" in part and "distinct authors" in part
        assert alert.drivers.phrases[0].text in part


def _airline_tweets() -> list[dict[str, str]]:
    with open(shared_data("airline-customer-tweets") / "Tweets.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_on_real_tweets_a_burst_of_one_complaint_is_named_by_that_complaint() -> None:
    """United's negative tweets: a window of its lost-luggage complaints (with the day's usual mix)
    against 28 days of its other complaints; the top phrases must be about bags."""
    united = [r for r in _airline_tweets() if r["airline"] == "United" and r["airline_sentiment"] == "negative"]
    luggage = [r for r in united if r["negativereason"] == "Lost Luggage"]
    others = [r for r in united if r["negativereason"] not in ("Lost Luggage", "Damaged Luggage")]
    window = [(r["name"], r["text"]) for r in luggage[:60] + others[:20]]
    baseline = [(r["name"], r["text"]) for r in others[20:20 + 28 * 20] + luggage[60:60 + 28]]
    phrases = over_represented(window, baseline, ["United", "@united"])
    assert phrases, "nothing stood out"
    top = " ".join(p.text for p in phrases[:3])
    assert any(word in top for word in ("bag", "luggage", "baggage", "lost"))
    assert all("united" not in p.text for p in phrases)


def test_terms_drop_urls_handles_function_words_and_own_names_and_never_span_punctuation() -> None:
    from warehouse.alert_drivers import _name_pattern

    found = terms("@AcmeMobile Acme Mobile's network is down. Billing https://x.example/a?b=1 charged twice!",
                  _name_pattern(["Acme Mobile", "@AcmeMobile"]))
    assert "down" in found and "charged twice" in found and "network" in found
    assert not any("acme" in t or "http" in t or "example" in t for t in found)
    assert "down billing" not in found and "is" not in found


def test_hostile_text_in_the_drivers_is_escaped_in_the_html_email() -> None:
    hostile = "<script>alert(1)</script>"
    drivers = AlertDrivers(mentions=9, authors=7, without_author=1, top_author_mentions=2, baseline_mentions=40, baseline_days=28,
                           phrases=[Phrase(hostile, 5, 0, 2.5)], sources=[Share("<img src=x onerror=alert(1)> (rss)", 9, 1.0)])
    series = [(SPIKE_DAY - timedelta(days=i), 2.0) for i in range(10, -1, -1)]
    alert = AlertEmail(
        alert_id="h1", brand="Acme Mobile", product="*", source_kind="*", metric="negative_mentions", window_start=SPIKE_DAY,
        window_end=SPIKE_DAY + timedelta(days=1), observed=9, expected=2, ratio=4.5, severity=6, reason="9 vs about 2",
        series=series, mentions=[DrivingMention(SPIKE_DAY, "forum", None, "down", None, "negative", -0.5)],
        reproduce_sql="SELECT 1", drivers=AlertDrivers.from_json(drivers.to_json()),
    )
    msg = compose(alert, sender="zmot@example.com", recipients=["team@example.com"], sent_at=datetime(2026, 11, 12, tzinfo=timezone.utc))
    page = msg.get_body(("html",)).get_content()
    assert "<script>" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert "9 mentions from 7 distinct authors (1 with no author named)" in msg.get_body(("plain",)).get_content()
    assert json.loads(drivers.to_json())["phrases"][0]["text"] == hostile


def test_the_report_s_alerts_table_says_in_short_what_drives_each_alert(demo_warehouse: Path, tmp_path: Path) -> None:
    out = write_report(demo_warehouse, "Acme Mobile", 30, tmp_path / "acme.html", end=date(2026, 11, 14))
    drivers, mentions, authors = _demo_alert(demo_warehouse)
    page = out.read_text(encoding="utf-8")
    assert "<th>what drives it</th>" in page
    assert html.escape(drivers.summary()) in page and f"{mentions} mentions, {authors} authors" in page


def test_every_demo_alert_reads_the_mentions_of_the_horizon_that_fired(demo_warehouse: Path) -> None:
    """An alert on "5 negative in three days" (Kettleworks, 20 October) is driven by those three days'
    mentions: the drivers count what the detector counted."""
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        rows = con.execute("SELECT brand, metric, observed, reason, drivers FROM alerts "
                           "WHERE metric IN ('negative_mentions', 'lzmot_mentions')").fetchall()
    finally:
        con.close()
    assert any("(3 days)" in reason for _, _, _, reason, _ in rows)
    for brand, metric, observed, reason, drivers in rows:
        assert AlertDrivers.from_json(drivers).mentions == observed, (brand, metric, reason)

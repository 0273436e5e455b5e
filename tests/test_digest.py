"""A brand's weekly digest from a real warehouse: counts against the week before, stories, alerts,
new names; hostile texts escaped in Markdown, HTML and email; emailed once per brand and week."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.records import Mention, SourceState
from nlp.catalog import Brand, Product
from tests.smtp_server import smtp_server
from warehouse.load import StagedRun, load_run
from warehouse.new_names import new_names
from warehouse.publish import open_published, writer
from warehouse.signals import recompute_signals
from zmot import staging, steps
from zmot.cli import main
from zmot.digest import DigestError, DigestPeriod, gather_digest, render_html, render_markdown
from zmot.runcontext import RunContext

MONDAY = date(2026, 11, 9)  # ISO week 2026-W46
CATALOG = [Brand(name="Acme", products=[Product(name="Nova")], competitors=["Globex"]), Brand(name="Globex")]
HOSTILE = "<script>alert('x')</script> Acme charged me twice, [click](javascript:alert(1)) **refund** now"
ZMOT_WEEK, ZMOT_BEFORE, LZMOT_WEEK, LZMOT_BEFORE = 14, 7, 6, 2


def _posts() -> list[tuple[date, str, str, str, str | None]]:
    """(day, author, text, moment, product): the week of 9 November and the weeks before it."""
    posts = []
    for i in range(ZMOT_BEFORE):
        posts.append((MONDAY - timedelta(days=7 - i), f"asker{i}", f"Is the Acme Nova worth it, question {i}?", "zmot", "Nova"))
    for i in range(LZMOT_BEFORE):
        posts.append((MONDAY - timedelta(days=3 + i), f"old{i}", f"Leaving Acme after outage {i}", "lzmot", None))
    posts.append((MONDAY - timedelta(days=20), "early", "Acme or Orbitel, anyone?", "zmot", None))
    for i in range(ZMOT_WEEK):
        day = MONDAY + timedelta(days=i % 7)
        if i < 4:
            text = f"Acme vs Orbitel: is the Zyphone X2 better, take {i}?"
        elif i < 7:
            text = f"Acme or Globex for a family plan, try {i}?"
        else:
            text = f"Anyone tried the Acme Nova camera, number {i}?"
        posts.append((day, f"prospect{i}", text, "zmot", "Nova" if i >= 7 else None))
    posts.append((MONDAY + timedelta(days=1), "angry", HOSTILE, "lzmot", None))
    for i in range(3):  # one syndicated story from three outlets: one line, "and 2 copies"
        posts.append((MONDAY + timedelta(days=2), f"outlet{i}", "Acme cancels its unlimited plan, customers furious", "lzmot", None))
    for i in range(LZMOT_WEEK - 4):
        posts.append((MONDAY + timedelta(days=3), "spammer", f"#AcmeFail cancelling now {i}", "lzmot", None))
    return posts


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    mentions, nlp, refs = [], [], []
    for n, (day, author, text, moment, product) in enumerate(_posts()):
        at = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=9, minutes=n)
        m = Mention("rss", "forum", f"p{n}", f"https://forum.example.net/t/{n}", author, None, text, at, at)
        mentions.append(m)
        score = -0.7 if moment == "lzmot" else 0.1
        label = "negative" if moment == "lzmot" else "neutral"
        nlp.append({"mention_id": m.mention_id, "language": "en", "language_score": 0.9, "sentiment_label": label,
                    "sentiment_score": score, "ref_count": 1, "moment": moment, "stage": None, "moment_confidence": 0.8,
                    "moment_evidence": [], "model_version": "test"})
        names = [("Acme", None, "Acme"), *([("Acme", product, product)] if product else []),
                 *([("Globex", None, "Globex")] if "Globex" in text else [])]
        for k, (brand, prod, matched) in enumerate(names):
            start = text.find(matched)
            refs.append({"mention_id": m.mention_id, "ref_index": k, "brand": brand, "product": prod, "matched_text": matched,
                         "start_char": start, "end_char": start + len(matched), "sentiment_label": label,
                         "sentiment_score": score, "moment": moment, "stage": None, "moment_confidence": 0.8,
                         "moment_evidence": []})
    folder = tmp_path / "stage"
    staging.write_mentions(staging.mentions_path(folder, "forum"), mentions)
    staging.write_rows(staging.nlp_path(folder, "forum"), nlp, staging.NLP_SCHEMA)
    staging.write_rows(staging.refs_path(folder, "forum"), refs, staging.REF_SCHEMA)
    published = tmp_path / "data" / "zmot.duckdb"
    with writer(published) as con:
        summary = load_run(con, StagedRun("r1", datetime(2026, 11, 16, tzinfo=timezone.utc), [staging.mentions_path(folder, "forum")],
                                          [staging.nlp_path(folder, "forum")], [staging.refs_path(folder, "forum")], [SourceState("forum", "rss")], [],
                                          ["forum"], [], CATALOG))
        recompute_signals(con, summary.days_touched)
        con.execute("""INSERT INTO alerts (alert_id, brand, product, source_kind, metric, window_start, window_end, observed,
                       expected, ratio, severity, reason, detector_version, created_run)
                       VALUES ('a1', 'Acme', '*', '*', 'lzmot_mentions', '2026-11-11', '2026-11-12', 6, 1, 6, 5,
                               'LZMOT <img src=x onerror=alert(1)> jumped', 'test', 'r1')""")
    return published


def _digest(warehouse: Path, kind: str = "week"):
    con = open_published(warehouse)
    try:
        return gather_digest(con, "acme", DigestPeriod.containing(kind, MONDAY + timedelta(days=3)))
    finally:
        con.close()


def test_the_week_is_monday_to_sunday_and_compared_with_the_week_before(warehouse: Path) -> None:
    digest = _digest(warehouse)
    assert (digest.brand, digest.period.start, digest.period.end, digest.period.key) == ("Acme", MONDAY, date(2026, 11, 15), "week:2026-W46")
    assert digest.counts["zmot"] == (ZMOT_WEEK, ZMOT_BEFORE) and digest.counts["lzmot"] == (LZMOT_WEEK, LZMOT_BEFORE)
    text = render_markdown(digest)
    assert f"- ZMOT (researching): {ZMOT_WEEK} ({(ZMOT_WEEK - ZMOT_BEFORE) / ZMOT_BEFORE:+.0%} from {ZMOT_BEFORE})" in text
    assert "- product Nova: 7 mentions (+0% from 7)" not in text  # unchanged series are not news
    day = _digest(warehouse, "day")
    assert day.period.key == "day:2026-11-12" and day.counts["lzmot"][0] == LZMOT_WEEK - 4


def test_stories_collapse_copies_and_alerts_say_why(warehouse: Path) -> None:
    digest = _digest(warehouse)
    lzmot = digest.stories["lzmot"]
    syndicated = [s for s in lzmot if s.text.startswith("Acme cancels")]
    assert len(syndicated) == 1 and syndicated[0].copies == 2
    assert digest.stories["zmot"][0].published_at >= digest.stories["zmot"][-1].published_at
    assert [a["metric"] for a in digest.alerts] == ["lzmot_mentions"]
    text = render_markdown(digest, escape=str)
    assert "(and 2 copies)" in text and "- 11 Nov: lzmot mentions, 6 against about 1 expected. LZMOT <img" in text


def test_hostile_texts_are_inert_in_markdown_html_and_the_plain_email(warehouse: Path) -> None:
    digest = _digest(warehouse)
    page = render_html(digest)
    assert "<script" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    markdown = render_markdown(digest)
    assert "<script" not in markdown and "<img" not in markdown and "](javascript" not in markdown
    assert r"\[click\]\(javascript:alert\(1\)\) \*\*refund\*\*" in markdown
    plain = render_markdown(digest, escape=str)
    assert HOSTILE in plain  # plain text runs nothing: shown as written


def test_new_names_rank_what_rose_with_the_brand_and_skip_the_catalog(warehouse: Path) -> None:
    con = open_published(warehouse)
    try:
        ranked = new_names(con, "Acme", MONDAY, MONDAY + timedelta(days=6), min_voices=1, limit=50)
    finally:
        con.close()
    names = {n.name: n for n in ranked}
    assert {"Zyphone X2", "Orbitel"} <= set(names)
    assert names["Zyphone X2"].kind == "product-like" and names["Zyphone X2"].voices_now == 4
    assert names["Orbitel"].voices_now == 4 and names["Orbitel"].voices_before == 1
    assert names["Zyphone X2"].score > names["Orbitel"].score  # both named 4 times; Orbitel was named before
    assert names["#AcmeFail"].voices_now == 1  # one author posting it twice is one voice
    assert not {"Acme", "Nova", "Globex", "Acme Nova"} & set(names)  # the catalog's own names
    assert not {"Anyone", "Is", "Leaving"} & set(names)  # sentence starts
    shown = [n.name for n in _digest(warehouse).new_names]  # the digest shows those two voices or more
    assert shown[:2] == ["Zyphone X2", "Orbitel"] and "#AcmeFail" not in shown


def _config_dir(tmp_path: Path, alerts: str = "") -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "brands.yaml").write_text("brands:\n  - name: Acme\n    products: [{name: Nova}]\n    competitors: [Globex]\n  - name: Globex\n")
    (config / "sources.yaml").write_text("sources:\n  - {name: forum, kind: rss, url: 'https://forum.example.net/feed'}\n")
    (config / "alerts.yaml").write_text(alerts)
    return config


def test_the_daily_run_sends_the_weekly_digest_once_after_sunday_and_never_from_a_backfill(warehouse: Path, tmp_path: Path) -> None:
    config = _config_dir(tmp_path, "sender: zmot@example.com\nrecipients: [team@example.com]\ndigest: {period: week}\n")
    data = warehouse.parent

    def run(day: date, send: bool = True) -> dict:
        return steps.digest(RunContext.for_date(datetime.combine(day, datetime.min.time(), timezone.utc), config_dir=config,
                                                data_dir=data, warehouse=warehouse, send_alerts=send))

    assert run(date(2026, 11, 16), send=False) == {"sent": []}  # a backfill of the same day
    assert run(date(2026, 11, 15)) == {"sent": [], "next": "2026-11-15"}  # Sunday is not over yet
    first = run(date(2026, 11, 16))["sent"]
    assert [line.split(":")[0] for line in first] == ["Acme week", "Globex week"]
    assert run(date(2026, 11, 16)) == {"sent": []}  # a rerun, or a retried task
    emails = sorted((data / "outbox").glob("*.eml"))
    assert [e.name for e in emails] == ["zmot-digest-acme-week-2026-w46.eml", "zmot-digest-globex-week-2026-w46.eml"]


def test_send_emails_each_brand_once_per_week_as_plain_text_and_html(warehouse: Path, tmp_path: Path) -> None:
    config = _config_dir(tmp_path)
    args = ["digest", "--period", "week", "--date", "2026-11-12", "--brand", "Acme", "--data-dir", str(warehouse.parent),
            "--config", str(config), "--send", "--out", str(tmp_path / "digest.html")]
    with smtp_server() as (controller, mailbox):
        (config / "alerts.yaml").write_text(f"sender: zmot@example.com\nrecipients: [team@example.com]\n"
                                            f"smtp: {{host: 127.0.0.1, port: {controller.port}, security: none}}\n")
        assert main(args) == 0
        assert main(args) == 0  # a rerun sends nothing
    [message] = mailbox.messages
    assert message["Subject"].startswith("Acme: weekly digest, week 2026-W46")
    assert [p.get_content_type() for p in message.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert "<script" not in message.get_body(("html",)).get_content()
    assert "Zyphone X2" in message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in (tmp_path / "digest.html").read_text()
    con = open_published(warehouse)
    try:
        rows = con.execute("SELECT subject, destination, detail FROM deliveries").fetchall()
    finally:
        con.close()
    assert rows == [("digest:Acme:week:2026-W46", "email", f"smtp:127.0.0.1:{controller.port}")]


def test_an_unknown_brand_is_named_with_the_known_ones(warehouse: Path) -> None:
    con = open_published(warehouse)
    try:
        with pytest.raises(DigestError, match="unknown brand 'Initech'; the warehouse has: Acme, Globex"):
            gather_digest(con, "Initech", DigestPeriod.containing("day", MONDAY))
    finally:
        con.close()


def test_the_command_prints_markdown_or_writes_one_file_per_brand(warehouse: Path, tmp_path: Path, capsys) -> None:
    base = ["digest", "--period", "day", "--date", "2026-11-10", "--data-dir", str(warehouse.parent)]
    assert main([*base, "--brand", "Acme"]) == 0
    assert capsys.readouterr().out.startswith("# Acme: daily digest, Tue 10 Nov 2026")
    assert main([*base, "--out", str(tmp_path / "d.md")]) == 0
    assert sorted(p.name for p in tmp_path.glob("d-*.md")) == ["d-acme.md", "d-globex.md"]
    assert main([*base, "--brand", "Initech"]) == 1
    assert "unknown brand 'Initech'" in capsys.readouterr().err

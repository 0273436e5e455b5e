"""`zmot report` renders in a real headless Chromium, offline, and shows what the warehouse holds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import lxml.html
import matplotlib.image as mpimg

from tests.conftest import chromium
from warehouse.db import judge_targets
from zmot.analyst import run_query
from zmot.cli import main

HOSTILE_TITLE = "<script>document.title='pwned'</script>Acme Mobile stole my data"
HOSTILE_TEXT = "Never again <img src=x onerror=\"document.body.innerHTML='pwned'\"> Acme Mobile; DROP TABLE mentions;--"


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with every host unresolvable: the report must need no network."""
    command = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run", "--window-size=1200,3200", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _dom(report: Path) -> str:
    return _browser("--dump-dom", report.as_uri()).stdout


def test_the_report_shows_the_period_s_numbers_charts_alerts_and_stories(demo_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "acme.html"
    assert main(["report", "--brand", "Acme Mobile", "--days", "30", "--end", "2026-11-14",
                 "--warehouse", str(demo_warehouse), "--output", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|iframe|img)\b", source)  # self-contained: no scripts, no fetched resources
    dom = _dom(out)
    assert "<h1>Acme Mobile</h1>" in dom and "2026-10-16 to 2026-11-14" in dom
    assert dom.count("<svg") == 3
    for caption in ("Mentions per day, by sentiment", "Moments of truth per day", "Sentiment and ratings per day"):
        assert caption in dom
    mentions, lzmot = run_query(
        demo_warehouse,
        "SELECT sum(mentions), sum(lzmot) FROM daily_signals WHERE brand = 'Acme Mobile' AND product = '*' "
        "AND source_kind = '*' AND day BETWEEN DATE '2026-10-16' AND DATE '2026-11-14'",
    )[1][0]
    assert f"<b>{mentions:,}</b>mentions" in dom and f"<b>{lzmot:,}</b>LZMOT" in dom
    alerts = run_query(demo_warehouse, "SELECT metric FROM alerts WHERE brand = 'Acme Mobile' AND window_start >= '2026-10-16'")[1]
    assert alerts and all(metric in dom for (metric,) in alerts)
    assert "Top LZMOT stories" in dom and dom.count('class="story') >= 10
    assert "Acme Nova" in dom  # the products table, fed by reviews' implicit references too


def test_the_report_is_drawn_not_blank(demo_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "acme.html"
    main(["report", "--brand", "Acme Mobile", "--warehouse", str(demo_warehouse), "--output", str(out)])
    shot = tmp_path / "acme.png"
    _browser(f"--screenshot={shot}", out.as_uri())
    pixels = mpimg.imread(shot)[..., :3]
    inked = (pixels.mean(axis=2) < 0.9).mean()
    assert inked > 0.02  # text and charts, not an empty page


def test_hostile_text_is_shown_as_text_and_never_runs(demo_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(demo_warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    hostile_id = "rss:hostile"
    newest = "SELECT mention_id FROM v_brand_mentions WHERE brand = 'Acme Mobile' AND moment = 'lzmot' ORDER BY published_at DESC, mention_id LIMIT 1"
    con.execute(
        "INSERT INTO mentions SELECT * REPLACE (? AS mention_id, 'hostile' AS native_id, ? AS title, ? AS text, "
        "'javascript:alert(1)' AS url, (SELECT max(published_at) FROM mentions) AS published_at, "
        f"(SELECT max(published_day) FROM mentions) AS published_day) FROM mentions WHERE mention_id = ({newest})",
        [hostile_id, HOSTILE_TITLE, HOSTILE_TEXT],
    )
    con.execute(  # the most negative LZMOT story of the newest day: first in the report's list
        "INSERT INTO mention_refs SELECT * REPLACE (? AS mention_id, -1.0 AS sentiment_score) FROM mention_refs "
        f"WHERE mention_id = ({newest}) AND brand = 'Acme Mobile' AND product IS NULL LIMIT 1",
        [hostile_id],
    )
    judge_targets(con, f"SELECT * FROM mentions WHERE mention_id = '{hostile_id}'",
                  f"SELECT * FROM mention_refs WHERE mention_id = '{hostile_id}'")  # as the loader does
    con.close()
    out = tmp_path / "hostile.html"
    assert main(["report", "--brand", "Acme Mobile", "--warehouse", str(warehouse), "--output", str(out)]) == 0
    page = lxml.html.fromstring(_dom(out))  # the DOM after Chromium parsed and rendered it
    assert page.findtext(".//title").startswith("Acme Mobile: ZMOT report")  # the title was not rewritten
    assert page.xpath("//script") == [] and page.xpath("//*[@onerror]") == [] and page.xpath("//img") == []
    body = page.text_content()
    assert HOSTILE_TITLE in body and HOSTILE_TEXT in body  # shown, as text
    assert not page.xpath("//a[starts-with(@href, 'javascript:')]")


def test_an_unknown_brand_is_explained(demo_warehouse: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", "--brand", "Nope", "--warehouse", str(demo_warehouse), "--output", str(tmp_path / "x.html")]) == 1
    assert "no signals for brand 'Nope'" in capsys.readouterr().err

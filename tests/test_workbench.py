"""`zmot serve` over HTTP on loopback: every page answers, filters count what daily_signals count, hostile texts stay
text, credentials are required beyond loopback, and a correction from the page changes the numbers."""

from __future__ import annotations

import base64
import csv
import io
import re
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
import lxml.html
import pytest

from connectors.records import Mention
from tests.reliability.test_hostile_text import RSS_ITEMS
from tests.test_warehouse import _stage
from tests.workbench_server import copy_warehouse, running
from tests.workbench_server import query as _query
from warehouse.load import load_run
from warehouse.publish import writer
from zmot.cli import main
from zmot.workbench import queries
from zmot.workbench.app import PASSWORD_ENV, TOKEN_ENV, USER_ENV, ServeError, app_for, check_binding, create_app

BRAND = "Acme Mobile"
OUTAGE = "2026-11-11"
HOSTILE_DAY = datetime(2026, 11, 12, 10, 0, tzinfo=timezone.utc)
HOSTILE = [item for item in RSS_ITEMS if item.stored_text]
FORMULA = '=HYPERLINK("http://evil.example/x","Acme Mobile refund")'  # a spreadsheet would run it


def _hostile_mention(item) -> Mention:
    return Mention(source_kind="rss", source_id="hostile-feed", native_id=item.guid,
                   url=item.stored_url or f"https://h.example/{item.guid}", author=item.author,
                   title=item.stored_title, text=item.stored_text, published_at=HOSTILE_DAY, fetched_at=HOSTILE_DAY)


@pytest.fixture(scope="module")
def warehouse(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse plus the reliability suite's hostile feed entries, loaded by the real loader."""
    folder = tmp_path_factory.mktemp("workbench")
    path = copy_warehouse(demo_warehouse, folder / "data")
    mentions = [_hostile_mention(item) for item in HOSTILE]
    mentions.append(Mention("rss", "hostile-feed", "formula", "https://h.example/formula", "@SUM(1+1)", None, FORMULA,
                            HOSTILE_DAY, HOSTILE_DAY))
    with writer(path) as con:
        load_run(con, _stage(folder / "staging", "hostile", mentions, {m.native_id: ("negative", -0.7) for m in mentions},
                             brand=BRAND))
    return path


@pytest.fixture(scope="module")
def site(warehouse: Path):
    with running(create_app(warehouse)) as base, httpx.Client(base_url=base) as client:
        yield client


def _count(page: str) -> int:
    return int(re.search(r'<span class="count">(\d+)</span>', page).group(1))


def _signal(warehouse: Path, column: str, day: str = OUTAGE) -> int:
    return _query(warehouse, f"SELECT {column} FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*' "
                             "AND day = ?", [BRAND, day])[0][0]


@pytest.mark.parametrize("path", ["/", "/mentions", "/alerts", "/runs", "/moments", "/voice"])
def test_every_list_page_answers_shows_its_sql_and_exports_csv(site: httpx.Client, path: str) -> None:
    page = site.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Show the SQL" in page.text and "SELECT" in page.text
    exported = site.get(path, params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert len(rows) > 1, f"{path} exported no rows"


def test_the_mentions_filters_count_what_daily_signals_count(site: httpx.Client, warehouse: Path) -> None:
    day = {"brand": BRAND, "day_from": OUTAGE, "day_to": OUTAGE}
    assert _count(site.get("/mentions", params=day).text) == _signal(warehouse, "mentions")
    assert _count(site.get("/mentions", params={**day, "sentiment": "negative"}).text) == _signal(warehouse, "negative")
    assert _count(site.get("/mentions", params={**day, "moment": "lzmot"}).text) == _signal(warehouse, "lzmot")
    reddit = _query(warehouse, "SELECT mentions FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = 'reddit' "
                               "AND day = ?", [BRAND, OUTAGE])[0][0]
    assert _count(site.get("/mentions", params={**day, "source_kind": "reddit"}).text) == reddit


@pytest.mark.parametrize(("tag", "day"), [("outage", OUTAGE), ("billing", "2026-11-12")])
def test_the_tag_filter_counts_what_daily_tag_signals_count_and_keeps_its_sql_and_csv(
        site: httpx.Client, warehouse: Path, tag: str, day: str) -> None:
    mentions, negative = _query(warehouse, "SELECT mentions, negative FROM daily_tag_signals WHERE brand = ? AND tag = ? "
                                           "AND day = ?", [BRAND, tag, day])[0]
    assert mentions > 5
    params = {"brand": BRAND, "day_from": day, "day_to": day, "tag": tag}
    page = site.get("/mentions", params=params).text
    assert _count(page) == mentions
    assert "t.mention_id IN (SELECT mention_id FROM mention_tags WHERE tag = ?)" in page  # the SQL as run
    assert f'<option value="{tag}" selected>{tag}</option>' in page
    assert _count(site.get("/mentions", params={**params, "sentiment": "negative"}).text) == negative
    exported = list(csv.DictReader(io.StringIO(site.get("/mentions", params={**params, "format": "csv"}).text)))
    assert len(exported) == mentions and {r["brand"] for r in exported} == {BRAND}
    assert _count(site.get("/mentions", params={**params, "tag": "no-such-tag"}).text) == 0


def test_a_mention_page_shows_its_tags(site: httpx.Client, warehouse: Path) -> None:
    mention_id, tags = _query(warehouse, "SELECT mention_id, list(tag ORDER BY tag) FROM mention_tags GROUP BY mention_id "
                                         "HAVING count(*) > 1 ORDER BY mention_id LIMIT 1")[0]
    page = lxml.html.fromstring(site.get(f"/mentions/{mention_id}").text)
    assert page.xpath("//ul[@class='tags']/li/a/text()") == tags
    assert page.xpath("//ul[@class='tags']/li/a/@href") == [f"/mentions?tag={t}" for t in tags]
    untagged = _query(warehouse, "SELECT mention_id FROM mentions ANTI JOIN mention_tags USING (mention_id) LIMIT 1")[0][0]
    assert "No tag rule matches this mention." in site.get(f"/mentions/{untagged}").text


def test_search_paging_and_sort(site: httpx.Client, warehouse: Path) -> None:
    word = "DROP TABLE"
    expected = _query(warehouse, "SELECT count(*) FROM mention_targets t JOIN mentions m USING (mention_id) "
                                 "WHERE t.product = '*' AND (m.text ILIKE ? OR m.title ILIKE ?)", [f"%{word}%"] * 2)[0][0]
    assert expected > 0 and _count(site.get("/mentions", params={"q": word.lower()}).text) == expected
    assert _count(site.get("/mentions", params={"q": "100%_"}).text) == 0  # wildcards in the search are literal
    first, second = site.get("/mentions").text, site.get("/mentions", params={"page": 2}).text
    # a row is a mention and a brand: one mention naming two brands may straddle the page break
    ids = [re.findall(r'<td><a href="/mentions/([^"]+)">[^<]*</a></td>\s*<td>([^<]*)</td>', p) for p in (first, second)]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    newest, oldest = (re.findall(r"<td><a href=\"/mentions/[^\"]+\">([0-9-]+ [0-9:]+)</a></td>",
                                 site.get("/mentions", params={"sort": s}).text) for s in ("newest", "oldest"))
    assert newest == sorted(newest, reverse=True) and oldest == sorted(oldest) and newest[0] > oldest[0]
    assert site.get("/mentions", params={"day_from": "yesterday"}).status_code == 400


def test_near_copies_fold_into_one_line_with_their_size(site: httpx.Client, warehouse: Path) -> None:
    day = {"brand": BRAND, "day_from": OUTAGE, "day_to": OUTAGE}
    every = site.get("/mentions", params={**day, "copies": "all"}).text
    folded = "".join(site.get("/mentions", params={**day, "page": n}).text for n in (1, 2))  # its 51 lines fill 2 pages
    lines = re.findall(r'<tr class="[a-z]+">', folded)
    sizes = [int(n) for n in re.findall(r'<span class="copies">\(and (\d+) cop', folded)]
    assert _count(folded) == _count(every) == _signal(warehouse, "mentions")  # the count is still of mentions
    assert sizes and len(lines) + sum(sizes) == _count(folded)  # every mention is a line or a copy on one
    assert len(lines) == _signal(warehouse, "clusters") and len(re.findall(r'<tr class="[a-z]+">', every)) == min(_count(every), 50)
    assert 'class="copies"' not in every


def test_a_search_folds_its_near_copies_and_counts_their_lines(site: httpx.Client, warehouse: Path) -> None:
    day = {"brand": BRAND, "day_from": OUTAGE, "day_to": OUTAGE, "q": "outage"}
    found = _query(warehouse, "SELECT count(*), count(DISTINCT cluster_id) FROM v_brand_mentions WHERE brand = ? "
                              "AND published_day = ? AND (text ILIKE '%outage%' OR title ILIKE '%outage%')", [BRAND, OUTAGE])[0]
    page = site.get("/mentions", params=day).text
    lines = re.findall(r'<tr class="[a-z]+">', page)
    sizes = [int(n) for n in re.findall(r'<span class="copies">\(and (\d+) cop', page)]
    assert found[1] < found[0] <= 50  # the day's outage reports hold near-copies, and one page holds their lines
    assert f"{found[1]} lines for {found[0]} mentions" in page and _count(page) == found[0]
    assert len(lines) == found[1] and len(lines) + sum(sizes) == found[0]


@pytest.mark.parametrize("f", [
    queries.MentionFilter(), queries.MentionFilter(brand=BRAND), queries.MentionFilter(sentiment="negative", sort="oldest"),
    queries.MentionFilter(brand=BRAND, day_from=date.fromisoformat(OUTAGE), day_to=date.fromisoformat(OUTAGE), page=2),
    queries.MentionFilter(q="outage"), queries.MentionFilter(q="acme", sort="most_negative", page=2),
], ids=["all", "brand", "negative-oldest", "outage-day-page-2", "search", "search-page-2"])
def test_a_folded_page_is_the_fold_of_every_chosen_row_by_cluster_id(warehouse: Path, f: queries.MentionFilter) -> None:
    """Folding by the targets' cluster numbers, from the default prefix or from all chosen rows, gives what folding
    every row by mention_clusters' ids gives: the same lines in the same order with the same copies."""
    every = queries.mentions(replace(f, copies="all", page=1), limit=queries.CSV_LIMIT)
    rows = _query(warehouse, every.sql, every.params)
    clusters = dict(_query(warehouse, "SELECT mention_id, cluster_id FROM mention_clusters"))
    members: dict[tuple, int] = {}
    lines = []
    for row in rows:  # mention_id, ..., brand at 3
        key = (row[3], clusters.get(row[0], row[0]))
        if key not in members:
            lines.append((row[0], row[3], key))
        members[key] = members.get(key, 0) + 1
    start = (f.page - 1) * queries.PAGE_SIZE
    expected = [(mention_id, brand, members[key] - 1) for mention_id, brand, key in lines[start:start + queries.PAGE_SIZE]]
    assert expected or f.page > 1
    for prefix in (None, len(rows)):
        page = queries.mentions(f, prefix=prefix)
        got = [(r[0], r[3], r[-1]) for r in _query(warehouse, page.sql, page.params)]
        if prefix is None:  # the default prefix may yield too few lines (the app then grows it): those it has are right
            assert got == expected[:len(got)]
        else:
            assert got == expected


def test_each_day_of_the_overview_links_to_its_mentions_and_says_its_values(site: httpx.Client, warehouse: Path) -> None:
    page = lxml.html.fromstring(site.get("/").text)
    link = next(a for a in page.xpath("//svg//a") if f"day_from={OUTAGE}" in a.get("href") and "Acme+Mobile" in a.get("href"))
    mentions, negative = _signal(warehouse, "mentions"), _signal(warehouse, "negative")
    assert link.xpath(".//title")[0].text == f"{OUTAGE}: {mentions} mentions, {negative} negative"
    assert _count(site.get(link.get("href")).text) == mentions


def test_an_alert_leads_to_the_mentions_behind_it(site: httpx.Client, warehouse: Path) -> None:
    page = lxml.html.fromstring(site.get("/alerts").text)
    for section in page.xpath("//section[@class='alert']"):
        heading = section.xpath("h2")[0].text_content()
        if BRAND in heading and "negative mentions" in heading:
            behind = section.xpath(".//a[@class='behind']")[0].get("href")
            break
    else:
        pytest.fail("the demo's outage alert is not on the alerts page")
    observed = _query(warehouse, "SELECT observed FROM alerts WHERE brand = ? AND metric = 'negative_mentions' "
                                 "AND window_start = ?", [BRAND, OUTAGE])[0][0]
    assert _count(site.get(behind).text) == observed


def test_the_moments_page_counts_what_daily_signals_count_and_links_each_day(site: httpx.Client, warehouse: Path) -> None:
    page = site.get("/moments", params={"brand": BRAND, "days": 60})
    tree = lxml.html.fromstring(page.text)
    _inert(tree)  # its stories include the hostile feed's negative entries
    last = _query(warehouse, "SELECT max(day) FROM daily_signals WHERE brand = ?", [BRAND])[0][0]
    for moment in ("zmot", "lzmot", "umot"):
        expected = _query(warehouse, f"SELECT coalesce(sum({moment}), 0) FROM daily_signals WHERE brand = ? AND product = '*' "
                                     "AND source_kind = '*' AND day > ?::DATE - INTERVAL 60 DAY", [BRAND, last])[0][0]
        heading = next(h for h in tree.xpath("//section/h2") if f"moment={moment}&" in h.xpath("a/@href")[0])
        assert int(heading.xpath("span[@class='count']")[0].text) == expected
        link = next(a for a in tree.xpath("//svg//a") if f"moment={moment}" in a.get("href") and f"day_from={OUTAGE}" in a.get("href"))
        assert _count(site.get(link.get("href")).text) == _signal(warehouse, moment)
    lzmot_stories = tree.xpath("//section[h2/a[contains(@href, 'moment=lzmot')]]//ul[@class='stories']/li/a/@href")
    assert lzmot_stories and all(href.startswith("/mentions/") for href in lzmot_stories)
    assert site.get(lzmot_stories[0]).status_code == 200
    normann = list(csv.DictReader(io.StringIO(site.get("/moments", params={"brand": BRAND, "format": "csv",
                                                                           "table": "normann"}).text)))
    assert normann and {"month", "good_moments", "bad_moments", "balance"} <= set(normann[0])
    first = _query(warehouse, "SELECT ?::DATE - INTERVAL 59 DAY", [last])[0][0].date()
    authors = list(csv.DictReader(io.StringIO(site.get("/moments", params={"brand": BRAND, "days": 60, "format": "csv",
                                                                           "table": "authors"}).text)))
    expected = _query(warehouse, "SELECT count(*) FROM (SELECT source_kind, author FROM mention_targets WHERE brand = ? "
                                 "AND product = '*' AND author IS NOT NULL AND (sentiment_label = 'negative' OR moment = 'lzmot') "
                                 "AND published_day BETWEEN ? AND ? GROUP BY ALL HAVING count(*) >= 3)", [BRAND, first, last])[0][0]
    assert len(authors) == min(expected, 25) and all(int(a["negative_mentions"]) >= 3 for a in authors)


def test_share_of_voice_compares_the_configured_competitors(site: httpx.Client, warehouse: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(site.get("/voice", params={"brand": BRAND, "days": 366, "format": "csv"}).text)))
    competitors = _query(warehouse, "SELECT competitors FROM brands WHERE brand = ?", [BRAND])[0][0]
    watched = {r[0] for r in _query(warehouse, "SELECT DISTINCT brand FROM daily_signals")}
    assert {r["brand"] for r in rows} == {BRAND, *(set(competitors) & watched)} and len(rows) > 1
    assert abs(sum(float(r["share"]) for r in rows) - 1.0) < 1e-9
    mine = _query(warehouse, "SELECT sum(mentions) FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*'",
                  [BRAND])[0][0]
    assert int(next(r for r in rows if r["brand"] == BRAND)["mentions"]) == mine


def test_a_brand_page_for_an_unknown_brand_is_not_found(site: httpx.Client) -> None:
    for path in ("/moments", "/voice"):
        page = site.get(path, params={"brand": "<script>alert(1)</script>"})
        assert page.status_code == 404 and "<script>" not in page.text
        assert site.get(path, params={"brand": BRAND, "days": "lots"}).status_code == 200  # a wrong period is the default


def _inert(page: lxml.html.HtmlElement) -> None:
    assert page.xpath("//script | //iframe | //object | //embed | //img | //style") == []
    assert page.xpath("//@*[starts-with(name(), 'on')]") == []
    assert all(not href.strip().lower().startswith(("javascript:", "data:", "vbscript:")) for href in page.xpath("//@href"))
    assert page.xpath("//link/@href") == ["/static/app.css"]


@pytest.mark.parametrize("item", HOSTILE, ids=lambda i: i.guid)
def test_a_hostile_text_renders_as_text_on_its_page_and_in_the_list(site: httpx.Client, item) -> None:
    mention = _hostile_mention(item)
    answer = site.get(f"/mentions/{mention.mention_id}")
    assert answer.status_code == 200
    page = lxml.html.fromstring(answer.text)
    _inert(page)
    assert page.xpath("//blockquote[@class='text']")[0].text_content() == item.stored_text
    if item.author:
        assert item.author in page.text_content()
    listing = lxml.html.fromstring(site.get("/mentions", params={"source_id": "hostile-feed"}).text)
    _inert(listing)
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_hostile_text_cannot_become_a_spreadsheet_formula_in_the_csv(site: httpx.Client) -> None:
    rows = list(csv.DictReader(io.StringIO(site.get("/mentions", params={"source_id": "hostile-feed", "format": "csv"}).text)))
    assert len(rows) == len(HOSTILE) + 1
    formula = next(r for r in rows if "HYPERLINK" in r["text"])
    assert (formula["text"], formula["author"]) == ("'" + FORMULA, "'@SUM(1+1)")
    assert all(r["text"][0] not in "=+-@" and (r["author"] or " ")[0] not in "=+-@" for r in rows)


def test_binding_beyond_loopback_needs_credentials(warehouse: Path, monkeypatch, capsys) -> None:
    for name in (TOKEN_ENV, USER_ENV, PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ServeError, match=TOKEN_ENV):
        check_binding("0.0.0.0", None)
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(warehouse.parent)]) == 1
    assert TOKEN_ENV in capsys.readouterr().err
    check_binding("127.0.0.1", None)
    check_binding("::1", None)


def test_a_request_without_the_token_is_refused_when_bound_beyond_loopback(warehouse: Path, monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s3cret-token")
    app, _ = app_for(warehouse, "0.0.0.0")
    with running(app, host="0.0.0.0") as base, httpx.Client(base_url=base) as client:
        for path in ("/", "/mentions?format=csv", "/static/app.css"):
            assert client.get(path).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        given = client.get("/alerts?token=s3cret-token")
        assert given.status_code == 303 and given.headers["location"] == "/alerts"
        assert client.get("/alerts").status_code == 200  # the cookie it set


def test_basic_auth_credentials_from_the_environment(warehouse: Path, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(USER_ENV, "analyst")
    monkeypatch.setenv(PASSWORD_ENV, "pa:ss")
    app, _ = app_for(warehouse, "0.0.0.0")
    with running(app, host="0.0.0.0") as base, httpx.Client(base_url=base) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert client.get("/", auth=("analyst", "wrong")).status_code == 401
        assert client.get("/", headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}).status_code == 401
        assert client.get("/", auth=("analyst", "pa:ss")).status_code == 200


@pytest.fixture
def writable_site(warehouse: Path, tmp_path: Path):
    copy = copy_warehouse(warehouse, tmp_path / "data")
    with running(create_app(copy)) as base, httpx.Client(base_url=base) as client:
        yield client, copy


def _outage_mention(warehouse: Path) -> str:
    return _query(warehouse, "SELECT mention_id FROM mention_targets WHERE brand = ? AND product = '*' AND published_day = ? "
                             "AND sentiment_label = 'negative' ORDER BY mention_id LIMIT 1", [BRAND, OUTAGE])[0][0]


def _form(client: httpx.Client, mention_id: str) -> str:
    page = client.get(f"/mentions/{mention_id}")
    return lxml.html.fromstring(page.text).xpath("//form[@id='correct-sentiment']//input[@name='csrf']/@value")[0]


def test_a_correction_without_its_csrf_token_is_refused(writable_site) -> None:
    client, warehouse = writable_site
    mention_id = _outage_mention(warehouse)
    token = _form(client, mention_id)
    fields = {"field": "sentiment", "value": "positive", "brand": BRAND}
    url = f"/mentions/{mention_id}/corrections"
    assert client.post(url, data=fields).status_code == 403
    assert client.post(url, data={**fields, "csrf": "forged"}).status_code == 403
    for origin in ("http://evil.example", "null"):
        assert client.post(url, data={**fields, "csrf": token}, headers={"Origin": origin}).status_code == 403
    fresh = httpx.post(str(client.base_url) + url, data={**fields, "csrf": token})  # the token without its cookie
    assert fresh.status_code == 403
    assert _query(warehouse, "SELECT count(*) FROM corrections") == [(0,)]


def test_a_correction_from_the_page_changes_the_counts(writable_site) -> None:
    client, warehouse = writable_site
    mention_id = _outage_mention(warehouse)
    negative = _signal(warehouse, "negative")
    listed = _count(client.get("/mentions", params={"brand": BRAND, "day_from": OUTAGE, "day_to": OUTAGE,
                                                   "sentiment": "negative"}).text)
    answer = client.post(f"/mentions/{mention_id}/corrections",
                         data={"csrf": _form(client, mention_id), "field": "sentiment", "value": "positive",
                               "brand": BRAND, "note": "sarcasm <b>"})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "Recorded." in page and "negative -&gt; positive" in page and "sarcasm &lt;b&gt;" in page
    assert _signal(warehouse, "negative") == negative - 1
    assert _count(client.get("/mentions", params={"brand": BRAND, "day_from": OUTAGE, "day_to": OUTAGE,
                                                 "sentiment": "negative"}).text) == listed - 1
    refused = client.post(f"/mentions/{mention_id}/corrections",
                          data={"csrf": _form(client, mention_id), "field": "moment", "value": "angry", "brand": BRAND})
    assert "Not recorded: invalid moment" in client.get(refused.headers["location"]).text

"""Tags from saved rules: the query language, tags.yaml and brand `query:`, tagging in the load, `zmot retag`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from nlp.brands import BrandFinder
from nlp.catalog import Brand
from nlp.query_language import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_TEXT_CHARS,
    And,
    Document,
    FieldIs,
    MentionFields,
    Near,
    Not,
    Or,
    QueryError,
    Words,
    matches,
    parse,
    rule_hash,
)
from tests.reliability.test_hostile_text import RSS_ITEMS
from tests.test_warehouse import T0, _mention, _stage
from tests.workbench_server import copy_warehouse, query
from warehouse.corrections import Correction, record_correction
from warehouse.db import connect
from warehouse.load import load_run
from warehouse.tags import retag
from zmot.cli import main
from zmot.config import ConfigError, load_config

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT / "config" / "sample"


def w(*words: str, prefix: bool = False, title: bool = False) -> Words:
    return Words(tuple(words), prefix, title)


# --- the parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "tree"), [
    ("outage", w("outage")),
    ("Outage AND Refund", And((w("outage"), w("refund")))),
    ("outage OR down", Or((w("outage"), w("down")))),
    ("outage down", And((w("outage"), w("down")))),  # implicit AND
    ("NOT pie", Not(w("pie"))),
    ('"no signal"', w("no", "signal")),
    ("deliver*", w("deliver", prefix=True)),
    ('"dropped call*"', w("dropped", "call", prefix=True)),
    ("t-mobile", w("t", "mobile")),  # a word with punctuation is the phrase of its parts
    ("bill NEAR/3 twice", Near(w("bill"), w("twice"), 3)),
    ("(a OR b) NEAR/2 c", Near(Or((w("a"), w("b"))), w("c"), 2)),
    ("(a OR b) c", And((Or((w("a"), w("b"))), w("c")))),
    ("a and b or c", And((w("a"), w("and"), w("b"), w("or"), w("c")))),  # operators are capitals
    ("source:Telecom-News", FieldIs("source", "telecom-news")),
    ("kind:reddit", FieldIs("kind", "reddit")),
    ("site:trustpilot.com", FieldIs("site", "trustpilot.com")),
    ("author:@Jo*", FieldIs("author", "jo", prefix=True)),
    ('author:"Jo  Bloggs"', FieldIs("author", "jo bloggs")),
    ("lang:EN", FieldIs("lang", "en")),
    ("subreddit:r/AcmeMobile", FieldIs("subreddit", "acmemobile")),
    ('title:"late delivery"', w("late", "delivery", title=True)),
    ("moment:lzmot", FieldIs("moment", "lzmot")),
    ("sentiment:negative", FieldIs("sentiment", "negative")),
])
def test_each_operator_and_field_parses_to_its_tree(text: str, tree) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(("text", "tree"), [
    ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),  # AND before OR
    ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("NOT a b", And((Not(w("a")), w("b")))),  # NOT takes one term
    ("a NOT b OR c", Or((And((w("a"), Not(w("b")))), w("c")))),
    ("a NEAR/2 b OR c", Or((Near(w("a"), w("b"), 2), w("c")))),  # NEAR before OR
    ("NOT a NEAR/1 b", Not(Near(w("a"), w("b"), 1))),  # NEAR before NOT
    ("a NEAR/1 b NEAR/4 c", Near(Near(w("a"), w("b"), 1), w("c"), 4)),
    ("NOT NOT a", Not(Not(w("a")))),
])
def test_precedence(text: str, tree) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(("text", "position", "expected"), [
    ("", 1, "a word, a quoted phrase or a field filter"),
    ("outage AND", 11, "a word"),
    ("OR outage", 1, "a word"),
    ("(outage OR down", 16, "')' to close the '(' at character 1"),
    ("outage)", 7, "closes no '('"),
    ("()", 2, "a query inside the parentheses"),
    ('"no signal', 1, "a closing '\"'"),
    ("de*ver", 3, "'*' only at the end of a word"),
    ("d*", 1, "at least 2 letters before '*'"),
    ("bill NEAR twice", 6, "NEAR/n"),
    ("bill NEAR/99 twice", 6, "NEAR/n with n a number of words from 1 to 50"),
    ("bill NEAR/2 kind:rss", 6, "on both sides of NEAR"),
    ("bill NEAR/2 NOT twice", 13, "a word"),
    ("colour:red", 1, "a field among source:, kind:"),
    ("kind:tweets", 6, "one of rss, reddit, reviews"),
    ("moment:zmot*", 8, "one of zmot, lzmot, umot, none"),
    ("sentiment:angry", 11, "one of negative, neutral, positive, unscored"),
    ("source:", 8, "a value right after 'source:'"),
    ("title: outage", 7, "a value right after 'title:'"),
    ("refund !!!", 8, "a word with letters or digits"),
])
def test_a_bad_query_says_where_and_what_was_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.position == position
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"at character {position}: expected ")


def test_hostile_queries_are_bounded() -> None:
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_CHARS} characters"):
        parse("a " * MAX_QUERY_CHARS)
    with pytest.raises(QueryError, match="nested parentheses"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QueryError, match="nested parentheses or NOTs"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == w("a")


def test_the_rule_hash_follows_meaning_not_spacing() -> None:
    assert rule_hash(parse("bill  OR (refund)")) == rule_hash(parse("bill OR refund"))
    assert rule_hash(parse("bill OR refund")) != rule_hash(parse("bill OR refunds"))


# --- the evaluator -------------------------------------------------------------------------------

CHARGED = MentionFields(
    title="Charged twice by Acme this month",
    text="Two identical charges on my card for November. Support says the billing system is 'being looked at'.",
    source_kind="reddit", source_id="reddit-acme", url="https://www.reddit.com/r/AcmeMobile/comments/k0ab9g/",
    author="u_jo", language="en", subreddit="AcmeMobile", moment="lzmot", sentiment="negative",
)
REVIEW = MentionFields(
    title="Dead on arrival", text="Would not heat at all out of the box. Délivery was quick, the café crema never came.",
    source_kind="reviews", source_id="kettleworks-k2", url="https://shop.example.co.uk/k2/reviews?page=2",
    site="Trustpilot", author="Anna K.", language="en", moment="none", sentiment="negative",
)


@pytest.mark.parametrize(("text", "mention", "expected"), [
    ("charged NEAR/1 twice", CHARGED, True),
    ("charged NEAR/3 november", CHARGED, False),  # title and text are one stream, but far apart
    ("twice NEAR/3 charged", CHARGED, True),  # either order
    ('"charged twice"', CHARGED, True),
    ('"twice charged"', CHARGED, False),
    ("bill*", CHARGED, True),
    ("charg* AND NOT refund", CHARGED, True),
    ("title:billing", CHARGED, False),
    ("title:charged", CHARGED, True),
    ("subreddit:acmemobile kind:reddit site:reddit.com", CHARGED, True),
    ("site:com", CHARGED, True),  # a domain matches its subdomains
    ("site:eddit.com", CHARGED, False),
    ("moment:lzmot sentiment:negative lang:en", CHARGED, True),
    ("moment:zmot OR sentiment:positive", CHARGED, False),
    ("author:u_jo source:reddit-acme", CHARGED, True),
    ('"looked at"', CHARGED, True),  # quotes in the text are not words
    ('"dead on arrival" OR (arriv* NEAR/3 late)', REVIEW, True),
    ("delivery", REVIEW, True),  # accents fold: Délivery
    ("CAFE", REVIEW, True),
    ("site:trustpilot", REVIEW, True),  # a review site's name from metadata.site
    ("site:example.co.uk", REVIEW, True),
    ("author:anna*", REVIEW, True),
    ("kind:rss OR source:kettleworks", REVIEW, False),
])
def test_queries_over_real_looking_mentions(text: str, mention: MentionFields, expected: bool) -> None:
    assert matches(parse(text), Document.of(mention)) is expected


@pytest.mark.parametrize("item", RSS_ITEMS, ids=lambda item: item.guid)
def test_hostile_texts_evaluate_like_brand_matching(item) -> None:
    """The reliability suite's stored texts: every one is read without error, and the brand names it finds
    (zero-width characters, NFD accents, RTL, markup) are the words a query finds."""
    names = parse('"acme mobile" OR acmemobile OR "cafe nandu"')
    doc = Document.of(MentionFields(text=item.stored_text, title=item.stored_title, author=item.author, url=item.stored_url))
    assert matches(names, doc) is bool(item.refs)
    assert matches(parse("drop* OR table OR script OR alert"), doc) is matches(parse("NOT NOT (drop* OR table OR script OR alert)"), doc)


def test_a_huge_text_is_read_up_to_the_bound() -> None:
    """Work stays bounded: words past MAX_TEXT_CHARS are not read, and NEAR over thousands of matches answers."""
    filler = "word " * (MAX_TEXT_CHARS // 5)
    doc = Document.of(MentionFields(text=filler + "outage"))
    assert not matches(parse("outage"), doc)
    assert matches(parse("wo* NEAR/50 (word OR words) NEAR/50 wor*"), doc)
    assert not matches(parse('"word word" NEAR/1 outage'), doc)


def test_a_brand_query_keeps_only_the_references_whose_text_matches() -> None:
    finder = BrandFinder([Brand(name="Apple", case_sensitive=True, query='"Apple" AND (iphone OR mac OR ios) NOT pie'),
                          Brand(name="Acme")])
    assert [r.brand for r in finder.find("My Apple iPhone and an Acme plan")] == ["Apple", "Acme"]
    assert [r.brand for r in finder.find("Apple pie on my iPhone, says Acme")] == ["Acme"]
    assert [r.brand for r in finder.find("Apple shares rose")] == []
    # the connectors' prefilter never says no where the pipeline might say yes
    assert [r.brand for r in finder.find("Apple shares rose", exclusions=False)] == ["Apple"]


# --- config --------------------------------------------------------------------------------------


def _config(tmp_path: Path, tags: str | None = None, brand_extra: str = "") -> Path:
    (tmp_path / "brands.yaml").write_text(f"brands:\n  - name: Acme\n{brand_extra}", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    if tags is not None:
        (tmp_path / "tags.yaml").write_text(tags, encoding="utf-8")
    return tmp_path


def test_the_sample_tags_parse_and_tags_yaml_is_optional(tmp_path: Path) -> None:
    assert set(load_config(SAMPLE).tags.rules) == {"billing", "outage", "delivery"}
    assert load_config(_config(tmp_path)).tags.rules == {}


@pytest.mark.parametrize(("tags", "brand_extra", "expected"), [
    ("rules:\n  billing: 'bill* OR (charged NEAR/3 twice'\n", "",
     "tags.yaml: rules.billing: at character 31: expected ')' to close the '(' at character 10 (got end of query), "
     "in the query 'bill* OR (charged NEAR/3 twice'"),
    ("rules:\n  outage: 'kind:tweet'\n", "", "tags.yaml: rules.outage: at character 6: expected one of rss, reddit, reviews"),
    ("rules:\n  Billing Team: bill\n", "", "tags.yaml: rules.Billing Team: expected a tag name of 1-64 lower-case letters"),
    ("rule:\n  billing: bill\n", "", "tags.yaml: rule: unknown key; expected one of: rules; did you mean 'rules'?"),
    ("rules:\n  billing: [bill, refund]\n", "", "tags.yaml: rules.billing: expected a valid string"),
    ("- billing\n", "", "tags.yaml: expected a mapping of keys (a 'rules:' mapping of tag: query), got a list"),
    (None, "    query: '\"Acme\" AND (phone OR plan'\n", "brands.yaml: brands[Acme].query: at character 26: expected ')'"),
    (None, "    query: 'Acme kind:rss'\n", "brands.yaml: brands[Acme].query: expected words, phrases and operators only"),
])
def test_a_bad_rule_names_the_file_the_rule_the_position_and_what_was_expected(
        tmp_path: Path, tags: str | None, brand_extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, tags, brand_extra))
    assert expected in str(caught.value)


def test_check_config_reports_a_bad_query(tmp_path: Path, capsys) -> None:
    assert main(["check-config", "--config", str(_config(tmp_path, "rules:\n  outage: 'down AND'\n"))]) == 2
    assert "tags.yaml: rules.outage: at character 9: expected a word" in capsys.readouterr().err
    assert main(["check-config", "--config", str(SAMPLE)]) == 0
    assert "tag billing: bill OR" in capsys.readouterr().out


# --- the warehouse -------------------------------------------------------------------------------

RULES = {"billing": "bill* OR (charged NEAR/3 twice)", "outage": 'outage OR "no signal" OR down'}


NATIVE = {_mention(n, "").mention_id: n for n in "abcd"}


def _named(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(native id, tag) of every tag row."""
    return sorted((NATIVE[m], t) for m, t, *_ in _tags(con))


def _tags(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT mention_id, tag, rule_hash, tagged_at, published_day FROM mention_tags ORDER BY ALL").fetchall()


def _tag_signals(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT day, brand, tag, mentions, negative, positive FROM daily_tag_signals ORDER BY ALL").fetchall()


def _run(tmp_path: Path, run_key: str, texts: dict[str, tuple[str, str]], rules: dict[str, str] | None = None):
    mentions = [_mention(nid, text) for nid, (text, _) in texts.items()]
    staged = _stage(tmp_path, run_key, mentions, {nid: (label, -0.5 if label == "negative" else 0.5)
                                                   for nid, (_, label) in texts.items()})
    return dataclasses.replace(staged, tag_rules=RULES if rules is None else rules)


DAY_ONE = {"a": ("Acme charged me twice this month", "negative"), "b": ("Acme is down again, no signal", "negative"),
           "c": ("Acme sent my bill early, fine by me", "positive"), "d": ("Acme has a new phone", "neutral")}


def test_the_load_tags_its_new_mentions_and_counts_them_per_day(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    load_run(con, _run(tmp_path, "r1", DAY_ONE))
    assert _named(con) == [("a", "billing"), ("b", "outage"), ("c", "billing")]
    day = T0.date()
    assert _tag_signals(con) == [(day, "*", "billing", 2, 1, 1), (day, "*", "outage", 1, 1, 0),
                                 (day, "Acme", "billing", 2, 1, 1), (day, "Acme", "outage", 1, 1, 0)]
    before = _tags(con)
    load_run(con, _run(tmp_path, "r1", DAY_ONE))  # a rerun stores the same rows, the same times
    assert _tags(con) == before


def test_an_edit_replaces_the_tags_and_a_correction_moves_the_counts(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    load_run(con, _run(tmp_path, "r1", DAY_ONE))
    load_run(con, _run(tmp_path, "r2", {"a": ("Acme had an outage, all good now", "neutral")}))
    assert _named(con) == [("a", "outage"), ("b", "outage"), ("c", "billing")]
    mention_b = _mention("b", "").mention_id
    record_correction(con, Correction(mention_b, "Acme", "sentiment", "positive"), "tester")
    assert (T0.date(), "Acme", "outage", 2, 0, 1) in _tag_signals(con)  # toward the brand: the analyst's value
    assert (T0.date(), "*", "outage", 2, 1, 0) in _tag_signals(con)  # the mention's own: the model's


def test_retag_applies_changed_rules_to_the_past_and_is_idempotent(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    load_run(con, _run(tmp_path, "r1", DAY_ONE, rules={}))
    assert _tags(con) == [] and _tag_signals(con) == []
    seen: list[tuple[int, int, int]] = []
    first = retag(con, RULES, lambda *p: seen.append(p))
    assert (first.mentions, first.added, first.removed, first.kept) == (4, 3, 0, 0)
    assert seen[-1] == (4, 4, 3)
    tagged = _tags(con)
    assert len(tagged) == 3 and len({r[2] for r in tagged}) == 2
    signals = _tag_signals(con)
    assert (T0.date(), "Acme", "billing", 2, 1, 1) in signals

    again = retag(con, RULES)
    assert (again.added, again.removed, again.kept) == (0, 0, 3)
    assert _tags(con) == tagged and _tag_signals(con) == signals

    changed = {"billing": "bill*", "phones": "phone*"}  # billing narrowed, outage gone, phones new
    third = retag(con, changed)
    assert (third.added, third.removed, third.kept) == (2, 3, 0)  # the billing rule's meaning changed: its tags are new
    assert _named(con) == [("c", "billing"), ("d", "phones")]
    assert {(b, t) for _, b, t, *_ in _tag_signals(con)} == {("*", "billing"), ("*", "phones"), ("Acme", "billing"), ("Acme", "phones")}


def test_the_daily_run_tags_what_retag_would(demo_warehouse: Path, tmp_path: Path, capsys) -> None:
    """The demo's seven daily runs tagged each mention as it came; retagging every mention with the same
    rules changes nothing, and the sample rules find the demo's outage and double billing."""
    counts = dict(query(demo_warehouse, "SELECT tag, count(*) FROM mention_tags GROUP BY tag"))
    assert counts.get("billing", 0) > 20 and counts.get("outage", 0) > 20 and counts.get("delivery", 0) > 0
    peak = query(demo_warehouse, "SELECT tag, arg_max(day, mentions) FROM daily_tag_signals WHERE brand = 'Acme Mobile' "
                                 "AND tag IN ('outage', 'billing') GROUP BY tag ORDER BY tag")
    assert [(t, d.isoformat()) for t, d in peak] == [("billing", "2026-11-12"), ("outage", "2026-11-11")]
    data = copy_warehouse(demo_warehouse, tmp_path / "data").parent
    assert main(["retag", "--config", str(SAMPLE), "--data-dir", str(data)]) == 0
    out = capsys.readouterr()
    assert "0 tags added, 0 removed" in out.out and "mentions read (100%)" in out.err
    assert query(data / "zmot.duckdb", "SELECT count(*) FROM mention_tags")[0][0] == sum(counts.values())

"""Brand references: aliases, products, case, exclusions and overlapping names."""

from __future__ import annotations

import csv

import pytest

from nlp.brands import make_prefilter
from nlp.pipeline import analyse, build_pipeline
from tests.conftest import shared_data

CATALOG = [
    {"name": "Apple", "aliases": ["Apple Inc"], "case_sensitive": True, "competitors": ["Samsung"],
     "products": [{"name": "iPhone", "aliases": ["iPhone 17"]}, {"name": "MacBook Air", "aliases": []}],
     "exclusions": ["apple pie", "Big Apple", "apple juice"]},
    {"name": "Acme", "aliases": [], "case_sensitive": False, "competitors": [], "exclusions": [],
     "products": [{"name": "Acme Mobile Unlimited", "aliases": []}]},
    {"name": "Acme Mobile", "aliases": ["@AcmeMobile"], "case_sensitive": False, "competitors": [], "exclusions": [], "products": []},
    {"name": "Samsung", "aliases": [], "case_sensitive": False, "competitors": [], "exclusions": [],
     "products": [{"name": "Galaxy S25", "aliases": []}]},
]


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline(CATALOG, base="blank")


def refs(nlp, text: str) -> list[tuple[str, str | None, str]]:
    [result] = analyse(nlp, [text])
    return [(r.brand, r.product, r.text) for r in result.refs]


def test_the_company_is_found_but_the_fruit_is_not(nlp) -> None:
    assert refs(nlp, "Apple shares rose after the keynote.") == [("Apple", None, "Apple")]
    assert refs(nlp, "I ate an apple and some apple pie.") == []
    assert refs(nlp, "Grandma's Apple pie recipe") == []  # capitalised, still the exclusion
    assert refs(nlp, "Back in the Big Apple for the week") == []


def test_an_exclusion_vetoes_only_the_overlapping_mention(nlp) -> None:
    found = refs(nlp, "Apple pie at the Apple Store launch")
    assert found == [("Apple", None, "Apple")]


def test_aliases_and_products_imply_their_brand(nlp) -> None:
    assert refs(nlp, "Apple Inc reports earnings") == [("Apple", None, "Apple Inc")]
    assert refs(nlp, "my new iphone 17 is great") == [("Apple", "iPhone", "iphone 17")]
    assert refs(nlp, "MacBook Air battery") == [("Apple", "MacBook Air", "MacBook Air")]


def test_case_insensitive_brands_match_any_case_and_handles(nlp) -> None:
    assert refs(nlp, "SAMSUNG galaxy s25 review") == [("Samsung", "Galaxy S25", "galaxy s25"), ("Samsung", None, "SAMSUNG")][::-1]
    assert refs(nlp, "thanks @AcmeMobile") == [("Acme Mobile", None, "@AcmeMobile")]
    assert refs(nlp, "#samsung all the way") == [("Samsung", None, "#samsung")]


def test_the_longest_overlapping_name_wins(nlp) -> None:
    assert refs(nlp, "Acme Mobile Unlimited is pricey") == [("Acme", "Acme Mobile Unlimited", "Acme Mobile Unlimited")]
    assert refs(nlp, "Acme Mobile support") == [("Acme Mobile", None, "Acme Mobile")]
    assert refs(nlp, "Acme makes anvils") == [("Acme", None, "Acme")]


def test_possessives_punctuation_and_offsets(nlp) -> None:
    text = "Is Apple's new iPhone worth it?"
    [result] = analyse(nlp, [text])
    assert [(r.brand, r.product) for r in result.refs] == [("Apple", None), ("Apple", "iPhone")]
    assert all(text[r.start_char:r.end_char] == r.text for r in result.refs)


def test_the_prefilter_never_misses_what_the_pipeline_finds(nlp) -> None:
    texts = [
        "Apple pie", "apple", "APPLE", "iPhone!", "#iphone", "@AcmeMobile rocks", "acme mobile unlimited",
        "Galaxy S25 Ultra", "galaxy  s25", "Samsung's", "the big apple", "ACME", "acmE", "Apple-branded cable",
    ]
    keep = make_prefilter(CATALOG)
    for text, result in zip(texts, analyse(nlp, texts)):
        if result.refs:
            assert keep(text), text
    assert not keep("an apple a day") and not keep("nothing here")


def test_on_real_brand_tweets_the_brand_is_found_where_labelled() -> None:
    """Sanders' tweets about Apple, Google, Microsoft and Twitter: most name their brand."""
    path = shared_data("sanders-brand-sentiment", "full-corpus.csv")
    catalog = [
        {"name": name, "aliases": [], "case_sensitive": False, "products": [], "competitors": [], "exclusions": []}
        for name in ("Apple", "Google", "Microsoft", "Twitter")
    ]
    with path.open(encoding="utf-8", errors="replace") as handle:
        rows = [r for r in csv.DictReader(handle)]
    nlp = build_pipeline(catalog, base="blank")
    keep = make_prefilter(catalog)
    texts = [r["TweetText"] for r in rows]
    found = missed_by_prefilter = 0
    for row, result in zip(rows, analyse(nlp, texts)):
        brands = {r.brand.lower() for r in result.refs}
        found += row["Topic"].lower() in brands
        missed_by_prefilter += bool(result.refs) and not keep(row["TweetText"])
    assert missed_by_prefilter == 0
    assert found / len(rows) > 0.9, f"brand found in {found} of {len(rows)} tweets"

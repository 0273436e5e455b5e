"""Review page extraction: schema.org syntaxes, the Amazon adapter, encodings, bot walls, pagination, real pages."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.review_adapters import ADAPTERS, adapter_for
from connectors.review_extract import ReviewPageError, extract_page

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reviews"
REVIEW_PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "review-pages"
AMAZON_IT = "amazon_it_product_reviews/product-reviews-B07747FR44-1.html"


def extract_fixture(name: str, url: str = "https://reviews.example.com/item/1", content_type: str = ""):
    return extract_page((FIXTURES / name).read_bytes(), url=url, content_type=content_type)


def real_page(relative: str) -> Path:
    path = REVIEW_PAGES / relative
    if not path.exists():
        pytest.skip(f"{path} is not here (shared data sits beside the project)")
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- JSON-LD -------------------------------------------------------------------------------------------


def test_jsonld_reviews_with_company_reply():
    page = extract_fixture("jsonld_reviews_reply.html")
    assert page.adapter == "generic" and page.bot_wall is None and page.next_url is None
    assert [r.author for r in page.reviews] == ["Maria Rossi", "Tom Baker", "Ana, Luis"]
    maria, tom, pair = page.reviews
    assert maria.native_id == "https://shop.example.com/kettle#review-9001"
    assert maria.rating == pytest.approx(0.75) and maria.rating_raw == "4/5"
    assert maria.published_at == utc(2024, 2, 11)
    assert maria.title == "Boils fast, a bit loud"
    assert maria.body.endswith("louder than my old one & the lid sticks a little.")
    assert maria.reply == "Thanks Maria! A lid fix kit is on its way to you."
    assert (maria.item_name, maria.item_brand, maria.extracted_by) == ("Acme Turbo Kettle 1.7L", "Acme", "json-ld")
    assert tom.body == "Stopped working after two weeks.\n\nReturned it."
    assert tom.published_at == utc(2024, 3, 2, 17, 45) and tom.rating == 0.0 and tom.reply is None
    assert pair.rating == pytest.approx(0.875) and pair.rating_raw == "4.5/5"
    assert pair.body == "Looks great on our counter and the blue light is a nice touch."
    assert page.aggregate.value == pytest.approx(0.8) and page.aggregate.count == 128


def test_jsonld_graph_follows_id_references():
    page = extract_fixture("jsonld_graph.html")
    assert [r.native_id for r in page.reviews] == ["https://reviews.example.org/da-gino#r1", "https://reviews.example.org/da-gino#r2"]
    assert {r.item_name for r in page.reviews} == {"Pizzeria Da Gino"}
    assert [r.rating for r in page.reviews] == [1.0, 0.75]
    assert page.aggregate.value == pytest.approx(0.875) and page.aggregate.count == 2


def test_ten_point_scale_is_normalised_and_clamped():
    page = extract_fixture("ten_point.html")
    assert [r.rating_raw for r in page.reviews] == ["8/10", "10/10", "12/10"]
    assert page.reviews[0].rating == pytest.approx(7 / 9)
    assert page.reviews[1].rating == 1.0
    assert page.reviews[2].rating == 1.0
    assert page.aggregate.value == pytest.approx(7.6 / 9) and page.aggregate.count == 412


def test_truncated_html_keeps_the_complete_jsonld_block():
    page = extract_fixture("truncated_jsonld.html")
    assert len(page.reviews) == 1
    assert page.reviews[0].author == "Kemal" and page.reviews[0].item_name == "BoomBox Mini"
    assert page.reviews[0].body == "Loud for its size, battery lasts a weekend."


# --- microdata, RDFa, duplicates -------------------------------------------------------------------------


def test_microdata_reviews_with_comma_decimals():
    page = extract_fixture("microdata_reviews.html")
    assert [r.author for r in page.reviews] == ["Claire Dubois", "Peter K.", "Sam"]
    assert [r.rating for r in page.reviews] == [1.0, 0.375, 0.75]
    assert page.reviews[1].rating_raw == "2.5/5"
    assert page.reviews[0].title == "Lovely view" and page.reviews[0].published_at == utc(2022, 7, 4)
    assert page.reviews[2].body == ""  # rating-only reviews are kept
    assert {r.extracted_by for r in page.reviews} == {"microdata"}
    assert {r.item_name for r in page.reviews} == {"Harbour View Hotel"}
    assert page.aggregate.value == pytest.approx(0.775) and page.aggregate.count == 3


def test_rdfa_reviews():
    page = extract_fixture("rdfa_reviews.html")
    reviews = sorted(page.reviews, key=lambda r: r.author)  # an RDF graph has no order
    assert [(r.author, r.rating, r.published_at) for r in reviews] == [
        ("Jonas Berg", 0.5, utc(2021, 5, 20)),
        ("Lena Ek", 1.0, utc(2021, 6, 2)),
    ]
    assert reviews[0].body == "Grippy on wet rock, but the toe box is narrow."
    assert {(r.item_name, r.item_brand, r.extracted_by) for r in page.reviews} == {("Trail Runner X2", "Peakline", "rdfa")}


def test_review_in_jsonld_and_microdata_counts_once_preferring_jsonld():
    page = extract_fixture("jsonld_and_microdata.html")
    assert [(r.author, r.extracted_by) for r in page.reviews] == [("Ivo", "json-ld"), ("Nora", "microdata")]


def test_native_ids_are_stable_content_hashes_without_page_ids():
    first = extract_fixture("microdata_reviews.html").reviews
    again = extract_fixture("microdata_reviews.html").reviews
    assert [r.native_id for r in first] == [r.native_id for r in again]
    assert all(len(r.native_id) == 24 for r in first) and len({r.native_id for r in first}) == 3


def test_page_without_reviews():
    page = extract_fixture("no_reviews.html")
    assert page.reviews == [] and page.aggregate is None and page.bot_wall is None


# --- encodings ------------------------------------------------------------------------------------------


def test_windows_1252_page_from_meta_charset():
    page = extract_fixture("windows1252.html")
    assert [r.author for r in page.reviews] == ["Renée Lefèvre", "François"]
    assert page.reviews[0].body == "Très bien, café crémeux et crêpes « maison » – à refaire…"
    assert "3,50 € le crème" in page.reviews[1].body
    assert page.reviews[0].item_name == "Café des Arts"


def test_shift_jis_page():
    page = extract_fixture("shift_jis.html")
    assert [r.author for r in page.reviews] == ["田中太郎", "佐藤"]
    assert page.reviews[0].body == "抹茶ラテがとても美味しかったです。店員さんも親切でした。"
    assert page.reviews[0].item_name == "カフェさくら"


def test_charset_from_content_type_header():
    page = extract_fixture("latin1_header_only.html", content_type="text/html; charset=ISO-8859-1")
    assert page.reviews[0].author == "Jürgen"
    assert page.reviews[0].body == "Sehr gute Brötchen, große Auswahl überall frisch."


def test_undeclared_legacy_bytes_fall_back_to_utf8_with_replacement():
    page = extract_fixture("latin1_header_only.html")
    assert page.reviews[0].author == "J\ufffdrgen"


@pytest.mark.parametrize("body", [os.urandom(4096), b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3"])
def test_binary_bodies_raise_not_html(body):
    with pytest.raises(ReviewPageError) as error:
        extract_page(body, url="https://reviews.example.com/")
    assert error.value.reason == "not_html"


def test_binary_content_type_raises_not_html():
    with pytest.raises(ReviewPageError):
        extract_page(b"<html></html>", url="https://x.example/", content_type="image/jpeg")


@pytest.mark.parametrize("body", [b"", b"   \n", b"<", b"<html><body><div", b"plain words", b"<?xml version='1.0' encoding='utf-8'?><html/>"])
def test_degenerate_html_never_raises(body):
    page = extract_page(body, url="https://reviews.example.com/")
    assert page.reviews == [] and page.bot_wall is None


def test_five_megabyte_page_is_fast():
    review = ('<div itemprop="review" itemscope itemtype="https://schema.org/Review"><span itemprop="author">User {i}</span>'
              '<p itemprop="reviewBody">Review {i}: ' + "solid build, quick delivery. " * 20 + "</p></div>\n")
    filler = '<div class="row"><p>' + "unrelated page text " * 40 + "</p></div>\n"
    chunks = ['<html><head><title>Big</title></head><body><div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Big</h1>']
    count = 0
    while sum(map(len, chunks)) < 5_000_000:
        chunks.append(review.format(i=count) + filler * 12)
        count += 1
    body = ("".join(chunks) + "</div></body></html>").encode()
    started = time.perf_counter()
    page = extract_page(body, url="https://big.example/")
    assert time.perf_counter() - started < 6
    assert len(page.reviews) == count
    assert extract_page(body[: len(body) // 2], url="https://big.example/").reviews


# --- pagination -----------------------------------------------------------------------------------------


def test_link_rel_next_is_resolved_against_the_page_url():
    page = extract_fixture("paginated.html", url="https://vpn-reviews.example/reviews/cloudnest-vpn?page=2")
    assert page.next_url == "https://vpn-reviews.example/reviews/cloudnest-vpn?page=3"
    assert len(page.reviews) == 2 and page.bot_wall is None
    assert {r.item_name for r in page.reviews} == {"CloudNest VPN"}


def test_anchor_rel_next_must_stay_on_the_same_listing():
    page = extract_fixture("anchor_next.html", url="https://blog.example.net/recipes/lemon-tart/")
    assert page.next_url == "https://blog.example.net/recipes/lemon-tart/comment-page-2/#comments"


# --- bot walls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "reason"),
    [
        ("amazon_captcha.html", "https://www.amazon.com/product-reviews/B07747FR44", "captcha"),
        ("cloudflare_challenge.html", "https://www.reviews-site.example/product/123", "cloudflare_challenge"),
        ("cloudflare_blocked.html", "https://www.reviews-site.example/product/123", "cloudflare_challenge"),
        ("access_denied.html", "https://www.retailer.example/product/123/reviews", "access_denied"),
        ("login_wall.html", "https://reviewhub.example/company/acme", "login_wall"),
    ],
)
def test_bot_walls_are_recognised(name, url, reason):
    page = extract_fixture(name, url=url)
    assert page.reviews == [] and page.bot_wall == reason


@pytest.mark.parametrize("name", ["no_reviews.html", "paginated.html", "jsonld_reviews_reply.html", "amazon_multilingual.html"])
def test_search_forms_and_normal_pages_are_not_bot_walls(name):
    assert extract_fixture(name, url="https://www.amazon.com/product-reviews/X").bot_wall is None


# --- Amazon adapter -------------------------------------------------------------------------------------


def test_amazon_adapter_is_registered_and_claims_amazon_pages():
    assert any(adapter.name == "amazon" for adapter in ADAPTERS)
    assert adapter_for("https://www.amazon.de/product-reviews/B0", "<html></html>").name == "amazon"
    assert adapter_for("https://shop.example.com/", "<html></html>") is None


def test_amazon_dates_and_stars_in_five_languages():
    page = extract_fixture("amazon_multilingual.html", url="https://www.amazon.com/product-reviews/B09B8V1LZ3")
    assert page.adapter == "amazon"
    assert [(r.native_id, r.rating_raw, r.published_at) for r in page.reviews] == [
        ("R1AAAAAAAAAAAA", "4/5", utc(2021, 3, 3)),
        ("R2BBBBBBBBBBBB", "2/5", utc(2022, 5, 7)),
        ("R3CCCCCCCCCCCC", "5/5", utc(2020, 8, 1)),
        ("R4DDDDDDDDDDDD", "3/5", utc(2019, 12, 15)),
        ("R5EEEEEEEEEEEE", "1/5", utc(2019, 1, 12)),
    ]
    jordan = page.reviews[0]
    assert (jordan.author, jordan.title, jordan.verified, jordan.rating) == ("Jordan", "Better bass than the 4th gen", True, 0.75)
    assert jordan.body == "Sound is fuller.\nSetup took two minutes."
    assert [r.verified for r in page.reviews] == [True, False, True, False, False]
    assert page.next_url == "https://www.amazon.com/product-reviews/B09B8V1LZ3/ref=cm_cr_arp_d_paging_btm_next_2?pageNumber=2"
    assert page.aggregate.value == pytest.approx(0.925) and page.aggregate.count == 1234


def test_real_amazon_it_page():
    page = extract_page(real_page(AMAZON_IT).read_bytes(), url="https://www.amazon.it/product-reviews/B07747FR44")
    assert page.adapter == "amazon" and page.bot_wall is None and len(page.reviews) == 10
    assert [r.rating_raw for r in page.reviews] == ["5/5", "5/5", "2/5", "1/5", "3/5", "4/5", "1/5", "5/5", "5/5", "3/5"]
    assert [r.published_at.date().isoformat() for r in page.reviews][:3] == ["2018-11-14", "2018-11-12", "2018-11-23"]
    assert page.reviews[6].published_at == utc(2019, 4, 14)
    first = page.reviews[0]
    assert (first.native_id, first.author, first.title) == ("R3OXHZOZ0WM7AZ", "Darkphoenix", "SONO RIUSCITI A MIGLIORARLO ANCORA!!!")
    assert first.body.startswith("Ciao a tutti io sono Gianni") and first.verified is True
    assert all(r.body and r.author and r.item_name.startswith("Kindle Paperwhite") for r in page.reviews)
    assert page.aggregate.count == 2345 and page.aggregate.value == pytest.approx(3.7 / 4)
    assert page.next_url.startswith("https://www.amazon.it/Paperwhite-resistente") and page.next_url.endswith("pageNumber=2")


# --- real schema.org pages ------------------------------------------------------------------------------

RECIPE_REVIEWS = {
    "allrecipes.com/allrecipescurated": 10,
    "chefjeanpierre.com/chefjeanpierre_1": 12,  # the same 12 reviews appear in two JSON-LD blocks
    "delishkitchen.tv/delishkitchen_1": 10,
    "gimmesomeoven.com/gimmesomeoven_1": 17,
    "madamecuisine.de/madamecuisine_2": 13,
    "pinchofyum.com/pinchofyum": 15,
    "recept.se/recept": 5,  # each of 5 reviews is listed twice in the JSON-LD
    "theclevercarrot.com/theclevercarrot_1": 30,
}


@pytest.mark.parametrize(("stem", "expected_reviews"), sorted(RECIPE_REVIEWS.items()))
def test_recipe_pages_match_recipe_scrapers_ground_truth(stem, expected_reviews):
    html = real_page(f"recipe_scrapers_pages/{stem}.html")
    expected = json.loads(html.with_name(html.stem + ".expected.json").read_text(encoding="utf-8"))
    page = extract_page(html.read_bytes(), url=f"https://{stem.split('/')[0]}/recipe")
    assert len(page.reviews) == expected_reviews
    assert page.aggregate.count == expected["ratings_count"]
    assert page.aggregate.value == pytest.approx((expected["ratings"] - 1) / 4, abs=0.005)
    assert all(r.item_name == page.aggregate.item_name for r in page.reviews)


def test_recipe_review_details():
    page = extract_page(real_page("recipe_scrapers_pages/allrecipes.com/allrecipescurated.html").read_bytes(), url="https://www.allrecipes.com/")
    sue = page.reviews[1]
    assert (sue.author, sue.rating, sue.item_name) == ("Sue", 0.75, "Four Cheese Margherita Pizza")
    assert sue.published_at == datetime(2024, 3, 1, 23, 2, 55, 425000, tzinfo=timezone.utc)
    assert sue.body.startswith('This was so good! I made only one 12" pizza for two.')


def test_extruct_creative_work_sample():
    page = extract_page(real_page("extruct_samples/schema.org/CreativeWork.001.html").read_bytes(), url="https://example.com/")
    assert [(r.author, r.rating, r.title) for r in page.reviews] == [
        ("John Doe", 1.0, "A masterpiece of literature"),
        ("Bob Smith", 0.75, "A good read."),
    ]
    assert page.reviews[0].item_name == "The Catcher in the Rye" and page.reviews[0].published_at == utc(2006, 5, 4)


@pytest.mark.parametrize(
    ("relative", "value", "count"),
    [
        ("extruct_samples/schema.org/product.html", 0.85, 89),
        ("extruct_samples/misc/product_microdata.html", 0.85, 89),
        ("extruct_samples/schema.org/LocalBusiness.002.html", 0.75, 250),
    ],
)
def test_extruct_aggregate_only_samples(relative, value, count):
    page = extract_page(real_page(relative).read_bytes(), url="https://example.com/")
    assert page.reviews == [] and page.bot_wall is None
    assert page.aggregate.value == pytest.approx(value) and page.aggregate.count == count


def test_every_shared_page_extracts_without_raising():
    pages = sorted(real_page("").rglob("*.html"))
    assert len(pages) >= 18
    for path in pages:
        page = extract_page(path.read_bytes(), url="https://example.com/page")
        assert page.bot_wall is None, path
        assert all(r.body or r.rating is not None for r in page.reviews), path

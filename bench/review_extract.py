"""Review extraction quality and speed over the project's fixture pages and the shared real pages.

"Present" counts were made by reading each page (for recipe pages: distinct Review objects in the JSON-LD).
A found review is correct when its id or the start of its body matches a review that is present; the
present reviews are the ones listed in EXPECTED_MARKERS where given, otherwise only the counts are used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from connectors.review_extract import ExtractedReview, extract_page

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "reviews"
SHARED = ROOT.parent / "shared" / "data" / "review-pages"
MIN_SECONDS = 2.0


@dataclass(frozen=True)
class Page:
    path: Path
    url: str
    present: int
    markers: tuple[str, ...] = ()  # body prefixes or ids of the reviews present; empty means "trust the count"
    content_type: str = ""


def fixture_pages() -> list[Page]:
    def page(name: str, present: int, markers: tuple[str, ...] = (), url: str = "https://reviews.example.com/item",
             content_type: str = "") -> Page:
        return Page(FIXTURES / name, url, present, markers, content_type)

    return [
        page("jsonld_reviews_reply.html", 3, ("Boils a full jug", "Stopped working after", "Looks great on our counter")),
        page("jsonld_graph.html", 2, ("Best margherita", "Good pizza but")),
        page("jsonld_and_microdata.html", 2, ("Warm light, sturdy arm", "Base is too light")),
        page("microdata_reviews.html", 3, ("Room 402", "The bar downstairs", "e4001f08930b0820f43fca67")),
        page("rdfa_reviews.html", 2, ("Grippy on wet rock", "Ran a 50k")),
        page("paginated.html", 2, ("Fast servers in Frankfurt", "Support answered")),
        page("anchor_next.html", 1, ("Zesty and not too sweet",)),
        page("ten_point.html", 3, ("Great spa", "Quiet rooms", "Breakfast ran out")),
        page("truncated_jsonld.html", 1, ("Loud for its size",)),
        page("windows1252.html", 2, ("Très bien, café", "Service un peu lent")),
        page("shift_jis.html", 2, ("抹茶ラテ", "席が少なくて")),
        page("latin1_header_only.html", 1, ("Sehr gute Brötchen",), content_type="text/html; charset=ISO-8859-1"),
        page("amazon_multilingual.html", 5, ("R1AAAAAAAAAAAA", "R2BBBBBBBBBBBB", "R3CCCCCCCCCCCC", "R4DDDDDDDDDDDD", "R5EEEEEEEEEEEE"),
             url="https://www.amazon.com/product-reviews/B09B8V1LZ3"),
        page("no_reviews.html", 0),
        page("amazon_captcha.html", 0, url="https://www.amazon.com/product-reviews/B0"),
        page("cloudflare_challenge.html", 0),
        page("cloudflare_blocked.html", 0),
        page("access_denied.html", 0),
        page("login_wall.html", 0),
    ]


SHARED_PRESENT = {
    "amazon_it_product_reviews/product-reviews-B07747FR44-1.html": 10,
    "extruct_samples/misc/null_ld_mock.html": 1,
    "extruct_samples/misc/opengraph_ns_product_test.html": 0,
    "extruct_samples/misc/product_microdata.html": 0,
    "extruct_samples/schema.org/CreativeWork.001.html": 2,
    "extruct_samples/schema.org/LocalBusiness.002.html": 0,
    "extruct_samples/schema.org/LocalBusiness.003.html": 0,
    "extruct_samples/schema.org/product-ref.html": 0,
    "extruct_samples/schema.org/product.html": 0,
    "extruct_samples/websites/microdata-with-description.html": 0,
    "recipe_scrapers_pages/allrecipes.com/allrecipescurated.html": 10,
    "recipe_scrapers_pages/chefjeanpierre.com/chefjeanpierre_1.html": 12,
    "recipe_scrapers_pages/delishkitchen.tv/delishkitchen_1.html": 10,
    "recipe_scrapers_pages/gimmesomeoven.com/gimmesomeoven_1.html": 17,
    "recipe_scrapers_pages/madamecuisine.de/madamecuisine_2.html": 13,
    "recipe_scrapers_pages/pinchofyum.com/pinchofyum.html": 15,
    "recipe_scrapers_pages/recept.se/recept.html": 5,
    "recipe_scrapers_pages/theclevercarrot.com/theclevercarrot_1.html": 30,
}
AMAZON_IT_IDS = ("R3OXHZOZ0WM7AZ", "RG0KOF6IEBCOF")


def shared_pages() -> list[Page]:
    if not SHARED.exists():
        return []
    pages = []
    for relative, present in SHARED_PRESENT.items():
        amazon = relative.startswith("amazon")
        url = "https://www.amazon.it/product-reviews/B07747FR44" if amazon else f"https://example.com/{Path(relative).stem}"
        pages.append(Page(SHARED / relative, url, present, AMAZON_IT_IDS if amazon else ()))
    return pages


def correct_count(page: Page, found: list[ExtractedReview]) -> int:
    """Found reviews matching a present one by id or body prefix; without markers, at most the present count."""
    if not page.markers:
        return min(len(found), page.present)
    if len(page.markers) < page.present:  # partial marker list: markers must all be found, the rest counts by number
        matched = sum(any(_matches(marker, review) for review in found) for marker in page.markers)
        return min(len(found), page.present) if matched == len(page.markers) else matched
    return sum(any(_matches(marker, review) for marker in page.markers) for review in found)


def _matches(marker: str, review: ExtractedReview) -> bool:
    return review.native_id == marker or review.body.startswith(marker)


def timed_rounds(pages: list[tuple[Page, bytes]]) -> tuple[int, float]:
    """Repeat the whole set until MIN_SECONDS have passed, for a stable throughput figure."""
    rounds = 0
    started = time.perf_counter()
    while time.perf_counter() - started < MIN_SECONDS or rounds < 3:
        for page, body in pages:
            extract_page(body, url=page.url, content_type=page.content_type)
        rounds += 1
    return rounds, time.perf_counter() - started


def main() -> None:
    pages = [(page, page.path.read_bytes()) for page in fixture_pages() + shared_pages()]
    if len(pages) == len(fixture_pages()):
        print(f"{SHARED} not found; fixture pages only")
    found_total = correct_total = present_total = 0
    print(f"{'page':<66} {'found':>5} {'present':>7} {'correct':>7}  wall")
    for page, body in pages:
        extraction = extract_page(body, url=page.url, content_type=page.content_type)
        correct = correct_count(page, extraction.reviews)
        found_total += len(extraction.reviews)
        correct_total += correct
        present_total += page.present
        name = str(page.path.relative_to(SHARED if page.path.is_relative_to(SHARED) else FIXTURES))
        print(f"{name:<66} {len(extraction.reviews):>5} {page.present:>7} {correct:>7}  {extraction.bot_wall or ''}")
    rounds, seconds = timed_rounds(pages)
    megabytes = sum(len(body) for _, body in pages) * rounds / 1e6
    print()
    print(f"pages: {len(pages)}  reviews found: {found_total}  present: {present_total}  correct: {correct_total}")
    print(f"precision: {correct_total / found_total if found_total else 1.0:.3f}")
    print(f"recall:    {correct_total / present_total if present_total else 1.0:.3f}")
    print(f"throughput: {len(pages) * rounds / seconds:.1f} pages/s, {megabytes / seconds:.1f} MB/s ({rounds} rounds)")


if __name__ == "__main__":
    main()

"""Amazon customer-review pages: reviews live in data-hook="review*" markup, not schema.org."""

from __future__ import annotations

from urllib.parse import urljoin, urlparse

from lxml import etree

from connectors.review_types import (
    AggregateRating,
    ExtractedReview,
    PageExtraction,
    content_id,
    optional_text,
    parse_count,
    parse_datetime,
    parse_rating,
    plain_text,
)

name = "amazon"

_REVIEW_MARKER = 'data-hook="review"'


def matches(url: str, html_text: str) -> bool:
    """Amazon hosts always (so captcha walls are judged here too), or any page using Amazon's review hooks."""
    host = urlparse(url).hostname or ""
    return ".amazon." in f".{host}" or (_REVIEW_MARKER in html_text and 'data-hook="review-body"' in html_text)


def extract(tree: etree._Element, url: str) -> PageExtraction:
    item_name = _product_name(tree)
    reviews = [review for review in (_review(node, item_name) for node in _hook(tree, "review")) if review]
    return PageExtraction(reviews=reviews, aggregate=_aggregate(tree, item_name), next_url=_next_url(tree, url),
                          bot_wall=None, adapter=name)


def _hook(node: etree._Element, hook: str) -> list[etree._Element]:
    return node.xpath(f".//*[@data-hook='{hook}']")


def _hook_text(node: etree._Element, hook: str) -> str | None:
    """Text of the first element with that hook; `a-icon-alt` holds the star text Amazon hides from sight."""
    elements = _hook(node, hook)
    if not elements:
        return None
    alt = elements[0].xpath(".//*[contains(@class, 'a-icon-alt')]")
    return optional_text((alt[0] if alt else elements[0]).text_content())


def _review(node: etree._Element, item_name: str | None) -> ExtractedReview | None:
    body = plain_text(_inner_html(_hook(node, "review-body")))
    rating_text = _hook_text(node, "review-star-rating") or _hook_text(node, "cmps-review-star-rating")
    rating = parse_rating(rating_text) if rating_text else None
    if not body and rating is None:
        return None
    author = optional_text(node.xpath("string(.//*[contains(@class, 'a-profile-name')])"))
    published_at = parse_datetime(_hook_text(node, "review-date"))
    return ExtractedReview(
        native_id=node.get("id") or content_id(item_name, author, published_at, body),
        author=author,
        published_at=published_at,
        rating=rating.normalised if rating else None,
        rating_raw=rating.raw if rating else None,
        title=_title(node),
        body=body,
        item_name=item_name,
        item_brand=None,
        verified=bool(_hook(node, "avp-badge")),
        reply=None,
        extracted_by=name,
    )


def _inner_html(elements: list[etree._Element]) -> str:
    """Markup of the body so <br> paragraphs survive as line breaks; hidden video inputs carry no text."""
    if not elements:
        return ""
    return etree.tostring(elements[0], encoding="unicode", method="html")


def _title(node: etree._Element) -> str | None:
    """Newer pages put the star text inside the title link too; only the last span is the title."""
    titles = _hook(node, "review-title")
    if not titles:
        return None
    spans = [span for span in titles[0].xpath(".//span[not(contains(@class, 'a-icon-alt'))]") if span.text_content().strip()]
    return optional_text((spans[-1] if spans else titles[0]).text_content())


def _product_name(tree: etree._Element) -> str | None:
    link = tree.xpath("//*[@data-hook='product-link']")
    return optional_text(link[0].text_content()) if link else None


def _aggregate(tree: etree._Element, item_name: str | None) -> AggregateRating | None:
    text = _hook_text(tree, "rating-out-of-text") or _hook_text(tree, "average-star-rating")
    rating = parse_rating(text) if text else None
    if rating is None:
        return None
    return AggregateRating(value=rating.normalised, count=parse_count(_hook_text(tree, "total-review-count")), item_name=item_name)


def _next_url(tree: etree._Element, url: str) -> str | None:
    links = tree.xpath("//li[contains(concat(' ', normalize-space(@class), ' '), ' a-last ')]/a[@href]")
    return urljoin(url, links[0].get("href")) if links else None

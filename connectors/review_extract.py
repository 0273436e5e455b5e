"""Reviews, aggregate rating, next page and bot-wall verdict from one fetched review page (no HTTP here).

Schema.org markup (JSON-LD, microdata, RDFa via extruct) is the generic path; sites that publish reviews
without it get a small adapter in connectors.review_adapters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlparse

import extruct
import lxml.html
from extruct.jsonld import JsonLdExtractor
from extruct.xmldom import XmlDomHTMLParser
from lxml import etree
from w3lib.encoding import html_to_unicode

from connectors.review_adapters import adapter_for
from connectors.review_types import (
    AggregateRating,
    ExtractedReview,
    PageExtraction,
    Rating,
    ReviewPageError,
    content_id,
    optional_text,
    parse_count,
    parse_datetime,
    parse_rating,
    plain_text,
)

__all__ = [
    "AggregateRating",
    "ExtractedReview",
    "PageExtraction",
    "ReviewPageError",
    "detect_bot_wall",
    "decode_html",
    "extract_page",
    "find_next_url",
]

log = logging.getLogger(__name__)

REVIEW_TYPES = frozenset({"Review", "UserReview", "CriticReview", "EmployerReview", "ClaimReview"})
REVIEW_KEYS = ("review", "reviews")
REPLY_KEYS = ("comment", "review", "answer", "acceptedAnswer", "suggestedAnswer")
ORGANISATION_TYPES = frozenset({"Organization", "Corporation", "LocalBusiness", "OnlineStore", "Brand"})
MAX_DEPTH = 40

_BINARY_MIME = re.compile(r"^\s*(image|audio|video|font)/|^\s*application/(pdf|zip|gzip|x-gzip|octet-stream|x-tar|msword|vnd\.|([\w.-]+\+)?json)")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\x7fELF", b"OggS", b"wOFF", b"wOF2")
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_SNIFF_BYTES = 4096


def extract_page(body: bytes, *, url: str, content_type: str = "") -> PageExtraction:
    """Everything the review connector needs from one page; never raises on broken HTML, only on non-HTML bodies."""
    text = decode_html(body, content_type)
    tree, cut_short = _parse(text)
    if tree is None:
        return PageExtraction(reviews=[], aggregate=None, next_url=None, bot_wall=None, adapter="generic")
    extraction = _extract_with_adapter(tree, url, text) or extract_generic(tree, url)
    if cut_short:
        extraction.damage.insert(0, ("html_too_deep", "the page nests elements deeper than the HTML parser allows; "
                                     "it was read up to there and reviews after that point are missing"))
    if extraction.next_url is None:
        extraction.next_url = find_next_url(tree, url)
    if not extraction.reviews:
        extraction.bot_wall = detect_bot_wall(tree)
    return extraction


def _extract_with_adapter(tree: etree._Element, url: str, text: str) -> PageExtraction | None:
    """A site adapter wins when it finds reviews; an empty result falls back to schema.org markup."""
    adapter = adapter_for(url, text)
    if adapter is None:
        return None
    extraction = adapter.extract(tree, url)
    if extraction.reviews:
        return extraction
    generic = extract_generic(tree, url)
    return generic if generic.reviews else extraction


# --- decoding and parsing -------------------------------------------------------------------------------


def decode_html(body: bytes, content_type: str = "") -> str:
    """BOM, then the HTTP charset, then <meta charset>, then UTF-8 with replacement - the browser's order."""
    if _BINARY_MIME.match(content_type.lower()) or _looks_binary(body[:_SNIFF_BYTES]):
        raise ReviewPageError("not_html", f"body is not HTML (content type {content_type!r})")
    _, text = html_to_unicode(content_type or None, body, default_encoding="utf-8")
    return text.replace("\x00", "")


def _looks_binary(head: bytes) -> bool:
    if not head or head.startswith(_TEXT_BOMS):
        return False
    if head.startswith(_BINARY_MAGIC):
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) * 0.05


def _parse(text: str) -> tuple[etree._Element | None, bool]:
    """extruct's DOM-flavoured lxml tree, which its RDFa extractor needs and everything else can share,
    and whether libxml2 stopped early at one of its limits (nesting deeper than 256 elements)."""
    if not text.strip():
        return None, False
    parser = XmlDomHTMLParser(encoding="utf-8")
    try:
        tree = lxml.html.fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None, False
    return tree, any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log)


# --- generic schema.org path ----------------------------------------------------------------------------


def extract_generic(tree: etree._Element, url: str) -> PageExtraction:
    """Reviews from every schema.org syntax, JSON-LD first so its copy wins when a review is marked up twice."""
    found = _Found()
    damage: list[tuple[str, str]] = []
    for syntax, items in _structured_data(tree, url, damage):
        _Walker(syntax, found, _index_by_id(items)).visit(items, None, 0)
    reviews = _unique_ids(_dedupe(review for review in (_to_review(*entry) for entry in found.reviews()) if review))
    return PageExtraction(reviews=reviews, aggregate=found.aggregate(), next_url=None, bot_wall=None, adapter="generic",
                          damage=damage)


def _structured_data(tree: etree._Element, url: str, damage: list[tuple[str, str]]) -> Iterator[tuple[str, list[Any]]]:
    yield "json-ld", _normalise(_json_ld_items(tree, url, damage))
    yield "microdata", _normalise(_extruct_syntax(tree, url, "microdata"))
    if tree.xpath("boolean(//*[@typeof or @vocab])"):
        yield "rdfa", _normalise(_rdfa_roots(_extruct_syntax(tree, url, "rdfa")))


def _json_ld_items(tree: etree._Element, url: str, damage: list[tuple[str, str]]) -> list[Any]:
    """One script at a time, so a single malformed block does not hide the others; each one skipped is noted."""
    extractor = JsonLdExtractor()
    items: list[Any] = []
    skipped: list[str] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            block = list(extractor.extract_items(script, base_url=url))
        except Exception as exc:  # noqa: BLE001 - jstyleson and json raise several types for malformed JSON, RecursionError too
            skipped.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            continue
        if _deeper_than(block, MAX_DEPTH):
            skipped.append(f"nested deeper than {MAX_DEPTH} levels")
            continue
        items.extend(block)
    if skipped:
        log.debug("skipping malformed JSON-LD blocks on %s: %s", url, skipped)
        damage.append(("jsonld_malformed", f"{len(skipped)} JSON-LD block(s) could not be read ({'; '.join(skipped[:3])}); "
                                           "reviews marked up only there are missing"))
    return items


def _deeper_than(value: Any, limit: int) -> bool:
    """Without recursion, so a block nested thousands deep cannot exhaust the stack of what reads it next."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _extruct_syntax(tree: etree._Element, url: str, syntax: str) -> list[Any]:
    try:
        return extruct.extract(tree, base_url=url, syntaxes=[syntax], uniform=True, errors="strict").get(syntax, [])
    except Exception as exc:  # noqa: BLE001 - extruct surfaces lxml, rdflib and its own errors; one syntax failing is not fatal
        log.debug("extruct %s failed on %s: %s", syntax, url, exc)
        return []


def _rdfa_roots(nodes: list[Any]) -> list[Any]:
    """Expanded RDFa nodes to nested dicts like JSON-LD, starting from nodes nothing else points at."""
    index = {node["@id"]: node for node in nodes if isinstance(node, dict) and "@id" in node}
    referenced = {ref["@id"] for node in index.values() for values in node.values() if isinstance(values, list)
                  for ref in values if isinstance(ref, dict) and "@id" in ref and ref["@id"] in index}
    roots = [node for node_id, node in index.items() if node_id not in referenced] or list(index.values())
    return [_rdfa_node(node, index, frozenset()) for node in roots]


def _rdfa_node(node: dict[str, Any], index: dict[str, Any], path: frozenset[str]) -> dict[str, Any]:
    path = path | {node["@id"]}
    nested: dict[str, Any] = {"@id": node["@id"]}
    for key, values in node.items():
        if key == "@type":
            nested["@type"] = values
        elif not key.startswith("@") and isinstance(values, list):
            converted = [_rdfa_value(value, index, path) for value in values]
            nested[key] = converted[0] if len(converted) == 1 else converted
    return nested


def _rdfa_value(value: Any, index: dict[str, Any], path: frozenset[str]) -> Any:
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    ref = value.get("@id")
    if ref in index and ref not in path:
        return _rdfa_node(index[ref], index, path)
    return ref


def _normalise(value: Any) -> Any:
    """Vocabulary prefixes off keys and types ("schema:reviewBody", "http://schema.org/Review")."""
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if not isinstance(value, dict):
        return value
    normalised: dict[str, Any] = {}
    for key, item in value.items():
        short = key if key.startswith("@") else _local_name(key)
        normalised[short] = _short_types(item) if key == "@type" else _normalise(item)
    return normalised


def _local_name(term: str) -> str:
    return re.split(r"[/#:]", term.rstrip("/"))[-1] if term else term


def _short_types(value: Any) -> Any:
    if isinstance(value, list):
        return [_local_name(item) for item in value if isinstance(item, str)]
    return _local_name(value) if isinstance(value, str) else value


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    return set(value) if isinstance(value, list) else {value} if isinstance(value, str) else set()


def _index_by_id(items: Any) -> dict[str, dict[str, Any]]:
    """Nodes by @id, to follow {"@id": ...} references inside @graph containers."""
    index: dict[str, dict[str, Any]] = {}
    stack = [items]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            node_id = value.get("@id")
            if isinstance(node_id, str) and len(value) > 2 and node_id not in index:
                index[node_id] = value
            stack.extend(value.values())
    return index


@dataclass
class _Found:
    """Review and AggregateRating nodes seen so far, each with the item it is about."""

    review_nodes: dict[int, tuple[str, dict[str, Any], Any]] = field(default_factory=dict)
    aggregate_nodes: list[tuple[dict[str, Any], Any]] = field(default_factory=list)

    def add_review(self, syntax: str, node: dict[str, Any], item: Any) -> None:
        known = self.review_nodes.get(id(node))
        if known is None or (known[2] is None and item is not None):
            self.review_nodes[id(node)] = (syntax, node, item)

    def reviews(self) -> Iterable[tuple[str, dict[str, Any], Any]]:
        return self.review_nodes.values()

    def aggregate(self) -> AggregateRating | None:
        for node, item in self.aggregate_nodes:
            rating = parse_rating(node.get("ratingValue"), node.get("bestRating"), node.get("worstRating"))
            if rating is not None:
                count = parse_count(node.get("ratingCount")) or parse_count(node.get("reviewCount"))
                return AggregateRating(value=rating.normalised, count=count, item_name=_name_of(item))
        return None


class _Walker:
    """Depth-first over extruct output, carrying the nearest reviewed item down to nested reviews."""

    def __init__(self, syntax: str, found: _Found, index: dict[str, dict[str, Any]]) -> None:
        self.syntax = syntax
        self.found = found
        self.index = index
        self.active: set[int] = set()

    def visit(self, value: Any, item: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, list):
            for child in value:
                self.visit(child, item, depth + 1)
            return
        if not isinstance(value, dict):
            return
        node = self.resolve(value)
        if id(node) in self.active:
            return
        types = _types(node)
        if types & REVIEW_TYPES:
            self.found.add_review(self.syntax, node, self.resolve(node.get("itemReviewed")) or item)
            return
        if "AggregateRating" in types:
            self.found.aggregate_nodes.append((node, self.resolve(node.get("itemReviewed")) or item))
            return
        child_item = node if any(key in node for key in (*REVIEW_KEYS, "aggregateRating")) else item
        self.active.add(id(node))
        for key, child in node.items():
            if key == "@graph" or not key.startswith("@"):
                self.visit(child, child_item, depth + 1)
        self.active.discard(id(node))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in self.index:
            return self.index[value["@id"]]
        return value


def _to_review(syntax: str, node: dict[str, Any], item: Any) -> ExtractedReview | None:
    body = plain_text(_first_present(node, "reviewBody", "description", "text"))
    rating = _review_rating(node)
    if not body and rating is None:
        return None
    author = _name_of(node.get("author") or node.get("creator"))
    published_at = parse_datetime(_first_present(node, "datePublished", "dateCreated", "dateModified"))
    item_name = _name_of(item)
    return ExtractedReview(
        native_id=_own_id(node) or content_id(item_name, author, published_at, body),
        author=author,
        published_at=published_at,
        rating=rating.normalised if rating else None,
        rating_raw=rating.raw if rating else None,
        title=optional_text(_first_present(node, "name", "headline")),
        body=body,
        item_name=item_name,
        item_brand=_name_of(item.get("brand")) if isinstance(item, dict) else None,
        verified=_verified(node),
        reply=_reply(node),
        extracted_by=syntax,
    )


def _first_present(node: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if node.get(key) not in (None, "", []):
            return node[key]
    return None


def _review_rating(node: dict[str, Any]) -> Rating | None:
    value = node.get("reviewRating")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        return parse_rating(value.get("ratingValue"), value.get("bestRating"), value.get("worstRating"))
    if value not in (None, ""):
        return parse_rating(value)
    return parse_rating(node.get("ratingValue"), node.get("bestRating"), node.get("worstRating"))


def _name_of(value: Any) -> str | None:
    """Authors and brands come as a string, a {"name": ...} object, or a list of either."""
    if isinstance(value, list):
        names = [name for name in (_name_of(item) for item in value) if name]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        return optional_text(value.get("name") or value.get("alternateName"))
    if isinstance(value, str) and not value.startswith(("http://", "https://", "_:")):
        return optional_text(value)
    return None


def _own_id(node: dict[str, Any]) -> str | None:
    for key in ("@id", "identifier", "url"):
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("value") or value.get("@value")
        if isinstance(value, int | str) and str(value).strip() and not str(value).startswith("_:"):
            return str(value).strip()
    return None


def _verified(node: dict[str, Any]) -> bool | None:
    for key in ("verified", "verifiedPurchase", "isVerified", "isVerifiedPurchase"):
        value = node.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    return None


def _reply(node: dict[str, Any]) -> str | None:
    """The owner's answer: a nested comment/answer/review, preferring one written by an organisation."""
    candidates = [child for key in REPLY_KEYS for child in _as_list(node.get(key)) if isinstance(child, dict)]
    by_organisation = [child for child in candidates if _authored_by_organisation(child)]
    for child in by_organisation or candidates:
        text = plain_text(_first_present(child, "reviewBody", "text", "description"))
        if text:
            return text
    return None


def _authored_by_organisation(node: dict[str, Any]) -> bool:
    return any(isinstance(author, dict) and _types(author) & ORGANISATION_TYPES for author in _as_list(node.get("author")))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _dedupe(reviews: Iterable[ExtractedReview]) -> list[ExtractedReview]:
    """The same review marked up in JSON-LD and microdata (or twice in one block) counts once; first wins."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[ExtractedReview] = []
    for review in reviews:
        key = _identity(review)
        if key not in seen:
            seen.add(key)
            unique.append(review)
    return unique


def _identity(review: ExtractedReview) -> tuple[Any, ...]:
    author = (review.author or "").casefold()
    if review.body:
        return author, " ".join(review.body.split())[:200].casefold()
    day = review.published_at.date() if review.published_at else None
    return author, day, review.rating, review.title


def _unique_ids(reviews: list[ExtractedReview]) -> list[ExtractedReview]:
    """Some sites give every review the page's URL as @id; such shared ids are not ids."""
    counts: dict[str, int] = {}
    for review in reviews:
        counts[review.native_id] = counts.get(review.native_id, 0) + 1
    return [
        review if counts[review.native_id] == 1 else _with_content_id(review)
        for review in reviews
    ]


def _with_content_id(review: ExtractedReview) -> ExtractedReview:
    return replace(review, native_id=content_id(review.item_name, review.author, review.published_at, review.body))


# --- pagination -----------------------------------------------------------------------------------------


def find_next_url(tree: etree._Element, url: str) -> str | None:
    """rel=next from <link> (preferred) or <a>, absolute against <base href> or the page URL.

    An <a rel=next> must stay on the same listing: blogs use it for "next article", which is not a page of reviews.
    """
    base = urljoin(url, (tree.xpath("string(//base/@href)") or "").strip())
    for xpath, same_listing_only in (("//link[@rel][@href]", False), ("//a[@rel][@href]", True)):
        for element in tree.xpath(xpath):
            href = element.get("href", "").strip()
            if "next" not in element.get("rel", "").lower().split() or not href or href.startswith(("javascript:", "#")):
                continue
            candidate = urljoin(base, href)
            if not same_listing_only or _listing_key(candidate) == _listing_key(url):
                return candidate
    return None


_PAGE_SUFFIX = re.compile(r"(/(?:page|comment-page|p|seite|pagina)[-/]?\d+|/\d+)?/*$")


def _listing_key(url: str) -> tuple[str, str]:
    """Host and path without a trailing page number: what page 1 and page 2 of one listing share."""
    parsed = urlparse(url)
    return (parsed.hostname or "", _PAGE_SUFFIX.sub("", parsed.path.lower()))


# --- bot walls ------------------------------------------------------------------------------------------

_CAPTCHA_PHRASES = (
    "enter the characters you see below",
    "type the characters you see in this image",
    "inserisci i caratteri visualizzati",
    "geben sie die zeichen unten ein",
    "saisissez les caractères",
    "introduce los caracteres",
    "please verify you are a human",
    "are you a robot",
)
_CLOUDFLARE_TITLES = ("just a moment...", "just a moment", "attention required! | cloudflare", "please wait... | cloudflare")
_CLOUDFLARE_MARKERS = (
    "//*[@id='challenge-form' or @id='cf-challenge-running' or @id='challenge-running' or @id='cf-wrapper'"
    " or @id='challenge-stage' or @id='cf-please-wait']"
    " | //*[contains(@class, 'cf-browser-verification') or contains(@class, 'cf-challenge') or contains(@class, 'cf-error-details')]"
    " | //form[contains(@action, '__cf_chl')]"
)
_ACCESS_DENIED_TITLES = ("access denied", "403 forbidden", "forbidden", "request rejected", "request blocked", "you have been blocked")
_WALL_TEXT_LIMIT = 3000
_LOGIN_TEXT_LIMIT = 1500


def detect_bot_wall(tree: etree._Element) -> str | None:
    """Why the page is a wall instead of content; only called when no reviews were found."""
    title = " ".join(tree.xpath("string(//title)").split()).lower()
    if title in _CLOUDFLARE_TITLES or tree.xpath(_CLOUDFLARE_MARKERS):
        return "cloudflare_challenge"
    text = _visible_text(tree, _WALL_TEXT_LIMIT * 4)
    short_page = len(text) <= _WALL_TEXT_LIMIT
    lowered = text.lower()
    if tree.xpath("//form[contains(translate(@action, 'CAPTCHA', 'captcha'), 'captcha')]") or (
        short_page and any(phrase in lowered for phrase in _CAPTCHA_PHRASES)
    ):
        return "captcha"
    if short_page and tree.xpath("//*[contains(@class, 'g-recaptcha') or contains(@class, 'h-captcha')]") and not _has_password(tree):
        return "captcha"
    headline = " ".join(tree.xpath("string(//h1)").split()).lower()
    if short_page and any(title.startswith(phrase) or headline.startswith(phrase) for phrase in _ACCESS_DENIED_TITLES):
        return "access_denied"
    if _has_password(tree) and len(_visible_text(tree, _LOGIN_TEXT_LIMIT + 1, outside_forms=True)) <= _LOGIN_TEXT_LIMIT:
        return "login_wall"
    return None


def _has_password(tree: etree._Element) -> bool:
    return bool(tree.xpath("//form//input[translate(@type, 'PASSWORD', 'password')='password']"))


def _visible_text(tree: etree._Element, limit: int, *, outside_forms: bool = False) -> str:
    """Body text a reader would see, stopping at `limit` characters so huge pages stay cheap."""
    skipped = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
    if outside_forms:
        skipped += " or ancestor::form or ancestor::nav or ancestor::header or ancestor::footer"
    parts: list[str] = []
    size = 0
    for chunk in tree.xpath(f"//body//text()[not({skipped})]"):
        words = " ".join(chunk.split())
        if words:
            parts.append(words)
            size += len(words) + 1
            if size > limit:
                break
    return " ".join(parts)

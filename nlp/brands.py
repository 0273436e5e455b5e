"""Brand and product references: catalog names and aliases matched as phrases, case-aware, with
exclusion phrases that veto a match (Apple the company, not apple pie)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

MAX_REFS = 200  # a text naming brands more often than this is spam; the first ones are kept


@dataclass(frozen=True)
class BrandRef:
    """One place a brand (or one of its products) is named in a text."""

    brand: str
    product: str | None
    text: str
    start_char: int
    end_char: int
    sentiment_label: str = "unscored"
    sentiment_score: float | None = None


if not Doc.has_extension("brand_refs"):
    Doc.set_extension("brand_refs", default=None)


def _normal(term: str) -> str:
    """A configured name as connectors store text (NFC, single spaces), so "Café" in brands.yaml matches
    "Café" in a post whichever way either was composed. Look-alike letters (Cyrillic "А" for Latin "A")
    are different letters: "Аcme" does not match "Acme"."""
    return " ".join(unicodedata.normalize("NFC", term).split())


def _variants(term: str) -> list[str]:
    """The term as written, plus its hashtag and handle forms for one-word names."""
    term = _normal(term)
    out = [term]
    if " " not in term and term[:1] not in "#@":
        out += [f"#{term}", f"@{term}"]
    return out


def make_prefilter(brands: Sequence[dict[str, Any]]) -> Callable[[str], bool]:
    """A cheap test connectors run before NLP: could this text name a watched brand or product?

    It may say yes where the pipeline later finds nothing (exclusions are the pipeline's job), but
    never no where the pipeline would find a reference.
    """
    insensitive: list[str] = []
    sensitive: list[str] = []
    for brand in brands:
        bucket = sensitive if brand.get("case_sensitive") else insensitive
        for term in [brand["name"], *brand.get("aliases", [])]:
            bucket.append(_normal(term))
        for product in brand.get("products", []):
            insensitive.extend(_normal(t) for t in [product["name"], *product.get("aliases", [])])
    patterns = []
    if insensitive:
        patterns.append(re.compile(_alternation(insensitive), re.IGNORECASE))
    if sensitive:
        patterns.append(re.compile(_alternation(sensitive)))
    return lambda text: any(p.search(text) for p in patterns)


def _alternation(terms: list[str]) -> str:
    escaped = sorted({r"\s+".join(re.escape(w) for w in t.split()) for t in terms if t.strip()}, key=len, reverse=True)
    return r"(?<!\w)[#@]*(?:" + "|".join(escaped) + r")(?!\w)"


@Language.factory("zmot_brand_refs", default_config={"brands": []})
def make_brand_refs(nlp: Language, name: str, brands: list[dict[str, Any]]) -> "BrandReferences":
    return BrandReferences(nlp, brands)


class BrandReferences:
    """Finds references on doc._.brand_refs; product names imply their brand.

    Brands marked case_sensitive match their names only as written; product names and the other
    brands match in any case. The longest match wins where names overlap ("Acme Mobile" over "Acme").
    """

    def __init__(self, nlp: Language, brands: list[dict[str, Any]]) -> None:
        self.any_case = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.exact_case = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.exclusions = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.targets: dict[str, tuple[str, str | None]] = {}
        self.excluded_by: dict[str, str] = {}
        for index, brand in enumerate(brands):
            key = f"B{index}"
            self.targets[key] = (brand["name"], None)
            matcher = self.exact_case if brand.get("case_sensitive") else self.any_case
            terms = [v for t in [brand["name"], *brand.get("aliases", [])] for v in _variants(t)]
            matcher.add(key, [nlp.make_doc(t) for t in terms])
            for p_index, product in enumerate(brand.get("products", [])):
                p_key = f"B{index}P{p_index}"
                self.targets[p_key] = (brand["name"], product["name"])
                p_terms = [v for t in [product["name"], *product.get("aliases", [])] for v in _variants(t)]
                self.any_case.add(p_key, [nlp.make_doc(t) for t in p_terms])
            if brand.get("exclusions"):
                x_key = f"X{index}"
                self.excluded_by[x_key] = brand["name"]
                self.exclusions.add(x_key, [nlp.make_doc(_normal(x)) for x in brand["exclusions"]])

    def __call__(self, doc: Doc) -> Doc:
        vocab = doc.vocab.strings
        spans = [Span(doc, s, e, label=vocab[k]) for k, s, e in [*self.any_case(doc), *self.exact_case(doc)]]
        vetoes = [(vocab[k], s, e) for k, s, e in self.exclusions(doc)]
        kept = []
        for span in filter_spans(spans)[: MAX_REFS * 2]:
            brand, product = self.targets[span.label_]
            if any(self.excluded_by[x] == brand and s < span.end and span.start < e for x, s, e in vetoes):
                continue
            kept.append(BrandRef(brand, product, span.text, span.start_char, span.end_char))
        doc._.brand_refs = kept[:MAX_REFS]
        return doc

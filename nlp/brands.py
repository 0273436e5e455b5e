"""Brand and product references: catalog names and aliases matched as people write them (glued to
punctuation, in hashtags and handles, inflected), case-aware, with exclusion phrases that veto a match
(Apple the company, not apple pie).

One `BrandFinder` holds the matching rules. The pipeline component and the connectors' prefilter both
run it, so the prefilter can never say no where the pipeline would find a reference. It reads the text
as stored: character offsets point into it, whatever the tokenizer does.

- A name matches where it is not part of a longer word: not after a letter, digit or underscore
  ("Pineapple", "xApplex"), and not followed by a letter ("Applebee's" and "Googleplex" are other
  words). Punctuation, symbols and HTML entities left encoded are not letters, so `&quot;#iPad`,
  `Apple.&quot;`, `iPhone+Wii` and `#Twitter&gt;facebook` match; an `&` in a name also matches `&amp;`.
- A model number may follow directly (`iPhone4S`, `iOS5`, `Windows8`); it is not part of the span.
- A product name also matches its plural (`iPads`, `Androids`, `Xboxes`; `iPad2s` is `iPad` with a model
  number); a brand name does not (`Apples` is fruit).
- A name of several words also matches written together (`#IceCreamSandwich`, `AppStore`).
- A hashtag or handle may start with a name followed by a capitalised word (`@AppleStore`,
  `#iTunesMatch`); an all-lower-case tag is not split into words (`#machine` is not Mac), so there the
  name must be the whole tag (or carry a model number or plural). An underscore joins words like a
  letter: `@mac_b_from_tn` and `@Big_Mac520` are people's handles.
- A URL or an e-mail address names no brand (`https://t.co/xApplex`, `docs.google.com/forms/...` after
  `https://` or `www.`, `jo@apple.com`); a domain written as a word does (`Amazon.com`, `apple.com`).
- A `case_sensitive` brand matches its names as written. Written in another case ("apple", "APPLE") a
  name counts only where the text is about the brand: as a handle (`@apple`: handles ignore case), as a
  domain (`apple.com`), or beside another reference to the brand (a product, a name as written) or to
  one of its competitors. Product names match in any case.
- Exclusions ("apple pie", and its plural) veto each reference to their brand they overlap, in any case
  and form, before a vetoed name can serve as context for another.
- A brand's `query` (nlp.query_language, words only) must match the whole text too, or every reference to
  that brand and its products goes, as an exclusion's would: `"Apple" AND (iphone OR mac OR ios) NOT pie`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from nlp.catalog import Brand
from nlp.doctext import text_of
from nlp.query_language import Document, MentionFields, matches, parse

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


def _squashed(text: str) -> str:
    """A name as matched, compared with its configured form: spaces gone, &amp; read as &."""
    return "".join(text.split()).replace("&amp;", "&")


@dataclass(frozen=True)
class _Term:
    brand: int  # index into the catalog
    product: str | None
    written: str  # as configured, spaces removed: the exact form of a case-sensitive name
    case_sensitive: bool


_END = ""  # trie key marking the end of a name
_LEFT = r"(?<!\w)"  # not after a letter, digit or underscore ("@Big_Mac520" is someone's handle)
_PLAIN_END = r"(?![^\W\d])"  # not before a letter or underscore; a digit may follow (a model number)
_TAG_END = rf"(?:{_PLAIN_END}|(?-i:(?<=[a-z])(?=[A-Z])))"  # in a tag also before a capital: @AppleStore
_TLD = re.compile(r"\.(?:com|net|org|co|io|info|biz|tv|me|uk|us|ca|au|de|fr|es|it|nl|jp|cn|in|eu)(?!\w)", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _plural(term: str) -> str:
    return "es" if re.search(r"(?:s|x|z|ch|sh)$", term, re.IGNORECASE) else "s"


def _atoms(term: str) -> list[str]:
    """A name as regex pieces, one per character (lower case: the pattern ignores case)."""
    atoms: list[str] = []
    for index, word in enumerate(term.split()):
        if index:
            atoms.append(r"\s*")
        atoms += ["&(?:amp;)?" if ch == "&" else re.escape(ch.lower()) for ch in word]
    return atoms


def _trie_pattern(names: Mapping[tuple[str, ...], str | None]) -> str:
    """One alternation for many names, factored by common prefixes (fast on big catalogs); the longest
    name at a place is tried first. A name mapped to a plural suffix takes it optionally."""
    trie: dict[str, Any] = {}
    for atoms, plural in names.items():
        node = trie
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[_END] = node.get(_END) or plural or ""

    def emit(node: dict[str, Any]) -> str:
        branches = [atom + emit(child) for atom, child in sorted(node.items()) if atom != _END]
        if _END in node:
            branches.append(f"(?:{node[_END]})?" if node[_END] else "")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


class BrandFinder:
    """The matching rules for one brand catalog (nlp.catalog's brands): see the module docstring."""

    def __init__(self, brands: Sequence[Brand]) -> None:
        self.names = [b.name for b in brands]
        self.terms: dict[str, list[_Term]] = {}
        patterns: dict[tuple[str, ...], str | None] = {}
        for index, brand in enumerate(brands):
            entries: list[tuple[str, str | None, bool]] = [(t, None, brand.case_sensitive) for t in [brand.name, *brand.aliases]]
            for item in brand.products:
                entries += [(t, item.name, False) for t in [item.name, *item.aliases]]
            for term, product, case_sensitive in entries:
                term = _normal(term).lstrip("#@")  # an alias configured as "@AcmeMobile": the handle is the name
                if not term:
                    continue
                self.terms.setdefault(_squashed(term).casefold(), []).append(
                    _Term(index, product, _squashed(term), case_sensitive))
                atoms = tuple(_atoms(term))
                patterns[atoms] = patterns.get(atoms) or (_plural(term) if product is not None else None)
        by_name = {name.casefold(): i for i, name in enumerate(self.names)}
        self.rivals = [frozenset(by_name[c.casefold()] for c in b.competitors if c.casefold() in by_name) for b in brands]
        self.pattern: re.Pattern[str] | None = None
        if patterns:
            names = _trie_pattern(patterns)
            self.pattern = re.compile(
                rf"{_LEFT}(?:(?P<tag>[#@])(?P<tagged>{names}){_TAG_END}|(?P<plain>{names}){_PLAIN_END})", re.IGNORECASE)
        self.exclusions: list[tuple[int, re.Pattern[str]]] = []
        for index, brand in enumerate(brands):
            phrases = {tuple(_atoms(_normal(x))): _plural(x) for x in brand.exclusions if x.strip()}
            if phrases:
                self.exclusions.append((index, re.compile(rf"{_LEFT}{_trie_pattern(phrases)}{_PLAIN_END}", re.IGNORECASE)))
        self.queries = {index: parse(brand.query) for index, brand in enumerate(brands) if brand.query}

    def find(self, text: str, *, exclusions: bool = True) -> list[BrandRef]:
        """The references in text, in order. Without exclusions: every reference the rules could find,
        which is what the prefilter asks."""
        if self.pattern is None:
            return []
        candidates: list[tuple[int, int, _Term, bool]] = []  # start, end, term, needs context
        masks: list[tuple[int, int]] | None = None
        for match in self.pattern.finditer(text):
            group = "tagged" if match.group("tag") else "plain"
            start, end = match.start(), match.end(group)
            if masks is None:
                masks = _masks(text)
            if any(s < end and start < e for s, e in masks):
                continue  # in a URL or an e-mail address
            term = self._term(match.group(group))
            if term is None:
                continue
            needs_context = (term.case_sensitive and _squashed(match.group(group)) != term.written
                             and match.group("tag") != "@" and not _TLD.match(text, end))
            candidates.append((start, end, term, needs_context))
            if len(candidates) >= MAX_REFS * 2:
                break  # spam: the first names are enough, and the work stays bounded
        if not candidates:
            return []
        if exclusions and self.exclusions:
            vetoes, last = [], candidates[-1][1]
            for brand, pattern in self.exclusions:
                for m in pattern.finditer(text):
                    if m.start() >= last:
                        break
                    vetoes.append((brand, m.start(), m.end()))
            candidates = [c for c in candidates if not any(b == c[2].brand and s < c[1] and c[0] < e for b, s, e in vetoes)]
        if exclusions and self.queries:
            candidates = self._obeying_queries(text, candidates)
        sure = {term.brand for _, _, term, needs_context in candidates if not needs_context}
        refs = [
            BrandRef(self.names[term.brand], term.product, text[start:end], start, end)
            for start, end, term, needs_context in candidates
            if not needs_context or term.brand in sure or self.rivals[term.brand] & sure
        ]
        return refs[:MAX_REFS]

    def _obeying_queries(self, text: str, candidates: list[tuple[int, int, _Term, bool]]) -> list[tuple[int, int, _Term, bool]]:
        """Drop the references to brands whose query the text does not match (the text is read once, if at all)."""
        asked = {c[2].brand for c in candidates} & self.queries.keys()
        if not asked:
            return candidates
        doc = Document.of(MentionFields(text=text))
        refused = {brand for brand in asked if not matches(self.queries[brand], doc)}
        return [c for c in candidates if c[2].brand not in refused]

    def _term(self, found: str) -> _Term | None:
        key = _squashed(found).casefold()
        if key in self.terms:
            return self.terms[key][0]
        for cut in (1, 2):  # a product's plural: iPads, Xboxes
            products = [t for t in self.terms.get(key[:-cut], []) if t.product is not None]
            if products:
                return products[0]
        return None


def _masks(text: str) -> list[tuple[int, int]]:
    """Where no brand is named: URLs (a link's host and path are addresses, not mentions) and e-mail
    addresses."""
    masks = []
    if "@" in text:
        masks += [m.span() for m in _EMAIL.finditer(text)]
    if "://" in text or "www." in text or "WWW." in text:
        masks += [m.span() for m in _URL.finditer(text)]
    return masks


def make_prefilter(brands: Sequence[Brand]) -> Callable[[str], bool]:
    """A cheap test connectors run before NLP: could this text name a watched brand or product?

    The pipeline's own rules without the exclusions: it may say yes where the pipeline later finds
    nothing (an exclusion vetoes the match), but never no where the pipeline would find a reference.
    """
    finder = BrandFinder(brands)
    return lambda text: bool(finder.find(text, exclusions=False))


def brand_refs_config(brands: Sequence[Brand]) -> dict[str, Any]:
    """The zmot_brand_refs component's config. spaCy keeps a component's config as JSON, so the brands go in
    as their dumps and make_brand_refs validates them back into Brand: the one place they cross."""
    return {"brands": [brand.model_dump() for brand in brands]}


@Language.factory("zmot_brand_refs", default_config={"brands": []})
def make_brand_refs(nlp: Language, name: str, brands: list[dict[str, Any]]) -> "BrandReferences":
    return BrandReferences(nlp, [Brand.model_validate(brand) for brand in brands])


class BrandReferences:
    """Finds references on doc._.brand_refs (BrandFinder's rules); product names imply their brand.

    The longest name wins where names overlap ("Acme Mobile" over "Acme").
    """

    def __init__(self, nlp: Language, brands: Sequence[Brand]) -> None:
        self.finder = BrandFinder(brands)

    def __call__(self, doc: Doc) -> Doc:
        doc._.brand_refs = self.finder.find(text_of(doc))
        return doc

"""The brand catalog (brands.yaml) as typed models: brands, their products, aliases, competitors,
exclusions and queries, with the checks that keep each name to one brand.

zmot.config reads it from YAML; nlp.brands matches its names, nlp.pipeline builds the spaCy pipeline from
it, and the loader stores it for analysts. All of them take these models, not dicts.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from connectors.kinds.base import ConfigModel, item_key
from nlp.query_language import Node, QueryError, parse, uses_fields


def _nonblank(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty name")
    return text


Name = Annotated[str, AfterValidator(_nonblank)]


def parsed_query(text: str) -> Node:
    """A query in nlp.query_language, refused here with the position and what was expected."""
    try:
        return parse(text)
    except QueryError as exc:
        raise PydanticCustomError("query_error", str(exc).replace("{", "{{").replace("}", "}}")) from None


def _brand_query(text: str) -> str:
    """A brand query is judged where only the words are known (the NLP's brand matching)."""
    if uses_fields(parsed_query(text)):
        raise ValueError("expected words, phrases and operators only: a brand query sees the text, not the fields "
                         "(field filters belong in tags.yaml)")
    return text


class Product(ConfigModel):
    name: Name
    aliases: list[Name] = Field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        return _unique([self.name, *self.aliases])


class Brand(ConfigModel):
    name: Name
    aliases: list[Name] = Field(default_factory=list)
    case_sensitive: bool = Field(
        default=False,
        description="For brands that are common words: names match as written (Apple); in another case (apple, APPLE) "
                    "only as a handle (@apple), a domain (apple.com) or beside another reference to the brand or a competitor.",
    )
    products: list[Product] = Field(default_factory=list)
    competitors: list[Name] = Field(default_factory=list, description="Other brands in this file, for share of voice.")
    exclusions: list[Name] = Field(
        default_factory=list,
        description="Phrases that veto a match when they contain it, case-insensitive: 'apple pie'.",
    )
    query: Annotated[str, AfterValidator(_brand_query)] | None = Field(
        default=None,
        description='A query the text must also match for a reference to count: "Apple" AND (iphone OR mac) NOT pie.',
    )

    @property
    def terms(self) -> list[str]:
        return _unique([self.name, *self.aliases])


class BrandCatalog(ConfigModel):
    brands: list[Brand] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "BrandCatalog":
        """Each name finds one brand or product; competitors and exclusions refer to what is there."""
        owner: dict[str, str] = {}
        brand_names = [b.name for b in self.brands]
        for i, brand in enumerate(self.brands):
            if brand.name.casefold() in {b.name.casefold() for b in self.brands[:i]}:
                raise ValueError(f"brands[{i}].name: brand {brand.name!r} is listed twice; expected each brand once (merge its entries)")
            at = item_key("brands", brand_names, i)
            names = [(f"{at}.name", brand.name), *((f"{at}.aliases[{j}]", a) for j, a in enumerate(brand.aliases))]
            for p, product in enumerate(brand.products):
                p_at = item_key(f"{at}.products", [x.name for x in brand.products], p)
                names += [(f"{p_at}.name", product.name), *((f"{p_at}.aliases[{j}]", a) for j, a in enumerate(product.aliases))]
            mine: dict[str, str] = {}
            for key, term in names:
                if _folded(term) in owner:
                    raise ValueError(f"{key}: {term!r} is already a name of {owner[_folded(term)]}; "
                                     "expected each name to belong to one brand")
                if ".products[" in key and _folded(term) in mine:
                    raise ValueError(f"{key}: {term!r} is already {mine[_folded(term)]}; expected each name once")
                mine.setdefault(_folded(term), key)
            owner.update((t, f"brand {brand.name!r}") for t in mine)
            for j, phrase in enumerate(brand.exclusions):
                hit = next((t for _, t in names if f" {_folded(phrase)} " in f" {_folded(t)} "), None)
                if hit:
                    raise ValueError(f"{at}.exclusions[{j}]: {phrase!r} would veto every mention of {hit!r}; "
                                     "expected a longer phrase that only the unwanted sense contains, like 'apple pie'")
        known = {b.name.casefold(): b.name for b in self.brands}
        for i, brand in enumerate(self.brands):
            for j, rival in enumerate(brand.competitors):
                if rival.casefold() not in known or rival.casefold() == brand.name.casefold():
                    others = ", ".join(n for k, n in known.items() if k != brand.name.casefold()) or "none"
                    raise ValueError(f"{item_key('brands', brand_names, i)}.competitors[{j}]: {rival!r} is not another "
                                     f"brand in this file; expected one of: {others} (add it as a brand to compare with it)")
        return self

    def brand(self, name: str) -> Brand:
        for brand in self.brands:
            if brand.name.casefold() == name.casefold():
                return brand
        raise KeyError(name)

    def watched(self, names: list[str]) -> list[Brand]:
        """The brands a source is limited to (its `brands:` list, any case); all of them when it names none."""
        wanted = {name.casefold() for name in names}
        return [b for b in self.brands if not wanted or b.name.casefold() in wanted]

    def all_terms(self) -> list[str]:
        """Every brand and product name and alias: the connectors' cheap prefilter."""
        terms: list[str] = []
        for brand in self.brands:
            terms.extend(brand.terms)
            for product in brand.products:
                terms.extend(product.terms)
        return _unique(terms)


def _folded(term: str) -> str:
    return " ".join(term.casefold().split())


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out

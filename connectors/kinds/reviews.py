"""`kind: reviews`: review pages (a company's page on a review site, a product page in a shop), read politely."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.kinds.base import HttpPolicy, KindSpec, KindState, SourceConfig, WebUrl, Window
from connectors.records import ExtractResult, SourceState

if TYPE_CHECKING:
    from connectors.http import FetchPolicy

LEGACY_PREFIXES = {"seen:": "seen", "etag:": "etag", "modified:": "last_modified"}  # before typed state: extra keys per URL


class ReviewSource(SourceConfig):
    kind: Literal["reviews"]
    urls: list[WebUrl] = Field(min_length=1, description="First page of each review listing, newest first.")
    brand: str | None = Field(default=None, description="The brand these pages review; reviews need not name it.")
    product: str | None = Field(default=None, description="The product these pages review (one of the brand's products).")
    brands: list[str] = Field(default_factory=list, description="Ignored for reviews: every review on the page is kept.")
    max_pages: int = Field(default=5, ge=1, le=200)
    host_delay_seconds: float = Field(default=2.0, ge=0, le=600, description="Pause between requests to one host.")
    backfill_days: int = Field(default=365, ge=0, le=3650)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        subject = f" about {self.product or self.brand}" if self.brand else ""
        return f"{len(self.urls)} review page(s){subject}: {', '.join(self.urls)}"

    def local_urls(self) -> list[tuple[str, str]]:
        return [(f"urls[{j}]", url) for j, url in enumerate(self.urls)]

    def subject_brand(self) -> str | None:
        return self.brand

    @model_validator(mode="after")
    def _product_needs_brand(self) -> "ReviewSource":
        if self.product and not self.brand:
            raise ValueError("'product' needs 'brand' (the brand that makes it)")
        return self


class ListingCursor(BaseModel):
    """One review listing's cursor: the ids of its newest reviews stored (newest first) and page 1's validators."""

    model_config = ConfigDict(extra="forbid")
    seen: list[str] = Field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None


class ReviewsState(KindState):
    """Per start URL, its listing's cursor; the watermark is the newest dated review stored."""

    listings: dict[str, ListingCursor] = Field(default_factory=dict)

    @classmethod
    def from_legacy(cls, stored: SourceState) -> "ReviewsState":
        listings: dict[str, dict[str, Any]] = {}
        for key, value in stored.extra.items():
            prefix = next((p for p in LEGACY_PREFIXES if key.startswith(p)), None)
            if prefix and value:
                field = LEGACY_PREFIXES[prefix]
                listings.setdefault(key.removeprefix(prefix), {})[field] = json.loads(str(value)) if field == "seen" else value
        return cls(watermark=stored.watermark, listings={url: ListingCursor(**data) for url, data in listings.items()})


def fetch(config: ReviewSource, state: ReviewsState, window: Window, http: FetchPolicy) -> ExtractResult:
    """Every listing's new reviews; they are about the configured brand whether or not they name it."""
    from connectors import reviews

    subject = config.model_copy(update={"brand": window.brand_name(config.brand)}) if config.brand else config
    return reviews.fetch_reviews(subject, state=state, policy=http, interval_end=window.interval_end,
                                 backfill_start=window.backfill_start, fetched_at=window.fetched_at)


SPEC = KindSpec("reviews", ReviewSource, ReviewsState, fetch)

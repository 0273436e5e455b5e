"""`kind: rss`: one RSS or Atom feed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from connectors.kinds.base import HttpPolicy, KindSpec, KindState, SourceConfig, WebUrl, Window
from connectors.records import ExtractResult, SourceState

if TYPE_CHECKING:
    from connectors.http import FetchPolicy


class RssSource(SourceConfig):
    kind: Literal["rss"]
    url: WebUrl
    backfill_days: int = Field(default=30, ge=0, le=3650)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        return self.url

    def local_urls(self) -> list[tuple[str, str]]:
        return [("url", self.url)]


class RssState(KindState):
    """`watermark` is the newest published_at stored, `boundary_ids` the ids published at exactly it (an
    inclusive re-read of the edge adds nothing twice); `undated_ids` the stored entries without a date."""

    boundary_ids: list[str] = Field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    undated_ids: list[str] = Field(default_factory=list)

    @classmethod
    def from_legacy(cls, stored: SourceState) -> "RssState":
        return cls(watermark=stored.watermark, boundary_ids=stored.boundary_ids, etag=stored.etag,
                   last_modified=stored.last_modified, undated_ids=json.loads(str(stored.extra.get("undated_ids") or "[]")))


def fetch(config: RssSource, state: RssState, window: Window, http: FetchPolicy) -> ExtractResult:
    """The feed's new entries that name a watched brand."""
    from connectors import rss

    return rss.fetch_feed(config.name, config.url, state=state, policy=http, keep=window.keep,
                          interval_end=window.interval_end, backfill_start=window.backfill_start, fetched_at=window.fetched_at)


SPEC = KindSpec("rss", RssSource, RssState, fetch)

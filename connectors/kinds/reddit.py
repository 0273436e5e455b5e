"""`kind: reddit`: posts and comments from watched subreddits and searches, through Reddit's API."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from connectors.kinds.base import ConfigModel, HttpPolicy, KindSpec, KindState, SourceConfig, Window, matching
from connectors.records import ExtractResult, SourceState

if TYPE_CHECKING:
    from connectors.http import FetchPolicy

LEGACY_CURSOR = "cursor:"  # before typed state: one SourceState.extra key per stream


Subreddit = Annotated[str, AfterValidator(matching(
    r"[A-Za-z0-9][A-Za-z0-9_]{1,20}", "expected a subreddit name as Reddit spells it, without 'r/' or a URL: AcmeMobile"))]


class RedditSearch(ConfigModel):
    query: str = Field(min_length=1, max_length=512, description='Reddit search syntax, e.g. "Acme Mobile" or acme AND (x1 OR x2).')
    subreddit: Subreddit = "all"


class RedditSource(SourceConfig):
    """Posts and comments from watched subreddits and searches; credentials come from the environment."""

    kind: Literal["reddit"]
    subreddits: list[Subreddit] = Field(
        default_factory=list, description="Every new post (and comment) here that names a brand is kept."
    )
    searches: list[RedditSearch] = Field(default_factory=list)
    include_comments: bool = Field(default=True, description="Also read new comments in the watched subreddits.")
    thread_comments: bool = Field(default=True, description="Read the comment trees of threads the searches find.")
    max_threads: int = Field(default=25, ge=0, le=1000)
    max_more: int = Field(default=10, ge=0, le=1000, description="'load more comments' expansions per thread.")
    max_requests: int = Field(default=200, ge=1, le=10_000)
    max_items: int = Field(default=5000, ge=1, le=1_000_000)
    pseudonymise_authors: bool = False
    revisit_hours: float = Field(
        default=24.0, ge=0, le=24 * 30, description="Re-read this far behind the cursor to catch edits and deletions."
    )
    connection_id: str | None = Field(
        default="reddit_default", description="Airflow connection to read credentials from when ZMOT_REDDIT_* are unset."
    )
    backfill_days: int = Field(default=7, ge=0, le=365)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        watched = [f"r/{name}" for name in self.subreddits] + [f"search {s.query!r} in r/{s.subreddit}" for s in self.searches]
        return ", ".join(watched)

    @model_validator(mode="after")
    def _reads_something(self) -> "RedditSource":
        if not self.subreddits and not self.searches:
            raise ValueError("a reddit source needs at least one of 'subreddits' or 'searches'")
        return self


class RedditState(KindState):
    """Per stream (`r/<sub>/new`, `r/<sub>/comments`, `search:r/<sub>:<query>`), the newest created_utc read;
    the watermark is the newest of them."""

    cursors: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_legacy(cls, stored: SourceState) -> "RedditState":
        cursors = {key.removeprefix(LEGACY_CURSOR): float(value) for key, value in stored.extra.items()
                   if key.startswith(LEGACY_CURSOR) and isinstance(value, (int, float))}
        return cls.with_cursors(cursors, stored.watermark)

    @classmethod
    def with_cursors(cls, cursors: dict[str, float], watermark: datetime | None = None) -> "RedditState":
        newest = datetime.fromtimestamp(max(cursors.values()), tz=timezone.utc) if cursors else watermark
        return cls(cursors=cursors, watermark=newest)


def fetch(config: RedditSource, state: RedditState, window: Window, http: FetchPolicy) -> ExtractResult:
    """Every watched stream's new posts and comments that name a watched brand."""
    from connectors import reddit

    credentials = reddit.resolve_credentials(config.connection_id, default_user_agent=http.user_agent)
    return reddit.fetch_reddit(config, state=state, credentials=credentials, policy=http, keep=window.keep,
                               interval_end=window.interval_end, backfill_start=window.backfill_start,
                               fetched_at=window.fetched_at)


SPEC = KindSpec("reddit", RedditSource, RedditState, fetch)

"""Plain records that cross package boundaries: what a connector hands to the pipeline."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from connectors.text import replace_surrogates

MetadataValue = str | int | float | bool | None


def stable_mention_id(source_kind: str, native_id: str) -> str:
    """Derive the id that makes reruns idempotent: same source kind + same native id, same row."""
    digest = hashlib.sha256(f"{source_kind}\x1f{native_id}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source_kind}:{digest[:24]}"


def utc(value: datetime) -> datetime:
    """Normalise to a plain aware-UTC datetime; naive values are taken to be UTC already.

    Subclasses (Airflow hands out pendulum DateTimes) are turned into plain datetimes, whose
    arithmetic keeps the zone.
    """
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if type(value) is not datetime:
        value = datetime(*value.timetuple()[:6], value.microsecond, tzinfo=timezone.utc)
    return value


def first_seen_at(fetched_at: datetime, interval_end: datetime) -> datetime:
    """The date an undated item gets: when it was fetched, but never past the run's interval end.

    Scheduled runs, reruns and backfills all fetch after their interval end, so the same logical
    date always gives the same date and an undated item is never held back for a later run.
    """
    return min(utc(fetched_at), utc(interval_end))


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment, feed entry or review that mentions a watched brand."""

    source_kind: str  # "rss", "reddit", "reviews"
    source_id: str  # the configured source's name
    native_id: str  # the source's own id (guid, fullname, review id) or canonical URL
    url: str | None
    author: str | None
    title: str | None
    text: str
    published_at: datetime  # aware, UTC
    fetched_at: datetime  # aware, UTC
    language: str | None = None  # ISO 639-1 when the source declares it
    rating: float | None = None  # 0..1, normalised by the source's own best/worst rating
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    raw: str = ""  # the raw payload as received (JSON or XML fragment), bounded
    date_missing: bool = False  # the source gave no date: published_at is when a run first saw it (first_seen_at)

    @property
    def mention_id(self) -> str:
        return stable_mention_id(self.source_kind, self.native_id)

    @property
    def content_hash(self) -> str:
        """Changes when an edit changes what we would store; used to update rather than duplicate."""
        payload = json.dumps([self.title, self.text, self.author, self.rating], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def to_row(self) -> "MentionRow":
        """Flatten for Parquet staging (metadata as JSON text), every string encodable as UTF-8.

        Connectors clean the text they store; this is the net for the rest (ids, URLs, raw JSON),
        where a lone surrogate that JSON allows would otherwise fail the whole source's staging file.
        """
        row: dict[str, Any] = asdict(self)
        row["mention_id"] = self.mention_id
        row["content_hash"] = self.content_hash
        row["metadata"] = json.dumps(self.metadata, ensure_ascii=False, sort_keys=True)
        for key in ("published_at", "fetched_at"):
            row[key] = utc(row[key]).replace(tzinfo=None)
        clean: dict[str, Any] = {k: replace_surrogates(v) if isinstance(v, str) else v for k, v in row.items()}
        return MentionRow(**clean)


@dataclass(frozen=True, slots=True)
class MentionRow:
    """A mention as staged and loaded; the staging schema and the loader's columns are derived from it."""

    mention_id: str
    source_kind: str
    source_id: str
    native_id: str
    url: str | None
    author: str | None
    title: str | None
    text: str
    published_at: datetime  # naive: UTC wall time, as Parquet and the warehouse store it
    fetched_at: datetime  # naive: UTC wall time
    language: str | None
    rating: float | None
    metadata: str  # JSON text
    raw: str
    content_hash: str
    date_missing: bool


@dataclass(frozen=True, slots=True)
class Reject:
    """Input we could not use, kept with the reason so nothing is silently dropped."""

    source_id: str
    source_kind: str
    stage: str  # "extract", "enrich", "load", "config"
    reason: str  # short machine-readable code, e.g. "http_500", "malformed_feed", "too_large"
    message: str  # what happened and what to do about it
    url: str | None = None
    payload_excerpt: str = ""  # at most a few KB of the offending input

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SourceState:
    """A source's incremental cursor, stored in the warehouse in the same transaction as its mentions.

    `watermark` is the newest published_at stored; `boundary_ids` are the native ids published at
    exactly the watermark, so an inclusive re-read of the edge adds no duplicates.
    """

    source_id: str
    source_kind: str
    watermark: datetime | None = None
    boundary_ids: list[str] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    extra: dict[str, MetadataValue] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["watermark"] = self.watermark.isoformat() if self.watermark else None
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "SourceState":
        data = json.loads(text)
        if data.get("watermark"):
            data["watermark"] = utc(datetime.fromisoformat(data["watermark"]))
        return cls(**data)


@dataclass(slots=True)
class ExtractResult:
    """What one source yielded in one run: new mentions, the cursor to store with them, rejects."""

    source_id: str
    source_kind: str
    mentions: list[Mention]
    state: SourceState
    rejects: list[Reject] = field(default_factory=list)
    requests: int = 0
    not_modified: bool = False
    held_back: int = 0  # entries newer than the run's interval end, left for a later run
    retracted: list[str] = field(default_factory=list)  # mention ids the source says were deleted

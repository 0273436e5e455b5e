"""The source-kind registry and its typed, versioned states, including cursors stored before states were typed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connectors.kinds import KINDS
from connectors.kinds.base import STATE_KEY
from connectors.kinds.reddit import RedditState
from connectors.kinds.reviews import ListingCursor, ReviewsState
from connectors.kinds.rss import RssState
from connectors.records import SourceState
from zmot.config import SourcesConfig

WHEN = datetime(2026, 11, 9, 12, tzinfo=timezone.utc)


def test_the_config_union_accepts_exactly_the_registered_kinds() -> None:
    union = SourcesConfig.model_fields["sources"].annotation.__args__[0]
    kinds = {model.model_fields["kind"].annotation.__args__[0] for model in union.__origin__.__args__}
    assert kinds == set(KINDS)
    assert all(spec.config.model_fields["kind"].annotation.__args__ == (name,) for name, spec in KINDS.items())


def test_an_old_rss_cursor_reads_as_the_typed_state() -> None:
    old = SourceState.from_json(json.dumps({
        "source_id": "news", "source_kind": "rss", "watermark": WHEN.isoformat(), "boundary_ids": ["a", "b"],
        "etag": '"x1"', "last_modified": "Mon, 09 Nov 2026 12:00:00 GMT", "extra": {"undated_ids": '["u1"]'},
    }))
    state = RssState.read(old)
    assert state == RssState(watermark=WHEN, boundary_ids=["a", "b"], etag='"x1"',
                             last_modified="Mon, 09 Nov 2026 12:00:00 GMT", undated_ids=["u1"])
    assert RssState.read(SourceState.from_json(state.stored("news", "rss").to_json())) == state


def test_an_old_reddit_cursor_keeps_every_streams_position() -> None:
    old = SourceState("rd", "reddit", watermark=WHEN, extra={"cursor:r/phones/new": 1_700_000_000.0,
                                                             "cursor:search:r/all:acme": 1_700_000_500.0})
    state = RedditState.read(old)
    assert state.cursors == {"r/phones/new": 1_700_000_000.0, "search:r/all:acme": 1_700_000_500.0}
    assert state.watermark == datetime.fromtimestamp(1_700_000_500, tz=timezone.utc)


def test_an_old_reviews_cursor_becomes_one_cursor_per_listing() -> None:
    old = SourceState("k2", "reviews", watermark=WHEN, extra={
        "seen:https://r.example/k2": '["r2", "r1"]', "etag:https://r.example/k2": '"e"',
        "modified:https://r.example/k2": "Mon, 09 Nov 2026 12:00:00 GMT", "seen:https://r.example/k3": '["q1"]',
    })
    state = ReviewsState.read(old)
    assert state.listings == {
        "https://r.example/k2": ListingCursor(seen=["r2", "r1"], etag='"e"', last_modified="Mon, 09 Nov 2026 12:00:00 GMT"),
        "https://r.example/k3": ListingCursor(seen=["q1"]),
    }
    assert state.watermark == WHEN


def test_a_state_written_by_a_newer_version_is_refused_rather_than_misread() -> None:
    stored = RssState(watermark=WHEN).stored("news", "rss")
    newer = json.loads(str(stored.extra[STATE_KEY])) | {"version": RssState.VERSION + 1}
    stored.extra[STATE_KEY] = json.dumps(newer)
    with pytest.raises(ValueError, match="stored state version 2"):
        RssState.read(stored)


def test_a_state_holding_a_lone_surrogate_from_a_hostile_page_is_stored_and_read_back_unchanged() -> None:
    state = RssState(watermark=WHEN, boundary_ids=["entry-\ud800", "fine"], etag='W/"\udfff"')
    stored = SourceState.from_json(state.stored("news", "rss").to_json())  # as the warehouse keeps it
    assert RssState.read(stored) == state

"""Every source kind, in one table: its config model, its typed state and its fetch.

The config union (`zmot.config.Source`), `zmot check-config` and the extract step read this table, so
adding a kind is one module here and one line below (docs/sources.md).
"""

from __future__ import annotations

from typing import Any

from connectors.kinds import hackernews, reddit, reviews, rss
from connectors.kinds.base import KindSpec

KINDS: dict[str, KindSpec[Any, Any]] = {spec.name: spec for spec in (rss.SPEC, reddit.SPEC, reviews.SPEC, hackernews.SPEC)}

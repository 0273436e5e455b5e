"""What every source kind shares: the config pieces all kinds use, the run window a fetch reads, and
the versioned state envelope stored in the warehouse."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from connectors.records import ExtractResult, SourceState

if TYPE_CHECKING:
    from connectors.http import FetchPolicy

STATE_KEY = "state"  # SourceState.extra key holding the kind's typed state as JSON


class ConfigModel(BaseModel):
    """Config as a user writes it: unknown keys are mistakes, and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def matching(pattern: str, expected: str) -> Callable[[str], str]:
    """A validator for a name the config spells: the whole value matches `pattern`, or the error is `expected`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(expected)
        return value

    return check


def item_key(key: str, names: list[Any], index: int) -> str:
    """A config key path's list item: `sources[news]` when that item's name is a unique string, else `sources[2]`."""
    name = names[index] if index < len(names) else None
    unique = isinstance(name, str) and name.strip() and names.count(name) == 1
    return f"{key}[{name}]" if unique else f"{key}[{index}]"


def _web_url(url: str) -> str:
    """An http(s) URL with a host, or a local file: URL; nothing a browser would run or a typo leaves hostless."""
    if url.startswith("file:"):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValueError("expected an http://, https:// or file: URL with a host, like https://example.com/feed.xml")
    return url


def printable(text: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("expected one line of printable text (no line breaks or control characters)")
    return text


# Source names become file and directory names (staging, state): nothing that escapes or breaks a path.
SourceName = Annotated[str, AfterValidator(matching(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}",
    "expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit (it names files: no spaces, '/' or '..')"))]
WebUrl = Annotated[str, AfterValidator(_web_url)]


class HttpPolicy(ConfigModel):
    user_agent: Annotated[str, Field(min_length=1), AfterValidator(printable)] = "ZMOT-Monitor/0.1 (social listening; +https://github.com/zmot-monitor/zmot-monitor)"
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    max_retry_after_seconds: float = Field(default=120.0, ge=0, le=3600)
    max_bytes: int = Field(default=10_000_000, gt=0, le=500_000_000)


class SourceConfig(ConfigModel):
    """The keys every source kind has. Each kind narrows `kind` to its `Literal` tag and adds its own keys,
    ending with `backfill_days` and `http` (error messages list the keys in this order)."""

    name: SourceName
    kind: str
    enabled: bool = True
    brands: list[str] = Field(default_factory=list, description="Only keep mentions of these brands; empty means all.")

    if TYPE_CHECKING:  # every kind declares these as its last keys, after its own (see above)
        backfill_days: int
        http: HttpPolicy | None

        def describe(self) -> str:
            """What the source reads, in a phrase for logs and `zmot check-config`."""

    def local_urls(self) -> list[tuple[str, str]]:
        """(key, url) of the file: URLs this source reads, so `zmot check-config` can say which are missing."""
        return []

    def subject_brand(self) -> str | None:
        """A brand the source's items are about even when their text never names it (a review page's brand)."""
        return None


class KindState(BaseModel):
    """A kind's cursor, typed and versioned. Stored inside the warehouse's SourceState under `extra.state`;
    a stored cursor without it is one written before typed state, which `from_legacy` converts."""

    model_config = ConfigDict(extra="forbid")
    VERSION: ClassVar[int] = 1
    version: int = 1
    watermark: datetime | None = None

    @classmethod
    def from_legacy(cls, stored: SourceState) -> "KindState":
        """The typed state of a cursor stored before states were typed; a kind with old `extra` keys reads them too."""
        return cls(watermark=stored.watermark)

    @classmethod
    def read(cls, stored: SourceState) -> Any:
        """The typed state of whatever cursor is stored: typed already, or an old one converted."""
        text = stored.extra.get(STATE_KEY)
        if not isinstance(text, str):
            return cls.from_legacy(stored)
        data = json.loads(text)
        if data.get("version") != cls.VERSION:
            raise ValueError(f"source {stored.source_id!r}: stored state version {data.get('version')!r}, "
                             f"this code reads version {cls.VERSION}; upgrade the code or reset the source's cursor")
        return cls.model_validate(data)

    def stored(self, source_id: str, source_kind: str) -> SourceState:
        """The envelope the warehouse keeps: the watermark readable by SQL, the rest as this model's JSON."""
        return SourceState(source_id, source_kind, watermark=self.watermark,
                           # json.dumps escapes a lone surrogate a hostile page put in an id; pydantic's JSON refuses it
                           extra={STATE_KEY: json.dumps(self.model_dump(mode="json", exclude_none=True))})


@dataclass(frozen=True)
class Window:
    """What a run asks of a source: items published in [backfill_start or the cursor, interval_end] that `keep`
    (the brand prefilter) accepts; `brand_name` spells a configured brand as brands.yaml does."""

    interval_end: datetime
    backfill_start: datetime
    fetched_at: datetime
    keep: Callable[[str], bool]
    brand_name: Callable[[str], str] = str


ConfigT = TypeVar("ConfigT", bound=SourceConfig)
StateT = TypeVar("StateT", bound=KindState)


@dataclass(frozen=True)
class KindSpec(Generic[ConfigT, StateT]):
    """One row of the registry: a kind's name, its config and state models, and its fetch."""

    name: str
    config: type[ConfigT]
    state: type[StateT]
    fetch: Callable[[ConfigT, StateT, Window, FetchPolicy], ExtractResult]

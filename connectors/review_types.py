"""Data model and value parsing shared by the generic review extractor and the site adapters.

Kept apart from review_extract so adapters can import it without a circular import.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from connectors.text import html_to_text

DEFAULT_BEST = 5.0
DEFAULT_WORST = 1.0

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_OUT_OF = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(?:/|out of|of|su|von|sur|de|van|av|из)\s*(\d+(?:[.,]\d+)?)", re.IGNORECASE)

MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "agosto": 8,
    "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8, "aout": 8,
    "septembre": 9, "octobre": 10, "décembre": 12, "decembre": 12,
    # Spanish
    "enero": 1, "febrero": 2, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_MONTH_NAMES = sorted(MONTHS, key=len, reverse=True)
_MONTH = "|".join(_MONTH_NAMES) + r"|[a-zäéû]{3}\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:\.|er|º)?\s*(?:de\s+)?({_MONTH})\s+(?:de\s+)?(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_ABBREVIATIONS = {name[:3]: number for name, number in MONTHS.items()}


class ReviewPageError(Exception):
    """The body cannot be a review page at all, so retrying or re-parsing will not help."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ExtractedReview:
    native_id: str
    author: str | None
    published_at: datetime | None
    rating: float | None
    rating_raw: str | None
    title: str | None
    body: str
    item_name: str | None
    item_brand: str | None
    verified: bool | None
    reply: str | None
    extracted_by: str


@dataclass(frozen=True, slots=True)
class AggregateRating:
    value: float | None
    count: int | None
    item_name: str | None


@dataclass(slots=True)
class PageExtraction:
    reviews: list[ExtractedReview]
    aggregate: AggregateRating | None
    next_url: str | None
    bot_wall: str | None
    adapter: str
    damage: list[tuple[str, str]] = field(default_factory=list)  # (reason, message): what could not be read, for a reject


@dataclass(frozen=True, slots=True)
class Rating:
    value: float
    best: float
    worst: float

    @property
    def normalised(self) -> float | None:
        """0..1 on the rating's own scale, so 5-star and 10-point sites compare."""
        if self.best <= self.worst:
            return None
        return min(1.0, max(0.0, (self.value - self.worst) / (self.best - self.worst)))

    @property
    def raw(self) -> str:
        return f"{_short_number(self.value)}/{_short_number(self.best)}"


def _short_number(value: float) -> str:
    return f"{value:g}"


def parse_number(value: object) -> float | None:
    """Numbers as sites write them: 4, "4.5", "4,5", "4,5 su 5 stelle"; JSON's NaN and Infinity are no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, list) and value:
        return parse_number(value[0])
    if not isinstance(value, str):
        return None
    match = _NUMBER.search(value)
    return float(match.group().replace(",", ".")) if match else None


def parse_count(value: object) -> int | None:
    """Counts with any thousands separator ("2.345", "1,234", "1 234") - counts are never fractional."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, list) and value:
        return parse_count(value[0])
    if not isinstance(value, str):
        return None
    match = re.search(r"\d[\d.,\u00a0\u202f ]*", value)
    if not match:
        return None
    return int(re.sub(r"\D", "", match.group()))


def parse_rating(value: object, best: object = None, worst: object = None) -> Rating | None:
    """A rating from a bare number, a "4/5" / "4 out of 5" string, or explicit best/worst values."""
    text = value[0] if isinstance(value, list) and value else value
    scale_in_text = _OUT_OF.match(text) if isinstance(text, str) else None
    number = parse_number(scale_in_text.group(1) if scale_in_text else text)
    if number is None:
        return None
    best_value = parse_number(best)
    if best_value is None:
        best_value = parse_number(scale_in_text.group(2)) if scale_in_text else DEFAULT_BEST
    worst_value = parse_number(worst)
    return Rating(number, best_value or DEFAULT_BEST, DEFAULT_WORST if worst_value is None else worst_value)


def parse_datetime(value: object) -> datetime | None:
    """Aware UTC datetimes from ISO values or written dates in EN/IT/DE/FR/ES; date-only means midnight UTC."""
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    parsed = _parse_iso(text) or parse_written_date(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", text) else text)
    except ValueError:
        pass
    match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match:
        return _safe_date(*(int(part) for part in match.groups()))
    return None


def parse_written_date(text: str) -> datetime | None:
    """"12 gennaio 2019", "March 3, 2021", "3. März 2021", "3 de marzo de 2021" -> midnight UTC."""
    day_first = _DAY_MONTH_YEAR.search(text)
    if day_first:
        month = _month_number(day_first.group(2))
        return _safe_date(int(day_first.group(3)), month, int(day_first.group(1))) if month else None
    month_first = _MONTH_DAY_YEAR.search(text)
    if month_first:
        month = _month_number(month_first.group(1))
        return _safe_date(int(month_first.group(3)), month, int(month_first.group(2))) if month else None
    return None


def _month_number(name: str) -> int | None:
    key = name.lower().rstrip(".")
    return MONTHS.get(key) or _ABBREVIATIONS.get(key[:3])


def _safe_date(year: int, month: int | None, day: int) -> datetime | None:
    try:
        return datetime.combine(date(year, month or 0, day), datetime.min.time(), tzinfo=timezone.utc)
    except ValueError:
        return None


def plain_text(value: object) -> str:
    """Review text without markup and with tidy whitespace, whatever shape the markup gave it in."""
    if isinstance(value, list):
        return "\n".join(part for part in (plain_text(item) for item in value) if part)
    if isinstance(value, dict):
        return plain_text(value.get("@value") or value.get("text") or value.get("name") or "")
    if value is None or isinstance(value, bool):
        return ""
    return html_to_text(str(value))


def optional_text(value: object) -> str | None:
    return plain_text(value) or None


def content_id(item_name: str | None, author: str | None, published_at: datetime | None, body: str) -> str:
    """Stable id for reviews the page gives no id to, so re-crawls land on the same row."""
    key = "\x1f".join([item_name or "", author or "", published_at.isoformat() if published_at else "", body[:200]])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

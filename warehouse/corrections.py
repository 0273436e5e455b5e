"""Analysts' corrections of a mention's judgement toward one brand, kept apart from what the pipeline computes.

The pipeline's judgement lives in `mention_targets`; an analyst's correction lives in the append-only
`corrections` table and is laid over those rows every time they are judged again (a load, an edit, a
new model), so a rerun never undoes it. Recording one re-judges the mention and recomputes its day's
`daily_signals` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import duckdb

from warehouse.db import judge_targets, sql_text, transaction
from warehouse.rows import dict_rows
from warehouse.signals import recompute_signals_within

MOMENTS = ("zmot", "lzmot", "umot", "none")  # nlp.moments.MOMENTS, without importing spaCy (a test keeps them equal)
SENTIMENTS = ("negative", "neutral", "positive")
FIELDS = ("moment", "sentiment", "not_about", "duplicate_of")


class CorrectionError(ValueError):
    """A correction that cannot be recorded as asked; the message says what to give instead."""


@dataclass(frozen=True)
class Correction:
    """What an analyst asks: for this mention and brand, set this field to this value."""

    mention_id: str
    brand: str
    field: str
    value: str
    note: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What recording a correction did: the brand as stored, the value it replaced, the day recomputed."""

    brand: str
    old_value: str | None
    day: date


def record_correction(con: duckdb.DuckDBPyConnection, correction: Correction, by: str) -> Recorded:
    """Validate and store one correction, re-judge the mention and recompute its day, all in one transaction."""
    with transaction(con):
        found = con.execute("SELECT published_day FROM mentions WHERE mention_id = ?", [correction.mention_id]).fetchone()
        if found is None:
            raise CorrectionError(f"no mention with id {correction.mention_id!r} in the warehouse")
        brand = _referenced_brand(con, correction.mention_id, correction.brand)
        check_value(correction.field, correction.value)
        _check_duplicate(con, correction, brand)
        old = current_value(con, correction.mention_id, brand, correction.field)
        con.execute(
            "INSERT INTO corrections (mention_id, brand, field, old_value, new_value, corrected_by, corrected_at, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [correction.mention_id, brand, correction.field, old, correction.value, by,
             datetime.now(timezone.utc).replace(tzinfo=None), correction.note],
        )
        con.execute("CREATE OR REPLACE TEMP TABLE correction_scope AS SELECT ?::VARCHAR AS mention_id", [correction.mention_id])
        con.execute("DELETE FROM mention_targets WHERE mention_id IN (SELECT mention_id FROM correction_scope)")
        judge_targets(
            con,
            "SELECT * FROM mentions WHERE mention_id IN (SELECT mention_id FROM correction_scope)",
            "SELECT * FROM mention_refs WHERE mention_id IN (SELECT mention_id FROM correction_scope)",
        )
        con.execute(sql_text("corrections_apply"))
        recompute_signals_within(con, [found[0]])
    return Recorded(brand, old, found[0])


def apply_corrections(con: duckdb.DuckDBPyConnection, mentions_query: str) -> int:
    """Lay the corrections in force over the freshly judged targets of the mentions the query selects.

    Runs in the caller's transaction (the loader's); returns how many corrected mentions were in scope,
    and does nothing more when none were (most loads).
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE correction_scope AS SELECT DISTINCT mention_id FROM corrections "
        f"WHERE mention_id IN ({mentions_query})"
    )
    count = con.execute("SELECT count(*) FROM correction_scope").fetchall()[0][0]
    if count:
        con.execute(sql_text("corrections_apply"))
    return count


def current_value(con: duckdb.DuckDBPyConnection, mention_id: str, brand: str, field: str) -> str | None:
    """What the views show now for this field of (mention, brand): the value a new correction replaces."""
    if field in ("not_about", "duplicate_of"):
        row = con.execute(
            "SELECT value FROM v_corrections WHERE mention_id = ? AND brand = ? AND field = ?", [mention_id, brand, field]
        ).fetchone()
        return row[0] if row else ("false" if field == "not_about" else None)
    column = "moment" if field == "moment" else "sentiment_label"
    row = con.execute(
        f"SELECT {column} FROM mention_targets WHERE mention_id = ? AND brand = ? AND product = '*'", [mention_id, brand]
    ).fetchone()
    return row[0] if row else None


def history(con: duckdb.DuckDBPyConnection, mention_id: str) -> list[dict[str, Any]]:
    """Every correction recorded for a mention, oldest first."""
    return dict_rows(
        con,
        "SELECT correction_id, brand, field, old_value, new_value, corrected_by, corrected_at, note "
        "FROM corrections WHERE mention_id = ? ORDER BY correction_id", [mention_id],
    )


def training_rows(con: duckdb.DuckDBPyConnection) -> Iterator[dict[str, Any]]:
    """The corrections in force as labelled examples for the NLP models: the text, the target, the field and its value."""
    result = con.execute(
        """
        SELECT c.mention_id, c.brand AS target, c.field, c.value, c.corrected_at, c.corrected_by,
               m.source_kind, m.title, m.text, n.model_version
        FROM v_corrections c
        JOIN mentions m USING (mention_id)
        LEFT JOIN mention_nlp n USING (mention_id)
        ORDER BY c.corrected_at, c.mention_id, c.brand, c.field
        """
    )
    columns = [d[0] for d in result.description]
    for row in result.fetchall():
        record = dict(zip(columns, row))
        title = record.pop("title")
        record["text"] = f"{title}\n\n{record['text']}" if title else record["text"]
        record["corrected_at"] = record["corrected_at"].isoformat() + "Z"
        yield record


def _referenced_brand(con: duckdb.DuckDBPyConnection, mention_id: str, brand: str) -> str:
    """The brand as the mention's references spell it; a brand the mention never names cannot be corrected."""
    named = [r[0] for r in con.execute(
        "SELECT DISTINCT brand FROM mention_refs WHERE mention_id = ? ORDER BY 1", [mention_id]
    ).fetchall()]
    match = next((b for b in named if b == brand), None) or next((b for b in named if b.casefold() == brand.casefold()), None)
    if match is None:
        raise CorrectionError(
            f"mention {mention_id!r} does not reference brand {brand!r}; it references: {', '.join(named) or 'no brand'}"
        )
    return match


def check_value(field: str, value: str) -> None:
    """Refuse a field or value no view could show, before anything is opened."""
    if field not in FIELDS:
        raise CorrectionError(f"unknown field {field!r}; expected one of: {', '.join(FIELDS)}")
    if field == "moment" and value not in MOMENTS:
        raise CorrectionError(f"invalid moment {value!r}; expected one of: {', '.join(MOMENTS)}")
    if field == "sentiment" and value not in SENTIMENTS:
        raise CorrectionError(f"invalid sentiment {value!r}; expected one of: {', '.join(SENTIMENTS)}")
    if field == "not_about" and value != "true":
        raise CorrectionError("not_about takes the value 'true'")
    if field == "duplicate_of" and not value:
        raise CorrectionError("duplicate_of needs the id of the mention this one repeats")


def _check_duplicate(con: duckdb.DuckDBPyConnection, correction: Correction, brand: str) -> None:
    field, value = correction.field, correction.value
    if field == "duplicate_of":
        if value == correction.mention_id:
            raise CorrectionError(f"mention {value!r} cannot be a duplicate of itself")
        if con.execute("SELECT 1 FROM mentions WHERE mention_id = ?", [value]).fetchone() is None:
            raise CorrectionError(f"--duplicate-of {value!r}: no mention with that id in the warehouse")
        original = current_value(con, value, brand, "duplicate_of")
        if original:
            raise CorrectionError(
                f"mention {value!r} is itself marked a duplicate of {original!r} for {brand}; point at {original!r} instead"
            )

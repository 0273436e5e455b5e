"""Files that pass a run's work between tasks: Parquet for records, JSON for per-source outcomes.

Extract and enrich (each once per source) only write files, so they can run in parallel and on other
workers; the single warehouse writer reads them back in `load`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.records import Mention, MentionRow, Reject, SourceState

_ARROW_TYPES = {str: pa.string(), int: pa.int32(), float: pa.float64(), bool: pa.bool_(), datetime: pa.timestamp("us")}


def arrow_schema(record_type: type) -> pa.Schema:
    """The Parquet schema of a record type: its fields in order, a nested record's fields in its place."""
    return pa.schema(_arrow_fields(record_type))


def _arrow_fields(record_type: type) -> list[tuple[str, pa.DataType]]:
    hints = get_type_hints(record_type)
    columns: list[tuple[str, pa.DataType]] = []
    for f in fields(record_type):
        hint = hints[f.name]
        columns.extend(_arrow_fields(hint) if isinstance(hint, type) and is_dataclass(hint) else [(f.name, _arrow_type(hint))])
    return columns


def _arrow_type(hint: Any) -> pa.DataType:
    if get_origin(hint) in (Union, UnionType):  # X | None: Parquet columns are nullable anyway
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
    if get_origin(hint) is list:
        return pa.list_(_arrow_type(get_args(hint)[0]))
    return _ARROW_TYPES[hint]


def as_row(record: Any) -> dict[str, Any]:
    """A record as the flat row its `arrow_schema` describes."""
    row: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        row.update(as_row(value) if is_dataclass(value) else {f.name: value})
    return row


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the NLP made of a mention, or of one brand reference in it: sentiment and moment of truth."""

    sentiment_label: str | None
    sentiment_score: float | None
    moment: str | None
    stage: str | None
    moment_confidence: float | None
    moment_evidence: list[str]


@dataclass(frozen=True, slots=True)
class NlpRow:
    """One mention's enrichment, staged by `enrich` for the loader (table mention_nlp)."""

    mention_id: str
    language: str | None
    language_score: float | None
    ref_count: int
    judgement: Judgement
    model_version: str


@dataclass(frozen=True, slots=True)
class RefRow:
    """One brand or product reference in a mention (table mention_refs); implicit when only the page names it."""

    mention_id: str
    ref_index: int
    brand: str
    product: str | None
    matched_text: str
    start_char: int
    end_char: int
    judgement: Judgement
    implicit: bool


MENTION_SCHEMA = arrow_schema(MentionRow)
NLP_SCHEMA = arrow_schema(NlpRow)
REF_SCHEMA = arrow_schema(RefRow)


@dataclass
class SourceOutcome:
    """What one extract task left behind, read by `load` whether the task succeeded or not."""

    source_id: str
    source_kind: str
    ok: bool
    state: SourceState | None
    rejects: list[Reject] = field(default_factory=list)
    mentions: int = 0
    requests: int = 0
    not_modified: bool = False
    held_back: int = 0
    retracted: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "source_id": self.source_id,
                "source_kind": self.source_kind,
                "ok": self.ok,
                "state": json.loads(self.state.to_json()) if self.state else None,
                "rejects": [r.to_row() for r in self.rejects],
                "mentions": self.mentions,
                "requests": self.requests,
                "not_modified": self.not_modified,
                "held_back": self.held_back,
                "retracted": self.retracted,
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> "SourceOutcome":
        data = json.loads(text)
        state = SourceState.from_json(json.dumps(data.pop("state"))) if data.get("state") else None
        data.pop("state", None)
        rejects = [Reject(**r) for r in data.pop("rejects")]
        return cls(state=state, rejects=rejects, **data)


def mentions_path(staging: Path, source_id: str) -> Path:
    return staging / f"{source_id}.mentions.parquet"


def outcome_path(staging: Path, source_id: str) -> Path:
    return staging / f"{source_id}.outcome.json"


def nlp_path(staging: Path, source_id: str) -> Path:
    """One source's NLP rows: enrich runs once per source, each instance writing its own file."""
    return staging / f"{source_id}.nlp.parquet"


def refs_path(staging: Path, source_id: str) -> Path:
    return staging / f"{source_id}.refs.parquet"


def write_mentions(path: Path, mentions: list[Mention]) -> None:
    write_records(path, [m.to_row() for m in mentions], MENTION_SCHEMA)


def write_records(path: Path, records: Sequence[Any], schema: pa.Schema) -> None:
    """Write typed records (MentionRow, NlpRow, RefRow) as the flat rows of their `arrow_schema`."""
    write_rows(path, [as_row(r) for r in records], schema)


def read_mention_rows(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    """Write atomically (temp file + rename) so a killed task never leaves half a file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{k: row.get(k) for k in schema.names} for row in rows], schema=schema)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_outcome(path: Path, outcome: SourceOutcome) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(outcome.to_json(), encoding="utf-8")
    os.replace(tmp, path)


def read_outcome(path: Path) -> SourceOutcome:
    return SourceOutcome.from_json(path.read_text(encoding="utf-8"))


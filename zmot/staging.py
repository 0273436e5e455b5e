"""Files that pass a run's work between tasks: Parquet for records, JSON for per-source outcomes.

Extract and enrich only write files, so they can run in parallel and on other workers; the single
warehouse writer reads them back in `load`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.records import Mention, Reject, SourceState, utc

MENTION_SCHEMA = pa.schema(
    [
        ("mention_id", pa.string()),
        ("source_kind", pa.string()),
        ("source_id", pa.string()),
        ("native_id", pa.string()),
        ("url", pa.string()),
        ("author", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("fetched_at", pa.timestamp("us")),
        ("language", pa.string()),
        ("rating", pa.float64()),
        ("metadata", pa.string()),
        ("raw", pa.string()),
        ("content_hash", pa.string()),
        ("date_missing", pa.bool_()),
    ]
)
_SENTIMENT_AND_MOMENT = [
    ("sentiment_label", pa.string()),
    ("sentiment_score", pa.float64()),
    ("moment", pa.string()),
    ("stage", pa.string()),
    ("moment_confidence", pa.float64()),
    ("moment_evidence", pa.list_(pa.string())),
]
NLP_SCHEMA = pa.schema(
    [
        ("mention_id", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
        ("ref_count", pa.int32()),
        *_SENTIMENT_AND_MOMENT,
        ("model_version", pa.string()),
    ]
)
REF_SCHEMA = pa.schema(
    [
        ("mention_id", pa.string()),
        ("ref_index", pa.int32()),
        ("brand", pa.string()),
        ("product", pa.string()),
        ("matched_text", pa.string()),
        ("start_char", pa.int32()),
        ("end_char", pa.int32()),
        *_SENTIMENT_AND_MOMENT,
        ("implicit", pa.bool_()),
    ]
)


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


def nlp_path(staging: Path) -> Path:
    return staging / "enriched.nlp.parquet"


def refs_path(staging: Path) -> Path:
    return staging / "enriched.refs.parquet"


def write_mentions(path: Path, mentions: list[Mention]) -> None:
    rows = [_naive_times(m.to_row()) for m in mentions]
    write_rows(path, rows, MENTION_SCHEMA)


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


def _naive_times(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("published_at", "fetched_at"):
        row[key] = utc(row[key]).replace(tzinfo=None)  # stored as UTC wall time
    return row

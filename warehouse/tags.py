"""Tags from saved rules: which mentions each tags.yaml rule matches, kept in `mention_tags`.

A load tags its new and edited mentions in its own transaction (so a crash loses nothing and a rerun
stores the same rows); `retag` re-applies the current rules to every stored mention, replacing the tags
of rules that changed or went. `daily_tag_signals` is recomputed with `daily_signals`, for the same days
(warehouse/signals.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa

from nlp.query_language import Document, MentionFields, Node, matches, parse, rule_hash
from warehouse.db import sql_text, transaction
from warehouse.signals import recompute_tag_signals_within

BATCH_ROWS = 10_000
_TAG_SCHEMA = pa.schema([("mention_id", pa.string()), ("tag", pa.string()), ("rule_hash", pa.string()),
                         ("tagged_at", pa.timestamp("us")), ("published_day", pa.date32())])


@dataclass(frozen=True)
class TagRule:
    name: str
    query: Node
    hash: str


def compile_rules(rules: Mapping[str, str]) -> list[TagRule]:
    """tags.yaml's rules (already validated by zmot.config), parsed once per run."""
    compiled = []
    for name, text in sorted(rules.items()):
        node = parse(text)
        compiled.append(TagRule(name, node, rule_hash(node)))
    return compiled


def tags_of(rules: list[TagRule], mention: MentionFields) -> list[TagRule]:
    """The rules one mention matches; its words are read once for all of them."""
    if not rules:
        return []
    doc = Document.of(mention)
    return [rule for rule in rules if matches(rule.query, doc)]


def tag_mentions(con: duckdb.DuckDBPyConnection, rules: Mapping[str, str], mentions_query: str) -> int:
    """Replace the tags of the mentions the query selects, in the caller's transaction; returns the tags stored.

    Their NLP must be stored already: `moment:` and `sentiment:` read it.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE tag_scope AS SELECT DISTINCT mention_id FROM ({mentions_query})")
    con.execute("DELETE FROM mention_tags WHERE mention_id IN (SELECT mention_id FROM tag_scope)")
    compiled = compile_rules(rules)
    if not compiled:
        return 0
    now = _now()
    rows = [(mid, day, tag) for mid, day, tag in _matched(compiled, _subjects(con))]
    _insert(con, "mention_tags", [(mid, tag.name, tag.hash, now, day) for mid, day, tag in rows])
    return len(rows)


@dataclass(frozen=True)
class RetagSummary:
    mentions: int
    added: int
    removed: int
    kept: int
    days: int


def retag(con: duckdb.DuckDBPyConnection, rules: Mapping[str, str], progress: Callable[[int, int, int], None] | None = None) -> RetagSummary:
    """Re-apply the current rules to every mention and recompute daily_tag_signals, in one transaction.

    A tag the rules still give (same rule, same meaning) keeps its row and time, so a second retag
    changes nothing; `progress(read, total, tags)` is called after each batch.
    """
    compiled = compile_rules(rules)
    with transaction(con):
        total = con.execute("SELECT count(*) FROM mentions").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE tag_scope AS SELECT mention_id FROM mentions")
        found: list[tuple[Any, ...]] = []
        now, read = _now(), 0
        for batch in _batches(con):
            read += len(batch)
            found += [(mid, tag.name, tag.hash, now, day) for mid, day, tag in _matched(compiled, batch)]
            if progress:
                progress(read, total, len(found))
        _insert(con, "retag_found", found, create=True)
        key = "g.mention_id = f.mention_id AND g.tag = f.tag AND g.rule_hash = f.rule_hash AND g.published_day = f.published_day"
        removed = con.execute(f"SELECT count(*) FROM mention_tags g WHERE NOT EXISTS (SELECT 1 FROM retag_found f WHERE {key})").fetchall()[0][0]
        con.execute(f"DELETE FROM mention_tags g WHERE NOT EXISTS (SELECT 1 FROM retag_found f WHERE {key})")
        kept = con.execute("SELECT count(*) FROM mention_tags").fetchall()[0][0]
        con.execute(f"INSERT INTO mention_tags SELECT * FROM retag_found f WHERE NOT EXISTS (SELECT 1 FROM mention_tags g WHERE {key})")
        days = [r[0] for r in con.execute(
            "SELECT DISTINCT published_day FROM mentions UNION SELECT day FROM daily_tag_signals").fetchall()]
        recompute_tag_signals_within(con, days)
        con.execute("DROP TABLE retag_found")
    return RetagSummary(total, len(found) - kept, removed, kept, len(days))


def _subjects(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(sql_text("tag_subjects")).fetchall()


def _batches(con: duckdb.DuckDBPyConnection) -> Iterator[list[tuple[Any, ...]]]:
    """The subjects in tag_scope, a batch at a time (all of them are never in memory at once)."""
    result = con.execute(sql_text("tag_subjects"))
    while batch := result.fetchmany(BATCH_ROWS):
        yield batch


def _matched(rules: list[TagRule], subjects: Iterable[tuple[Any, ...]]) -> Iterator[tuple[str, date, TagRule]]:
    for mention_id, day, *fields in subjects:
        for rule in tags_of(rules, MentionFields(*fields)):
            yield mention_id, day, rule


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]], *, create: bool = False) -> None:
    if not rows and not create:
        return
    columns: list[Sequence[Any]] = list(zip(*rows)) if rows else [[] for _ in _TAG_SCHEMA]
    arrow = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, _TAG_SCHEMA)], schema=_TAG_SCHEMA)
    con.register("tag_rows", arrow)
    try:
        if create:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM tag_rows")
        else:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM tag_rows")
    finally:
        con.unregister("tag_rows")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)

"""Write the warehouse out as Parquet for BI tools: one folder per table, partitioned by UTC day."""

from __future__ import annotations

from pathlib import Path

import duckdb

# table -> the SELECT that exports it, with the day column it is partitioned by (None: one file)
EXPORTS: dict[str, tuple[str, str | None]] = {
    "mentions": ("SELECT * FROM mentions", "published_day"),
    "mention_nlp": ("SELECT * FROM mention_nlp", "published_day"),
    "mention_refs": ("SELECT * FROM mention_refs", "published_day"),
    "daily_signals": ("SELECT * FROM daily_signals", "day"),
    "mention_tags": ("SELECT * FROM mention_tags", "published_day"),
    "daily_tag_signals": ("SELECT * FROM daily_tag_signals", "day"),
    "alerts": ("SELECT *, window_start::DATE AS day FROM alerts", "day"),
    "brands": ("SELECT * FROM brands", None),
    "source_state": ("SELECT * FROM source_state", None),
    "rejects": ("SELECT * FROM rejects", None),
    "runs": ("SELECT * FROM runs", None),
}


def export_parquet(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, tuple[Path, int]]:
    """Export every table; returns where each went and how many rows. Earlier exports in `out` are replaced."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for table, (select, day_column) in EXPORTS.items():
        target = out / table if day_column else out / f"{table}.parquet"
        options = f"FORMAT parquet, PARTITION_BY ({day_column}), OVERWRITE" if day_column else "FORMAT parquet"
        quoted = str(target).replace("'", "''")  # COPY takes no parameter for its path
        con.execute(f"COPY ({select}) TO '{quoted}' ({options})")
        written[table] = (target, con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0])
    return written

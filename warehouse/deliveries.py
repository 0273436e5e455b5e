"""The record of what was delivered where (table `deliveries`), so each thing goes to each place once."""

from __future__ import annotations

from datetime import datetime

import duckdb


def delivered(con: duckdb.DuckDBPyConnection, subject: str, destination: str) -> bool:
    """Whether `subject` already reached `destination`: a rerun skips it."""
    return bool(con.execute("SELECT count(*) FROM deliveries WHERE subject = ? AND destination = ?",
                            [subject, destination]).fetchall()[0][0])


def record_delivery(con: duckdb.DuckDBPyConnection, subject: str, destination: str, at: datetime, detail: str) -> None:
    """Called only once the destination accepted it; committed at once, before the next delivery starts."""
    con.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [subject, destination, at.replace(tzinfo=None), detail])

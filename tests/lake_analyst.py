"""An analyst in their own process for tests/test_lake_postgres.py: one `analyst.connect()` held
open, asking the same question again and again until a stop file appears.

Each answer (or error) is one JSON line: seconds since start, runs, mentions, and the mentions the
runs table says were stored. Before the first publish the lake is empty; that wait is a line too.

    python -m tests.lake_analyst DATA_DIR OUT.jsonl STOP_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError
from zmot import analyst

QUESTION = """SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM mentions),
                     (SELECT coalesce(sum(mentions_new), 0) FROM runs)"""


def main(data: str, out: str, stop: str) -> None:
    started = time.monotonic()
    con = None
    with open(out, "a", encoding="utf-8") as lines:
        while not Path(stop).exists():
            line: dict[str, object] = {"t": round(time.monotonic() - started, 3)}
            try:
                con = con or analyst.connect(data)
                runs, mentions, stored = con.execute(QUESTION).fetchall()[0]
                line.update(runs=runs, mentions=mentions, stored=stored)
            except WarehouseError as exc:
                line["waiting"] = str(exc)  # nothing published yet
            except duckdb.Error as exc:
                line["error"] = f"{type(exc).__name__}: {exc}"
            lines.write(json.dumps(line) + "\n")
            lines.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:4])

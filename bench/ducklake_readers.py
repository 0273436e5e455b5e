"""DuckLake (SQLite catalog, Parquet data) against a DuckDB file, for issue 16's choice of reader design.

Written when the project pinned DuckDB 2.0; the project's venv now has DuckDB 1.5.5 and the
extension wheels, so it runs there:

    .venv/bin/python bench/ducklake_readers.py [--rows 1000000]

Prints, in one run on the same machine:
- inserting the same Arrow rows (mention-shaped: ids, text, times, brand, sentiment) into a table in
  a DuckDB file, and into a DuckLake table whose catalog is a SQLite file;
- an analyst's query latency in another process while the lake takes a second batch, beside the
  same query when nothing writes (a reader of a DuckDB file cannot open it while another process
  writes; bench/scale.py measures the published copy the project chose);
- the time from the lake writer's commit until a polling reader in another process sees the rows.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from warehouse.lake import load_extensions

QUERY = "SELECT brand, sentiment, count(*), avg(length(text)) FROM mentions GROUP BY ALL"


def lake(work: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_extensions(con, "sqlite")
    con.execute(f"ATTACH 'ducklake:sqlite:{work / 'catalog.sqlite'}' AS lake "
                f"(DATA_PATH '{work / 'lake-data'}/'{', READ_ONLY' if read_only else ''})")
    con.execute("USE lake")
    return con


def rows(first: int, count: int):
    """The same mention-shaped Arrow table for every target."""
    return duckdb.sql(f"""
        SELECT 'rss:' || md5(i::VARCHAR)[:24] AS mention_id, 'news-' || (i % 5) AS source_id,
               'Acme Mobile post ' || i || ': the Nova battery ' || ['dies fast', 'is fine', 'lasts two days'][1 + i % 3]
                   || ', ' || md5((i * 7)::VARCHAR) AS text,
               TIMESTAMP '2026-01-01' + to_seconds(i * 30) AS published_at,
               ['Acme Mobile', 'Orbit Telecom', 'Juniper', 'Kettleworks'][1 + i % 4] AS brand,
               ['negative', 'neutral', 'positive'][1 + (i // 4) % 3] AS sentiment, (i % 200) / 100.0 - 1 AS score
        FROM range({first}, {first + count}) r(i)
    """).to_arrow_table()


def timed_insert(con: duckdb.DuckDBPyConnection, table, create: bool) -> float:
    con.register("batch", table)
    started = time.perf_counter()
    con.execute("BEGIN")
    con.execute("CREATE TABLE mentions AS SELECT * FROM batch" if create else "INSERT INTO mentions SELECT * FROM batch")
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.unregister("batch")
    return elapsed


def reader(work: str, stop, out, expected: int) -> None:
    """Another process: the analyst's query in a loop; and when the count first reaches `expected`."""
    path = Path(work)
    con = lake(path, read_only=True)
    times, seen = [], None
    while not stop.is_set() or seen is None:
        started = time.perf_counter()
        con.execute(QUERY).fetchall()
        times.append(time.perf_counter() - started)
        if seen is None and con.execute("SELECT count(*) FROM mentions").fetchall()[0][0] >= expected:
            seen = time.time()
        if seen is not None and stop.is_set():
            break
    out.put((times, seen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zmot-ducklake-"))
    first, second = rows(0, args.rows), rows(args.rows, args.rows)
    print(f"DuckDB {duckdb.__version__}; {args.rows:,} mention-shaped rows per batch; {work}")

    file_con = duckdb.connect(str(work / "plain.duckdb"))
    plain = [timed_insert(file_con, first, True), timed_insert(file_con, second, False)]
    file_con.close()
    lake_con = lake(work)
    lake_times = [timed_insert(lake_con, first, True)]
    print(f"insert into a DuckDB file:        {args.rows / plain[0]:>10,.0f} rows/s, then {args.rows / plain[1]:,.0f} rows/s")

    quiet_con = lake(work, read_only=True)
    quiet = []
    for _ in range(10):
        started = time.perf_counter()
        quiet_con.execute(QUERY).fetchall()
        quiet.append(time.perf_counter() - started)
    quiet_con.close()

    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    process = context.Process(target=reader, args=(str(work), stop, out, 2 * args.rows))
    process.start()
    time.sleep(2.0)  # the reader is attached and querying
    lake_times.append(timed_insert(lake_con, second, False))
    committed = time.time()
    stop.set()
    during, seen = out.get(timeout=600)
    process.join()
    lake_con.close()
    print(f"insert into DuckLake (SQLite):    {args.rows / lake_times[0]:>10,.0f} rows/s, then {args.rows / lake_times[1]:,.0f} rows/s "
          "(the second with a reader querying)")
    print(f"reader query, nothing writing:    p50 {statistics.median(quiet) * 1000:.0f} ms, max {max(quiet) * 1000:.0f} ms")
    print(f"reader query during a lake write: p50 {statistics.median(during) * 1000:.0f} ms, max {max(during) * 1000:.0f} ms "
          f"({len(during)} queries, none blocked)")
    print(f"lake commit -> another process sees it: {(seen - committed):.2f} s (one query's time at most)")
    sizes = {"DuckDB file": (work / "plain.duckdb").stat().st_size,
             "lake Parquet": sum(p.stat().st_size for p in (work / "lake-data").rglob("*") if p.is_file())}
    print("storage for both batches: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items()))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The project's schema on DuckLake, statement by statement, and the loader's upserts on it (issue 16).

Written when the project pinned DuckDB 2.0; the project's venv now has DuckDB 1.5.5 and the
extension wheels, so it runs there:

    .venv/bin/python bench/ducklake_schema.py [--rows 2000] \\
        [--pg 'host=127.0.0.1 port=55432 user=postgres dbname=lake155']

--pg (or $ZMOT_LAKE_PG) names a PostgreSQL database for the PostgreSQL-catalog lake; the bench makes
a schema of its own in it (DuckLake's METADATA_SCHEMA) and drops it at the end. With no --pg, or when
that server cannot be reached, the PostgreSQL lake is skipped with a message.

What it does, reading the real files (warehouse/sql/NNN_*.sql in order, then warehouse/sql/views.sql,
after the `schema_version` table warehouse/db.py creates first), each statement on its own:
1. on a plain DuckDB database of this same DuckDB version (the control: every statement should run);
2. on a DuckLake with a SQLite catalog, and one with a PostgreSQL catalog: every statement as written,
   printing each failure (file, the statement's first line, DuckDB's error) and the counts grouped by
   cause; a statement that fails only because an earlier one failed (its table is missing, the
   transaction was aborted) is counted as a cascade;
3. the same files again with the mechanical rewrites a port would need at least (no PRIMARY KEY,
   UNIQUE, CHECK or sequence; no DEFAULT on ADD COLUMN, INSERT OR IGNORE as a plain INSERT), to show
   what fails next and to have tables for step 4; the rewrites are applied here in memory, the files
   are not changed;
4. the upserts the loader writes (warehouse/load.py: source_state, rejects, runs; detect.py: alerts
   with RETURNING; deliveries.py) on `--rows` rows, inside one transaction as a load runs them, first
   as written (INSERT ... ON CONFLICT / INSERT OR REPLACE), then as MERGE INTO, one statement per row
   and one MERGE for the whole batch; each timed, each checked against the plain DuckDB result.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb

from warehouse.lake import extension_file

ROOT = Path(__file__).resolve().parent.parent
SQL = ROOT / "warehouse" / "sql"


# ---------------------------------------------------------------------------------------------- setup

def extensions() -> dict[str, Path]:
    """The extension files the PyPI wheels carry, under the names DuckDB loads them by."""
    return {name: extension_file(name) for name in ("ducklake", "sqlite", "postgres")}


def connection(ext: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("sqlite", "postgres", "ducklake"):
        con.execute(f"LOAD '{ext[name]}'")
    con.execute("SET TimeZone = 'UTC'")
    return con


def sqlite_lake(ext: dict[str, Path], work: Path, name: str) -> duckdb.DuckDBPyConnection:
    con = connection(ext)
    con.execute(f"ATTACH 'ducklake:sqlite:{work / (name + '.sqlite')}' AS lake (DATA_PATH '{work / (name + '-data')}/')")
    con.execute("USE lake")
    return con


def pg_lake(ext: dict[str, Path], work: Path, dsn: str, schema: str) -> duckdb.DuckDBPyConnection:
    con = connection(ext)
    con.execute(f"ATTACH 'ducklake:postgres:{dsn}' AS lake (DATA_PATH '{work / (schema + '-data')}/', METADATA_SCHEMA '{schema}')")
    con.execute("USE lake")
    return con


def pg_reachable(ext: dict[str, Path], dsn: str) -> str | None:
    """None when the server answers, else why not."""
    con = connection(ext)
    try:
        con.execute(f"ATTACH '{dsn}' AS pg (TYPE postgres)")
        con.execute("SELECT 1 FROM pg.information_schema.schemata LIMIT 1").fetchall()
        return None
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    finally:
        con.close()


def pg_drop_schemas(ext: dict[str, Path], dsn: str, schemas: list[str]) -> None:
    con = connection(ext)
    con.execute(f"ATTACH '{dsn}' AS pg (TYPE postgres)")
    for schema in schemas:
        con.execute(f"CALL postgres_execute('pg', 'DROP SCHEMA IF EXISTS {schema} CASCADE')")
    con.close()


# ---------------------------------------------------------------------------------------- statements

def schema_files() -> list[Path]:
    return sorted(p for p in SQL.glob("*.sql") if p.name[:3].isdigit()) + [SQL / "views.sql"]


def statements() -> list[tuple[str, str]]:
    """(file, statement) in the order warehouse/db.py applies them: schema_version, migrations, views."""
    db_py = (ROOT / "warehouse" / "db.py").read_text(encoding="utf-8")
    found = re.search(r'"(CREATE TABLE IF NOT EXISTS schema_version[^"]*)"', db_py)
    out = [("warehouse/db.py", found.group(1))] if found else []
    for path in schema_files():
        out.extend((f"warehouse/sql/{path.name}", sql) for sql in split(path.read_text(encoding="utf-8")))
    return out


def split(text: str) -> list[str]:
    """The file's statements, cut at semicolons outside quotes and comments. (Not duckdb.extract_statements:
    DuckDB 1.5.5 expands `ADD COLUMN ... DEFAULT` into five statements there, four of them with no text.)"""
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            i = text.find(c, i + 1)
            i = n if i < 0 else i + 1
            continue
        if text.startswith("--", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i)
            i = n if i < 0 else i + 2
            continue
        if c == ";":
            out.append(text[start:i + 1])
            start = i + 1
        i += 1
    out.append(text[start:])
    return [sql.strip() for sql in out if strip_comments(sql).strip(" \n;")]


def strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)  # the schema has no "--" inside a string


def first_line(statement: str) -> str:
    for line in statement.splitlines():
        line = line.split("--")[0].strip()
        if line:
            return line
    return statement[:80]


CAUSES = [
    ("PRIMARY KEY/UNIQUE constraints are not supported", "PRIMARY KEY/UNIQUE not supported"),
    ("CHECK constraints are not supported", "CHECK not supported"),
    ("does not support sequences", "sequences not supported"),
    ("non-literal default value", "ALTER ADD COLUMN / SET DEFAULT: a DEFAULT DuckLake calls non-literal"),
    ("no UNIQUE/PRIMARY KEY constraints that refer", "INSERT OR IGNORE/REPLACE, ON CONFLICT: no key to conflict on"),
    ("RETURNING", "RETURNING not supported"),
    ("index", "indexes"),
    ("MACRO", "macros"),
    ("Current transaction is aborted", "cascade: the transaction an earlier failure aborted"),
    ("does not exist", "cascade: a table or sequence an earlier failed statement should have made"),
    ("not found in FROM clause", "cascade: a column an earlier failed statement should have added"),
    ("not found in table", "cascade: a column an earlier failed statement should have added"),
    ("does not have a column named", "cascade: a column an earlier failed statement should have added"),
]


def cause(error: str) -> str:
    for needle, name in CAUSES:
        if needle.lower() in error.lower():
            return name
    return "other: " + error.splitlines()[0][:120]


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> str | None:
    """None, or DuckDB's error; a failed statement on a lake can leave its transaction aborted: end it."""
    try:
        con.execute(sql, params or [])
        return None
    except duckdb.Error as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        return f"{type(exc).__name__}: " + " | ".join(line for line in str(exc).splitlines() if line.strip())


def apply(con: duckdb.DuckDBPyConnection, label: str, todo: list[tuple[str, str]], *, show: bool) -> Counter[str]:
    causes: Counter[str] = Counter()
    failed = 0
    for file, sql in todo:
        error = run(con, sql)
        if error is None:
            continue
        failed += 1
        causes[cause(error)] += 1
        if show:
            print(f"  FAIL {file}: {first_line(sql)[:90]}\n       {error[:220]}")
    print(f"{label}: {len(todo)} statements run, {len(todo) - failed} ran, {failed} failed")
    for name, count in causes.most_common():
        print(f"    {count:>3}  {name}")
    return causes


# The least a port must rewrite, as regular expressions over the real statements (in memory only).
REWRITES: list[tuple[str, Callable[[str], str]]] = [
    ("PRIMARY KEY (...) table constraint dropped", lambda s: re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", s)),
    ("column PRIMARY KEY dropped", lambda s: re.sub(r"\s+PRIMARY KEY\b(?!\s*\()", "", s)),
    ("CHECK (...) dropped", lambda s: re.sub(r"\s+CHECK\s*\((?:[^()]|\([^()]*\))*\)", "", s)),
    ("DEFAULT nextval(...) dropped", lambda s: re.sub(r"\s+DEFAULT\s+nextval\('[^']*'\)", "", s)),
    ("ADD COLUMN ... BOOLEAN DEFAULT false: the DEFAULT dropped",
     lambda s: re.sub(r"(ADD COLUMN[^;]*?BOOLEAN)\s+DEFAULT\s+(false|true)\b", r"\1", s, flags=re.S | re.I)),
    ("INSERT OR IGNORE INTO -> INSERT INTO", lambda s: s.replace("INSERT OR IGNORE INTO", "INSERT INTO")),
]


CONSTRUCTS = [  # what the real statements use that DuckLake refuses (counted whatever error a statement hit first)
    ("PRIMARY KEY", r"PRIMARY KEY"),
    ("CHECK (...)", r"\bCHECK\s*\("),
    ("CREATE SEQUENCE / nextval", r"CREATE SEQUENCE|nextval\("),
    ("ADD COLUMN ... BOOLEAN DEFAULT", r"ADD COLUMN[^;]*BOOLEAN\s+DEFAULT"),
    ("INSERT OR IGNORE / OR REPLACE", r"INSERT OR (IGNORE|REPLACE)"),
    ("CREATE INDEX", r"CREATE (UNIQUE )?INDEX"),
    ("CREATE MACRO (runs on a lake)", r"CREATE (OR REPLACE )?MACRO"),
]


def census(todo: list[tuple[str, str]]) -> None:
    print("constructs in the real statements (statements using each):")
    for name, pattern in CONSTRUCTS:
        files = [file for file, sql in todo if re.search(pattern, strip_comments(sql), re.I)]
        where = ", ".join(sorted({f.rsplit("/", 1)[-1] for f in files}))
        print(f"    {len(files):>3}  {name}" + (f"  ({where})" if files else ""))


def probes(make: Callable[[str], duckdb.DuckDBPyConnection], label: str) -> None:
    """What the loader relies on beyond the schema: RETURNING (detect.py), and that overlapping writers conflict
    (006's load_guard), or, with no key, what two overlapping MERGEs of one new key leave."""
    first = make("probe")
    first.execute("CREATE TABLE load_guard (guard INTEGER, run_key VARCHAR)")
    first.execute("INSERT INTO load_guard VALUES (1, NULL)")
    first.execute("CREATE TABLE source_state (source_id VARCHAR, source_kind VARCHAR, state JSON, updated_run VARCHAR)")
    print(f"  probes, DuckLake {label}:")
    for sql in ("INSERT INTO source_state VALUES ('a', 'rss', '{}', 'r1') RETURNING source_id",
                "UPDATE load_guard SET run_key = 'x' WHERE guard = 1 RETURNING guard",
                "MERGE INTO source_state t USING (SELECT 'b' AS source_id) s ON t.source_id = s.source_id "
                "WHEN NOT MATCHED THEN INSERT VALUES (s.source_id, 'rss', '{}', 'r1') RETURNING merge_action"):
        error = run(first, sql)
        print(f"    {first_line(sql)[:60]:<62} {'ok' if error is None else error[:120]}")
    first.execute("DELETE FROM source_state")
    first.close()
    for what, sql in (("UPDATE load_guard (one row), two overlapping transactions",
                       "UPDATE load_guard SET run_key = ? WHERE guard = 1"),
                      ("MERGE of one new source_state key, two overlapping transactions",
                       "MERGE INTO source_state t USING (SELECT 'same' AS source_id, ? AS run) s ON t.source_id = s.source_id "
                       "WHEN NOT MATCHED THEN INSERT VALUES (s.source_id, 'rss', '{}', s.run)")):
        try:
            first, second = make("probe"), make("probe")  # two attaches of the same lake: two writers
            first.execute("BEGIN")
            second.execute("BEGIN")
            first.execute(sql, ["first"])
            second.execute(sql, ["second"])
            errors = [run(first, "COMMIT"), run(second, "COMMIT")]
            first.close()
            second.close()
            verdicts = ["committed" if e is None else "refused: " + e.split("Error: ", 1)[-1][:200] for e in errors]
            print(f"    {what}:\n      first COMMIT {verdicts[0]}\n      second COMMIT {verdicts[1]}")
            try:
                third = make("probe")  # a fresh writer sees what was committed
                if "MERGE" in what:
                    count = third.execute("SELECT count(*) FROM source_state WHERE source_id = 'same'").fetchall()[0][0]
                    state = f"rows for the key: {count}"
                else:
                    state = f"load_guard now: {third.execute('SELECT run_key FROM load_guard').fetchall()}"
            except duckdb.Error as exc:
                state = "a fresh attach in this process cannot read the lake: " + str(exc).splitlines()[0][-60:]
            else:
                third.close()
            print(f"      {state}")
        except duckdb.Error as exc:
            print(f"    {what}: {type(exc).__name__}: ...{str(exc).splitlines()[0][-60:]}")


def ported(todo: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for file, sql in todo:
        if re.match(r"(--[^\n]*\n|\s)*CREATE SEQUENCE", sql):
            continue  # sequences: the one user (corrections_id) would take ids from the writer instead
        sql = strip_comments(sql)
        for _, rewrite in REWRITES:
            sql = rewrite(sql)
        out.append((file, sql))
    return out


def query_views(con: duckdb.DuckDBPyConnection, todo: list[tuple[str, str]]) -> None:
    """Each view views.sql defines, queried once (empty tables): does it run on the lake?"""
    names = [m.group(1) for _, sql in todo if (m := re.search(r"CREATE OR REPLACE VIEW (\w+)", sql))]
    failed = {name: error for name in names if (error := run(con, f"SELECT count(*) FROM {name}"))}
    print(f"    views queried: {len(names) - len(failed)} of {len(names)} answer"
          + "".join(f"\n      {name}: {error[:160]}" for name, error in failed.items()))


# ------------------------------------------------------------------------------------------- upserts

def upsert_rows(count: int, round_: int) -> dict[str, list[list]]:
    """Rows for each upsert; round 2 repeats round 1's keys with half of the states changed."""
    run_key = f"2026-11-{10 + round_:02d}"
    return {
        "source_state": [[f"src-{i}", "rss", f'{{"etag": "{i}-{round_ if i % 2 else 1}"}}', run_key] for i in range(count)],
        "rejects": [[f"rej-{i}", run_key, f"src-{i % 50}", "rss", "extract", "http_500", "boom", None, None]
                    for i in range(count)],
        "runs": [[f"run-{i}", f"2026-11-{1 + i % 28:02d} 00:00:00", i, round_, 0, ["a"], [], ["2026-11-01"]]
                 for i in range(count)],
        "alerts": [[f"al-{i}", "Acme", "*", "*", "negative_mentions", "2026-11-01 00:00:00", "2026-11-02 00:00:00",
                    5.0, 1.0, 5.0, 3.0, "five", "v1", run_key, None] for i in range(count)],
        "deliveries": [[f"al-{i}", "webhook:ops", "2026-11-02 00:00:00", "200"] for i in range(count)],
    }


AS_WRITTEN = {  # warehouse/load.py, detect.py, deliveries.py, as they are
    "source_state": "INSERT INTO source_state VALUES (?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
                    "source_kind = excluded.source_kind, state = excluded.state, updated_run = excluded.updated_run "
                    "WHERE source_state.state::VARCHAR <> excluded.state::VARCHAR "
                    "AND source_state.updated_run <= excluded.updated_run",
    "rejects": "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    "runs": "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "alerts": "INSERT INTO alerts (alert_id, brand, product, source_kind, metric, window_start, window_end, observed, "
              "expected, ratio, severity, reason, detector_version, created_run, delivery) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING alert_id",
    "deliveries": "INSERT INTO deliveries VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
}

COLUMNS = {
    "source_state": ["source_id", "source_kind", "state", "updated_run"],
    "rejects": ["reject_id", "run_key", "source_id", "source_kind", "stage", "reason", "message", "url", "payload_excerpt"],
    "runs": ["run_key", "interval_end", "mentions_new", "mentions_updated", "rejects", "sources_ok", "sources_failed",
             "days_touched"],
    "alerts": ["alert_id", "brand", "product", "source_kind", "metric", "window_start", "window_end", "observed",
               "expected", "ratio", "severity", "reason", "detector_version", "created_run", "delivery"],
    "deliveries": ["subject", "destination", "delivered_at", "detail"],
}
KEYS = {"source_state": ["source_id"], "rejects": ["reject_id"], "runs": ["run_key"], "alerts": ["alert_id"],
        "deliveries": ["subject", "destination"]}
CASTS = {"state": "JSON", "interval_end": "TIMESTAMP", "window_start": "TIMESTAMP", "window_end": "TIMESTAMP",
         "delivered_at": "TIMESTAMP", "mentions_new": "INTEGER", "mentions_updated": "INTEGER", "rejects": "INTEGER",
         "sources_ok": "VARCHAR[]", "sources_failed": "VARCHAR[]", "days_touched": "DATE[]"}


def merge_sql(table: str, source: str) -> str:
    """The MERGE INTO a port would write for the same upsert."""
    cols, on = COLUMNS[table], " AND ".join(f"t.{k} = s.{k}" for k in KEYS[table])
    insert = f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}) VALUES ({', '.join('s.' + c for c in cols)})"
    if table == "source_state":
        return (f"MERGE INTO source_state t USING {source} s ON {on} "
                "WHEN MATCHED AND t.state::VARCHAR <> s.state::VARCHAR AND t.updated_run <= s.updated_run THEN "
                "UPDATE SET source_kind = s.source_kind, state = s.state, updated_run = s.updated_run " + insert)
    if table == "runs":
        sets = ", ".join(f"{c} = s.{c}" for c in cols[1:])
        return f"MERGE INTO runs t USING {source} s ON {on} WHEN MATCHED THEN UPDATE SET {sets} " + insert
    return f"MERGE INTO {table} t USING {source} s ON {on} " + insert


def row_source(table: str) -> str:
    return "(SELECT " + ", ".join(f"?::{CASTS[c]} AS {c}" if c in CASTS else f"? AS {c}" for c in COLUMNS[table]) + ")"


def batch_source(table: str) -> str:
    return "(SELECT " + ", ".join(f"{c}::{CASTS[c]} AS {c}" if c in CASTS else c for c in COLUMNS[table]) + " FROM batch)"


def snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list:
    return con.execute(f"SELECT {', '.join(c + '::VARCHAR' for c in COLUMNS[table])} FROM {table} ORDER BY ALL").fetchall()


def upserts(con: duckdb.DuckDBPyConnection, form: str, count: int) -> dict[str, tuple[float, str | None]]:
    """Per table: seconds for both rounds (one transaction each), or the error that stopped it."""
    import pyarrow as pa

    out: dict[str, tuple[float, str | None]] = {}
    for table in COLUMNS:
        run(con, f"DELETE FROM {table}")
        elapsed, error = 0.0, None
        for round_ in (1, 2):
            rows = upsert_rows(count, round_)[table]
            started = time.perf_counter()
            if form == "batch MERGE":
                con.register("batch", pa.table({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS[table])}))
                error = run(con, "BEGIN") or run(con, merge_sql(table, batch_source(table))) or run(con, "COMMIT")
                con.unregister("batch")
            else:
                sql = AS_WRITTEN[table] if form == "as written" else merge_sql(table, row_source(table))
                error = run(con, "BEGIN")
                for row in rows:
                    error = error or run(con, sql, row)
                    if error:
                        break
                error = error or run(con, "COMMIT")
            elapsed += time.perf_counter() - started
            if error:
                break
        out[table] = (elapsed, error)
    return out


def compare_upserts(targets: dict[str, duckdb.DuckDBPyConnection], row_count: int, batch_count: int) -> None:
    print(f"\nupserts: 2 rounds (new keys, then the same keys with half of source_state changed), one transaction per round, "
          f"seconds for both rounds; one statement per row on {row_count:,} rows, one MERGE on {batch_count:,} rows")
    reference: dict[tuple[str, int], list] = {}
    forms = ("as written", "row MERGE", "batch MERGE")
    print(f"  {'target':<16}{'form':<13}" + "".join(f"{t:>14}" for t in COLUMNS) + "  rows as plain DuckDB?")
    for label, con in targets.items():
        for form in forms:
            count = batch_count if form == "batch MERGE" else row_count
            result = upserts(con, form, count)
            cells, same = [], []
            for table, (seconds, error) in result.items():
                cells.append(f"{'FAIL' if error else f'{seconds:.2f}':>14}")
                if error:
                    continue
                rows = snapshot(con, table)
                reference.setdefault((table, count), rows)
                same.append(rows == reference[(table, count)])
            verdict = "-" if not same else "yes" if all(same) else "NO"
            print(f"  {label:<16}{form:<13}" + "".join(cells) + f"  {verdict}")
            for table, (_, error) in result.items():
                if error:
                    print(f"      {table}: {error[:200]}")


# ---------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000, help="rows for the batch MERGE")
    parser.add_argument("--row-rows", type=int, default=200,
                        help="rows for the one-statement-per-row forms (about 50 ms a statement on a lake)")
    parser.add_argument("--pg", default=os.environ.get("ZMOT_LAKE_PG", ""),
                        help="libpq string of a PostgreSQL database for the catalog (default: $ZMOT_LAKE_PG)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zmot-lakeschema-"))
    ext = extensions()
    todo = statements()
    print(f"DuckDB {duckdb.__version__}; {len(todo)} statements from {len(schema_files())} files "
          f"(+ warehouse/db.py's schema_version); {work}\n")

    plain = connection(ext)
    plain.execute(f"ATTACH '{work / 'plain.duckdb'}' AS plain")
    plain.execute("USE plain")
    census(todo)
    apply(plain, "plain DuckDB file (control)", todo, show=True)

    lakes: dict[str, Callable[[str], duckdb.DuckDBPyConnection]] = {
        "SQLite catalog": lambda name: sqlite_lake(ext, work, name)}
    schemas: list[str] = []
    why = pg_reachable(ext, args.pg) if args.pg else "no --pg or $ZMOT_LAKE_PG given"
    if why is None:
        def make_pg(name: str) -> duckdb.DuckDBPyConnection:
            schema = f"zmot_bench_{os.getpid()}_{name}"
            schemas.append(schema)
            return pg_lake(ext, work, args.pg, schema)
        lakes["PostgreSQL catalog"] = make_pg
    else:
        print(f"\nPostgreSQL-catalog lake SKIPPED: {why}")

    ported_todo = ported(todo)
    targets = {"plain DuckDB": plain}
    try:
        for label, make in lakes.items():
            print(f"\n== DuckLake, {label}: the files as written")
            con = make("as_written")
            apply(con, f"DuckLake {label}, as written", todo, show=True)
            con.close()
            print(f"\n== DuckLake, {label}: with the port's least rewrites (" + "; ".join(n for n, _ in REWRITES)
                  + "; CREATE SEQUENCE skipped)")
            con = make("ported")
            apply(con, f"DuckLake {label}, rewritten", ported_todo, show=True)
            query_views(con, todo)
            probes(make, label)
            targets[f"lake {label.split()[0]}"] = con
        compare_upserts(targets, args.row_rows, args.rows)
    finally:
        for con in targets.values():
            con.close()
        if schemas:
            pg_drop_schemas(ext, args.pg, schemas)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

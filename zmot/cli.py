"""The `zmot` command: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from zmot.errors import ConfigError
from zmot.runcontext import WAREHOUSE_FILE, default_config_dir, default_data_dir, default_warehouse

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "sample"
DEMO_FIRST_DAY = date(2026, 11, 9)
DEMO_LAST_DAY = date(2026, 11, 15)
DEMO_MARKER = ".zmot-demo"

EPILOG = """examples:
  zmot demo                                   run the real DAG over the bundled sample config
  zmot sql "SELECT brand, count(*) FROM v_brand_mentions GROUP BY brand"
  zmot sql --format csv "SELECT * FROM daily_signals" > signals.csv
  zmot sql --format parquet --output signals.parquet "SELECT * FROM daily_signals"
  zmot shell                                  an interactive read-only SQL prompt (.tables, .quit)
  zmot export --out exports/                  every table as Parquet, partitioned by day
  zmot report --brand "Acme Mobile" --days 30 an HTML report that opens offline
  zmot digest --period week --out digest.html --send   each brand's weekly digest, emailed once
  echo "I love my new phone" | zmot sentiment
  echo "Is the Acme Nova worth it?" | zmot moments
  zmot spikes counts.csv                      alerts a CSV of timestamp,value would have raised
  zmot check-config --config config/
  zmot label reddit:t3_abc --brand "Acme Mobile" --moment lzmot --note "a cancellation"
  zmot labels export --out labels.jsonl       the corrections in force, as training rows
  zmot retag                                  apply tags.yaml's current rules to every stored mention
  zmot serve                                  the analysts' dashboard on http://127.0.0.1:8765/
  zmot run --date 2026-11-20 --config config/  run the DAG for one day without a scheduler
  zmot backfill --start 2026-10-01 --end 2026-10-31 --config config/   fill history, no emails
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


JSONL_HELP = ('read JSON lines {"text": ..., "target": ...} (target optional) and judge each text toward its target; '
              "the output adds target")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zmot", description="ZMOT Monitor: social listening for the moments of truth.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the real DAG over the sample config, offline, and summarise")
    demo.add_argument("--config", type=Path, default=DEMO_CONFIG, help="config directory (default: the bundled sample)")
    demo.add_argument("--data-dir", type=Path, default=Path("data"), help="where the warehouse and staging go (default: ./data)")
    demo.add_argument("--start", type=date.fromisoformat, default=DEMO_FIRST_DAY, help="first logical date")
    demo.add_argument("--end", type=date.fromisoformat, default=DEMO_LAST_DAY, help="last logical date")
    demo.set_defaults(handler=_demo)

    run = sub.add_parser("run", help="run the DAG locally (dag.test) for a date or a range of dates")
    run.add_argument("--date", type=date.fromisoformat, required=True, help="logical date (covers mentions up to it)")
    run.add_argument("--until", type=date.fromisoformat, help="run every day from --date to this one")
    _paths(run)
    run.set_defaults(handler=_run)

    backfill = sub.add_parser(
        "backfill", help="run the DAG for every day of a past range; alerts are stored but not emailed unless asked",
    )
    backfill.add_argument("--start", type=date.fromisoformat, required=True, help="first logical date")
    backfill.add_argument("--end", type=date.fromisoformat, required=True, help="last logical date")
    backfill.add_argument("--send-alerts", action="store_true", help="email the alerts the backfill finds, too")
    _paths(backfill)
    backfill.set_defaults(handler=_backfill)

    sql = sub.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query", help="one SQL statement; tables: mentions, mention_nlp, mention_refs, daily_signals, ...")
    sql.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    sql.add_argument("--output", type=Path, default=None, help="file to write (required for --format parquet)")
    sql.add_argument("--param", action="append", default=[], help="a value for a ? placeholder, in order")
    sql.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: $ZMOT_WAREHOUSE or data/zmot.duckdb)")
    sql.set_defaults(handler=_sql)

    shell = sub.add_parser("shell", help="an interactive read-only SQL prompt on the warehouse (a script on stdin works too)")
    shell.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: $ZMOT_WAREHOUSE or data/zmot.duckdb)")
    shell.set_defaults(handler=_shell)

    migrate = sub.add_parser(
        "migrate", help="bring a warehouse to the current layout and schema (the first run does it too) and publish it",
    )
    migrate.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: $ZMOT_WAREHOUSE or data/zmot.duckdb)")
    migrate.set_defaults(handler=_migrate)

    report = sub.add_parser("report", help="write a self-contained HTML report about one brand")
    report.add_argument("--brand", required=True, help="a brand from brands.yaml")
    report.add_argument("--days", type=int, default=30, help="how many days, ending on the latest day with data (default 30)")
    report.add_argument("--end", type=date.fromisoformat, default=None, help="last day of the period (default: latest)")
    report.add_argument("--output", type=Path, default=None, help="file to write (default: report-<brand>-<end>.html)")
    report.add_argument("--warehouse", type=Path, default=None)
    report.set_defaults(handler=_report)

    digest = sub.add_parser(
        "digest", help="a brand's daily or weekly digest: moments of truth, top stories, alerts, what changed, new names",
        description="Writes Markdown (or HTML, for a .html --out) and, with --send, emails it to the alert recipients "
                    "once per brand and period (a second --send for the same period sends nothing).",
    )
    digest.add_argument("--period", choices=["day", "week"], required=True, help="the day, or the ISO week (Monday to Sunday)")
    digest.add_argument("--date", type=date.fromisoformat, default=None,
                        help="a day in the period (default: the latest day with data)")
    digest.add_argument("--brand", default=None, help="a brand from brands.yaml (default: every brand)")
    digest.add_argument("--out", type=Path, default=None,
                        help="file to write: .html for HTML, else Markdown; with several brands each gets its own "
                             "file, the brand's name before the suffix (default: Markdown on standard output)")
    digest.add_argument("--send", action="store_true", help="also email it (SMTP from alerts.yaml, else the outbox)")
    _paths(digest)
    digest.set_defaults(handler=_digest)

    export = sub.add_parser("export", help="write every table to Parquet, partitioned by UTC day, for BI tools")
    export.add_argument("--out", type=Path, required=True, help="folder to write (replaced table by table)")
    export.add_argument("--warehouse", type=Path, default=None)
    export.set_defaults(handler=_export)

    sentiment = sub.add_parser("sentiment", help="one text per line in, one JSON object per line out")
    sentiment.add_argument("file", nargs="?", type=Path, help="input file (default: standard input)")
    sentiment.add_argument("--jsonl", action="store_true", help=JSONL_HELP)
    sentiment.set_defaults(handler=_sentiment)

    moments = sub.add_parser(
        "moments", help="one text per line in; one JSON object per line out: moment, stage, confidence, evidence",
        description="Moments of truth: zmot (researching), lzmot (leaving or warning others), umot (advocacy), none.",
    )
    moments.add_argument("file", nargs="?", type=Path, help="input file (default: standard input)")
    moments.add_argument("--target", default=None, help="judge each text relative to this brand or product")
    moments.add_argument("--jsonl", action="store_true", help=JSONL_HELP)
    moments.set_defaults(handler=_moments)

    spikes = sub.add_parser(
        "spikes", help="CSV timestamp,value in; the alerts the detector would have raised out (JSON lines)",
        description="Judges each point only on the points before it, as in production. Any granularity.",
    )
    spikes.add_argument("file", nargs="?", type=Path, help="CSV with a header timestamp,value (default: standard input)")
    spikes.add_argument("--min-volume", type=float, default=None, help="no alert below this value")
    spikes.add_argument("--threshold", type=float, default=None, help="severity a burst needs (higher = fewer alerts)")
    spikes.add_argument("--rise-threshold", type=float, default=None, help="severity a rise over the long horizon needs")
    spikes.set_defaults(handler=_spikes)

    serve = sub.add_parser(
        "serve", help="the analysts' dashboard over the warehouse (loopback by default)",
        description="Pages: overview, mentions (filters, search, CSV), one mention (with its corrections), alerts, "
                    "runs and rejects. Binding beyond loopback needs $ZMOT_SERVE_TOKEN, or $ZMOT_SERVE_USER and "
                    "$ZMOT_SERVE_PASSWORD for basic auth.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $ZMOT_DATA_DIR or ./data)")
    serve.set_defaults(handler=_serve)

    label = sub.add_parser(
        "label", help="correct one mention's moment or sentiment toward a brand, or mark it a false match or a duplicate",
        description="Records an analyst's correction (append-only; the latest per mention, brand and field wins) and "
                    "recomputes that day's daily_signals, which the views, the report and spike detection read.",
    )
    label.add_argument("mention_id", metavar="MENTION_ID", help="the mention's id (mentions.mention_id)")
    label.add_argument("--brand", required=True, help="the brand the correction is about; the mention must reference it")
    what = label.add_mutually_exclusive_group(required=True)
    what.add_argument("--moment", metavar="M", help="the moment of truth toward the brand: zmot, lzmot, umot or none")
    what.add_argument("--sentiment", metavar="S", help="the sentiment toward the brand: negative, neutral or positive")
    what.add_argument("--not-about", action="store_true", help="the mention is not about this brand (a false match)")
    what.add_argument("--duplicate-of", metavar="ID", help="the mention repeats mention ID: count it once, as ID")
    label.add_argument("--note", default=None, help="why; kept with the correction")
    label.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $ZMOT_DATA_DIR or ./data)")
    label.set_defaults(handler=_label)

    labels = sub.add_parser("labels", help="the analysts' corrections: `zmot labels export`")
    labels_sub = labels.add_subparsers(required=True, metavar="ACTION")
    export_labels = labels_sub.add_parser(
        "export", help="write the corrections in force as JSON lines training rows for the NLP models",
        description="One JSON object per line: mention_id, target (the brand), field (moment, sentiment, not_about, "
                    "duplicate_of), value, text, source_kind, model_version (what the pipeline had judged with), "
                    "corrected_at, corrected_by.",
    )
    export_labels.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    export_labels.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $ZMOT_DATA_DIR or ./data)")
    export_labels.set_defaults(handler=_labels_export)

    retag = sub.add_parser(
        "retag", help="apply tags.yaml's current rules to every stored mention and recompute daily_tag_signals",
    )
    retag.add_argument("--config", type=Path, default=None, help="config directory (default: $ZMOT_CONFIG_DIR or ./config)")
    retag.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $ZMOT_DATA_DIR or ./data)")
    retag.set_defaults(handler=_retag)

    check = sub.add_parser("check-config", help="validate a config directory and say what it watches")
    check.add_argument("--config", type=Path, default=None)
    check.set_defaults(handler=_check_config)
    return parser


def _paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="config directory (default: $ZMOT_CONFIG_DIR or ./config)")
    parser.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $ZMOT_DATA_DIR or ./data)")
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: DATA_DIR/zmot.duckdb)")


def _demo(args: argparse.Namespace) -> int:
    from zmot.airflow_env import airflow_environment, run_dag_locally
    from zmot.analyst import EXAMPLE_QUERY, print_summary
    from zmot.config import load_config

    config_dir = args.config.resolve()
    load_config(config_dir)  # fail fast with a clear message
    data_dir = args.data_dir.resolve()
    warehouse = data_dir / WAREHOUSE_FILE
    _reset_demo_data(data_dir, warehouse)
    dates = _date_range(args.start, args.end)
    print(f"ZMOT Monitor demo: config {config_dir}\n  {len(dates)} daily runs of the real Airflow DAG, "
          f"{dates[0]} .. {dates[-1]} (the first run backfills the sample history)", flush=True)
    env = airflow_environment(data_dir / "airflow", config_dir=config_dir, data_dir=data_dir, warehouse=warehouse)
    env.pop("ZMOT_SMTP_HOST", None)  # the demo is offline: its emails go to the outbox
    with _demo_reddit(config_dir, env):
        run_dag_locally(dates, env)
    print_summary(warehouse, sys.stdout)
    emails = sorted((data_dir / "outbox").glob("*.eml"))
    from warehouse.publish import published_name

    print(f"\nWarehouse: {published_name(warehouse)}")
    print(f"Alert emails: {len(emails)} in {data_dir / 'outbox'}" + "".join(f"\n  {e}" for e in emails))
    command = sys.argv[0] if sys.argv and sys.argv[0].endswith("zmot") else "zmot"
    print(f"Try:\n  {command} sql --warehouse {warehouse} \"{EXAMPLE_QUERY}\"")
    print(f"Open the dashboard on this warehouse (then http://127.0.0.1:8765/):\n  {command} serve --data-dir {data_dir}")
    return 0


@contextmanager
def _demo_reddit(config_dir: Path, env: dict[str, str]) -> Iterator[None]:
    """Serve the sample's recorded Reddit responses on loopback and point the Reddit connector at them."""
    cassettes = sorted((config_dir / "reddit").glob("*.cassette.json"))
    if not cassettes:
        yield
        return
    from connectors import reddit
    from connectors.replay import ReplayServer

    with ReplayServer() as replay:
        replay.add_cassettes(cassettes)
        env.update({
            reddit.ENV_OAUTH_URL: replay.url, reddit.ENV_REDDIT_URL: replay.url,
            reddit.ENV_CLIENT_ID: "zmot-demo", reddit.ENV_CLIENT_SECRET: "zmot-demo-not-a-secret",
            reddit.ENV_USER_AGENT: "python:zmot-monitor-demo:0.1 (offline replay)",
        })
        print(f"  Reddit: replaying {len(cassettes)} recorded cassette(s) on {replay.url}", flush=True)
        yield


def _reset_demo_data(data_dir: Path, warehouse: Path) -> None:
    """Start the demo from nothing, but never delete a warehouse the demo did not create."""
    from warehouse.publish import writer_file

    marker = data_dir / DEMO_MARKER
    files = [warehouse, writer_file(warehouse)]
    if any(f.exists() for f in files) and not marker.exists():
        raise RuntimeError(f"{warehouse} exists and was not made by the demo; pass --data-dir to use another folder")
    for path in files:
        for each in (path, path.with_name(path.name + ".wal")):
            each.unlink(missing_ok=True)
    for folder in ("staging", "airflow"):
        shutil.rmtree(data_dir / folder, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("This folder was written by `zmot demo`; it may be deleted.\n", encoding="utf-8")


def _run(args: argparse.Namespace) -> int:
    return _run_range(args, _date_range(args.date, args.until or args.date), send_alerts=True)


def _backfill(args: argparse.Namespace) -> int:
    return _run_range(args, _date_range(args.start, args.end), send_alerts=args.send_alerts)


def _run_range(args: argparse.Namespace, dates: list[date], *, send_alerts: bool) -> int:
    from zmot.airflow_env import airflow_environment, run_dag_locally
    from zmot.config import load_config

    config_dir = (args.config or default_config_dir()).resolve()
    load_config(config_dir)
    data_dir = (args.data_dir or default_data_dir()).resolve()
    warehouse = (args.warehouse or default_warehouse(data_dir)).resolve()
    env = airflow_environment(data_dir / "airflow", config_dir=config_dir, data_dir=data_dir, warehouse=warehouse)
    run_dag_locally(dates, env, send_alerts=send_alerts)
    print(f"warehouse: {warehouse}{'' if send_alerts else ' (alerts stored, not emailed)'}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    from zmot.analyst import query_to_parquet, run_query
    from zmot.tabular import write_rows

    warehouse = args.warehouse or default_warehouse()
    if args.format == "parquet":
        if args.output is None:
            raise ValueError("--format parquet writes a file: add --output FILE.parquet")
        count = query_to_parquet(warehouse, args.query, args.param, args.output)
        print(f"{count} rows written to {args.output}", file=sys.stderr)
        return 0
    columns, rows = run_query(warehouse, args.query, args.param)
    if args.output:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write_rows(out, columns, rows, args.format)
    else:
        write_rows(sys.stdout, columns, rows, args.format)
    return 0


def _shell(args: argparse.Namespace) -> int:
    from zmot.shell import run_shell

    return run_shell(args.warehouse or default_warehouse(), sys.stdin, sys.stdout, sys.stderr)


def _migrate(args: argparse.Namespace) -> int:
    from warehouse.db import schema_version
    from warehouse.engine_upgrade import convert_too_new
    from warehouse.publish import adopt_single_file, has_warehouse, published_name, writer, writer_file

    published = (args.warehouse or default_warehouse()).resolve()
    if not has_warehouse(published):
        raise ValueError(f"{published}: no warehouse here to migrate")
    for converted in convert_too_new([writer_file(published), published]):
        print(f"converted {converted} from DuckDB 2.0.1's format (the original is kept beside it)")
    adopted = adopt_single_file(published)
    with writer(published) as con:
        version = schema_version(con)
    print(f"{'adopted ' + str(published) + ' as the writer file; ' if adopted else ''}"
          f"writer file {writer_file(published)} at schema version {version}; published {published_name(published)}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from zmot.report import write_report

    if args.days < 1:
        raise ValueError("--days must be at least 1")
    slug = "".join(c if c.isalnum() else "-" for c in args.brand.lower()).strip("-")
    out = args.output or Path(f"report-{slug}-{args.end or 'latest'}.html")
    written = write_report(args.warehouse or default_warehouse(), args.brand, args.days, out, end=args.end)
    print(f"wrote {written} ({written.stat().st_size:,} bytes); open it in any browser, it needs no network")
    return 0


def _digest(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from warehouse.publish import open_published, writer
    from zmot.config import load_config
    from zmot.digest import DigestPeriod, gather_digest, render_markdown, send_digest_once, write_digest

    data_dir = (args.data_dir or default_data_dir()).resolve()
    warehouse = args.warehouse or default_warehouse(data_dir)
    alerts = load_config(args.config or default_config_dir()).alerts if args.send else None
    con = open_published(warehouse)
    try:
        brands = [args.brand] if args.brand else [r[0] for r in con.execute("SELECT brand FROM brands ORDER BY 1").fetchall()]
        day = args.date or con.execute("SELECT max(day) FROM daily_signals").fetchall()[0][0]
        if day is None:
            raise ValueError(f"{warehouse}: no daily signals yet; run the pipeline first")
        period = DigestPeriod.containing(args.period, day)
        digests = [gather_digest(con, brand, period) for brand in brands]
    finally:
        con.close()
    for digest in digests:
        if args.out is None and not args.send:
            sys.stdout.write(render_markdown(digest))
        elif args.out is not None:
            slug = "".join(c if c.isalnum() else "-" for c in digest.brand.lower()).strip("-")
            out = args.out if len(digests) == 1 else args.out.with_name(f"{args.out.stem}-{slug}{args.out.suffix}")
            print(f"wrote {write_digest(digest, out)}", file=sys.stderr)
    if alerts is not None:
        with writer(warehouse) as wcon:
            for digest in digests:
                where = send_digest_once(wcon, digest, alerts, data_dir=data_dir, now=datetime.now(timezone.utc))
                print(f"{digest.brand} {period.key}: " + (f"sent ({where})" if where else "already sent, not sent again"),
                      file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from warehouse.export import export_parquet
    from warehouse.publish import open_published

    con = open_published(args.warehouse or default_warehouse())
    try:
        written = export_parquet(con, args.out)
    finally:
        con.close()
    for table, (target, count) in written.items():
        print(f"{table:14} {count:>9} rows -> {target}")
    return 0


def _sentiment(args: argparse.Namespace) -> int:
    from nlp.line_sentiment import sentiment_lines

    return _judge_lines(args, lambda texts, targets: sentiment_lines(texts, targets))


def _moments(args: argparse.Namespace) -> int:
    from nlp.moments import classify

    def judged(texts: list[str], targets: list[str | None]) -> Iterator[dict[str, Any]]:
        for result in classify(texts, targets):
            yield {"moment": result.moment, "stage": result.stage, "confidence": result.confidence,
                   "evidence": list(result.evidence)}

    return _judge_lines(args, judged)


def _judge_lines(args: argparse.Namespace, judge: Callable[[list[str], list[str | None]], Iterable[dict[str, Any]]]) -> int:
    """Plain lines or JSON lines in, one JSON object out per input line, in order; a bad JSON line gets an
    `error` object in its place (and a message on stderr naming its line), and the exit code says so."""
    from itertools import islice

    errors = 0
    with _input_lines(args.file) as lines:
        numbered = enumerate(lines, start=1)
        while batch := list(islice(numbered, 512)):
            items = [_jsonl_item(n, line) if args.jsonl else (line, getattr(args, "target", None)) for n, line in batch]
            good = [i for i, item in enumerate(items) if not isinstance(item, str)]
            results = iter(judge([items[i][0] for i in good], [items[i][1] for i in good]))
            for (number, _), item in zip(batch, items):
                if isinstance(item, str):
                    errors += 1
                    print(f"line {number}: {item}", file=sys.stderr)
                    record = {"error": item, "line": number}
                else:
                    record = next(results)
                    if args.jsonl:
                        record["target"] = item[1]
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    if errors:
        print(f"{errors} line(s) could not be read; their output lines carry an error", file=sys.stderr)
    return 1 if errors else 0


def _jsonl_item(number: int, line: str) -> tuple[str, str | None] | str:
    """(text, target) from one JSON line, or what is wrong with it."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        return f"not a JSON object ({exc})"
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return 'expected a JSON object with a "text" string, e.g. {"text": "Is the Nova worth it?", "target": "Nova"}'
    target = value.get("target")
    if target is not None and not isinstance(target, str):
        return '"target" must be a string (the brand or product to judge toward) or absent'
    return value["text"], target or None


def _spikes(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from warehouse.spikes import DetectorRules, spikes_from_csv

    names = ("min_volume", "threshold", "rise_threshold")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    try:
        rules = DetectorRules(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValueError(f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg'].lower()}") from None
    with _input_lines(args.file) as lines:
        for alert in spikes_from_csv(lines, rules):
            sys.stdout.write(json.dumps(alert, ensure_ascii=False) + "\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from zmot.workbench.app import serve

    serve(default_warehouse(args.data_dir).resolve(), args.host, args.port)
    return 0


def _label(args: argparse.Namespace) -> int:
    from warehouse.corrections import Correction, check_value, record_correction
    from zmot.access import analyst_name, writing

    if args.moment:
        field, value = "moment", args.moment
    elif args.sentiment:
        field, value = "sentiment", args.sentiment
    elif args.not_about:
        field, value = "not_about", "true"
    else:
        field, value = "duplicate_of", args.duplicate_of
    check_value(field, value)  # before waiting for the writer lock
    correction = Correction(args.mention_id, args.brand, field, value, args.note)
    with writing(default_warehouse(args.data_dir), say_waiting=True) as con:
        done = record_correction(con, correction, analyst_name())
    print(f"{args.mention_id} / {done.brand}: {field} {done.old_value or '(none)'} -> {value}; "
          f"daily_signals of {done.day} recomputed")
    return 0


def _labels_export(args: argparse.Namespace) -> int:
    from warehouse.corrections import training_rows
    from zmot.access import reading

    with reading(default_warehouse(args.data_dir)) as con:
        rows = list(training_rows(con))
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out:
        args.out.write_text(lines, encoding="utf-8")
        print(f"{len(rows)} training rows written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


def _retag(args: argparse.Namespace) -> int:
    from warehouse.tags import retag
    from zmot.access import writing
    from zmot.config import load_config

    rules = load_config((args.config or default_config_dir()).resolve()).tags.rules

    def progress(read: int, total: int, tags: int) -> None:
        print(f"retag: {read:,} of {total:,} mentions read ({read / max(total, 1):.0%}), {tags:,} tags", file=sys.stderr, flush=True)

    with writing(default_warehouse(args.data_dir), say_waiting=True) as con:
        done = retag(con, rules, progress)
    print(f"retagged {done.mentions:,} mentions with {len(rules)} rules ({', '.join(rules) or 'none'}): "
          f"{done.added:,} tags added, {done.removed:,} removed, {done.kept:,} kept; "
          f"daily_tag_signals of {done.days:,} days recomputed")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from connectors.kinds import KINDS
    from zmot.config import load_config, missing_local_files

    cfg = load_config((args.config or default_config_dir()).resolve())
    missing = missing_local_files(cfg)
    if missing:
        raise ConfigError("\n".join(missing))
    print(f"{cfg.directory}: OK")
    for brand in cfg.brands.brands:
        print(f"  brand {brand.name}: {len(brand.terms)} names, {len(brand.products)} products, "
              f"{len(brand.exclusions)} exclusions" + (f", query {brand.query}" if brand.query else ""))
    print(f"  source kinds: {', '.join(KINDS)}")
    for source in cfg.sources.sources:
        print(f"  source {source.name} ({source.kind}{'' if source.enabled else ', disabled'}): {source.describe()}")
    print(f"  alerts to {', '.join(cfg.alerts.recipients) or 'nobody yet'} via "
          f"{'SMTP ' + cfg.alerts.smtp.host if cfg.alerts.smtp else 'outbox ' + cfg.alerts.outbox_dir}")
    for tag, query in cfg.tags.rules.items():
        print(f"  tag {tag}: {query}")
    return 0


@contextmanager
def _input_lines(path: Path | None) -> Iterator[Iterator[str]]:
    """Lines of the named file or of standard input, without their line endings, decoded leniently."""
    stream: TextIO
    if path is None:
        stream = sys.stdin
        stream.reconfigure(errors="replace")  # type: ignore[union-attr]
        yield (line.rstrip("\r\n") for line in stream)
    else:
        with path.open(encoding="utf-8", errors="replace") as stream:
            yield (line.rstrip("\r\n") for line in stream)


def _date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"the end date {end} is before the start date {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


if __name__ == "__main__":
    sys.exit(main())

"""`zmot serve` page latency: p50/p95 of each page on the demo warehouse and on a large generated one.

Each page is fetched over loopback HTTP from a real uvicorn server, `--repeats` times (the first one
cold: a new read-only connection per request, as in production). The baseline, measured in the same
run, is the server's static stylesheet: what a request costs without the warehouse. Target (issue 17):
every page within 1 s at 10 M mentions.

    python bench/dashboard.py [--mentions 10000000] [--repeats 7] [--demo-data DIR] [--large FILE] [--keep DIR]
                              [--time-correction]

--demo-data reuses a `zmot demo` folder (else the demo runs first, about a minute); --large reuses a
warehouse bench/scale.py built (`--keep`), else one is generated with bench/scale.py's generator
(about 2 GB of temporary disk at 10 M). --time-correction also records one correction in the large
warehouse (it changes that file) and prints how long `zmot label` took: re-judging the mention and
recomputing its day's signals, in one transaction.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx
import uvicorn

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench.scale import build  # noqa: E402
from warehouse.clusters import number_stored_clusters  # noqa: E402
from warehouse.corrections import Correction, record_correction  # noqa: E402
from warehouse.db import transaction  # noqa: E402
from zmot.access import writing  # noqa: E402
from zmot.workbench.app import create_app  # noqa: E402

BASELINE = "/static/app.css"


def pages(warehouse: Path) -> dict[str, str]:
    """The pages to time, with a real mention id and the brand and day of the biggest alert of this warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        brand, day = con.execute(
            "SELECT brand, day FROM daily_signals WHERE product = '*' AND source_kind = '*' "
            "ORDER BY negative DESC, day DESC, brand LIMIT 1"  # ties (--replicate's copies): the latest, every run the same
        ).fetchall()[0]
        mention_id = con.execute("SELECT mention_id FROM mention_targets WHERE brand = ? AND published_day = ? LIMIT 1",
                                 [brand, day]).fetchall()[0][0]
    finally:
        con.close()
    b = quote(brand)
    return {
        "baseline (static CSS)": BASELINE,
        "overview": "/",
        "mentions, no filter": "/mentions",
        "mentions, brand + negative": f"/mentions?brand={b}&sentiment=negative",
        "mentions, brand + one day": f"/mentions?brand={b}&day_from={day}&day_to={day}",
        "mentions, page 20": f"/mentions?brand={b}&page=20",
        "mentions, text search": f"/mentions?brand={b}&q=refund",
        "mentions, text search, 1 year": f"/mentions?brand={b}&q=refund&day_from={day - timedelta(days=364)}&day_to={day}",
        "mentions, CSV of one day": f"/mentions?brand={b}&day_from={day}&day_to={day}&format=csv",
        "mentions, every copy": "/mentions?copies=all",
        "one mention (list link, day)": f"/mentions/{quote(mention_id, safe=':')}?day={day}",
        "one mention, bare id": f"/mentions/{quote(mention_id, safe=':')}",
        "alerts": "/alerts",
        "moments, 30 days": f"/moments?brand={b}",
        "share of voice, 30 days": f"/voice?brand={b}",
        "runs and rejects": "/runs",
    }


def measure(warehouse: Path, repeats: int) -> dict[str, tuple[float, float]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(warehouse), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    figures = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for name, path in pages(warehouse).items():
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append(time.perf_counter() - started)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {answer.status_code}: {answer.text[:200]}")
                figures[name] = (statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[18])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return figures


# What `--replicate` copies, and the columns it shifts (mention_lsh only serves a load's clustering: left out).
REPLICATED = ("mentions", "mention_nlp", "mention_refs", "mention_targets", "mention_clusters", "mention_tags",
              "daily_signals", "daily_tag_signals")
SHIFTED = {"mention_id": "{c} || '~{k}'", "cluster_id": "{c} || '~{k}'", "published_at": "{c} + INTERVAL {d} DAY",
           "published_day": "{c} + {d}", "day": "{c} + {d}", "cluster_no": "NULL"}  # a copy's cluster number: of its new id


def replicate(warehouse: Path, times: int) -> None:
    """Make the warehouse `times` as large by appending copies of what it holds, each later by its span of days.

    The loader builds 1 M mentions in 2-13 minutes (clustering, on a busy machine); copies shifted in time give
    the pages the same row counts, days and physical day order as a loader-built 10 M warehouse in a minute."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("SET enable_progress_bar = false")
        first, last = con.execute("SELECT min(day), max(day) FROM daily_signals").fetchall()[0]
        span = (last - first).days + 1
        for k in range(1, times):
            con.execute("BEGIN")
            for table in REPLICATED:
                columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
                shifted = [f"{SHIFTED[c].format(c=c, k=k, d=k * span)} AS {c}" for c in columns if c in SHIFTED]
                original = "NOT contains(mention_id, '~')" if "mention_id" in columns else f"day <= DATE '{last}'"
                con.execute(f"INSERT INTO {table} SELECT * REPLACE ({', '.join(shifted)}) FROM {table} WHERE {original}")
            con.execute("COMMIT")
            print(f"  copy {k}: days {first + timedelta(days=k * span)} .. {last + timedelta(days=k * span)}", flush=True)
        with transaction(con):
            number_stored_clusters(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def correction_seconds(warehouse: Path) -> float:
    """One moment correction on a mention of the busiest day, as `zmot label` records it (opening excluded)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        mention_id, brand = con.execute(
            "SELECT mention_id, brand FROM mention_targets WHERE product = '*' AND moment <> 'lzmot' AND published_day = "
            "(SELECT day FROM daily_signals WHERE product = '*' AND source_kind = '*' ORDER BY mentions DESC LIMIT 1) LIMIT 1"
        ).fetchall()[0]
    finally:
        con.close()
    with writing(warehouse) as con:
        started = time.perf_counter()
        record_correction(con, Correction(mention_id, brand, "moment", "lzmot", "bench"), "bench")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--demo-data", type=Path, default=None)
    parser.add_argument("--large", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="build the large warehouse here and keep it")
    parser.add_argument("--time-correction", action="store_true", help="record one correction in the large warehouse")
    parser.add_argument("--replicate", type=int, default=1, metavar="N",
                        help="make the large warehouse N times as large by copies shifted in time (it changes that file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zmot-bench-dashboard-"))
    try:
        demo = args.demo_data
        if demo is None:
            from zmot.cli import main as zmot

            demo = work / "demo"
            print("running zmot demo ...", flush=True)
            zmot(["demo", "--data-dir", str(demo)])
        results = {"demo": measure(demo / "zmot.duckdb", args.repeats)}
        large = args.large
        if large is None and args.mentions:
            folder = args.keep or work / "large"
            folder.mkdir(parents=True, exist_ok=True)
            large = folder / "zmot.duckdb"
            print(f"generating {args.mentions:,} mentions into {large} ...", flush=True)
            build(large, work, args.mentions)
        if large is not None and args.replicate > 1:
            print(f"replicating {large} {args.replicate} times ...", flush=True)
            replicate(large, args.replicate)
        if large is not None:
            results[f"{args.mentions / 1e6:g} M" if args.large is None else "large"] = measure(large, args.repeats)
            if args.time_correction:
                print(f"one correction (zmot label) in {large}: {correction_seconds(large) * 1000:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    names = list(next(iter(results.values())))
    header = f"{'page':32}" + "".join(f"{label + ' p50':>14}{label + ' p95':>14}" for label in results)
    print(f"\nzmot serve, {args.repeats} requests per page (the first cold), milliseconds\n{header}")
    for name in names:
        print(f"{name:32}" + "".join(f"{r[name][0] * 1000:14.0f}{r[name][1] * 1000:14.0f}" for r in results.values()))


if __name__ == "__main__":
    main()

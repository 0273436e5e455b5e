"""Tag rules: how many mentions a second the sample rules tag, and what `zmot retag` costs on the demo.

The mentions are the demo warehouse's, cycled to `--mentions`. The baseline, measured in the same run,
is reading each mention's words (nlp.query_language.Document.of) without any rule: the part of the
work every rule shares. A hostile case adds the cost on a text of MAX_TEXT_CHARS filler words with a
wildcard NEAR rule. Then `retag` is timed on a copy of the demo warehouse (one transaction).

    python bench/tags.py [--demo-data DIR] [--mentions 50000]

--demo-data reuses a `zmot demo` folder (else the demo runs first, about a minute).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from nlp.query_language import MAX_TEXT_CHARS, Document, MentionFields, matches, parse  # noqa: E402
from warehouse.db import connect, sql_text  # noqa: E402
from warehouse.tags import compile_rules, retag, tags_of  # noqa: E402
from zmot.cli import main as zmot  # noqa: E402
from zmot.config import load_config  # noqa: E402

SAMPLE = PROJECT / "config" / "sample"


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-data", type=Path, default=None)
    parser.add_argument("--mentions", type=int, default=50_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zmot-bench-tags-"))
    try:
        demo = args.demo_data
        if demo is None:
            demo = scratch / "demo"
            assert zmot(["demo", "--data-dir", str(demo)]) == 0
        copy = scratch / "retag" / "zmot.duckdb"
        copy.parent.mkdir(parents=True)
        shutil.copy(demo / "zmot.duckdb", copy)
        con = connect(copy)
        con.execute("CREATE TEMP TABLE tag_scope AS SELECT mention_id FROM mentions")
        rows = [MentionFields(*r[2:]) for r in con.execute(sql_text("tag_subjects")).fetchall()]
        mentions = list(itertools.islice(itertools.cycle(rows), args.mentions))
        rules = compile_rules(load_config(SAMPLE).tags.rules)
        def read() -> None:
            for m in mentions:
                Document.of(m)

        def tag() -> None:
            for m in mentions:
                tags_of(rules, m)

        base = min(_timed(read) for _ in range(2))
        tagged = min(_timed(tag) for _ in range(2))
        print(f"{len(mentions):,} mentions ({len(rows):,} distinct from the demo), {len(rules)} sample rules")
        print(f"  baseline, reading the words only: {len(mentions) / base:>10,.0f} mentions/s")
        print(f"  reading and the {len(rules)} rules:        {len(mentions) / tagged:>10,.0f} mentions/s")
        huge = MentionFields(text="word " * (MAX_TEXT_CHARS // 5))
        near = parse("wo* NEAR/50 (word OR words) NEAR/50 wor*")
        hostile = _timed(lambda: matches(near, Document.of(huge)))
        huge_base = _timed(lambda: Document.of(huge))
        print(f"  a {MAX_TEXT_CHARS:,}-character text: {huge_base * 1000:.0f} ms to read, "
              f"{hostile * 1000:.0f} ms to read and match a wildcard NEAR rule")
        spent = _timed(lambda: retag(con, load_config(SAMPLE).tags.rules))
        total = con.execute("SELECT count(*) FROM mentions").fetchall()[0][0]
        con.close()
        print(f"  retag of the demo warehouse ({total:,} mentions, one transaction): {spent:.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

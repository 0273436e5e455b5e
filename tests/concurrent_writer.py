"""A writer in its own process for tests/test_concurrent_reads.py: stages N mentions, then loads them.

Marker files tell the test where the writer is: `<warehouse>.staged` once the files are ready and
the writer is about to open the warehouse, `<warehouse>.loaded` once the load committed and was published.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from connectors.records import Mention, SourceState
from warehouse.load import StagedRun, load_run
from warehouse.publish import writer
from zmot import staging

DAY = datetime(2026, 11, 10, tzinfo=timezone.utc)


def stage(folder: Path, run_key: str, count: int, first: int = 0) -> StagedRun:
    """`count` mentions of Acme over a week, with their NLP and one reference each."""
    mentions = [
        Mention("rss", "news", f"m{i}", f"https://n.example/{i}", "ana", None, f"Acme post {i}",
                DAY + timedelta(minutes=i % 10_080), DAY)
        for i in range(first, first + count)
    ]
    staging.write_mentions(staging.mentions_path(folder, "news"), mentions)
    label = ["negative", "neutral", "positive"]
    common = {"moment": "none", "stage": None, "moment_confidence": 0.5, "moment_evidence": []}
    staging.write_rows(staging.nlp_path(folder, "news"), [
        {"mention_id": m.mention_id, "language": "en", "language_score": 0.9, "sentiment_label": label[i % 3],
         "sentiment_score": (i % 3) - 1.0, "ref_count": 1, "model_version": "test", **common}
        for i, m in enumerate(mentions)], staging.NLP_SCHEMA)
    staging.write_rows(staging.refs_path(folder, "news"), [
        {"mention_id": m.mention_id, "ref_index": 0, "brand": "Acme", "product": None, "matched_text": "Acme",
         "start_char": 0, "end_char": 4, "sentiment_label": label[i % 3], "sentiment_score": (i % 3) - 1.0,
         "implicit": False, **common}
        for i, m in enumerate(mentions)], staging.REF_SCHEMA)
    state = SourceState("news", "rss", watermark=max(m.published_at for m in mentions))
    return StagedRun(run_key, DAY + timedelta(days=7), [staging.mentions_path(folder, "news")],
                     [staging.nlp_path(folder, "news")], [staging.refs_path(folder, "news")], [state], [], ["news"], [])


def main(warehouse: str, folder: str, count: str, first: str) -> None:
    path = Path(warehouse)
    staged = stage(Path(folder), "r2", int(count), int(first))
    Path(warehouse + ".staged").touch()
    with writer(path) as con:  # the writer's own file: readers of the published copy never hold it
        load_run(con, staged)
    Path(warehouse + ".loaded").touch()


if __name__ == "__main__":
    main(*sys.argv[1:])

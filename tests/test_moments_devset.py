"""The moments development set is well formed, and every row resolves to a real text."""

from __future__ import annotations

import csv
from collections import Counter

from nlp.moments import MOMENTS, STAGES
from tests.conftest import PROJECT, shared_data

DEVSET = PROJECT / "bench" / "data" / "moments_dev.csv"


def test_rows_use_known_labels_and_splits() -> None:
    with DEVSET.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 400
    assert {r["moment"] for r in rows} <= set(MOMENTS)
    assert {r["stage"] for r in rows} <= {*STAGES, ""}
    assert {r["split"] for r in rows} == {"dev", "holdout"} and {r["sample"] for r in rows} == {"random", "keyword"}
    assert all(r["stage"] for r in rows if r["moment"] != "none")
    assert len({(r["dataset"], r["file"], r["key"], r["target"]) for r in rows}) == len(rows)
    counts = Counter(r["moment"] for r in rows)
    assert min(counts[m] for m in ("zmot", "lzmot", "umot")) >= 20


def test_every_row_resolves_to_a_text_in_the_shared_data() -> None:
    shared_data("sanders-brand-sentiment")
    from bench.moments_eval import load_devset

    items = load_devset()
    assert len(items) >= 400 and all(item.text.strip() for item in items)

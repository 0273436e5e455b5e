"""Analysts' corrections: `zmot label` changes what every view, daily_signals and the report count, and loads never undo it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlp.moments import MOMENTS as MODEL_MOMENTS
from tests.test_warehouse import _mention, _stage
from tests.workbench_server import copy_warehouse
from tests.workbench_server import query as _query
from warehouse.corrections import MOMENTS
from warehouse.load import load_run
from warehouse.publish import adopt_single_file, writer, writer_file
from zmot.cli import main
from zmot.report import write_report

BRAND = "Acme Mobile"


def _signals(warehouse: Path, day) -> tuple:
    return _query(warehouse, "SELECT mentions, negative, lzmot, umot FROM daily_signals "
                             "WHERE brand = ? AND product = '*' AND source_kind = '*' AND day = ?", [BRAND, day])[0]


@pytest.fixture
def demo_copy(demo_warehouse: Path, tmp_path: Path) -> Path:
    return copy_warehouse(demo_warehouse, tmp_path / "data")


def _a_mention(warehouse: Path, moment: str, sentiment: str) -> tuple[str, object]:
    """A mention of the brand on the outage day whose judgement is (moment, sentiment)."""
    rows = _query(warehouse, "SELECT mention_id, published_day FROM mention_targets WHERE brand = ? AND product = '*' "
                             "AND published_day = '2026-11-11' AND moment = ? AND sentiment_label = ? ORDER BY mention_id LIMIT 1",
                  [BRAND, moment, sentiment])
    assert rows, f"the demo has no {moment}/{sentiment} mention of {BRAND} on 2026-11-11"
    return rows[0]


def test_the_moments_a_correction_accepts_are_the_models_moments() -> None:
    assert MOMENTS == MODEL_MOMENTS


def test_a_moment_correction_changes_daily_signals_the_views_and_the_report(demo_copy: Path, tmp_path: Path, capsys) -> None:
    mention_id, day = _a_mention(demo_copy, "none", "negative")
    before = _signals(demo_copy, day)
    report_before = write_report(demo_copy, BRAND, 30, tmp_path / "before.html").read_text(encoding="utf-8")

    assert main(["label", mention_id, "--brand", BRAND, "--moment", "lzmot", "--note", "a cancellation",
                 "--data-dir", str(demo_copy.parent)]) == 0
    assert "none -> lzmot" in capsys.readouterr().out

    mentions, negative, lzmot, umot = _signals(demo_copy, day)
    assert (mentions, negative, lzmot, umot) == (before[0], before[1], before[2] + 1, before[3])
    assert _query(demo_copy, "SELECT moment FROM v_brand_mentions WHERE mention_id = ? AND brand = ?",
                  [mention_id, BRAND]) == [("lzmot",)]
    report_after = write_report(demo_copy, BRAND, 30, tmp_path / "after.html").read_text(encoding="utf-8")
    lzmot_total = _query(demo_copy, "SELECT sum(lzmot) FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*' "
                                    "AND day > (SELECT max(day) FROM daily_signals WHERE brand = ?) - INTERVAL 30 DAY", [BRAND, BRAND])[0][0]
    assert f"<b>{lzmot_total:,}</b>LZMOT" in report_after
    assert f"<b>{lzmot_total - 1:,}</b>LZMOT" in report_before
    history = _query(demo_copy, "SELECT field, old_value, new_value, note FROM corrections WHERE mention_id = ?", [mention_id])
    assert history == [("moment", "none", "lzmot", "a cancellation")]


def test_not_about_and_duplicate_take_the_mention_out_of_the_brands_counts(demo_copy: Path) -> None:
    false_match, day = _a_mention(demo_copy, "none", "negative")
    original, _ = _a_mention(demo_copy, "lzmot", "negative")
    repeat = _query(demo_copy, "SELECT mention_id FROM mention_targets WHERE brand = ? AND product = '*' AND published_day = ? "
                               "AND moment = 'lzmot' AND sentiment_label = 'negative' AND mention_id <> ? ORDER BY mention_id LIMIT 1",
                    [BRAND, day, original])[0][0]
    before = _signals(demo_copy, day)
    data = ["--data-dir", str(demo_copy.parent)]
    assert main(["label", false_match, "--brand", BRAND, "--not-about", *data]) == 0
    assert main(["label", repeat, "--brand", BRAND, "--duplicate-of", original, *data]) == 0

    assert _signals(demo_copy, day) == (before[0] - 2, before[1] - 2, before[2] - 1, before[3])
    assert _query(demo_copy, "SELECT count(*) FROM v_target_mentions WHERE mention_id IN (?, ?) AND brand = ?",
                  [false_match, repeat, BRAND]) == [(0,)]
    brands = _query(demo_copy, "SELECT brands FROM v_mentions WHERE mention_id = ?", [false_match])[0][0]
    assert BRAND not in (brands or [])  # NULL: it names no brand any more


def test_the_latest_correction_wins(demo_copy: Path) -> None:
    mention_id, day = _a_mention(demo_copy, "none", "negative")
    data = ["--data-dir", str(demo_copy.parent)]
    for sentiment in ("positive", "neutral", "positive"):
        assert main(["label", mention_id, "--brand", BRAND, "--sentiment", sentiment, *data]) == 0
    assert _query(demo_copy, "SELECT sentiment_label, sentiment_score FROM mention_targets WHERE mention_id = ? AND product = '*'",
                  [mention_id]) == [("positive", None)]
    assert _query(demo_copy, "SELECT old_value, new_value FROM corrections WHERE mention_id = ? ORDER BY correction_id",
                  [mention_id]) == [("negative", "positive"), ("positive", "neutral"), ("neutral", "positive")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-id", "--brand", BRAND, "--moment", "lzmot"], "no mention with id 'no-such-id'"),
        (["{id}", "--brand", "Kettleworks", "--moment", "lzmot"], "does not reference brand 'Kettleworks'; it references: Acme Mobile"),
        (["{id}", "--brand", BRAND, "--moment", "angry"], "invalid moment 'angry'; expected one of: zmot, lzmot, umot, none"),
        (["{id}", "--brand", BRAND, "--sentiment", "furious"], "invalid sentiment 'furious'"),
        (["{id}", "--brand", BRAND, "--duplicate-of", "{id}"], "cannot be a duplicate of itself"),
        (["{id}", "--brand", BRAND, "--duplicate-of", "rss:nothing"], "--duplicate-of 'rss:nothing': no mention with that id"),
    ],
)
def test_a_correction_that_cannot_apply_is_refused_with_its_reason(demo_copy: Path, capsys, args: list[str], message: str) -> None:
    mention_id, _ = _a_mention(demo_copy, "none", "negative")
    signals = _query(demo_copy, "SELECT * FROM daily_signals ORDER BY ALL")
    argv = ["label", *[a.replace("{id}", mention_id) for a in args], "--data-dir", str(demo_copy.parent)]
    assert main(argv) == 1
    assert message in capsys.readouterr().err
    assert _query(demo_copy, "SELECT count(*) FROM corrections") == [(0,)]
    assert _query(demo_copy, "SELECT * FROM daily_signals ORDER BY ALL") == signals


def test_label_waits_for_a_load_holding_the_warehouse_and_says_so(demo_copy: Path, capsys) -> None:
    mention_id, day = _a_mention(demo_copy, "none", "negative")
    held = demo_copy.with_name("held")
    adopt_single_file(demo_copy)  # the writer's own file, which a load holds (readers hold only the published copy)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, pathlib, sys, time; con = duckdb.connect(sys.argv[1]); pathlib.Path(sys.argv[2]).touch(); "
        "time.sleep(2); con.close()"), str(writer_file(demo_copy)), str(held)])
    try:
        while not held.exists():
            time.sleep(0.05)
        assert main(["label", mention_id, "--brand", BRAND, "--moment", "umot", "--data-dir", str(demo_copy.parent)]) == 0
    finally:
        holder.wait(timeout=30)
    assert "waiting for the warehouse" in capsys.readouterr().err
    assert _query(demo_copy, "SELECT moment FROM mention_targets WHERE mention_id = ? AND product = '*'", [mention_id]) == [("umot",)]


def test_labels_export_writes_the_corrections_in_force_as_training_rows(demo_copy: Path, tmp_path: Path) -> None:
    mention_id, _ = _a_mention(demo_copy, "none", "negative")
    data = ["--data-dir", str(demo_copy.parent)]
    main(["label", mention_id, "--brand", BRAND, "--moment", "zmot", *data])
    main(["label", mention_id, "--brand", BRAND, "--moment", "lzmot", *data])
    main(["label", mention_id, "--brand", BRAND, "--sentiment", "neutral", *data])
    out = tmp_path / "labels.jsonl"
    assert main(["labels", "export", "--out", str(out), *data]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["mention_id"], r["target"], r["field"], r["value"]) for r in rows] == [
        (mention_id, BRAND, "moment", "lzmot"), (mention_id, BRAND, "sentiment", "neutral")]
    text = _query(demo_copy, "SELECT text FROM mentions WHERE mention_id = ?", [mention_id])[0][0]
    assert all(text in r["text"] and r["model_version"] for r in rows)


def test_reruns_and_edits_that_judge_a_mention_again_never_undo_its_correction(tmp_path: Path) -> None:
    warehouse = tmp_path / "zmot.duckdb"
    first = [_mention("a", "Acme is fine"), _mention("b", "Acme is great")]
    with writer(warehouse) as con:
        load_run(con, _stage(tmp_path, "r1", first, {"a": ("neutral", 0.0), "b": ("positive", 0.8)}))
    data = ["--data-dir", str(tmp_path)]
    a_id, b_id = first[0].mention_id, first[1].mention_id
    assert main(["label", a_id, "--brand", "Acme", "--sentiment", "negative", *data]) == 0
    assert main(["label", b_id, "--brand", "acme", "--not-about", *data]) == 0

    def counts() -> list[tuple]:
        return _query(warehouse, "SELECT mentions, negative, positive, neutral FROM daily_signals "
                                 "WHERE brand = 'Acme' AND product = '*' AND source_kind = '*'")

    assert counts() == [(1, 1, 0, 0)]

    def load(run_key: str, mentions: list, sentiment: dict) -> None:
        with writer(warehouse) as con:
            load_run(con, _stage(tmp_path, run_key, mentions, sentiment))

    load("r1", first, {"a": ("neutral", 0.0), "b": ("positive", 0.8)})  # a rerun
    assert counts() == [(1, 1, 0, 0)]
    # edits: new NLP (as a new model would give), references and targets judged again by the loader
    load("r2", [_mention("a", "Acme is fine, mostly"), _mention("b", "Acme is great, truly")],
         {"a": ("positive", 0.6), "b": ("positive", 0.9)})
    assert counts() == [(1, 1, 0, 0)]
    assert _query(warehouse, "SELECT sentiment_label FROM mention_targets WHERE mention_id = ?", [a_id]) == [("negative",)]

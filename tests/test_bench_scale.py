"""bench/scale.py generates staging files by SQL: they must be what the staged record types say, and load;
a small run measures a lake backend (issue 16) and leaves the environment as it found it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bench import scale
from warehouse.db import connect
from warehouse.load import load_run
from zmot import staging

pytestmark = pytest.mark.skipif(not scale.TWEETS.is_dir(), reason="needs ../shared/data's SemEval tweets")


def test_generated_staging_files_have_the_record_types_columns_and_load(tmp_path: Path) -> None:
    gen = duckdb.connect()
    staged = scale.stage_batch(gen, tmp_path / "staging", 0, 2_000, 10_000, scale.load_tweets(gen))
    files = {staging.MENTION_SCHEMA: staged.mention_files[0], staging.NLP_SCHEMA: staged.nlp_files[0],
             staging.REF_SCHEMA: staged.refs_files[0]}
    for schema, path in files.items():
        assert pq.read_schema(path).names == schema.names
    con = connect(tmp_path / "zmot.duckdb")
    summary = load_run(con, staged)
    assert summary.mentions_new == 2_000
    refs = con.execute("SELECT count(*) FROM mention_refs").fetchone()
    assert refs is not None and refs[0] == pq.read_metadata(staged.refs_files[0]).num_rows


def test_a_column_the_bench_does_not_fill_is_named() -> None:
    with pytest.raises(ValueError, match=r"missing \['mention_id'\].*not in the record \['mention'\]"):
        scale.staged_columns(staging.NLP_SCHEMA, {"mention": "1"} | {n: "1" for n in staging.NLP_SCHEMA.names[1:]})


def test_a_small_run_measures_the_lake_beside_the_loader(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scale.CATALOG_ENV, "sqlite:the-analysts-own.sqlite")
    monkeypatch.delenv(scale.DATA_PATH_ENV, raising=False)
    scale.main(["--mentions", "4000", "--batch", "2000", "--daily", "0", "--repeats", "1",
                "--backend", "lake-sqlite", "--keep", str(tmp_path)])
    printed = capsys.readouterr().out
    assert printed.count("lake-sqlite: publish of the") == 2
    assert "again with nothing changed" in printed and "(rewrote 0 tables)" in printed
    assert re.search(r"worst p95: lake-sqlite \d+ ms", printed)
    assert re.search(r"lake-sqlite: same query during the load and publish: p50 \d+ ms", printed)
    assert re.search(r"commit -> an open reader sees the new run \d+\.\d\d s", printed)
    assert "copy:" not in printed
    assert os.environ[scale.CATALOG_ENV] == "sqlite:the-analysts-own.sqlite" and scale.DATA_PATH_ENV not in os.environ
    assert (tmp_path / "lake-sqlite.sqlite").exists() and any((tmp_path / "lake-sqlite-files").rglob("*.parquet"))

"""The command contracts other tools rely on (DESIGN.md): sentiment, moments, spikes, sql."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from warehouse.db import connect
from zmot.cli import main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_sentiment_reads_a_file_and_writes_one_json_line_per_text(tmp_path: Path, capsys) -> None:
    source = tmp_path / "texts.txt"
    source.write_bytes("I love this phone\nworst support ever\nCaf\xe9 \xff broken bytes\n".encode("latin-1"))
    code, out, _ = _run(capsys, "sentiment", str(source))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert [item["label"] for item in lines[:2]] == ["positive", "negative"]
    assert all(item["label"] in {"negative", "neutral", "positive"} and -1 <= item["score"] <= 1 for item in lines)


def test_sentiment_and_moments_read_standard_input() -> None:
    zmot = [sys.executable, "-m", "zmot.cli"]
    out = subprocess.run([*zmot, "moments"], input="Is the Acme Nova worth it?\nnews at ten\n", capture_output=True, text=True, check=True).stdout
    moments = [json.loads(line)["moment"] for line in out.splitlines()]
    assert len(moments) == 2 and set(moments) <= {"zmot", "lzmot", "umot", "none"} and moments[1] == "none"
    out = subprocess.run([*zmot, "sentiment"], input="great\n", capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["label"] == "positive"


def test_moments_can_be_judged_against_a_target(tmp_path: Path, capsys) -> None:
    source = tmp_path / "t.txt"
    source.write_text("Cancelled Acme after three outages, switching to Orbit.\n")
    _, acme, _ = _run(capsys, "moments", str(source), "--target", "Acme")
    _, orbit, _ = _run(capsys, "moments", str(source), "--target", "Orbit")
    assert json.loads(acme)["moment"] == "lzmot" and json.loads(orbit)["moment"] != "lzmot"


@pytest.mark.parametrize("command", ["moments", "sentiment"])
def test_jsonl_input_is_judged_toward_its_target_and_bad_lines_keep_their_place(command: str, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([
        json.dumps({"text": "Cancelled Acme after three outages, switching to Orbit.", "target": "Acme"}),
        "{not json",
        json.dumps({"target": "Acme"}),
        json.dumps({"text": "Is the Acme Nova worth it?"}),
        json.dumps({"text": "fine", "target": 7}),
        json.dumps(["a list"]),
    ]) + "\n", encoding="utf-8")
    code, out, err = _run(capsys, command, "--jsonl", str(source))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 6  # one output line per input line, in order
    assert [line.get("line") for line in lines] == [None, 2, 3, None, 5, 6]
    assert all("error" in lines[i] for i in (1, 2, 4, 5)) and "error" not in lines[0] and "error" not in lines[3]
    assert lines[0]["target"] == "Acme" and lines[3]["target"] is None
    assert "line 2:" in err and "line 3:" in err and "line 5:" in err and "line 6:" in err
    if command == "moments":
        assert lines[0]["moment"] == "lzmot" and {"stage", "confidence", "evidence"} <= set(lines[0])
    else:
        assert lines[0]["label"] == "negative" and -1 <= lines[0]["score"] <= 1


def test_jsonl_judges_the_same_text_differently_toward_two_targets(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    text = "Cancelled Acme after three outages, switching to Orbit."
    source.write_text(json.dumps({"text": text, "target": "Acme"}) + "\n" + json.dumps({"text": text, "target": "Orbit"}) + "\n")
    code, out, _ = _run(capsys, "moments", "--jsonl", str(source))
    acme, orbit = (json.loads(line) for line in out.splitlines())
    assert code == 0 and acme["moment"] == "lzmot" and orbit["moment"] != "lzmot"


def test_spikes_reads_csv_and_reports_bad_input_clearly(tmp_path: Path, capsys) -> None:
    rows = ["timestamp,value"] + [f"2026-10-{d:02d},{3 if d < 29 else 40}" for d in range(1, 30)]
    source = tmp_path / "s.csv"
    source.write_text("\n".join(rows) + "\n")
    code, out, _ = _run(capsys, "spikes", str(source))
    [alert] = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and alert["timestamp"].startswith("2026-10-29") and alert["observed"] == 40
    source.write_text("timestamp,value\n2026-10-01,x\n")
    code, _, err = _run(capsys, "spikes", str(source))
    assert code == 1 and "line 2" in err


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.execute("INSERT INTO brands VALUES ('Acme', [], [], ['Orbit']), ('Orbit', [], [], [])")
    con.close()
    return path


def test_sql_answers_in_table_csv_and_json_with_bound_parameters(warehouse: Path, capsys) -> None:
    query = "SELECT brand, len(competitors) AS n FROM brands WHERE brand = ? ORDER BY brand"
    _, table, _ = _run(capsys, "sql", "--warehouse", str(warehouse), "--param", "Acme", query)
    assert table.splitlines()[0].split() == ["brand", "n"] and "Acme" in table
    _, csv_out, _ = _run(capsys, "sql", "--warehouse", str(warehouse), "--format", "csv", "--param", "Acme", query)
    assert csv_out == "brand,n\nAcme,1\n"
    _, json_out, _ = _run(capsys, "sql", "--warehouse", str(warehouse), "--format", "json", "--param", "x' OR '1'='1", query)
    assert json_out == ""  # the parameter is a value, never SQL


def test_sql_is_read_only_and_errors_are_clear(warehouse: Path, capsys) -> None:
    code, _, err = _run(capsys, "sql", "--warehouse", str(warehouse), "DELETE FROM brands")
    assert code == 1 and "read-only" in err.lower()
    code, _, err = _run(capsys, "sql", "--warehouse", str(warehouse), "SELEC nonsense")
    assert code == 1 and "syntax error" in err.lower() and "SELEC nonsense" in err
    code, _, err = _run(capsys, "sql", "--warehouse", str(warehouse.parent / "none.duckdb"), "SELECT 1")
    assert code == 1 and "no warehouse here yet" in err


def test_check_config_summarises_and_refuses_bad_config(tmp_path: Path, capsys) -> None:
    code, out, _ = _run(capsys, "check-config", "--config", str(PROJECT / "config" / "sample"))
    assert code == 0 and "brand Acme Mobile" in out and "source telecom-news (rss)" in out
    (tmp_path / "brands.yaml").write_text("brands: [{name: X, colour: red}]\n")
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    code, _, err = _run(capsys, "check-config", "--config", str(tmp_path))
    assert code == 2 and "brands[X].colour: unknown key" in err

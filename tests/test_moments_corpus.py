"""The labelled moments corpus is well formed, every reference resolves to a real text, and the model
trained on it is rebuilt by its own recipe."""

from __future__ import annotations

import csv
from collections import Counter

from nlp.moment_model import CLASSES
from nlp.moments_corpus import CORPUS, CORPUS_COLUMNS, PASS2, PASS2_COLUMNS, split_of
from nlp.train_moments import DEV_SET, load_examples
from tests.conftest import shared_data

SENTIMENTS = {"negative", "neutral", "positive"}


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_corpus_rows_are_references_with_known_labels() -> None:
    rows = _rows(CORPUS)
    assert list(rows[0]) == CORPUS_COLUMNS
    assert len(rows) >= 6000
    assert {r["moment"] for r in rows} <= set(CLASSES) and {r["first_moment"] for r in rows} <= set(CLASSES)
    assert {r["sentiment"] for r in rows} <= SENTIMENTS
    assert len({(r["dataset"], r["file"], r["key"], r["target"]) for r in rows}) == len(rows)
    assert sum(r["draw"] == "random" for r in rows) >= 2000  # real class priors
    assert {r["draw"].split(":")[0] for r in rows} <= {"random", "cue", "cue2", "cue3", "model4", "model5", "model6", "hardneg"}
    assert "text" not in rows[0]  # references only: the texts stay in ../shared/data


def test_the_second_pass_labels_a_thousand_corpus_rows() -> None:
    corpus = {(r["dataset"], r["file"], r["key"], r["target"]) for r in _rows(CORPUS)}
    second = _rows(PASS2)
    assert list(second[0]) == PASS2_COLUMNS and len(second) >= 1000
    assert all((r["dataset"], r["file"], r["key"], r["target"]) in corpus for r in second)


def test_every_labelled_row_resolves_to_its_text_and_a_fixed_split() -> None:
    shared_data("airline-customer-tweets")
    examples = load_examples()
    assert len(examples) >= len(_rows(CORPUS)) and len(examples) >= len(_rows(DEV_SET))  # every row found
    assert all(e.text.strip() for e in examples)
    splits = Counter(e.split for e in examples)
    assert splits["test"] > 0.1 * len(examples) and splits["dev"] > 0.1 * len(examples)
    assert all(split_of(e.text) == e.split for e in examples[:200])
    assert split_of("RT @a: Same words!") == split_of("same words")  # copies of one post share a split

"""Sentiment toward a target: the shipped model, its reading of the target's position, the pipeline's
references and the `zmot sentiment --jsonl` contract."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from nlp.catalog import Brand
from nlp.line_sentiment import sentiment_lines
from nlp.pipeline import analyse, build_pipeline
from nlp.target_sentiment import OTHER, TARGET, Item, item_for, load_target_scorer, read
from nlp.tweet_sentiment import load_tweet_scorer

CATALOG = [Brand(name="Acme Mobile", aliases=["Acme"], competitors=["Orbit"]), Brand(name="Orbit", competitors=["Acme Mobile"])]


def _toward(pairs: list[tuple[str, str | None]]) -> list[tuple[str, float]]:
    items = [item_for(text, target) for text, target in pairs]
    return load_target_scorer().score(items, load_tweet_scorer().probabilities([t for t, _ in pairs]))


def test_the_target_and_the_other_targets_are_masked_where_they_stand() -> None:
    text = "Switched from Orbit to Acme: acme rocks"
    tokens, at, absent = read(Item(text, 14, 19, ((23, 27), (29, 33))))
    assert not absent and tokens[at] == TARGET and tokens[:at] == ["switched", "from"]
    assert tokens.count(OTHER) == 2 and "orbit" not in tokens and "acme" not in tokens
    assert item_for(text, "acme").start == 23 and item_for(text, "ACME").others == ((29, 33),)
    assert read(item_for(text, "Nova"))[2]  # not named: absent, the whole text is read


def test_opposite_sentiment_toward_two_targets_in_one_text() -> None:
    text = "Acme is great, but Orbit is a total disaster"
    (acme_label, acme), (orbit_label, orbit) = _toward([(text, "Acme"), (text, "Orbit")])
    assert acme > orbit and acme_label == "positive" and orbit_label == "negative"


def test_switching_from_one_brand_to_another() -> None:
    text = "Finally switched from Orbit to Acme"
    (_, orbit), (_, acme) = _toward([(text, "Orbit"), (text, "Acme")])
    assert orbit < acme


def test_blank_huge_hostile_and_absent_targets_are_scored_without_error() -> None:
    pairs = [("", "Acme"), ("   ", "Acme"), ("Acme " * 50_000, "Acme"), ("no brand named here", "Acme"),
             ("C++ (the language) is [great]", "C++"), ("\x00\x07 Acme \u202eevil", "Acme"), ("Acme rocks", "(")]
    results = _toward(pairs)
    assert len(results) == len(pairs) and results[0] == ("neutral", 0.0) and results[1] == ("neutral", 0.0)
    assert all(label in {"negative", "neutral", "positive"} and -1 <= score <= 1 for label, score in results)
    assert results == _toward(pairs)  # deterministic


def test_batches_match_single_items() -> None:
    pairs = [("Acme is great, but Orbit is a total disaster", "Orbit"), ("love my Acme", "Acme"), ("meh", None)]
    batch = _toward(pairs)
    assert batch == [_toward([p])[0] for p in pairs]
    assert np.allclose([s for _, s in batch], [s for _, s in _toward(pairs)])


def test_a_one_brand_text_is_scored_toward_the_brand_not_copied_from_the_text() -> None:
    nlp = build_pipeline(CATALOG, base="blank")
    texts = ["Love the new camera and the screen is gorgeous, but Acme support is useless and rude",
             "Ich liebe Acme, der Empfang ist wirklich hervorragend und der Service ist schnell."]
    english, german = analyse(nlp, texts)
    [ref] = english.refs
    assert ref.sentiment_label == "negative" and ref.sentiment_score < english.sentiment_score
    assert german.sentiment_label == "unscored" and {r.sentiment_label for r in german.refs} == {"unscored"}


def test_two_brands_in_one_text_get_opposite_references() -> None:
    [result] = analyse(build_pipeline(CATALOG, base="blank"), ["Acme is great, but Orbit is a total disaster"])
    labels = {ref.brand: ref.sentiment_label for ref in result.refs}
    assert labels == {"Acme Mobile": "positive", "Orbit": "negative"}


def test_sentiment_lines_score_toward_the_target_and_keep_the_contract() -> None:
    text = "Acme is great, but Orbit is a total disaster"
    results = list(sentiment_lines([text, text, text, ""], [None, "Acme", "Orbit", "Acme"]))
    assert [set(r) for r in results] == [{"label", "score", "language", "model"}] * 4
    assert results[1]["label"] == "positive" and results[2]["label"] == "negative" and results[3]["label"] == "neutral"
    assert results[0]["model"] == load_tweet_scorer().name and results[1]["model"] == load_target_scorer().name


def test_the_jsonl_command_judges_each_line_toward_its_target() -> None:
    text = "Acme is great, but Orbit is a total disaster"
    lines = "".join(json.dumps({"text": text, "target": t}) + "\n" for t in ("Acme", "Orbit"))
    out = subprocess.run([sys.executable, "-m", "zmot.cli", "sentiment", "--jsonl"], input=lines, capture_output=True,
                         text=True, check=True).stdout
    acme, orbit = (json.loads(line) for line in out.splitlines())
    assert (acme["target"], acme["label"]) == ("Acme", "positive") and (orbit["target"], orbit["label"]) == ("Orbit", "negative")


def test_the_brand_a_customer_switches_to_is_never_scored_negative_by_the_story_they_leave() -> None:
    texts = ["Unbelievable. Acme down again. The card machine in our shop is dead because of it. Switching to Orbit.",
             "So that's my morning gone. Whole street has no Acme signal, the 2FA texts never came. Switching to Orbit."]
    for result in analyse(build_pipeline(CATALOG, base="blank"), texts):
        labels = {ref.brand: ref.sentiment_label for ref in result.refs}
        assert labels["Acme Mobile"] == "negative" and labels["Orbit"] != "negative", result.text
    [(orbit_label, _)] = _toward([("Orbit support was awful, so I'm switching to Acme", "Orbit")])
    assert orbit_label == "negative"  # the brand left behind keeps its sentiment

"""The spaCy pipeline: sentiment per mention and per reference, languages it cannot score, hostile text."""

from __future__ import annotations

import spacy

from nlp.catalog import Brand
from nlp.line_sentiment import sentiment_lines
from nlp.pipeline import analyse, build_pipeline

CATALOG = [Brand(name="Acme Mobile", aliases=["Acme"], competitors=["Orbit"]), Brand(name="Orbit", competitors=["Acme Mobile"])]


def _one(text: str):
    [result] = analyse(build_pipeline(CATALOG, base="blank"), [text])
    return result


def test_each_brand_gets_the_sentiment_of_what_is_said_about_it() -> None:
    result = _one("I switched from Orbit to Acme, Acme is so much better, Orbit was awful.")
    by_brand = {}
    for ref in result.refs:
        by_brand.setdefault(ref.brand, []).append(ref.sentiment_score)
    assert min(by_brand["Orbit"]) < 0 < max(by_brand["Acme Mobile"])
    assert {r.sentiment_label for r in result.refs if r.brand == "Orbit" and r.sentiment_score < 0} == {"negative"}


def test_a_single_brand_story_takes_the_whole_text_sentiment() -> None:
    result = _one("Acme Mobile down again. Missed a call from the school. Absolutely unacceptable.")
    assert result.sentiment_label == "negative"
    assert {r.sentiment_label for r in result.refs} == {"negative"}


def test_a_language_the_model_does_not_know_is_unscored_not_neutral() -> None:
    result = _one("Ich liebe Acme, der Empfang ist wirklich hervorragend und der Service ist schnell.")
    assert result.language == "de"
    assert result.sentiment_label == "unscored" and result.sentiment_score is None
    assert {r.sentiment_label for r in result.refs} == {"unscored"}


def test_moments_are_judged_per_brand() -> None:
    result = _one("Cancelled Acme after the third outage. Switching to Orbit.")
    moments = {ref.brand: moment.moment for ref, moment in zip(result.refs, result.ref_moments)}
    assert moments["Acme Mobile"] == "lzmot"
    assert moments["Orbit"] != "lzmot"


def test_hostile_text_does_not_break_the_pipeline() -> None:
    nlp = build_pipeline(CATALOG, base="blank")
    texts = [
        "", " ", "\x00\x01\x02 Acme \x7f", "Acme\u200b Mobile \u202eevil\u202c", "🔥🔥🔥 Acme 🔥", "مرحبا Acme שלום",
        "'; DROP TABLE mentions; -- Acme", "<script>alert('Acme')</script>", "Acme " * 200_000,
    ]
    results = list(analyse(nlp, texts))
    assert len(results) == len(texts)
    assert results[0].refs == [] and results[0].sentiment_label == "unscored"
    assert results[-1].refs and results[-1].sentiment_label in {"positive", "neutral", "negative", "unscored"}


def test_batches_give_the_same_result_as_one_by_one() -> None:
    nlp = build_pipeline(CATALOG, base="blank")
    texts = ["Acme is great", "Orbit is terrible", "Acme vs Orbit?", "nothing"] * 70
    batched = list(analyse(nlp, texts, batch_size=64))
    single = [next(analyse(nlp, [t])) for t in texts[:4]]
    assert batched[:4] == single


def test_the_pipeline_round_trips_through_disk(tmp_path) -> None:
    nlp = build_pipeline(CATALOG, base="blank")
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    text = "Acme is so much better than Orbit"
    assert next(analyse(loaded, [text])) == next(analyse(nlp, [text]))
    assert loaded.pipe_names == nlp.pipe_names


def test_zmot_sentiment_contract_scores_every_line() -> None:
    lines = ["I love it", "worst service ever", "", "the store opens at 9"]
    results = list(sentiment_lines(lines))
    assert [r["label"] for r in results] == ["positive", "negative", "neutral", "neutral"]
    assert all(-1 <= r["score"] <= 1 for r in results)

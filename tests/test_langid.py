"""The batched identifier gives py3langid's own answers on real and hostile text, batched or alone."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

from nlp.langid import CANDIDATES, MIN_LETTERS, UNDETERMINED, _probabilities, identify, identify_many
from tests.conftest import shared_data

ODD_TEXTS = [
    "",
    " ",
    "a",
    "😀🔥😀🔥😀🔥😀🔥😀🔥😀🔥😀🔥",
    "WORST AIRLINE EVER, CANCELLED MY FLIGHT AGAIN",
    "cafe\u0301 ame\u0301lie\u0301 re\u0301sume\u0301 na\u0308ive",  # combining accents, NFC composes them
    "lone \ud800 surrogate in an otherwise ordinary sentence",
    "nul\x00bytes\x00between\x00the\x00words\x00here",
    "ᚠᚢᚦᚨᚱᚲᚷᚹᚺᚾᛁᛃᛇᛈᛉᛊ",  # runes: letters, but maybe no feature of the model
    "Ceci est une phrase en français, évidemment écrite à Paris.",
    "Das ist ein deutscher Satz über Flüge und Verspätungen.",
    "これは日本語の文です。飛行機が遅れました。",
    "Это русский текст о задержке рейса.",
    "the quick brown fox " * 5_000,  # 100 kB
]


def _real_texts() -> list[str]:
    with open(shared_data("airline-customer-tweets") / "Tweets.csv", encoding="utf-8", newline="") as handle:
        airline = [row["text"] for row in csv.DictReader(handle)][:3000]
    with open(shared_data("sanders-brand-sentiment") / "full-corpus.csv", encoding="utf-8", newline="") as handle:
        sanders = [row["TweetText"] for row in csv.DictReader(handle)]  # its "irrelevant" tweets mix languages
    semeval = shared_data("semeval-twitter-sentiment-2013-2016") / "twitter-2013train-A.txt"
    tweets = [line.split("\t", 2)[2] for line in semeval.read_text(encoding="utf-8").splitlines()][:2000]
    return airline + sanders + tweets


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _real_texts() + ODD_TEXTS


def _py3langid(dtype) -> LanguageIdentifier:
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    identifier = LanguageIdentifier(
        np.asarray(ptc, dtype=dtype), np.asarray(pc, dtype=dtype), classes, nextmove, output,
        norm_probs=True, tk_row=row,
    )
    identifier.set_languages(list(CANDIDATES))
    return identifier


def _their_identify(identifier: LanguageIdentifier, text: str) -> tuple[str, float | None]:
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return UNDETERMINED, None
    code, probability = identifier.classify(text)
    return (code if probability >= 0.5 else UNDETERMINED), float(probability)


def test_same_language_and_probability_as_py3langid_classify(texts: list[str]) -> None:
    identifier = _py3langid(np.float16)  # as shipped: float32 sums
    ours = identify_many(texts)
    theirs = [_their_identify(identifier, text) for text in texts]
    assert [code for code, _ in ours] == [code for code, _ in theirs]
    assert {code for code, _ in ours} >= {"en", "es", "de", UNDETERMINED}  # the corpus does mix languages
    for (_, our_probability), (_, their_probability) in zip(ours, theirs):
        assert (our_probability is None) == (their_probability is None)
        # py3langid sums a tweet's log-probabilities (hundreds) in float32, whose step there is ~6e-5:
        # on these texts that moves its probabilities up to 1.5e-4 from its own float64 run
        assert our_probability is None or abs(our_probability - their_probability) < 5e-4


def test_same_features_and_counts_as_py3langid_walk(texts: list[str]) -> None:
    """Run in float64, py3langid's byte walk and the batched count give the same distribution
    (to its float32 log1p of the counts, ~1e-8)."""
    identifier = _py3langid(np.float64)
    theirs = np.array([identifier._decide(text) for text in texts])
    np.testing.assert_allclose(_probabilities(texts), theirs, rtol=0, atol=1e-7)
    featureless = ["", "a"]  # a batch in which no text has a feature: uniform
    np.testing.assert_allclose(_probabilities(featureless), [identifier._decide(t) for t in featureless], atol=1e-12)


def test_a_batch_gives_each_text_what_it_gets_alone(texts: list[str]) -> None:
    """No byte window crosses from one text into the next."""
    sample = texts[:50] + ODD_TEXTS
    assert identify_many(sample) == [identify(text) for text in sample]
    assert identify_many([]) == []


def test_min_confidence_turns_a_doubtful_answer_into_und() -> None:
    text = "ok ok ok ok ok ok ok ok lol"
    code, probability = identify(text, min_confidence=0.0)
    assert code != UNDETERMINED and probability is not None
    assert identify(text, min_confidence=1.01) == (UNDETERMINED, probability)

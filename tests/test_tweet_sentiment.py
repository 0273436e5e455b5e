"""The shipped tweet sentiment model loads from the package and behaves on plain and hostile text."""

from __future__ import annotations

from nlp.scorers import load_scorer
from nlp.tweet_sentiment import load_tweet_scorer, normalise


def test_the_shipped_model_loads_and_names_itself() -> None:
    scorer = load_tweet_scorer()
    assert scorer.name.startswith("tweet-linear") and scorer.languages == frozenset({"en"})
    assert load_scorer("tweet") is load_scorer("tweet")


def test_obvious_cases() -> None:
    labels = [label for label, _ in load_scorer("tweet").score([
        "I love it, best purchase ever!",
        "worst service ever, cancelling my contract",
        "The store opens at 9 on Saturday.",
    ])]
    assert labels == ["positive", "negative", "neutral"]


def test_scores_are_signed_probabilities_and_batches_match_single_texts() -> None:
    scorer = load_scorer("tweet")
    texts = ["great phone", "awful battery", "", "🔥🔥🔥", "x" * 1_000_000, "Ça marche très bien 東京", "\x00\x07 control"]
    batch = scorer.score(texts)
    assert len(batch) == len(texts)
    assert all(label in {"negative", "neutral", "positive"} and -1 <= score <= 1 for label, score in batch)
    assert batch == [scorer.score([t])[0] for t in texts]
    assert scorer.score(texts) == batch  # deterministic


def test_normalisation_folds_users_links_and_elongations() -> None:
    assert normalise("@AcmeMobile soooo slow https://t.co/x \\u2019") == "@user soo slow  http  \u2019"


def test_batched_character_hashing_is_scikit_learns() -> None:
    """The per-batch word cache must not change a feature: real airline tweets, odd text and a word
    repeated across rows give scikit-learn's char_wb HashingVectorizer matrix exactly."""
    import csv
    from pathlib import Path

    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer

    from nlp.hashing import hashed_char_wb

    tweets = Path(__file__).resolve().parents[2] / "shared" / "data" / "airline-customer-tweets" / "Tweets.csv"
    with tweets.open(encoding="utf-8") as f:
        texts = [normalise(row["text"]) for _, row in zip(range(500), csv.DictReader(f))]
    texts += ["", "   ", "a", "ab", "héllo  wörld ✈✈", "\x00\x07 control", "same same same", "same"]
    expected = HashingVectorizer(n_features=2**17, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False,
                                 lowercase=False, norm="l2").transform(texts)
    got = hashed_char_wb(texts, 2, 5, 2**17).to_csr()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-12

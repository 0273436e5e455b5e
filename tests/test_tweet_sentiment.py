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

"""Sentiment scorers behind one small protocol, so a trained model can replace VADER by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

POSITIVE_CUT = 0.05  # VADER's published thresholds on the compound score
NEGATIVE_CUT = -0.05
DEFAULT_SCORER = "tweet"  # trained on SemEval tweets; "vader" remains available by name


class SentimentScorer(Protocol):
    name: str  # stored in the warehouse as the model version
    languages: frozenset[str]  # languages it can score

    def score(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label in negative|neutral|positive, signed score in [-1, 1]) per text."""
        ...


def label_for(score: float) -> str:
    if score >= POSITIVE_CUT:
        return "positive"
    if score <= NEGATIVE_CUT:
        return "negative"
    return "neutral"


class VaderScorer:
    """VADER (Hutto and Gilbert 2014): a lexicon and rules tuned on social media text, English only.

    VADER's cost grows with the square of the text's length, so long texts are scored in chunks
    of about CHUNK_CHARS and the chunks' scores averaged by length.
    """

    name = "vader-3.3.2"
    languages = frozenset({"en"})
    CHUNK_CHARS = 2_000

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        results = []
        for text in texts:
            compound = self._compound(text) if text.strip() else 0.0
            results.append((label_for(compound), compound))
        return results

    def _compound(self, text: str) -> float:
        if len(text) <= self.CHUNK_CHARS:
            return self._analyzer.polarity_scores(text)["compound"]
        chunks = [text[i: i + self.CHUNK_CHARS] for i in range(0, len(text), self.CHUNK_CHARS)]
        total = sum(len(c) * self._analyzer.polarity_scores(c)["compound"] for c in chunks)
        return round(total / len(text), 4)


def _tweet_model() -> SentimentScorer:
    from nlp.tweet_sentiment import load_tweet_scorer

    return load_tweet_scorer()


SCORERS: dict[str, Callable[[], SentimentScorer]] = {"vader": VaderScorer, "tweet": _tweet_model}


@lru_cache(maxsize=None)
def load_scorer(name: str) -> SentimentScorer:
    """A scorer by name, loaded once per process."""
    try:
        return SCORERS[name]()
    except KeyError:
        raise ValueError(f"unknown sentiment scorer {name!r}; expected one of: {', '.join(sorted(SCORERS))}") from None

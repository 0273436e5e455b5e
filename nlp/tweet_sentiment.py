"""A tweet-trained sentiment model: word and character n-grams plus VADER's score, fed to a
class-balanced linear model trained on SemEval 2013-2016 tweets (see nlp/train_sentiment.py and
docs/sentiment-model.md). CPU only, a few MB, thousands of texts per second on one core; scoring
needs NumPy and the hashing of nlp/hashing.py only (no scikit-learn, no SciPy), so it starts fast."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nlp.hashing import Block, dense, hashed, hashed_char_wb, logits, softmax, stack, word_ngrams

LABELS = ("negative", "neutral", "positive")
WORD_FEATURES = 2**18
CHAR_FEATURES = 2**18
ARTIFACT = "tweet_sentiment.npz"

_USER = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|can't|cant|don't|dont|doesn't|didn't|won't|isn't|wasn't|aren't|shouldn't|wouldn't|couldn't|ain't|nothing|nobody|n't)\b", re.I)
_CLAUSE_END = re.compile(r"[.,:;!?]")


def normalise(text: str) -> str:
    """The same tweet in the same form for training and scoring: users, links and elongations folded."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _URL.sub(" http ", _USER.sub("@user", text))
    return _ELONGATED.sub(r"\1\1", text).strip().strip('"').lower()


@lru_cache(maxsize=512)  # two batches: the moments model marks most of the texts the sentiment model just did
def mark_negation(text: str) -> str:
    """Words after a negation, up to the clause's end, get a _NEG suffix: "not good" is not "good"."""
    out, negated = [], False
    for token in re.findall(r"[\w'@#]+|[^\w\s]", text):
        if _CLAUSE_END.fullmatch(token):
            negated = False
            out.append(token)
        elif _NEGATION.fullmatch(token):
            negated = True
            out.append(token)
        else:
            out.append(token + "_NEG" if negated else token)
    return " ".join(out)


@lru_cache(maxsize=1)
def vader() -> Any:  # vaderSentiment's SentimentIntensityAnalyzer; the package ships no types
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_scores(text: str) -> list[float]:
    """VADER's neg, neu, pos and compound; its cost grows with the square of the length, hence the cap."""
    scores = vader().polarity_scores(text[:2000])
    return [scores["neg"], scores["neu"], scores["pos"], scores["compound"]]


class TweetFeatures:
    """Hashed features need no vocabulary to ship: the same function at training and scoring time.

    Word 1-3-grams (negation marked) and character 2-5-grams inside words, each block L2-normalised,
    then VADER's four scores.
    """

    def transform(self, texts: Sequence[str]) -> Block:
        normalised = [normalise(t) for t in texts]
        words = hashed([word_ngrams(mark_negation(t).split(), 3) for t in normalised], WORD_FEATURES)
        chars = hashed_char_wb(normalised, 2, 5, CHAR_FEATURES)
        lexicon = dense(np.array([vader_scores(t) for t in texts], dtype=np.float64).reshape(len(texts), 4))
        return stack([words, chars, lexicon])


class TweetSentimentScorer:
    """Scores texts in batches; the signed score is P(positive) - P(negative)."""

    languages = frozenset({"en"})

    def __init__(self, weights: np.ndarray, bias: np.ndarray, name: str) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.name = name
        self.features = TweetFeatures()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(negative, neutral, positive) per text."""
        if not texts:
            return np.zeros((0, 3))
        return softmax(logits(self.features.transform(texts), self.weights, self.bias))

    def score(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """Blank texts say nothing, so they are neutral at 0 rather than whatever the biases prefer."""
        results: list[tuple[str, float]] = [("neutral", 0.0)] * len(texts)
        filled = [i for i, t in enumerate(texts) if t.strip()]
        if filled:
            probs = self.probabilities([texts[i] for i in filled])
            for i, p in zip(filled, probs):
                results[i] = (LABELS[int(np.argmax(p))], round(float(p[2] - p[0]), 4))
        return results


def save(path: Path, weights: np.ndarray, bias: np.ndarray, name: str) -> None:
    np.savez_compressed(path, weights=weights.astype(np.float16), bias=bias.astype(np.float32), name=np.array(name))


@lru_cache(maxsize=1)
def load_tweet_scorer(path: Path | None = None) -> TweetSentimentScorer:
    """The model shipped in nlp/models (or another artifact written by nlp.train_sentiment)."""
    with resources.as_file(resources.files("nlp.models").joinpath(ARTIFACT)) as shipped:
        with np.load(path or shipped, allow_pickle=False) as data:
            return TweetSentimentScorer(data["weights"], data["bias"], str(data["name"]))

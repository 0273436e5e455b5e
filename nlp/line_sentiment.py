"""The `zmot sentiment` contract: one JSON-able result per input line, in order, every line scored.

Without a target a line gets the whole-text scorer's score; with one, the target-dependent model's
score toward it (nlp/target_sentiment.py). No spaCy here: the command starts in well under a second
of imports (NumPy, VADER, the two models).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np

from nlp.langid import identify_many
from nlp.scorers import DEFAULT_SCORER, SentimentScorer, load_scorer
from nlp.target_sentiment import item_for, load_target_scorer
from nlp.tweet_sentiment import load_tweet_scorer

BATCH = 512


def sentiment_lines(
    lines: Iterable[str], targets: Iterable[str | None] | None = None, *, scorer: str = DEFAULT_SCORER
) -> Iterator[dict[str, Any]]:
    """label, score, language and model per line; with a target, scored toward it."""
    model = load_scorer(scorer)
    pairs = iter(zip(lines, targets) if targets is not None else ((line, None) for line in lines))
    while batch := list(islice(pairs, BATCH)):
        yield from _scored(batch, model)


def _scored(batch: list[tuple[str, str | None]], model: SentimentScorer | None) -> Iterator[dict[str, Any]]:
    languages = identify_many([text for text, _ in batch])
    for (language, _), (label, score, name) in zip(languages, scores_toward(batch, model)):
        yield {"label": label, "score": round(score, 4), "language": language, "model": name}


def scores_toward(batch: Sequence[tuple[str, str | None]], model: SentimentScorer | None = None) -> list[tuple[str, float, str]]:
    """(label, score, model name) per (text, target): toward the target where there is one, else the whole text.

    What `zmot sentiment` prints without the language; the moments read it too (nlp.moments.classify).
    """
    model = model or load_scorer(DEFAULT_SCORER)
    plain = [i for i, (_, target) in enumerate(batch) if not target]
    aimed = [i for i, (_, target) in enumerate(batch) if target]
    results: list[tuple[str, float, str]] = [("neutral", 0.0, model.name)] * len(batch)
    for i, (label, score) in zip(plain, model.score([batch[i][0] for i in plain])):
        results[i] = (label, score, model.name)
    if aimed:
        target_model = load_target_scorer()
        texts = [batch[i][0] for i in aimed]
        whole = load_tweet_scorer().probabilities(texts) if any(t.strip() for t in texts) else np.zeros((len(texts), 3))
        for i, (label, score) in zip(aimed, target_model.score([item_for(*batch[i]) for i in aimed], whole)):
            results[i] = (label, score, target_model.name)
    return results

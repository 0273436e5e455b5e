"""Sentiment toward one target in a text: how the writer feels about *this* brand or product.

A linear model over hashed features computed relative to the target (nlp/train_target_sentiment.py
trains it; docs/sentiment-model.md gives the data and figures). The target is masked as one token,
`$t$` (every mention of it), other targets named in the text as `$o$`; the features are the words
left and right of it, the nearest ones by distance, the clause that holds it, whether it sits after a
"but" or before one, negation around it, comparison and switching patterns ("better than $t$",
"switched from $t$ to $o$"), VADER's scores of its clause and of the windows on each side, and the
whole-text model's probabilities. A target the text does not name gets the whole text's features
with an `absent` mark.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from nlp.hashing import Block, dense, hashed, logits, softmax, stack, word_ngrams
from nlp.switching import switches_to
from nlp.tweet_sentiment import LABELS, normalise, vader, vader_scores

FEATURES = 2**18
ARTIFACT = "target_sentiment.npz"
MAX_CHARS = 2_000  # around the target: enough for any clause; keeps a huge text's cost bounded
TARGET, OTHER = "$t$", "$o$"

_TOKEN = re.compile(r"[\w'@#]+|[^\w\s]")
_NEGATION = frozenset("not no never cannot can't cant don't dont doesn't doesnt didn't didnt won't wont isn't isnt wasn't "
                      "wasnt aren't arent shouldn't wouldn't couldn't ain't nothing nobody n't without hardly".split())
_BREAKS = frozenset(", ; : . ! ? but however although though while whereas yet - ... otherwise except".split())
_CONTRASTS = frozenset("but however although though while whereas yet except".split())
_SWITCH = frozenset("switch switched switching moved move moving went go going changed change changing "
                    "left leaving upgraded upgrade replaced replace ditched ditch dumped dump".split())
_COMPARE = frozenset("better worse faster slower cheaper nicer superior inferior prefer preferred rather more less".split())


@dataclass(frozen=True)
class Item:
    """A text and the span of the target in it (start == end: the text does not name it); `others` are
    spans of other targets, masked so "Acme beats Orbit" reads "$t$ beats $o$"."""

    text: str
    start: int
    end: int
    others: tuple[tuple[int, int], ...] = field(default=())


def find_spans(text: str, name: str) -> list[tuple[int, int]]:
    """Where a name stands in a text as a word (case-insensitive; "@name" and "#name" count)."""
    if not name.strip():
        return []
    pattern = re.compile(r"(?<![\w@#])[@#]?" + re.escape(name.strip()) + r"(?!\w)", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]


def item_for(text: str, target: str | None) -> Item:
    """The first mention of target in text (absent when it is not named), every mention masked."""
    spans = find_spans(text, target or "")
    if not spans:
        return Item(text, 0, 0)
    start, end = spans[0]
    return Item(text, start, end, tuple(s for s in spans[1:]))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text)) if text else []


def read(item: Item) -> tuple[list[str], int, bool]:
    """(tokens with the target and the others masked, index of the target token, absent) around the target."""
    text, start, end = item.text, item.start, item.end
    absent = start == end
    lo, hi = max(0, start - MAX_CHARS // 2), min(len(text), end + MAX_CHARS // 2)
    marks = sorted([(start, end, TARGET)] if not absent else []) + sorted(
        (s, e, TARGET if text[s:e].casefold() == text[start:end].casefold() else OTHER) for s, e in item.others
        if lo <= s and e <= hi and (e <= start or s >= end))
    marks.sort()
    tokens: list[str] = []
    where, at = lo, -1
    for s, e, mark in marks:
        if s < where:
            continue
        tokens += _tokens(text[where:s])
        if s == start and not absent:
            at = len(tokens)
        tokens.append(mark)
        where = e
    tokens += _tokens(text[where:hi])
    if absent:
        at = -1
    return tokens, at, absent


def _negated(tokens: list[str]) -> list[bool]:
    out, on = [], False
    for t in tokens:
        if t in _BREAKS:
            on = False
        out.append(on)
        if t in _NEGATION or t.endswith("n't"):
            on = True
    return out


def features(item: Item) -> tuple[list[str], list[str], str, str, str, str]:
    """(hashed feature strings, clause tokens, and the texts VADER reads: the clause, five words left,
    five words right, and the text across a contrast from the target) of one item."""
    tokens, at, absent = read(item)
    negated = _negated(tokens)
    marked = [t + "_NEG" if n and t not in (TARGET, OTHER) else t for t, n in zip(tokens, negated)]
    if absent:
        return ["bias", "absent"] + ["w:" + g for g in word_ngrams(marked, 2)], [], " ".join(tokens), "", "", ""
    feats = ["bias"] + ["w:" + g for g in word_ngrams(marked, 2)]
    left, right = marked[:at], marked[at + 1:]
    # Clause: from the break before the target to the break after it.
    b0 = max((i for i in range(at) if tokens[i] in _BREAKS), default=-1)
    b1 = min((i for i in range(at + 1, len(tokens)) if tokens[i] in _BREAKS), default=len(tokens))
    clause = marked[b0 + 1: b1]
    feats += ["c:" + g for g in word_ngrams(clause, 2)]
    # Words outside the clause: on the target's side of any "but", or across one (whose verdict is not the target's).
    c0 = max((i for i in range(at) if tokens[i] in _CONTRASTS), default=-1)
    c1 = min((i for i in range(at + 1, len(tokens)) if tokens[i] in _CONTRASTS), default=len(tokens))
    same = marked[c0 + 1: b0 + 1] + marked[b1: c1]
    across = marked[: c0 + 1] + marked[c1:]
    feats += ["o:" + g for g in word_ngrams(same, 2)] + ["x:" + t for t in across]
    for d, t in enumerate(reversed(left[-8:]), start=1):
        feats.append(f"l{d}:{t}" if d <= 3 else f"l+:{t}")
    for d, t in enumerate(right[:8], start=1):
        feats.append(f"r{d}:{t}" if d <= 3 else f"r+:{t}")
    feats += ["L:" + t for t in left[:-8]] + ["R:" + t for t in right[8:]]
    if len(left) >= 2:
        feats.append(f"l21:{left[-2]} {left[-1]}")
    if len(right) >= 2:
        feats.append(f"r12:{right[0]} {right[1]}")
    feats.append(f"lr:{left[-1] if left else '^'}|{right[0] if right else '$'}")
    if negated[at]:
        feats.append("target_negated")
    # Contrast: the clause after a "but" usually carries the verdict; which side of it is the target?
    before = [t for t in tokens[:at] if t in _CONTRASTS]
    after = [t for t in tokens[at + 1:] if t in _CONTRASTS]
    if before:
        feats += ["after_contrast", "after:" + before[-1]]
    if after:
        feats += ["before_contrast", "before:" + after[0]]
    near_left = set(tokens[max(0, at - 4): at])
    near_right = set(tokens[at + 1: at + 7])
    if "than" in near_left:
        feats.append("than_target")
        feats += ["than_target:" + t for t in tokens[max(0, at - 6): at] if t in _COMPARE or t.endswith("er")]
    if "than" in near_right:
        feats.append("target_than")
        feats += ["target_than:" + t for t in tokens[at + 1: at + 7] if t in _COMPARE or t.endswith("er")]
    if _SWITCH & set(tokens[max(0, at - 6): at]):
        feats.append("switch_before:" + ("from" if "from" in near_left else "to" if "to" in near_left else "other"))
    if "from" in near_left and "to" in near_right:
        feats.append("from_target_to")
    if "to" in near_left and "from" in set(tokens[max(0, at - 8): at]):
        feats.append("from_other_to_target")
    if "instead" in near_left or "over" in near_left:
        feats.append("instead_or_over_target")
    if OTHER in tokens:
        feats.append("other_target_" + ("left" if OTHER in tokens[:at] else "right"))
    clause_text = " ".join(tokens[b0 + 1: b1])
    across_text = " ".join(tokens[: c0 + 1] + tokens[c1:])
    return feats, clause, clause_text, " ".join(tokens[max(0, at - 5): at]), " ".join(tokens[at + 1: at + 6]), across_text


def clause_of(item: Item) -> str:
    """The clause holding the target (the whole text when it is absent): VADER-on-clause's input."""
    return features(item)[2]


def _polarity(text: str) -> list[float]:
    """VADER's negative, positive and compound scores of a clause (zeros for no text)."""
    if not text:
        return [0.0, 0.0, 0.0]
    neg, _, pos, compound = vader_scores(text)
    return [neg, pos, compound]


def _valence(text: str) -> list[float]:
    """VADER's lexicon alone on a few words (its full rules cost more than the rest of the features):
    the sums of negative and positive valence, a negation before a word flipping it, and their balance."""
    neg = pos = 0.0
    flip = False
    for word in text.split():
        value = _lexicon().get(word, 0.0)
        value = -value if flip else value
        neg, pos = (neg - value, pos) if value < 0 else (neg, pos + value)
        flip = word in _NEGATION or word.endswith("n't") or (flip and word not in _BREAKS)
    return [neg / 4, pos / 4, (pos - neg) / 4]


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    return vader().lexicon


class TargetFeatures:
    def transform(self, items: Sequence[Item], whole: np.ndarray) -> Block:
        """Hashed features and dense scores: VADER on the clause and across a contrast, its lexicon on the
        five words each side; the whole-text model's log-probabilities."""
        rows, lexicon = [], []
        for item in items:
            feats, _, clause, left, right, across = features(item)
            rows.append(feats)
            lexicon.append(_polarity(clause) + _valence(left) + _valence(right) + _polarity(across))
        dense_part = np.hstack([np.array(lexicon, dtype=np.float64).reshape(len(items), 12), np.log(whole + 1e-6)])
        return stack([hashed(rows, FEATURES), dense(dense_part)])


class TargetSentimentScorer:
    """Scores (text, target) items; the signed score is P(positive) - P(negative)."""

    languages = frozenset({"en"})

    def __init__(self, weights: np.ndarray, bias: np.ndarray, name: str) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.name = name
        self.features = TargetFeatures()

    def probabilities(self, items: Sequence[Item], whole: np.ndarray) -> np.ndarray:
        """whole: the whole-text model's probabilities of each item's text (one row per item)."""
        if not items:
            return np.zeros((0, 3))
        return softmax(logits(self.features.transform(items, whole), self.weights, self.bias))

    def score(self, items: Sequence[Item], whole: np.ndarray) -> list[tuple[str, float]]:
        """A customer switching to the target has chosen it: never negative toward it, however bad the
        story of the brand they leave ("Acme down again. Switching to Orbit.")."""
        results: list[tuple[str, float]] = [("neutral", 0.0)] * len(items)
        filled = [i for i, item in enumerate(items) if item.text.strip()]
        if filled:
            probs = self.probabilities([items[i] for i in filled], whole[filled])
            for i, p in zip(filled, probs):
                label, score = LABELS[int(np.argmax(p))], round(float(p[2] - p[0]), 4)
                item = items[i]
                if label == "negative" and switches_to(item.text, item.text[item.start:item.end]):
                    label, score = "neutral", max(score, 0.0)
                results[i] = (label, score)
        return results


@lru_cache(maxsize=1)
def load_target_scorer(path: Path | None = None) -> TargetSentimentScorer:
    """The model shipped in nlp/models (or another artifact written by nlp.train_target_sentiment)."""
    with resources.as_file(resources.files("nlp.models").joinpath(ARTIFACT)) as shipped:
        with np.load(path or shipped, allow_pickle=False) as data:
            return TargetSentimentScorer(data["weights"], data["bias"], str(data["name"]))

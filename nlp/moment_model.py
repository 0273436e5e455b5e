"""The learned moment-of-truth decider: a class-balanced linear model over what the text says about
its target (words and word pairs with the target masked and negation marked, character n-grams, the
words either side of the target) and over what the cue patterns and the sentiment model read in it.
Trained by nlp/train_moments.py on the labelled corpus (docs/moments-model.md); a few MB, CPU only.

Features are hashed, so no vocabulary ships; word and cue features keep their names so `evidence`
can say which of them decided."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.utils import murmurhash3_32

from nlp.hashing import hashed_char_wb
from nlp.tweet_sentiment import mark_negation, normalise

CLASSES = ("zmot", "lzmot", "umot", "none")
WORD_FEATURES = 2**18
CUE_FEATURES = 2**12  # cue and flag tokens: present or not, whatever the text's length
CHAR_FEATURES = 2**17
ARTIFACT = "moments.npz"
TARGET_TOKEN = "tgt"
_WORD = re.compile(r"[\w'@#]+(?:_NEG)?|[?!]")


@dataclass(frozen=True)
class MomentInput:
    """One judgement to make: the part of the text about the target, and what the cues found there."""

    scope: str
    target: str | None
    cue_tokens: tuple[str, ...]


def mask_target(text: str, target: str | None) -> str:
    """The target's name becomes one token, so "switching from tgt" reads the same for every brand."""
    if not target:
        return text
    return re.sub(rf"(?<![\w@#])[@#]?{re.escape(target)}(?:'s)?(?!\w)", f" {TARGET_TOKEN} ", text, flags=re.IGNORECASE)


@lru_cache(maxsize=200_000)
def _index(feature: str) -> int:
    """Column of a named feature: cue tokens in their own block after the words."""
    if feature.startswith("c:"):
        return WORD_FEATURES + murmurhash3_32(feature, positive=True) % CUE_FEATURES
    return murmurhash3_32(feature, positive=True) % WORD_FEATURES


@lru_cache(maxsize=1024)  # above a batch of readings, below a benchmark pass: no hits across passes
def _word_features(item: MomentInput) -> tuple[str, ...]:
    """Cached: the evidence of a decision reads the same names its features were built from."""
    text = mark_negation(normalise(mask_target(item.scope, item.target)))
    words = _WORD.findall(text)
    names = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in zip(words, words[1:])]
    for i, word in enumerate(words):
        if word == TARGET_TOKEN:
            names += [f"L:{w}" for w in words[max(0, i - 3): i]] + [f"R:{w}" for w in words[i + 1: i + 4]]
    return tuple(names)


def named_features(item: MomentInput) -> list[str]:
    """Words, word pairs, target context and cue tokens: the features whose names evidence can show."""
    return [*_word_features(item), *(f"c:{t}" for t in item.cue_tokens)]


class MomentFeatures:
    """The same function at training and scoring time."""

    def transform(self, items: Sequence[MomentInput]) -> sparse.csr_matrix:
        """Word counts L2-normalised per row, cue columns 1.0, then the character n-grams; built in NumPy
        for the whole batch, entries in column order within each row as scipy's COO conversion left them."""
        width = WORD_FEATURES + CUE_FEATURES
        names = [_word_features(item) for item in items]
        cues = [{_index(f"c:{t}") for t in item.cue_tokens} for item in items]
        word_keys, counts = np.unique(self._keys(names, map(_index, (n for row in names for n in row)), width),
                                      return_counts=True)
        word_rows = word_keys // width
        norms = np.sqrt(np.bincount(word_rows, weights=(counts * counts).astype(np.float64), minlength=len(items)))
        cue_keys = self._keys(cues, (c for row in cues for c in row), width)
        keys = np.concatenate([word_keys, cue_keys])
        order = np.argsort(keys, kind="stable")
        values = np.concatenate([counts / norms[word_rows], np.ones(len(cue_keys))])[order]
        indptr = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // width, minlength=len(items)), out=indptr[1:])
        named = sparse.csr_matrix((values, keys[order] % width, indptr), shape=(len(items), width))
        # scikit-learn's char_wb hashing (2-5, no sign flip, L2), each distinct word hashed once per batch
        chars = hashed_char_wb([normalise(mask_target(i.scope, i.target)) for i in items], 2, 5, CHAR_FEATURES).to_csr()
        return sparse.hstack([named, chars], format="csr")

    @staticmethod
    def _keys(rows: Sequence[Collection[object]], columns: Iterable[int], width: int) -> np.ndarray:
        """row * width + column of each row's columns, rows in order."""
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter(columns, dtype=np.int64, count=int(lengths.sum()))
        return np.repeat(np.arange(len(rows), dtype=np.int64), lengths) * width + flat


class MomentModel:
    """Calibrated probabilities per class; `none` unless a moment's probability reaches the threshold."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, threshold: float, temperature: float, name: str,
                 c: float) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.threshold = threshold
        self.temperature = temperature
        self.name = name
        self.c = c  # the regularisation it was trained with, for retraining runs (bench/moments_eval.py)
        self.features = MomentFeatures()

    def probabilities(self, items: Sequence[MomentInput]) -> np.ndarray:
        return self.probabilities_of(self.features.transform(items))

    def probabilities_of(self, x: sparse.csr_matrix) -> np.ndarray:
        logits = (np.asarray(x @ self.weights.T) + self.bias) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def decide(self, probabilities: np.ndarray, blocked: Sequence[Sequence[str]] | None = None) -> list[tuple[str, float]]:
        """The moment and its probability; the threshold was chosen on the dev split. A blocked moment (one
        the sentiment toward the target contradicts) is never chosen for that row."""
        out = []
        for index, p in enumerate(probabilities):
            row = p[:3].copy()
            for moment in (blocked[index] if blocked is not None else ()):
                row[CLASSES.index(moment)] = -1.0
            best = int(np.argmax(row))
            if row[best] >= self.threshold:
                out.append((CLASSES[best], float(row[best])))
            else:
                out.append(("none", float(p[3])))
        return out

    def evidence(self, item: MomentInput, moment: str, limit: int = 4) -> tuple[str, ...]:
        """The named features that pushed hardest toward the decided class."""
        names = list(dict.fromkeys(named_features(item)))
        weights = self.weights[CLASSES.index(moment), [_index(n) for n in names]]
        top = np.argsort(-weights)[:limit]
        return tuple(f"{names[i]} ({weights[i]:+.2f})" for i in top if weights[i] > 0)


def save(path: Path, model: MomentModel) -> None:
    np.savez_compressed(path, weights=model.weights.astype(np.float16), bias=model.bias, threshold=np.array(model.threshold),
                        temperature=np.array(model.temperature), name=np.array(model.name), c=np.array(model.c))


@lru_cache(maxsize=2)
def load_moment_model(path: Path | None = None) -> MomentModel:
    """The model shipped in nlp/models (or another artifact written by nlp.train_moments)."""
    with resources.as_file(resources.files("nlp.models").joinpath(ARTIFACT)) as shipped:
        with np.load(path or shipped, allow_pickle=False) as data:
            return MomentModel(data["weights"], data["bias"], float(data["threshold"]), float(data["temperature"]),
                               str(data["name"]), float(data["c"]))

"""Train the tweet sentiment model: `python -m nlp.train_sentiment [--data DIR] [--out FILE]`.

Data recipe: every SemEval 2013-2016 Subtask A file in ../shared/data/semeval-twitter-sentiment-2013-2016,
deduplicated by tweet id and by normalised text, minus every tweet that is the same as, or a near
copy of (a retweet, a quote, an edited repost: word 4-gram Jaccard >= 0.5), a tweet of the TweetEval
validation split, so the figure measured there is honest. 10% of what remains (seeded)
is held out to choose the regularisation and the class biases that maximise macro-averaged recall;
the final model is then refitted on everything with those settings.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlp.tweet_sentiment import ARTIFACT, LABELS, TweetFeatures, normalise, save

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEED = 13


def load_semeval(folder: Path) -> list[tuple[str, str]]:
    seen_ids: set[str] = set()
    rows = []
    for path in sorted(folder.glob("twitter-*-A.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in LABELS or parts[0] in seen_ids:
                continue
            seen_ids.add(parts[0])
            text = parts[2].strip()
            if text and text != "Not Available":
                rows.append((text, parts[1]))
    return rows


def key(text: str) -> str:
    """Letters and digits of the normalised text: quotes, spacing and punctuation differences still match."""
    return re.sub(r"[^a-z0-9@]+", "", normalise(text))


def _shingles(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", normalise(text))
    return {" ".join(words[i: i + 4]) for i in range(len(words) - 3)}


def near_copies(texts: list[str], others: list[str], threshold: float = 0.5) -> set[int]:
    """Indexes of `texts` that share most of their word 4-grams with one of `others`."""
    index: dict[str, list[int]] = {}
    other_shingles = [_shingles(t) for t in others]
    for j, grams in enumerate(other_shingles):
        for gram in grams:
            index.setdefault(gram, []).append(j)
    found = set()
    for i, text in enumerate(texts):
        grams = _shingles(text)
        counts: dict[int, int] = {}
        for gram in grams:
            for j in index.get(gram, ()):
                counts[j] = counts.get(j, 0) + 1
        if any(n / len(grams | other_shingles[j]) >= threshold for j, n in counts.items()):
            found.add(i)
    return found


def macro_recall(gold: list[int], predicted: np.ndarray) -> float:
    gold_arr = np.asarray(gold)
    return float(np.mean([np.mean(predicted[gold_arr == k] == k) for k in range(3)]))


def best_bias(probs: np.ndarray, gold: list[int]) -> np.ndarray:
    """Class offsets on the log scale that maximise macro recall on held-out data."""
    logp = np.log(probs + 1e-12)
    best, best_score = np.zeros(3), -1.0
    grid = np.arange(-1.0, 1.01, 0.1)
    for neg in grid:
        for pos in grid:
            bias = np.array([neg, 0.0, pos])
            score = macro_recall(gold, np.argmax(logp + bias, axis=1))
            if score > best_score:
                best, best_score = bias, score
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models" / ARTIFACT)
    args = parser.parse_args(argv)
    semeval = load_semeval(args.data / "semeval-twitter-sentiment-2013-2016")
    validation_texts = (args.data / "tweeteval-sentiment-val" / "val_text.txt").read_text(encoding="utf-8").splitlines()
    validation = {key(t) for t in validation_texts}
    by_text: dict[str, tuple[str, str]] = {}
    excluded = 0
    for text, label in semeval:
        k = key(text)
        if k in validation:
            excluded += 1
        elif k not in by_text:
            by_text[k] = (text, label)
    rows = list(by_text.values())
    copies = near_copies([t for t, _ in rows], validation_texts)
    rows = [row for i, row in enumerate(rows) if i not in copies]
    excluded += len(copies)
    random.Random(SEED).shuffle(rows)
    print(f"SemEval tweets: {len(semeval)}; excluded as TweetEval validation tweets: {excluded}; training rows after dedupe: {len(rows)}")
    features = TweetFeatures()
    X = features.transform([t for t, _ in rows]).to_csr()
    y = [LABELS.index(label) for _, label in rows]
    cut = len(rows) // 10
    X_hold, y_hold, X_train, y_train = X[:cut], y[:cut], X[cut:], y[cut:]
    best: tuple[float, float, np.ndarray] | None = None
    for c in (0.5, 1.0, 2.0, 4.0):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(X_train, y_train)
        probs = model.predict_proba(X_hold)
        bias = best_bias(probs, y_hold)
        score = macro_recall(y_hold, np.argmax(np.log(probs + 1e-12) + bias, axis=1))
        print(f"C={c}: held-out macro recall {score:.4f} with class offsets {bias.round(2).tolist()}")
        if best is None or score > best[1]:
            best = (c, score, bias)
    assert best is not None
    c, score, bias = best
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit(X, y)
    name = f"tweet-linear-1 (C={c})"
    save(args.out, model.coef_, model.intercept_ + bias, name)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {name}, held-out macro recall {score:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

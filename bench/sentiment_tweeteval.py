"""Sentiment quality and speed on the TweetEval validation split, one CPU core, for each scorer.

Macro-averaged recall over negative/neutral/positive is TweetEval's metric. Published test-set
figures: SVM and FastText 0.629, RoBERTa-base 0.713, BERTweet 0.734. The tweet model was trained
without the ~1,300 validation tweets that also sit in the SemEval files (see nlp/train_sentiment.py).
Also prints out-of-domain checks: VADER's human-rated tweets and the UCI review sentences.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from nlp.scorers import load_scorer  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLASSES = ("negative", "neutral", "positive")


def report(gold: list[str], predicted: list[str]) -> str:
    lines, recalls = [], []
    for label in CLASSES:
        tp = sum(g == p == label for g, p in zip(gold, predicted))
        precision = tp / max(1, sum(p == label for p in predicted))
        recall = tp / max(1, sum(g == label for g in gold))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        recalls.append(recall)
        lines.append(f"    {label:9} precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
    return f"  macro recall {sum(recalls) / 3:.3f}, accuracy {accuracy:.3f}\n" + "\n".join(lines)


def main() -> int:
    folder = SHARED / "tweeteval-sentiment-val"
    if not folder.exists():
        print(f"{folder} not found; nothing to benchmark")
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
    gold = [CLASSES[int(x)] for x in (folder / "val_labels.txt").read_text().split()]
    vader_tweets = [line.split("\t") for line in (SHARED / "vader-groundtruth" / "tweets_GroundTruth.txt").read_text(encoding="utf-8", errors="replace").splitlines() if line.count("\t") >= 2]
    uci = [line.rsplit("\t", 1) for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt") for line in (SHARED / "uci-review-sentences" / name).read_text(encoding="utf-8", errors="replace").splitlines() if "\t" in line]
    for name in ("vader", "tweet"):
        scorer = load_scorer(name)
        scorer.score(texts[:20])
        started = time.perf_counter()
        predicted = [label for label, _ in scorer.score(texts)]
        seconds = time.perf_counter() - started
        print(f"{scorer.name}: {len(texts) / seconds:,.0f} texts/s on one core")
        print(report(gold, predicted))
        scores = [s for _, s in scorer.score([t for _, _, t in vader_tweets])]
        polar = [(float(v), s) for (_, v, _), s in zip(vader_tweets, scores) if abs(float(v)) >= 0.5]
        agree = sum((v > 0) == (s > 0) for v, s in polar if s != 0) / max(1, len(polar))
        print(f"  VADER ground-truth tweets: sign agreement {agree:.3f} on {len(polar)} clearly polar tweets")
        labels = [label for label, _ in scorer.score([t for t, _ in uci])]
        correct = sum((lab == "positive") == (y.strip() == "1") for lab, (_, y) in zip(labels, uci) if lab != "neutral")
        decided = sum(lab != "neutral" for lab in labels)
        print(f"  UCI review sentences (Amazon, Yelp): accuracy {correct / max(1, decided):.3f} on the {decided} of {len(uci)} it calls polar")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sentiment toward a target, per set and split, for the product and its baselines, in one run.

Sets: Dong 2014 target tweets (train.raw only), SemEval-2014 ABSA laptops and restaurants (train
files only), Sanders (toward the topic brand), airline customer tweets (toward the airline), and our
moments corpus (toward the row's target). Splits come from nlp.moments_corpus.split_of (70/15/15 by
a hash of the text): the target model is trained on train and tuned on dev; test is reported, never
tuned on. Scorers, side by side:
- product: the target-dependent model (nlp/target_sentiment.py), what `zmot sentiment --jsonl` and
  each brand reference get;
- before: the whole-text tweet model's score copied to the target (the product before issue 15);
- VADER whole text; VADER on the target's clause; the majority class of the set's train split.
Also: ABSA sentences holding both a positive and a negative aspect, and the whole-text model on the
TweetEval validation split (measured only) and on each whole-text source's held-out split.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

from nlp.scorers import VaderScorer  # noqa: E402
from nlp.target_sentiment import clause_of, load_target_scorer  # noqa: E402
from nlp.train_target_sentiment import DATA, load_all, whole_text_probabilities  # noqa: E402
from nlp.tweet_sentiment import LABELS, load_tweet_scorer  # noqa: E402

SPLITS = ("dev", "test")


def metrics(gold: list[str], predicted: list[str]) -> tuple[float, float, float]:
    """(accuracy, macro-F1, macro recall) over negative / neutral / positive."""
    f1s, recalls = [], []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted))
        precision = tp / max(1, sum(p == label for p in predicted))
        recall = tp / max(1, sum(g == label for g in gold))
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        recalls.append(recall)
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / max(1, len(gold))
    return accuracy, sum(f1s) / 3, sum(recalls) / 3


def row(name: str, gold: list[str], predicted: list[str]) -> str:
    accuracy, f1, recall = metrics(gold, predicted)
    return f"    {name:22} accuracy {accuracy:.3f}  macro-F1 {f1:.3f}  macro recall {recall:.3f}"


def main() -> int:
    if not (DATA / "target-sentiment-dong2014").exists():
        print(f"{DATA} not found; nothing to evaluate")
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    everything = load_all()
    examples = [e for e in everything if e.split in SPLITS]
    target, tweet, vader = load_target_scorer(), load_tweet_scorer(), VaderScorer()
    whole = whole_text_probabilities(examples)
    started = time.perf_counter()
    product = [label for label, _ in target.score([e.item for e in examples], whole)]
    target_seconds = time.perf_counter() - started
    before = [LABELS[int(np.argmax(p))] for p in whole]
    vader_whole = [label for label, _ in vader.score([e.item.text for e in examples])]
    vader_clause = [label for label, _ in vader.score([clause_of(e.item) for e in examples])]
    print(f"product: {target.name} on top of {tweet.name}; target model alone {len(examples) / target_seconds:,.0f} items/s "
          "on one core (given the whole-text probabilities)")
    majority = {s: Counter(e.label for e in everything if e.source == s and e.split == "train").most_common(1)[0][0]
                for s in {e.source for e in examples}}
    sources = sorted({e.source for e in examples}, key=lambda s: (s.startswith("moments:"), s))
    for source in sources:
        for split in SPLITS:
            idx = [i for i, e in enumerate(examples) if e.source == source and e.split == split]
            gold = [examples[i].label for i in idx]
            print(f"{source} / {split} ({len(idx)} targets)")
            for name, labels in (("product", product), ("before (whole text)", before), ("VADER whole text", vader_whole),
                                 ("VADER on clause", vader_clause)):
                print(row(name, gold, [labels[i] for i in idx]))
            print(row(f"majority ({majority[source]})", gold, [majority[source]] * len(idx)))
    for source in ("absa-laptops", "absa-restaurants"):
        for split in SPLITS:
            by_text: dict[str, set[str]] = {}
            for e in examples:
                if e.source == source and e.split == split:
                    by_text.setdefault(e.item.text, set()).add(e.label)
            mixed = {t for t, labels in by_text.items() if {"positive", "negative"} <= labels}
            idx = [i for i, e in enumerate(examples) if e.source == source and e.split == split and e.item.text in mixed]
            gold = [examples[i].label for i in idx]
            print(f"{source} / {split}: sentences with opposite aspects ({len(mixed)} sentences, {len(idx)} targets)")
            for name, labels in (("product", product), ("before (whole text)", before), ("VADER on clause", vader_clause)):
                print(row(name, gold, [labels[i] for i in idx]))
    folder = DATA / "tweeteval-sentiment-val"
    texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
    gold = [LABELS[int(x)] for x in (folder / "val_labels.txt").read_text().split()]
    print(f"whole text, TweetEval validation ({len(texts)} tweets, measured only)")
    print(row(tweet.name, gold, [label for label, _ in tweet.score(texts)]))
    print(row("VADER", gold, [label for label, _ in vader.score(texts)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

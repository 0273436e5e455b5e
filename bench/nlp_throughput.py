"""Throughput and quality of the NLP pipeline on real tweets (TweetEval validation texts), on one core.

Prints mentions/second for the whole pipeline (language, brand references, sentiment, moments),
for the sentiment scorer alone, peak memory, and the sentiment's macro-averaged recall against
TweetEval's labels (the TweetEval metric; see bench/sentiment_tweeteval.py for both scorers).
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from nlp.catalog import Brand, Product  # noqa: E402
from nlp.pipeline import DEFAULT_SCORER, analyse, build_pipeline  # noqa: E402
from nlp.scorers import load_scorer  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tweeteval-sentiment-val"
LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
CATALOG = [
    Brand(name=name, products=[Product(name=p) for p in products])
    for name, products in [("Apple", ["iPhone", "iPad", "MacBook"]), ("Samsung", ["Galaxy"]), ("Google", ["Pixel", "Android"]),
                           ("Microsoft", ["Xbox", "Windows"]), ("Amazon", ["Kindle", "Alexa"]), ("Nike", []), ("Starbucks", [])]
]


def macro_recall(gold: list[str], predicted: list[str]) -> tuple[float, dict[str, float]]:
    per_class = {}
    for label in ("negative", "neutral", "positive"):
        relevant = [p for g, p in zip(gold, predicted) if g == label]
        per_class[label] = sum(p == label for p in relevant) / len(relevant) if relevant else 0.0
    return sum(per_class.values()) / 3, per_class


def component_seconds(nlp, texts: list[str]) -> dict[str, float]:
    """Where a pass goes: each component run over the whole batch in turn, in CPU seconds."""
    started = time.process_time()
    docs = [nlp.make_doc(text) for text in texts]
    seconds = {"tokenizer": time.process_time() - started}
    for name, component in nlp.pipeline:
        started = time.process_time()
        docs = list(component.pipe(docs)) if hasattr(component, "pipe") else [component(doc) for doc in docs]
        seconds[name] = time.process_time() - started
    return seconds


def main() -> int:
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    texts = (DATA / "val_text.txt").read_text(encoding="utf-8").splitlines()
    gold = [LABELS[x.strip()] for x in (DATA / "val_labels.txt").read_text().splitlines()]
    nlp = build_pipeline(CATALOG, base="blank")
    list(analyse(nlp, texts[:50]))  # warm up lazy loads
    rounds = 5
    started, pass_cpu = time.perf_counter(), []
    for _ in range(rounds):
        cpu_started = time.process_time()
        results = list(analyse(nlp, texts))
        pass_cpu.append(time.process_time() - cpu_started)
    pipeline_seconds = (time.perf_counter() - started) / rounds
    cpu_seconds = sum(pass_cpu) / rounds
    components = component_seconds(nlp, texts)
    scorer = load_scorer(DEFAULT_SCORER)
    started = time.perf_counter()
    scored = scorer.score(texts)
    scorer_seconds = time.perf_counter() - started
    recall, per_class = macro_recall(gold, [label for label, _ in scored])
    unscored = sum(r.sentiment_label == "unscored" for r in results)
    pipe_recall, _ = macro_recall(gold, [r.sentiment_label if r.sentiment_label != "unscored" else "neutral" for r in results])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"texts: {len(texts)} TweetEval validation tweets, one CPU core, spaCy base: blank('en') + sentencizer")
    print(f"whole pipeline: {len(texts) / pipeline_seconds:,.0f} mentions/s ({pipeline_seconds:.2f} s per pass, {rounds} passes); "
          f"{len(texts) / cpu_seconds:,.0f} per CPU-second, {len(texts) / min(pass_cpu):,.0f} in the fastest pass "
          "(the figures to trust when other work shares the machine: it slows every pass unevenly)")
    print("CPU seconds per pass by component: " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in components.items()))
    print(f"sentiment scorer alone ({scorer.name}): {len(texts) / scorer_seconds:,.0f} texts/s")
    print(f"sentiment macro-recall (scorer on every text): {recall:.3f}  per class: "
          + ", ".join(f"{k} {v:.3f}" for k, v in per_class.items()))
    print(f"sentiment macro-recall through the pipeline (unscored counted as neutral): {pipe_recall:.3f}; "
          f"{unscored} texts unscored as non-English")
    print(f"brand references found: {sum(len(r.refs) for r in results)}; moments: "
          + ", ".join(f"{m} {sum(r.moment.moment == m for r in results)}" for m in ("zmot", "lzmot", "umot", "none")))
    print(f"peak memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Language identification alone, on one core: py3langid one text at a time (its DFA walk, one Python
step per byte) against nlp.langid.identify_many in `zmot sentiment`'s batches, on real tweets.

Prints texts per CPU-second for each, alternated twice (other work on the machine slows passes
unevenly), the one-off cost of loading the model, and how many answers differ (must be 0).
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import csv  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: E402

from nlp.langid import CANDIDATES, MIN_LETTERS, UNDETERMINED, identify_many  # noqa: E402
from nlp.line_sentiment import BATCH  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AIRLINE = DATA / "airline-customer-tweets" / "Tweets.csv"
SEMEVAL_TRAIN = DATA / "semeval-twitter-sentiment-2013-2016" / "twitter-2013train-A.txt"


def tweets(count: int = 10_000) -> list[str]:
    with open(AIRLINE, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    texts += [line.split("\t", 2)[2] for line in SEMEVAL_TRAIN.read_text(encoding="utf-8").splitlines()]
    return texts[:count]


def walked(identifier: LanguageIdentifier, texts: list[str]) -> list[str]:
    """py3langid's answer per text, with nlp.langid's short-text and confidence rules."""
    codes = []
    for text in texts:
        if sum(map(str.isalpha, text)) < MIN_LETTERS:
            codes.append(UNDETERMINED)
            continue
        code, probability = identifier.classify(text)
        codes.append(code if probability >= 0.5 else UNDETERMINED)
    return codes


def batched(texts: list[str]) -> list[str]:
    return [code for start in range(0, len(texts), BATCH) for code, _ in identify_many(texts[start:start + BATCH])]


def main() -> int:
    if not (AIRLINE.exists() and SEMEVAL_TRAIN.exists()):
        print(f"{DATA} lacks the airline or SemEval tweets; nothing to benchmark")
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    texts = tweets()
    started = time.process_time()
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    loaded = time.process_time()
    identify_many(texts[:1])
    print(f"{len(texts):,} tweets (airline customers, SemEval-2013 train), one CPU core")
    print(f"model load, CPU s: py3langid {loaded - started:.2f}; "
          f"py3langid + nlp.langid's tables {time.process_time() - loaded:.2f}")
    answers = {}
    for round_ in (1, 2):
        for name, identify in (("py3langid one by one", lambda t: walked(identifier, t)), ("identify_many", batched)):
            started = time.process_time()
            answers[name] = identify(texts)
            seconds = time.process_time() - started
            print(f"round {round_}: {name}: {len(texts) / seconds:,.0f} texts per CPU-second ({seconds:.2f} s)")
    differ = sum(a != b for a, b in zip(*answers.values()))
    print(f"answers that differ: {differ} of {len(texts):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

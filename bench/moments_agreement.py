"""Agreement between the two independent labelling passes of the moments corpus.

bench/data/moments_pass2.csv holds the second labeller's moment and sentiment for rows of
bench/data/moments_corpus.csv; the first pass's labels are the corpus's `first_*` columns (before
adjudication). Prints Cohen's kappa over the four moments, per moment (that moment against the rest)
and for sentiment toward the target, and the confusion between the passes.

    .venv/bin/python bench/moments_agreement.py
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.moment_model import CLASSES  # noqa: E402
from nlp.moments_corpus import CORPUS, PASS2  # noqa: E402


def kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa: agreement beyond what the two labellers' own label rates would give by chance."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second)) / n
    a_rates, b_rates = Counter(first), Counter(second)
    expected = sum(a_rates[label] * b_rates[label] for label in set(first) | set(second)) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def pairs() -> list[tuple[dict[str, str], dict[str, str]]]:
    """(corpus row, second-pass row) for every row both passes labelled."""
    def ref(row: dict[str, str]) -> tuple[str, ...]:
        return (row["dataset"], row["file"], row["key"], row["target"])

    with CORPUS.open(encoding="utf-8", newline="") as f:
        corpus = {ref(r): r for r in csv.DictReader(f)}
    with PASS2.open(encoding="utf-8", newline="") as f:
        return [(corpus[ref(r)], r) for r in csv.DictReader(f) if ref(r) in corpus]


def main() -> int:
    both = pairs()
    first = [a["first_moment"] for a, _ in both]
    second = [b["moment"] for _, b in both]
    print(f"{len(both)} rows labelled by both passes; raw agreement {sum(a == b for a, b in zip(first, second)) / len(both):.3f}")
    print(f"moment kappa (4 classes): {kappa(first, second):.3f}")
    for c in CLASSES:
        k = kappa([m == c for m in first], [m == c for m in second])
        print(f"  {c:6} kappa {k:.3f}  (first pass {first.count(c)}, second pass {second.count(c)})")
    s1 = [a["first_sentiment"] for a, _ in both]
    s2 = [b["sentiment"] for _, b in both]
    print(f"sentiment toward the target kappa: {kappa(s1, s2):.3f}")
    print("first pass \\ second pass " + " ".join(f"{c:>6}" for c in CLASSES))
    for c in CLASSES:
        print(f"  {c:22} " + " ".join(f"{sum(a == c and b == d for a, b in zip(first, second)):6}" for d in CLASSES))
    adjudicated = sum("adjudicated" in a["labeller"] for a, _ in both)
    print(f"disagreements adjudicated: {adjudicated} of {sum(a != b for a, b in zip(first, second))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

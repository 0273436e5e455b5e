"""Score the moments-of-truth classifier on the project's labelled development set.

bench/data/moments_dev.csv holds references to real texts in ../shared/data (never the texts
themselves), each labelled by docs/moments-labelling-guide.md relative to a target brand. Prints
per-class precision / recall / F1 for the dev and holdout splits, for the randomly drawn rows
alone (keyword-drawn rows favour cue-based classifiers), a confusion matrix, stage accuracy,
texts/second, and a majority-class baseline.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from nlp.moments import MOMENTS, classify

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared" / "data"
DEVSET = PROJECT / "bench" / "data" / "moments_dev.csv"


@dataclass(frozen=True)
class DevItem:
    text: str
    target: str | None
    moment: str
    stage: str | None
    split: str
    sample: str


def _texts_by_key(dataset: str, file: str) -> dict[str, str]:
    path = SHARED / dataset / file
    if dataset == "sanders-brand-sentiment":
        with path.open(encoding="utf-8", errors="replace") as handle:
            return {row["TweetId"]: row["TweetText"] for row in csv.DictReader(handle)}
    if dataset == "semeval-twitter-sentiment-2013-2016":
        rows = (line.split("\t") for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
        return {r[0]: r[2] for r in rows if len(r) >= 3}
    if dataset == "uci-review-sentences":
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return {str(i + 1): line.rsplit("\t", 1)[0] for i, line in enumerate(lines)}
    if dataset == "purchase-intent-adidas":
        with path.open(encoding="utf-8", errors="replace") as handle:
            return {str(i + 1): row["text"] for i, row in enumerate(csv.DictReader(handle))}
    raise ValueError(f"{DEVSET}: unknown dataset {dataset!r}")


def load_devset(path: Path = DEVSET) -> list[DevItem]:
    """The labelled rows with their texts read from ../shared/data."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cache: dict[tuple[str, str], dict[str, str]] = {}
    items = []
    for number, row in enumerate(rows, start=2):
        source = (row["dataset"], row["file"])
        if source not in cache:
            cache[source] = _texts_by_key(*source)
        if row["key"] not in cache[source]:
            raise ValueError(f"{path}:{number}: {row['key']!r} not found in {row['dataset']}/{row['file']}")
        items.append(DevItem(cache[source][row["key"]], row["target"] or None, row["moment"], row["stage"] or None,
                             row["split"], row["sample"]))
    return items


def scores(gold: list[str], predicted: list[str]) -> str:
    lines, f1s = [], []
    for label in MOMENTS:
        tp = sum(g == p == label for g, p in zip(gold, predicted))
        support = sum(g == label for g in gold)
        precision = tp / max(1, sum(p == label for p in predicted))
        recall = tp / max(1, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        lines.append(f"    {label:6} precision {precision:.2f} recall {recall:.2f} F1 {f1:.2f} (support {support})")
    macro = sum(f1s) / len(f1s)
    moments_only = sum(f1s[:3]) / 3
    return "\n".join(lines) + f"\n    macro F1 {macro:.3f}; macro F1 over zmot/lzmot/umot {moments_only:.3f}"


def main() -> int:
    if not SHARED.exists():
        print(f"{SHARED} not found; nothing to benchmark")
        return 0
    items = load_devset()
    started = time.perf_counter()
    results = classify([i.text for i in items], [i.target for i in items])
    seconds = time.perf_counter() - started
    predicted = [r.moment for r in results]
    print(f"{len(items)} labelled texts; {Counter(i.moment for i in items)}; classifier: {len(items) / seconds:,.0f} texts/s")
    for name, keep in [
        ("dev", lambda i: i.split == "dev"),
        ("holdout", lambda i: i.split == "holdout"),
        ("random draws only (all splits)", lambda i: i.sample == "random"),
        ("all", lambda i: True),
    ]:
        chosen = [k for k, i in enumerate(items) if keep(i)]
        print(f"\n{name} ({len(chosen)} texts)")
        print(scores([items[k].moment for k in chosen], [predicted[k] for k in chosen]))
    majority = Counter(i.moment for i in items).most_common(1)[0][0]
    print(f"\nmajority baseline (always {majority!r}):")
    print(scores([i.moment for i in items], [majority] * len(items)))
    print("\nconfusion (rows gold, columns predicted): " + " ".join(f"{m:>6}" for m in MOMENTS))
    for gold in MOMENTS:
        row = [sum(i.moment == gold and p == m for i, p in zip(items, predicted)) for m in MOMENTS]
        print(f"    {gold:6} " + " ".join(f"{n:6}" for n in row))
    agree = [(i, r) for i, r in zip(items, results) if i.moment == r.moment and i.moment != "none" and i.stage]
    stage_ok = sum(i.stage == r.stage for i, r in agree)
    print(f"\nstage accuracy where the moment is right: {stage_ok}/{len(agree)} = {stage_ok / max(1, len(agree)):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score the moments-of-truth decider on the labelled corpus, beside the cue patterns it replaced.

The corpus (bench/data/moments_corpus.csv and the earlier bench/data/moments_dev.csv) holds
references to real texts in ../shared/data, each labelled relative to a target. Prints, for the
shipped model and for the cue decider on the same rows: per-class precision / recall / F1 on test
(and dev for the cues; the model's dev figure, before its refit on train+dev, is printed by
`python -m nlp.train_moments`), on test's random draws alone (cue-drawn rows favour cue-based classifiers), a confusion
matrix; a cross-source figure (retrain without one dataset, test on that dataset); how often a
moment contradicts the sentiment toward the same target; and texts per second.

    .venv/bin/python bench/moments_eval.py [--no-cross-source]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nlp.moment_model import CLASSES  # noqa: E402
from nlp.moments import classify  # noqa: E402
from nlp.moments_corpus import DATA  # noqa: E402
from nlp.train_moments import Example, as_model, fit, inputs, load_examples, macro_f1, per_class  # noqa: E402

CROSS_SOURCES = ("airline-customer-tweets", "sanders-brand-sentiment", "target-sentiment-dong2014",
                 "semeval-twitter-sentiment-2013-2016", "uci-review-sentences", "absa-semeval2014")


def report(title: str, gold: list[str], predicted: list[str]) -> None:
    scores = per_class(gold, predicted)
    print(f"  {title} ({len(gold)} texts): macro F1 {macro_f1(gold, predicted):.3f}, "
          f"over zmot/lzmot/umot {macro_f1(gold, predicted, CLASSES[:3]):.3f}")
    for c in CLASSES:
        p, r, f, n = scores[c]
        print(f"    {c:6} P {p:.2f}  R {r:.2f}  F1 {f:.2f}  (n={n})")


def confusion(gold: list[str], predicted: list[str]) -> None:
    print("    gold \\ predicted " + " ".join(f"{c:>6}" for c in CLASSES))
    for g in CLASSES:
        print(f"    {g:17} " + " ".join(f"{sum(a == g and b == c for a, b in zip(gold, predicted)):6}" for c in CLASSES))


def cross_source(examples: list[Example]) -> None:
    """Train on every other dataset's train+dev rows (the shipped settings), test on all of one dataset's rows."""
    from nlp.moment_model import MomentFeatures, load_moment_model

    shipped = load_moment_model()
    items, blocked = inputs(examples)
    x = MomentFeatures().transform(items)
    y = np.array([e.moment for e in examples])
    not_test = np.array([e.split != "test" for e in examples])
    print(f"\ncross-source (train without the dataset, test on all its rows; C={shipped.c}, "
          f"threshold {shipped.threshold}, temperature {shipped.temperature}):")
    for source in CROSS_SOURCES:
        held = np.array([e.dataset == source for e in examples])
        if held.sum() < 50:
            continue
        model = as_model(fit(x[np.where(~held & not_test)[0]], y[~held & not_test], shipped.c),
                         shipped.threshold, shipped.temperature, "cross-source", shipped.c)
        rows = np.where(held)[0]
        predicted = [m for m, _ in model.decide(model.probabilities_of(x[rows]), [blocked[i] for i in rows])]
        gold = list(y[held])
        scores = per_class(gold, predicted)
        print(f"  {source:38} n={int(held.sum()):5}  macro F1 {macro_f1(gold, predicted):.3f}  "
              + "  ".join(f"{c} {scores[c][2]:.2f}" for c in CLASSES[:3]))


def contradictions(examples: list[Example], with_rule) -> None:
    """A UMOT with negative sentiment toward the target, or an LZMOT with positive, contradicts itself:
    how often the labels do, and the model's moments before and after nlp.moments.CONTRADICTS."""
    from nlp.line_sentiment import scores_toward

    def rate(pairs) -> str:
        pairs = list(pairs)
        bad = sum((m == "umot" and s == "negative") or (m == "lzmot" and s == "positive") for m, s in pairs)
        return f"{bad} of {len(pairs)} ({bad / max(1, len(pairs)):.1%})"

    scored = [(label, score) for label, score, _ in scores_toward([(e.text, e.target) for e in examples])]
    without_rule = classify([e.text for e in examples], [e.target for e in examples], [s for _, s in scored])
    labelled = [e for e in examples if e.sentiment]
    print("\nmoment/sentiment contradictions (UMOT told negatively, LZMOT told positively):")
    print(f"  in the labels (moment and sentiment toward the target, by hand): {rate((e.moment, e.sentiment) for e in labelled)}")
    print(f"  model moments against the sentiment model's label toward the target, without the rule: "
          f"{rate((r.moment, label) for r, (label, _) in zip(without_rule, scored))}")
    print(f"  ... with the rule (the shipped decision): {rate((r.moment, label) for r, (label, _) in zip(with_rule, scored))}")
    test = [i for i, e in enumerate(examples) if e.split == "test"]
    print(f"  test macro F1 without the rule {macro_f1([examples[i].moment for i in test], [without_rule[i].moment for i in test]):.3f}, "
          f"with it {macro_f1([examples[i].moment for i in test], [with_rule[i].moment for i in test]):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-cross-source", action="store_true", help="skip the retraining runs")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    examples = load_examples()
    print(f"{len(examples)} labelled examples; by split {Counter(e.split for e in examples)}")
    print(f"by class {Counter(e.moment for e in examples)}")
    print(f"by source {Counter(e.dataset for e in examples)}")
    started = time.perf_counter()
    model_results = classify([e.text for e in examples], [e.target for e in examples])
    seconds = time.perf_counter() - started
    cue_results = classify([e.text for e in examples], [e.target for e in examples], decider="cues")
    print(f"model decider: {len(examples) / seconds:,.0f} texts/s (sentiment, cues and model, one process)")
    for name, results in (("model", model_results), ("cues (the baseline)", cue_results)):
        print(f"\n{name}:")
        # the shipped model was refitted on train+dev: its dev figure is printed by nlp.train_moments
        for split in ("test",) if name == "model" else ("dev", "test"):
            rows = [i for i, e in enumerate(examples) if e.split == split]
            report(split, [examples[i].moment for i in rows], [results[i].moment for i in rows])
        rows = [i for i, e in enumerate(examples) if e.split == "test" and e.draw in ("random", "dev-set:random")]
        report("test, random draws only", [examples[i].moment for i in rows], [results[i].moment for i in rows])
        rows = [i for i, e in enumerate(examples) if e.split == "test"]
        print("  test confusion:")
        confusion([examples[i].moment for i in rows], [results[i].moment for i in rows])
    majority = Counter(e.moment for e in examples if e.split == "train").most_common(1)[0][0]
    test = [e for e in examples if e.split == "test"]
    report(f"majority baseline on test (always {majority})", [e.moment for e in test], [majority] * len(test))
    contradictions(examples, model_results)
    if not args.no_cross_source:
        cross_source(examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the moment-of-truth model: `python -m nlp.train_moments [--extra FILE] [--out FILE]`.

Data recipe: every row of bench/data/moments_corpus.csv (first-pass labels, adjudicated where a
second labeller disagreed) and of bench/data/moments_dev.csv (the earlier hand-labelled set), texts
read in place from ../shared/data; optionally analysts' corrections (`--extra FILE`, what `zmot labels export` writes) as extra training rows.
Splits are fixed by a hash of each text (nlp/moments_corpus.split_of). The regularisation, the
temperature and the `none` threshold are chosen on dev; the shipped model is refitted on train+dev
with those settings; test is never used for a choice.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlp.moment_model import ARTIFACT, CLASSES, MomentInput, MomentModel, save
from nlp.moments_corpus import CORPUS, PROJECT, resolve, split_of

DEV_SET = PROJECT / "bench" / "data" / "moments_dev.csv"
C_GRID = (1.0, 4.0, 16.0)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.25, 0.8, 0.05))


@dataclass(frozen=True)
class Example:
    dataset: str
    draw: str
    text: str
    target: str | None
    moment: str
    split: str
    sentiment: str | None = None  # toward the target, where the corpus labels it


def load_examples(extra: Path | None = None) -> list[Example]:
    """Every labelled row whose text is here, with its split; the corpus wins where both label a text."""
    rows: dict[tuple[str, str, str, str], tuple[str, str, str | None]] = {}
    if DEV_SET.exists():
        with DEV_SET.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                rows[(r["dataset"], r["file"], r["key"], r["target"])] = (r["moment"], f"dev-set:{r['sample']}", None)
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if r["moment"] in CLASSES:
                    rows[(r["dataset"], r["file"], r["key"], r["target"])] = (r["moment"], r["draw"], r["sentiment"])
    found = resolve(list(rows))
    examples = [
        Example(ref[0], draw, found[ref[:3]], ref[3] or None, moment, split_of(found[ref[:3]]), sentiment)
        for ref, (moment, draw, sentiment) in sorted(rows.items()) if ref[:3] in found
    ]
    if extra is not None:
        examples += corrections(extra)
    return examples


def corrections(path: Path) -> list[Example]:
    """Analysts' moment corrections as training rows: `zmot labels export` lines (`field` "moment",
    its `value`), or plain `{"text", "target", "moment"}` lines; corrections of other fields are skipped."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            moment = row["value"] if "field" in row else row["moment"]
            if "field" in row and row["field"] != "moment":
                continue
            if moment not in CLASSES:
                raise ValueError(f"moment {moment!r} is not one of {', '.join(CLASSES)}")
            rows.append(Example("corrections", "analyst", row["text"], row.get("target"), moment, "train"))
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}: line {number}: not a correction row ({type(exc).__name__}: {exc})") from None
    return rows


def inputs(examples: Sequence[Example]) -> tuple[list[MomentInput], list[tuple[str, ...]]]:
    """What the model reads of each example (the readings the pipeline makes, nlp.moments.read_doc), and
    the moments the sentiment rules out for it (nlp.moments.CONTRADICTS)."""
    from nlp.line_sentiment import scores_toward
    from nlp.moments import CONTRADICTS, _sentencizer, read_doc

    texts = [e.text for e in examples]
    # toward the example's target, as the pipeline scores each reference (the whole text when it has none)
    scored = [(label, score) for label, score, _ in scores_toward([(e.text, e.target) for e in examples])]
    docs = _sentencizer().pipe(texts, batch_size=256)
    readings = [read_doc(doc, e.target, sentiment=s) for doc, e, (_, s) in zip(docs, examples, scored)]
    return [MomentInput(r.scope, r.target, r.tokens) for r in readings], [CONTRADICTS.get(label, ()) for label, _ in scored]


def fit(x: Any, y: np.ndarray, c: float) -> LogisticRegression:  # x: a SciPy sparse matrix
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)


def as_model(clf: LogisticRegression, threshold: float, temperature: float, name: str, c: float) -> MomentModel:
    order = [list(clf.classes_).index(k) for k in CLASSES]
    return MomentModel(clf.coef_[order], clf.intercept_[order], threshold, temperature, name, c)


def macro_f1(gold: Sequence[str] | np.ndarray, predicted: Sequence[str], classes: Sequence[str] = CLASSES) -> float:
    return float(np.mean([per_class(gold, predicted)[c][2] for c in classes]))


def per_class(gold: Sequence[str] | np.ndarray, predicted: Sequence[str]) -> dict[str, tuple[float, float, float, int]]:
    """Precision, recall, F1 and support per class."""
    out = {}
    for c in CLASSES:
        tp = sum(g == c and p == c for g, p in zip(gold, predicted))
        fp = sum(g != c and p == c for g, p in zip(gold, predicted))
        fn = sum(g == c and p != c for g, p in zip(gold, predicted))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[c] = (precision, recall, f1, tp + fn)
    return out


def _temperature(model: MomentModel, items: list[MomentInput], gold: Sequence[str] | np.ndarray) -> float:
    """The temperature that minimises the dev log loss: probabilities that mean what they say."""
    index = np.array([CLASSES.index(g) for g in gold])
    best, best_loss = 1.0, float("inf")
    for t in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0):
        model.temperature = t
        p = model.probabilities(items)
        loss = -float(np.mean(np.log(p[np.arange(len(index)), index] + 1e-9)))
        if loss < best_loss:
            best, best_loss = t, loss
    return best


def train(examples: list[Example], *, log: Callable[[str], None] = print) -> tuple[MomentModel, dict[str, Any]]:
    """Choose C, temperature and threshold on dev; refit on train+dev; return the model and the choices."""
    from nlp.moment_model import MomentFeatures

    features = MomentFeatures()
    items, blocked = inputs(examples)
    split = np.array([e.split for e in examples])
    y = np.array([e.moment for e in examples])
    x = features.transform(items)
    train_rows, dev_rows = np.where(split == "train")[0], np.where(split == "dev")[0]
    dev_items = [items[i] for i in dev_rows]
    dev_blocked = [blocked[i] for i in dev_rows]
    best: tuple[float, float, float, float] | None = None
    for c in C_GRID:
        model = as_model(fit(x[train_rows], y[train_rows], c), 0.5, 1.0, "candidate", c)
        model.temperature = _temperature(model, dev_items, y[dev_rows])
        probs = model.probabilities(dev_items)
        for threshold in THRESHOLDS:
            model.threshold = threshold
            predicted = [m for m, _ in model.decide(probs, dev_blocked)]
            score = macro_f1(y[dev_rows], predicted)
            if best is None or score > best[0]:
                best = (score, c, threshold, model.temperature)
        assert best is not None
        log(f"  C={c}: best dev macro F1 so far {best[0]:.3f} (C={best[1]}, threshold={best[2]}, T={best[3]})")
    assert best is not None
    _, c, threshold, temperature = best
    chosen = as_model(fit(x[train_rows], y[train_rows], c), threshold, temperature, "train-only", c)
    dev_predicted = [m for m, _ in chosen.decide(chosen.probabilities(dev_items), dev_blocked)]
    log(f"dev, trained on train only (C={c}, threshold={threshold}, T={temperature}): "
        + "  ".join(f"{k} F1 {v[2]:.3f}" for k, v in per_class(list(y[dev_rows]), dev_predicted).items()))
    fitted = np.concatenate([train_rows, dev_rows])
    final = as_model(fit(x[fitted], y[fitted], c), threshold, temperature, "moments-linear-1", c)
    choices = {"C": c, "threshold": threshold, "temperature": temperature, "train_rows": len(fitted)}
    return final, choices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra", type=Path, default=None, help="analysts' corrections as JSON lines (text, target, moment)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models" / ARTIFACT)
    args = parser.parse_args(argv)
    examples = load_examples(args.extra)
    counts = {s: sum(e.split == s for e in examples) for s in ("train", "dev", "test")}
    print(f"{len(examples)} labelled examples: {counts}", flush=True)
    model, choices = train(examples)
    save(args.out, model)
    print(f"wrote {args.out}: {choices}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

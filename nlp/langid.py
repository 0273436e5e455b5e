"""Which language a text is in (py3langid's model, CPU, shipped in the wheel), without spaCy, so
`zmot sentiment` starts quickly; nlp/language.py wraps it as a pipeline component.

py3langid walks its byte automaton one Python step per byte, which cost about half as much as
scoring the sentiment. Here a whole batch is counted with NumPy instead, giving the same (code, probability):
the automaton is Aho-Corasick over byte n-grams and each state emits the longest feature that is a
suffix of its string, so after byte i it emits the longest feature ending at byte i. The feature
strings are read off the automaton once per process; each batch then looks up every byte window,
longest first, and scores the counts as py3langid's `_sparse_score` and `_decide` do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

UNDETERMINED = "und"
MIN_LETTERS = 12  # below this, identifiers guess; we would rather say "und"
# Restricting the candidates to widely used languages cuts the confusions langid makes on short posts.
CANDIDATES = (
    "en", "es", "pt", "fr", "de", "it", "nl", "sv", "da", "no", "fi", "pl", "cs", "tr", "ru", "uk", "el",
    "ar", "he", "fa", "hi", "bn", "id", "ms", "tl", "vi", "th", "ja", "zh", "ko", "ro", "hu",
)
_MAX_FEATURE_BYTES = 7  # a window's bytes, big-endian, must fit below the length tag at bit 56 (_tagged)


@dataclass(frozen=True)
class _Model:
    """py3langid's model restricted to CANDIDATES, with each feature's byte string as an integer."""

    lengths: tuple[int, ...]  # feature lengths in bytes, longest first
    features: _FeatureTable
    endings: np.ndarray  # by a feature's last two bytes: bit n set when a feature of n bytes ends so
    log_ptc: np.ndarray  # features x classes
    log_pc: np.ndarray  # classes
    classes: tuple[str, ...]
    alias_pairs: tuple[tuple[int, int], ...]  # (first, duplicate) columns of a label listed twice


@lru_cache(maxsize=1)
def _model() -> _Model:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    depth, code = _state_strings(identifier)
    emits = np.asarray(identifier.tk_output, dtype=np.int64)
    feature_length, feature_code = _feature_strings(emits, depth, code, n_features=len(identifier.nb_ptc))
    lengths = tuple(sorted(set(feature_length.tolist()), reverse=True))  # np.unique would import numpy.ma: 0.1 s
    if lengths[-1] < 2:
        raise ValueError("py3langid model has 1-byte features, which nlp.langid does not look up")
    endings = np.zeros(1 << 16, dtype=np.uint8)
    np.bitwise_or.at(endings, feature_code & 0xFFFF, (1 << feature_length).astype(np.uint8))
    column_of: dict[str, int] = {}
    aliases = []
    for i, label in enumerate(identifier.nb_classes):
        if label in column_of:
            aliases.append((column_of[label], i))
        column_of.setdefault(label, i)
    return _Model(
        lengths=lengths,
        features=_FeatureTable(_tagged(feature_code, feature_length)),
        endings=endings,
        log_ptc=np.ascontiguousarray(identifier.nb_ptc, dtype=np.float64),
        log_pc=np.asarray(identifier.nb_pc, dtype=np.float64),
        classes=tuple(identifier.nb_classes),
        alias_pairs=tuple(aliases),
    )


def _state_strings(identifier: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each automaton state's depth and byte string (big-endian code), by breadth-first search.

    The first path to reach a state is its own string: any string leading to a state ends with the
    state's string, and only that one is as short. States share transition rows, and a row already
    followed reaches nothing new, so each row is followed once (a third of following every state)."""
    rows = np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(identifier.tk_nextmove.typecode)).reshape(-1, 256)
    row_of = np.frombuffer(identifier.tk_row, dtype=np.dtype(identifier.tk_row.typecode))
    followed = np.zeros(len(rows), dtype=bool)
    reached = np.zeros(len(row_of), dtype=bool)
    depth = np.zeros(len(row_of), dtype=np.int64)
    code = np.zeros(len(row_of), dtype=np.int64)
    reached[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    level = 0
    while len(frontier):
        level += 1
        if level > _MAX_FEATURE_BYTES:
            raise ValueError(f"py3langid model has states deeper than {_MAX_FEATURE_BYTES} bytes")
        new_rows, first = np.unique(row_of[frontier], return_index=True)
        fresh_row = ~followed[new_rows]
        # states sharing a row at one depth reach nothing new from it (a new state has one shortest path)
        new_rows, parents = new_rows[fresh_row], frontier[first[fresh_row]]
        followed[new_rows] = True
        targets = rows[new_rows]
        parent, byte = np.nonzero(~reached[targets])
        frontier = targets[parent, byte].astype(np.int64)
        reached[frontier] = True
        depth[frontier] = level
        code[frontier] = (code[parents[parent]] << 8) | byte
    return depth, code


def _feature_strings(emits: np.ndarray, depth: np.ndarray, code: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(length, code) of each feature: the string of the shallowest state that emits it."""
    emitting = np.flatnonzero(emits >= 0)
    emitting = emitting[np.argsort(depth[emitting], kind="stable")]
    features, first = np.unique(emits[emitting], return_index=True)
    if len(features) != n_features:
        raise ValueError("py3langid model: some features are emitted by no state")
    shallowest = emitting[first]
    return depth[shallowest], code[shallowest]


def _tagged(code: np.ndarray, length: np.ndarray | int) -> np.ndarray:
    """A byte string's key: its big-endian code with its length above, so b"a" and b"\\0a" differ."""
    return code.astype(np.uint64) | (np.asarray(length, dtype=np.uint64) << np.uint64(56))


class _FeatureTable:
    """Feature id by key, an open-addressing hash table probed for a whole array of keys at once.

    np.searchsorted over the sorted keys makes about 17 scattered reads per byte window; this about one."""

    _EMPTY = np.uint64(0)  # no key is 0: every key has its length tagged above its code

    def __init__(self, keys: np.ndarray) -> None:
        bits = max(int(len(keys) * 5).bit_length(), 4)  # at most a fifth full: few second probes
        self._shift = np.uint64(64 - bits)
        self._mask = np.uint64((1 << bits) - 1)
        self._keys = np.full(1 << bits, self._EMPTY, dtype=np.uint64)
        self._ids = np.full(1 << bits, -1, dtype=np.int32)
        slot = self._home(keys)
        pending = np.arange(len(keys))
        while len(pending):
            free = np.flatnonzero(self._keys[slot[pending]] == self._EMPTY)
            _, first = np.unique(slot[pending[free]], return_index=True)
            placed = pending[free[first]]  # one key per free slot; the others try it again, now taken
            self._keys[slot[placed]] = keys[placed]
            self._ids[slot[placed]] = placed
            waiting = np.ones(len(pending), dtype=bool)
            waiting[free[first]] = False
            taken = pending[waiting]
            slot[taken] = (slot[taken] + np.uint64(1)) & self._mask
            pending = taken

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return (keys * np.uint64(0x9E3779B97F4A7C15)) >> self._shift  # Fibonacci hashing, wrapping multiply

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The feature id of each key, -1 where it is no feature."""
        found = np.full(len(keys), -1, dtype=np.int64)
        slot = self._home(keys)
        pending = np.arange(len(keys))
        while len(pending):
            held = self._keys[slot[pending]]
            hit = held == keys[pending]
            found[pending[hit]] = self._ids[slot[pending[hit]]]
            pending = pending[~hit & (held != self._EMPTY)]
            slot[pending] = (slot[pending] + np.uint64(1)) & self._mask
        return found


def _encoded(text: str) -> bytes:
    """The bytes py3langid's `_encode` scores."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def _probabilities(texts: Sequence[str]) -> np.ndarray:
    """texts x classes: py3langid's normalised class probabilities, aliases folded."""
    model = _model()
    encoded = [_encoded(text) for text in texts]
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    owner = np.repeat(np.arange(len(texts)), sizes)
    offset = np.arange(len(data)) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # byte index within its text
    emitted = np.full(len(data), -1, dtype=np.int64)
    window = data.astype(np.int64)  # windows of 1 byte ending at each position
    windows = {1: window}
    for n in range(2, model.lengths[0] + 1):
        longer = np.zeros_like(window)
        longer[1:] = (window[:-1] << 8) | data[1:]
        window = windows[n] = longer
    ending = model.endings[windows[2]]  # a cheap first test, from a table that stays in cache
    for n in model.lengths:
        open_at = np.flatnonzero((emitted < 0) & (offset >= n - 1) & (ending & (1 << n)).astype(bool))
        emitted[open_at] = model.features.find(_tagged(windows[n][open_at], n))
    found = emitted >= 0
    pairs, counts = np.unique(owner[found] * len(model.log_ptc) + emitted[found], return_counts=True)
    text_of_pair, feature = np.divmod(pairs, len(model.log_ptc))
    weight = np.log1p(counts)
    scored, first = np.unique(text_of_pair, return_index=True)  # pairs are sorted by text
    last = np.append(first[1:], len(pairs))
    scores = np.zeros((len(texts), len(model.classes)))  # no feature: uniform, as py3langid does under norm_probs
    # a product per text: np.add.reduceat over a batch's rows measured five times slower
    for text, start, end in zip(scored.tolist(), first.tolist(), last.tolist()):
        scores[text] = weight[start:end] @ model.log_ptc[feature[start:end]] + model.log_pc
    scores /= np.sqrt(np.maximum(sizes, 1))[:, None]
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    scores /= scores.sum(axis=1, keepdims=True)
    for kept, duplicate in model.alias_pairs:
        scores[:, kept] += scores[:, duplicate]
        scores[:, duplicate] = 0.0
    return scores


def identify_many(texts: Sequence[str], min_confidence: float = 0.5) -> list[tuple[str, float | None]]:
    """(ISO 639-1 code or 'und', probability) per text; short or ambiguous text is 'und'."""
    results: list[tuple[str, float | None]] = [(UNDETERMINED, None)] * len(texts)
    scored = [i for i, text in enumerate(texts) if sum(map(str.isalpha, text)) >= MIN_LETTERS]
    if not scored:
        return results
    probabilities = _probabilities([texts[i] for i in scored])
    best = probabilities.argmax(axis=1)
    classes = _model().classes
    for i, column, probability in zip(scored, best.tolist(), probabilities.max(axis=1).tolist()):
        results[i] = (classes[column] if probability >= min_confidence else UNDETERMINED, probability)
    return results


def identify(text: str, min_confidence: float = 0.5) -> tuple[str, float | None]:
    """identify_many for one text."""
    return identify_many([text], min_confidence)[0]

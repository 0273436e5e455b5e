"""One voice counted once: near-copies (syndicated news, crossposts, copy-paste, bot floods) share a cluster id.

MinHash over word 3-shingles of the normalised text (case folded; URLs, @handles, "RT" and punctuation
dropped), with LSH bands to find candidates without comparing every pair. A mention joins the cluster of
the most similar earlier-stored mention published within the look-back window, if their estimated
Jaccard similarity reaches `ClusterRules.similarity`; otherwise it starts a cluster named by its own id.
Signatures and bands are stored (mention_clusters, mention_lsh), so a new process matches new mentions
against old ones without rebuilding anything, and an id once given never changes (clusters are never
merged or renamed). Runs inside the loader's transaction: a crash stores none of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import mmh3
import numpy as np
import pyarrow as pa

from warehouse.cluster_rules import ClusterRules

SHINGLE = 3  # words per shingle
BANDS, ROWS = 22, 3  # LSH: a pair is a candidate when all 3 values of any of 22 bands agree (~0.36 Jaccard)
NUM_PERM = BANDS * ROWS
MIN_WORDS = 5  # shorter texts ("love it", "@acme thanks!") agree by coincidence, not by copying: never clustered
MAX_WORDS = 2000  # a huge text is judged on its first 2,000 words
MAX_CHARS = 100_000  # and on its first 100,000 characters before that
CHUNK = 5000  # mentions signed per numpy pass (bounds memory)
BUCKET_KEEP = 64  # within a load, a new mention is compared with at most this many earlier ones per band
PAIR_CHUNK = 200_000  # candidate pairs compared per numpy pass (bounds memory in a storm of copies)

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)[@＠]\w+")
_WORD = re.compile(r"[^\W_]+")
_NOISE = frozenset({"rt", "via", "amp"})  # retweet markers and an unescaped &amp;

_rng = np.random.default_rng(20261202)  # fixed: signatures stored by one process are compared by another
_MUL = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_ADD = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
_SHINGLE_MUL = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_BAND_MUL = _rng.integers(1, 2**63, size=(ROWS,), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = _rng.integers(0, 2**63, size=(BANDS,), dtype=np.uint64)


def normalised_words(title: str | None, text: str | None) -> list[str]:
    """The words two copies of one text share, whatever each source added around them."""
    joined = f"{title or ''}\n{text or ''}"[:MAX_CHARS].casefold()
    joined = _HANDLE.sub(" ", _URL.sub(" ", joined))
    return [w for w in _WORD.findall(joined) if w not in _NOISE][:MAX_WORDS]


def signatures(docs: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (n x NUM_PERM, uint32) and which rows have one (texts of MIN_WORDS words or more)."""
    signed = np.array([len(words) >= MIN_WORDS for words in docs], dtype=bool)
    out = np.zeros((len(docs), NUM_PERM), dtype=np.uint32)
    vocabulary: dict[str, int] = {}
    rows = np.flatnonzero(signed)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        # The chunk's words in one array; a shingle starting in a row's last two words would cross into the next row.
        lengths = np.array([len(docs[i]) for i in chunk], dtype=np.int64)
        words = np.fromiter((vocabulary.get(w) or vocabulary.setdefault(w, mmh3.hash64(w, signed=False)[0])
                             for i in chunk for w in docs[i]), dtype=np.uint64, count=int(lengths.sum()))
        spanning = words[:-2] * _SHINGLE_MUL[0] + words[1:-1] * _SHINGLE_MUL[1] + words[2:] * _SHINGLE_MUL[2]
        ends = np.cumsum(lengths)
        inside = np.ones(len(spanning), dtype=bool)
        inside[ends[:-1] - 2] = False
        inside[ends[:-1] - 1] = False
        values = spanning[inside]
        offsets = np.concatenate([[0], np.cumsum(lengths - 2)[:-1]])
        hashed = (values[:, None] * _MUL[None, :] + _ADD[None, :]) >> np.uint64(32)
        out[chunk] = np.minimum.reduceat(hashed, offsets, axis=0).astype(np.uint32)
    return out, signed


def band_buckets(sigs: np.ndarray) -> np.ndarray:
    """One 64-bit bucket per band (n x BANDS): equal buckets mean equal band values (up to hash collisions)."""
    bands = sigs.astype(np.uint64).reshape(len(sigs), BANDS, ROWS)
    mixed = (bands * _BAND_MUL[None, None, :]).sum(axis=2, dtype=np.uint64) ^ _BAND_SALT[None, :]
    mixed ^= mixed >> np.uint64(31)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(29)
    return mixed.view(np.int64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def cluster_numbers(cluster_ids: Iterable[str]) -> list[int]:
    """Each cluster id's number: 63 bits of its BLAKE2b digest, the same in every process and version.

    mention_targets carries it (016_cluster_numbers.sql) so the workbench folds near-copies by an integer
    instead of joining every listed row to mention_clusters; DuckDB's hash() is not promised stable, so
    the number is computed here, once per id. Among ten million clusters the chance that any two share
    a number is about one in 180,000, and then they only fold into one line of a page."""
    return [int.from_bytes(hashlib.blake2b(cid.encode("utf-8"), digest_size=8).digest(), "big") >> 1
            for cid in cluster_ids]


def number_stored_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """Number the stored clusters that have no number yet and copy the numbers onto their mentions' targets,
    in the caller's transaction (migration 16 on a file clustered before it)."""
    unnumbered = con.sql("SELECT DISTINCT cluster_id FROM mention_clusters WHERE cluster_no IS NULL").to_arrow_table()
    con.execute("CREATE OR REPLACE TEMP TABLE cluster_number_fill (cluster_id VARCHAR, cluster_no BIGINT)")
    step = 200_000  # ids numbered per pass: the ids stay in Arrow, only a slice becomes Python strings
    for start in range(0, unnumbered.num_rows, step):
        ids = unnumbered.column(0).slice(start, step).to_pylist()
        con.register("numbered", pa.table({"cluster_id": ids, "cluster_no": cluster_numbers(ids)}))
        con.execute("INSERT INTO cluster_number_fill SELECT * FROM numbered")
        con.unregister("numbered")
    con.execute("UPDATE mention_clusters SET cluster_no = f.cluster_no FROM cluster_number_fill f "
                "WHERE mention_clusters.cluster_id = f.cluster_id")
    con.execute("UPDATE mention_targets SET cluster_no = c.cluster_no FROM mention_clusters c "
                "WHERE c.mention_id = mention_targets.mention_id AND c.published_day = mention_targets.published_day "
                "AND mention_targets.cluster_no IS DISTINCT FROM c.cluster_no")
    con.execute("DROP TABLE cluster_number_fill")


@dataclass(frozen=True)
class Assigned:
    mention_id: str
    cluster_id: str
    similarity: float | None  # to the member it joined; None when it started its cluster


def assign_clusters(con: duckdb.DuckDBPyConnection, mentions_query: str, rules: ClusterRules = ClusterRules()) -> int:
    """Give the mentions the query selects (mention_id, published_at, title, text) a cluster, in the caller's
    transaction; their old cluster rows (an edit) are replaced. Returns how many were assigned."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE cluster_batch AS SELECT mention_id, published_at, title, text FROM ({mentions_query})")
    con.execute("DELETE FROM mention_lsh WHERE mention_id IN (SELECT mention_id FROM cluster_batch)")
    con.execute("DELETE FROM mention_clusters WHERE mention_id IN (SELECT mention_id FROM cluster_batch)")
    total = 0
    while True:  # one day's worth of ids at a time keeps memory flat on a migration's backfill
        rows = con.execute(
            "SELECT mention_id, published_at, title, text FROM cluster_batch ORDER BY published_at, mention_id LIMIT ?", [CHUNK * 4]
        ).fetchall()
        if not rows:
            return total
        _assign_batch(con, rows, rules)
        con.execute("DELETE FROM cluster_batch WHERE mention_id IN (SELECT mention_id FROM cluster_done)")
        total += len(rows)


def _assign_batch(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]], rules: ClusterRules) -> None:
    ids = [r[0] for r in rows]
    times: list[datetime] = [r[1] for r in rows]
    sigs, signed = signatures([normalised_words(r[2], r[3]) for r in rows])
    buckets = band_buckets(sigs)
    micros = np.array(times, dtype="datetime64[us]").astype(np.int64)
    window = timedelta(days=rules.lookback_days) // timedelta(microseconds=1)
    stored = _best_stored(con, ids, times, sigs, buckets, signed, rules)
    earlier = _best_earlier(sigs, buckets, signed, micros, window, rules.similarity)
    assigned: list[Assigned] = []
    for i, mention_id in enumerate(ids):  # in time order: an earlier row's cluster is known when a later one joins it
        best = stored.get(i)
        if i in earlier:
            sim, j = earlier[i]
            best = _better(best, sim, times[j], assigned[j].cluster_id, rules)
        assigned.append(Assigned(mention_id, best[2], best[0]) if best else Assigned(mention_id, mention_id, None))
    has_sig = signed.tolist()
    con.register("cluster_rows", pa.table({
        "mention_id": ids, "published_at": times,
        "cluster_id": [a.cluster_id for a in assigned], "cluster_no": cluster_numbers(a.cluster_id for a in assigned),
        "similarity": [a.similarity for a in assigned],
        "signature": [sigs[i].tobytes() if has_sig[i] else None for i in range(len(ids))],
    }))
    con.execute("""INSERT INTO mention_clusters BY NAME
                   SELECT mention_id, published_at, published_at::DATE AS published_day, cluster_id, cluster_no, similarity, signature
                   FROM cluster_rows""")
    keep = np.flatnonzero(signed)
    con.register("lsh_rows", pa.table({
        "bucket": buckets[keep].ravel(),
        "mention_id": np.repeat(np.array(ids, dtype=object)[keep], BANDS).tolist(),
        "published_at": np.repeat(np.array(times, dtype="datetime64[us]")[keep], BANDS),
    }))
    con.execute("INSERT INTO mention_lsh BY NAME SELECT * FROM lsh_rows")
    con.execute("CREATE OR REPLACE TEMP TABLE cluster_done AS SELECT mention_id FROM cluster_rows")
    con.unregister("cluster_rows")
    con.unregister("lsh_rows")


def _better(best: tuple[float, datetime, str] | None, sim: float, when: datetime, cluster_id: str,
            rules: ClusterRules) -> tuple[float, datetime, str] | None:
    if sim < rules.similarity:
        return best
    mine = (sim, when, cluster_id)
    if best is None or sim > best[0] or (sim == best[0] and (when, cluster_id) < (best[1], best[2])):
        return mine
    return best


def _best_earlier(sigs: np.ndarray, buckets: np.ndarray, signed: np.ndarray, micros: np.ndarray, window: int,
                  threshold: float) -> dict[int, tuple[float, int]]:
    """For each row, the most similar earlier row of the batch it may join: row -> (similarity, earlier row).

    Candidates share a band bucket and were published within the window; per bucket a row is compared
    with at most the BUCKET_KEEP rows before it (a storm of copies: its latest members stand for it).
    Ties go to the earlier row."""
    keep = np.flatnonzero(signed)
    if len(keep) < 2:
        return {}
    rows = np.repeat(keep, BANDS)
    flat = buckets[keep].ravel()
    order = np.lexsort((rows, flat))
    rows, flat = rows[order], flat[order]
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    position = np.arange(len(flat)) - np.repeat(starts, np.diff(np.r_[starts, len(flat)]))
    later, before = [], []
    for back in range(1, min(BUCKET_KEEP, int(position.max())) + 1):
        at = np.flatnonzero(position >= back)
        if not len(at):
            break
        later.append(rows[at])
        before.append(rows[at - back])
    if not later:  # no two rows share a bucket
        return {}
    i, j = np.concatenate(later), np.concatenate(before)
    pairs = np.unique(i * len(signed) + j)
    i, j = pairs // len(signed), pairs % len(signed)
    near = (micros[i] - micros[j]) <= window
    i, j = i[near], j[near]
    sims = np.concatenate([np.count_nonzero(sigs[i[k:k + PAIR_CHUNK]] == sigs[j[k:k + PAIR_CHUNK]], axis=1)
                           for k in range(0, len(i), PAIR_CHUNK)] or [np.zeros(0, dtype=np.int64)]) / NUM_PERM
    good = sims >= threshold
    i, j, sims = i[good], j[good], sims[good]
    if not len(i):  # candidates, but none similar enough
        return {}
    order = np.lexsort((j, -sims, i))  # per row: the most similar, then the earliest
    i, j, sims = i[order], j[order], sims[order]
    first = np.r_[True, i[1:] != i[:-1]]
    return {int(a): (float(s), int(b)) for a, b, s in zip(i[first], j[first], sims[first])}


def _best_stored(con: duckdb.DuckDBPyConnection, ids: list[str], times: list[datetime], sigs: np.ndarray,
                 buckets: np.ndarray, signed: np.ndarray, rules: ClusterRules) -> dict[int, tuple[float, datetime, str]]:
    """For each row, the stored mention it would join: row -> (similarity, its time, its cluster)."""
    best: dict[int, tuple[float, datetime, str]] = {}
    for row, when, cluster_id, sig in _stored_candidates(con, ids, times, buckets, signed, rules.lookback_days):
        best_now = _better(best.get(row), similarity(sigs[row], np.frombuffer(sig, dtype=np.uint32)), when, cluster_id, rules)
        if best_now is not None:
            best[row] = best_now
    return best


def _stored_candidates(con: duckdb.DuckDBPyConnection, ids: list[str], times: list[datetime], buckets: np.ndarray,
                       signed: np.ndarray, lookback_days: int) -> list[tuple[int, datetime, str, bytes]]:
    """Stored mentions sharing a band with a batch row, published within the window: (row, time, cluster, signature)."""
    keep = np.flatnonzero(signed)
    if not len(keep):
        return []
    con.register("probe", pa.table({
        "row": np.repeat(keep, BANDS), "bucket": buckets[keep].ravel(),
        "published_at": np.repeat(np.array(times, dtype="datetime64[us]")[keep], BANDS),
    }))
    # The batch's whole span, as constants: the stored rows arrive in time order, so DuckDB skips
    # every row group outside it instead of reading all the bands and clusters ever stored.
    window = timedelta(days=lookback_days)
    first, last = min(times[i] for i in keep) - window, max(times[i] for i in keep) + window
    found = con.execute(
        """
        SELECT p.row, c.published_at, c.cluster_id, c.signature
        FROM (SELECT DISTINCT p.row, l.mention_id
              FROM probe p JOIN mention_lsh l
                ON l.bucket = p.bucket
               AND l.published_at BETWEEN p.published_at - to_days(?::INTEGER) AND p.published_at + to_days(?::INTEGER)
              WHERE l.published_at BETWEEN ? AND ?) p
        JOIN mention_clusters c USING (mention_id)
        WHERE c.signature IS NOT NULL AND c.published_day BETWEEN ?::DATE AND ?::DATE
        """,
        [lookback_days, lookback_days, first, last, first, last],
    ).fetchall()
    con.unregister("probe")
    return found

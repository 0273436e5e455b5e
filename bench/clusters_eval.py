"""How well near-copy clustering finds copies, against exact matching of the normalised text, and how fast.

    python -m bench.clusters_eval            # precision/recall on bench/data/cluster_pairs.csv, then throughput
    python -m bench.clusters_eval --draw 300 # draw candidate pairs to label (writes bench/data/cluster_pairs.csv)

The texts are real and read in place from ../shared/data (airline customer tweets, Sanders brand tweets,
Reddit things recorded by praw's tests, real RSS captures, UCI Amazon/Yelp review sentences); the pairs
file holds references (dataset, file, key of each side) and a person's label only, never a text.
A pair is a copy when one side is the same story or text as the other (a retweet, a quote, a
crosspost, a syndicated item, a template), not merely the same topic.

The clustering is run the way the loader runs it (warehouse.clusters.assign_clusters over every text of
the corpus, in published order, in a DuckDB file), with the look-back window opened to ten years so
that the figures measure the text matching, not the window; the baseline puts two texts together
when their normalised words are equal.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from warehouse.cluster_rules import ClusterRules
from warehouse.clusters import BANDS, NUM_PERM, ROWS, SHINGLE, assign_clusters, band_buckets, normalised_words, signatures
from warehouse.db import connect

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS = Path(__file__).resolve().parent / "data" / "cluster_pairs.csv"
EPOCH = datetime(2015, 1, 1)


@dataclass(frozen=True)
class Text:
    dataset: str
    file: str
    key: str
    title: str | None
    text: str
    published_at: datetime

    @property
    def ref(self) -> tuple[str, str, str]:
        return (self.dataset, self.file, self.key)


def corpus() -> Iterator[Text]:
    """Every text of the five sets, keyed so that a pairs file can point back at it."""
    with open(DATA / "airline-customer-tweets" / "Tweets.csv", encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):  # tweet_id is in scientific notation there: the row is the key
            yield Text("airline-customer-tweets", "Tweets.csv", f"row{i}", None, row["text"],
                       datetime.strptime(row["tweet_created"], "%d-%m-%Y %H.%M"))
    with open(DATA / "sanders-brand-sentiment" / "full-corpus.csv", encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            yield Text("sanders-brand-sentiment", "full-corpus.csv", f"row{i}", None, row["TweetText"],
                       datetime.strptime(row["TweetDate"], "%a %b %d %H:%M:%S %z %Y").replace(tzinfo=None))
    with open(DATA / "reddit-api-recorded" / "_extracted_things.jsonl", encoding="utf-8") as f:
        for line in f:
            thing = json.loads(line)
            text = thing.get("body") or thing.get("selftext") or ""
            if text or thing.get("title"):
                yield Text("reddit-api-recorded", "_extracted_things.jsonl", thing["id"], thing.get("title"), text,
                           datetime.fromtimestamp(thing.get("created_utc") or 0, timezone.utc).replace(tzinfo=None))
    yield from _feeds()
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt"):
        for i, line in enumerate((DATA / "uci-review-sentences" / name).read_text(encoding="utf-8").splitlines()):
            sentence = line.rsplit("\t", 1)[0]
            yield Text("uci-review-sentences", name, f"line{i}", None, sentence, EPOCH + timedelta(minutes=i))


def _feeds() -> Iterator[Text]:
    import feedparser

    for path in sorted((DATA / "rss-real-feeds" / "rss-parser").glob("*.*")):
        if path.suffix not in (".rss", ".atom"):
            continue
        parsed = feedparser.parse(path.read_bytes())
        for i, entry in enumerate(parsed.entries):
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            when = datetime(*stamp[:6]) if stamp else EPOCH
            yield Text("rss-real-feeds", f"rss-parser/{path.name}", f"entry{i}", entry.get("title"),
                       _strip_tags(entry.get("summary") or ""), when)


def _strip_tags(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", html)


def shingle_jaccard(a: Text, b: Text) -> float:
    sa, sb = (set(zip(*(w[i:] for i in range(SHINGLE)))) for w in (normalised_words(a.title, a.text), normalised_words(b.title, b.text)))
    return len(sa & sb) / len(sa | sb) if sa and sb else float(sa == sb and bool(sa))


def draw(n: int, seed: int = 18) -> None:
    """Candidate pairs for a person to label: half near the threshold or above it, half at random."""
    texts = list(corpus())
    sigs, signed = signatures([normalised_words(t.title, t.text) for t in texts])
    buckets = band_buckets(sigs)
    by_bucket: dict[int, list[int]] = {}
    for i in np.flatnonzero(signed):
        for b in buckets[i]:
            by_bucket.setdefault(int(b), []).append(int(i))
    candidates = {(i, j) for members in by_bucket.values() if len(members) < 200 for i in members for j in members if i < j}
    scored = [(shingle_jaccard(texts[i], texts[j]), i, j) for i, j in candidates]
    rng = random.Random(seed)
    near = [p for p in scored if 0.25 <= p[0] <= 0.75]
    high = [p for p in scored if p[0] > 0.75]
    low = [p for p in scored if p[0] < 0.25]
    story = _stories([(i, j) for jac, i, j in scored if jac >= 0.25], len(texts))
    chosen = [("near", i, j) for i, j in _spread(near, story, n * 3 // 10, rng)]
    chosen += [("high", i, j) for i, j in _spread(high, story, n // 10, rng)]
    chosen += [("low", i, j) for i, j in _spread(low, story, n // 10, rng)]  # LSH candidates, little overlap
    while len(chosen) < n:  # at random, from the same dataset (a copy across sets is not expected)
        i = rng.randrange(len(texts))
        j = rng.choice([k for k in range(max(0, i - 3000), min(len(texts), i + 3000)) if texts[k].dataset == texts[i].dataset and k != i])
        chosen.append(("random", i, j))
    with open(PAIRS, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["dataset_a", "file_a", "key_a", "dataset_b", "file_b", "key_b", "drawn", "label"])
        for kind, i, j in chosen:
            out.writerow([*texts[i].ref, *texts[j].ref, kind, ""])
    print(f"wrote {len(chosen)} pairs to {PAIRS}; label each 1 (a copy) or 0 (not)", file=sys.stderr)


def _stories(pairs: list[tuple[int, int]], n: int) -> list[int]:
    """Connected groups of overlapping texts: one retweet storm must not fill the sample."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    return [root(i) for i in range(n)]


def _spread(pairs: list[tuple[float, int, int]], story: list[int], k: int, rng: random.Random, per_story: int = 3) -> list[tuple[int, int]]:
    """Up to k pairs at random, at most `per_story` from one group."""
    taken: dict[int, int] = {}
    out = []
    for _, i, j in rng.sample(pairs, len(pairs)):
        group = min(story[i], story[j])
        if taken.get(group, 0) < per_story:
            taken[group] = taken.get(group, 0) + 1
            out.append((i, j))
            if len(out) == k:
                break
    return out


def labelled_pairs() -> list[tuple[tuple[str, str, str], tuple[str, str, str], str, int]]:
    with open(PAIRS, encoding="utf-8", newline="") as f:
        return [((r["dataset_a"], r["file_a"], r["key_a"]), (r["dataset_b"], r["file_b"], r["key_b"]), r["drawn"], int(r["label"]))
                for r in csv.DictReader(f)]


def cluster_corpus(texts: list[Text], rules: ClusterRules) -> tuple[dict[tuple[str, str, str], str], float]:
    """Cluster ids as the loader would give them, and the seconds it took."""
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "w.duckdb")
        con.execute("CREATE TEMP TABLE corpus (mention_id VARCHAR, published_at TIMESTAMP, title VARCHAR, text VARCHAR)")
        con.executemany("INSERT INTO corpus VALUES (?, ?, ?, ?)",
                        [["\x1f".join(t.ref), t.published_at, t.title, t.text] for t in texts])
        started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        assign_clusters(con, "SELECT * FROM corpus", rules)
        con.execute("COMMIT")
        seconds = time.perf_counter() - started
        ids = {tuple(m.split("\x1f")): c for m, c in con.execute("SELECT mention_id, cluster_id FROM mention_clusters").fetchall()}
        con.close()
    return ids, seconds


def scores(predicted: list[bool], labels: list[int]) -> tuple[float, float, float]:
    tp = sum(p and bool(y) for p, y in zip(predicted, labels))
    fp = sum(p and not y for p, y in zip(predicted, labels))
    fn = sum((not p) and bool(y) for p, y in zip(predicted, labels))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else float("nan")
    return precision, recall, f1


def quality() -> None:
    texts = list(corpus())
    by_ref = {t.ref: t for t in texts}
    pairs = labelled_pairs()
    copies = sum(p[3] for p in pairs)
    print(f"{len(pairs)} labelled pairs ({copies} copies, {len(pairs) - copies} not), drawn: "
          + ", ".join(f"{k} {sum(p[2] == k for p in pairs)}" for k in ("near", "high", "low", "random")))
    print(f"corpus: {len(texts):,} texts from {len({t.dataset for t in texts})} data sets")
    normalised = {t.ref: tuple(normalised_words(t.title, t.text)) for t in texts}
    labels = [p[3] for p in pairs]
    rows = [("exact match of normalised text (baseline)",
             [bool(normalised[a]) and normalised[a] == normalised[b] for a, b, _, _ in pairs])]
    for similarity in (0.4, 0.5, 0.6):
        ids, _ = cluster_corpus(texts, ClusterRules(lookback_days=3650, similarity=similarity))
        name = f"MinHash/LSH clusters, similarity {similarity}" + (" (shipped)" if similarity == ClusterRules().similarity else "")
        rows.append((name, [ids[a] == ids[b] for a, b, _, _ in pairs]))
    rows.append(("exact shingle Jaccard >= 0.5, pairwise (no clustering)",
                 [shingle_jaccard(by_ref[a], by_ref[b]) >= 0.5 for a, b, _, _ in pairs]))
    print(f"\n{'method':58} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, predicted in rows:
        p, r, f = scores(predicted, labels)
        print(f"{name:58} {p:9.3f} {r:7.3f} {f:6.3f}")


def throughput(n: int = 100_000, seed: int = 7) -> None:
    """Cluster n mentions made from the real texts (each used several times with a word or two changed,
    as copies are), spread over 30 days, in one batch and in ten daily loads; beside datasketch and exact hashing."""
    rng = random.Random(seed)
    base = [t for t in corpus() if t.text.strip()]
    texts = []
    for i in range(n):
        t = base[rng.randrange(len(base))]
        words = t.text.split()
        if words and rng.random() < 0.7:
            words[rng.randrange(len(words))] = f"w{rng.randrange(10**6)}"
        texts.append(Text("synthetic", "", f"m{i}", t.title, " ".join(words), EPOCH + timedelta(seconds=i * 30 * 86400 // n)))
    docs = [normalised_words(t.title, t.text) for t in texts]
    print(f"\nthroughput on {n:,} mentions ({np.mean([len(d) for d in docs]):.0f} words on average); "
          f"MinHash {NUM_PERM} permutations, {BANDS} bands of {ROWS}")
    started = time.perf_counter()
    [normalised_words(t.title, t.text) for t in texts]
    normalise = time.perf_counter() - started
    started = time.perf_counter()
    signatures(docs)
    ours = time.perf_counter() - started
    print(f"  {'normalising the text':52} {n / normalise:>10,.0f} mentions/s")
    print(f"  {'signatures, our numpy + mmh3 MinHash':52} {n / ours:>10,.0f} mentions/s")
    try:
        from datasketch import MinHash

        sample = docs[: n // 10]
        started = time.perf_counter()
        for words in sample:
            m = MinHash(num_perm=NUM_PERM)
            m.update_batch([" ".join(s).encode() for s in zip(*(words[i:] for i in range(SHINGLE)))])
        ds = (time.perf_counter() - started) * 10
        print(f"  {'signatures, datasketch MinHash (update_batch, 10% sample)':52} {n / ds:>10,.0f} mentions/s")
    except ImportError:
        print("  datasketch not installed: pip install datasketch to compare")
    started = time.perf_counter()
    {tuple(d): i for i, d in enumerate(docs)}
    exact = time.perf_counter() - started
    print(f"  {'baseline: exact match of normalised text (a dict)':52} {n / exact:>10,.0f} mentions/s")
    rules = ClusterRules()
    _, one = cluster_corpus(texts, rules)
    print(f"  {'assign_clusters in DuckDB, one batch (store included)':52} {n / one:>10,.0f} mentions/s")
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "w.duckdb")
        con.execute("CREATE TEMP TABLE corpus (mention_id VARCHAR, published_at TIMESTAMP, title VARCHAR, text VARCHAR)")
        con.executemany("INSERT INTO corpus VALUES (?, ?, ?, ?)", [[t.key, t.published_at, t.title, t.text] for t in texts])
        started = time.perf_counter()
        for day in range(10):  # the loader's case: each load matched against everything stored before it
            con.execute("BEGIN TRANSACTION")
            assign_clusters(con, f"SELECT * FROM corpus WHERE published_at >= TIMESTAMP '{EPOCH}' + INTERVAL {day * 3} DAY "
                                 f"AND published_at < TIMESTAMP '{EPOCH}' + INTERVAL {day * 3 + 3} DAY", rules)
            con.execute("COMMIT")
        ten = time.perf_counter() - started
        clusters = con.execute("SELECT count(DISTINCT cluster_id) FROM mention_clusters").fetchall()[0][0]
        con.close()
    print(f"  {'assign_clusters in DuckDB, ten loads of 10% each':52} {n / ten:>10,.0f} mentions/s "
          f"({clusters:,} clusters)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draw", type=int, metavar="N", help="draw N candidate pairs to label instead of measuring")
    parser.add_argument("--mentions", type=int, default=100_000, help="mentions for the throughput run")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"{DATA} not found: the real data is needed", file=sys.stderr)
        return 1
    if args.draw:
        draw(args.draw)
        return 0
    quality()
    throughput(args.mentions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

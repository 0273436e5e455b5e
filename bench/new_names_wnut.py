"""New-name suggestions against WNUT-17's corporation and product entities (train and dev only).

WNUT-17 (../shared/data/wnut17-entities) labels emerging entities in tweets, Reddit, YouTube and
StackExchange posts. The question asked of warehouse/sql/new_names.sql: does its top k name the
corporations and products these posts mention? Run as in production, with the posts as the period
"now" and, as the period "before", ordinary customer tweets that name other things (Twitter US
Airline Sentiment and VADER's tweets, ../shared/data): a name is suggested when these posts use it
much more than the background does. Nothing is in the catalog (no name is known), and there is no
tracked brand here: this measures the extraction and the ranking, not the co-occurrence filter.

Prints recall@k (distinct gold corporation/product names, casefolded, @ and # stripped, found among
the top k suggestions) and precision@k (top-k suggestions that are such a name), for k = 25 ... 2000,
on train (where the patterns were chosen) and on dev (not looked at), each next to a baseline run on the same posts: every capitalised token, by how many posts use it. The
WNUT-17 test file is not read (and is not in ../shared/data).

    python -m bench.new_names_wnut
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb

from warehouse.new_names import rank_names

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WNUT_FILES = ("wnut17-entities/wnut17train.conll", "wnut17-entities/emerging.dev.conll")
TYPES = ("corporation", "product")
KS = (25, 50, 100, 200, 500, 1000, 2000)


def read_conll(path: Path) -> list[tuple[str, list[str]]]:
    """(text, [corporation/product entity strings]) per post."""
    posts, tokens, tags = [], [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if tokens:
                posts.append((" ".join(tokens), _entities(tokens, tags)))
            tokens, tags = [], []
            continue
        token, _, tag = line.rpartition("\t")
        tokens.append(token)
        tags.append(tag.strip())
    return posts


def _entities(tokens: list[str], tags: list[str]) -> list[str]:
    found, current = [], []
    for token, tag in zip(tokens, tags):
        if tag.startswith("B-") and tag[2:] in TYPES:
            if current:
                found.append(" ".join(current))
            current = [token]
        elif tag.startswith("I-") and tag[2:] in TYPES and current:
            current.append(token)
        else:
            if current:
                found.append(" ".join(current))
            current = []
    if current:
        found.append(" ".join(current))
    return found


def background() -> list[str]:
    with (DATA / "airline-customer-tweets" / "Tweets.csv").open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    for line in (DATA / "vader-groundtruth" / "tweets_GroundTruth.txt").read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            texts.append(parts[2])
    return texts


def key(name: str) -> str:
    return " ".join(name.casefold().lstrip("@#").split())


def baseline(texts: list[str], limit: int) -> list[str]:
    """Every capitalised token, by the number of posts using it."""
    counts: dict[str, int] = {}
    for text in texts:
        for token in {t for t in re.findall(r"[A-Z][\w'&-]*", text)}:
            counts[token] = counts.get(token, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def scores(suggested: list[str], gold: set[str]) -> list[tuple[int, float, float]]:
    keys = [key(s) for s in suggested]
    out = []
    for k in KS:
        top = keys[:k]
        hits = gold & set(top)
        out.append((k, len(hits) / len(gold), sum(1 for t in top if t in gold) / max(len(top), 1)))
    return out


def report(split: str, files: tuple[str, ...], back: list[str]) -> None:
    posts = [p for f in files for p in read_conll(DATA / f)]
    gold = {key(e) for _, entities in posts for e in entities}
    con = duckdb.connect()
    con.execute("CREATE TABLE bench_texts (period VARCHAR, voice VARCHAR, text VARCHAR)")
    con.executemany("INSERT INTO bench_texts VALUES (?, NULL, ?)", [("now", t) for t, _ in posts] + [("before", t) for t in back])
    ranked = rank_names(con, "SELECT * FROM bench_texts", "SELECT ''::VARCHAR AS name WHERE false", {}, min_voices=1, limit=100_000)
    ours = [n.name for n in ranked]
    base = baseline([t for t, _ in posts], max(KS))
    mentions = sum(len(e) for _, e in posts)
    ceiling = len(gold & {key(n) for n in ours}) / len(gold)
    print(f"\n{split}: {len(posts):,} posts, {mentions:,} corporation/product mentions, {len(gold):,} distinct names; "
          f"{len(ours):,} candidates, which hold {ceiling:.3f} of the names")
    print(f"{'k':>5}  {'new_names recall':>16} {'precision':>9}   {'capitalised-by-frequency recall':>31} {'precision':>9}")
    for (k, r1, p1), (_, r2, p2) in zip(scores(ours, gold), scores(base, gold)):
        print(f"{k:>5}  {r1:>16.3f} {p1:>9.3f}   {r2:>31.3f} {p2:>9.3f}")
    print("top 20 suggestions:", ", ".join(ours[:20]))
    print("top 20 baseline:   ", ", ".join(base[:20]))


def main() -> None:
    back = background()
    print(f"background (the period 'before'): {len(back):,} tweets")
    report("WNUT-17 train (the candidate patterns and stop words were chosen looking at it)", WNUT_FILES[:1], back)
    report("WNUT-17 dev (not looked at while choosing)", WNUT_FILES[1:], back)


if __name__ == "__main__":
    main()

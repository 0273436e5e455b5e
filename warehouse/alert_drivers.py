"""What drives an alert: the words and phrases over-represented in its window against the weeks
before, the sources, products, tags and stories (clusters of near-copies) that carry it, and how
many distinct people and stories are talking.

Phrases are ranked by the weighted log-odds ratio with an informative Dirichlet prior (Monroe,
Colaresi and Quinn 2008, "Fightin' Words"): the prior is the window and baseline pooled, so a word
frequent everywhere needs a large difference, and a rare one cannot win on two mentions. Counts
are of distinct texts (a repost or a syndicated copy counts once), so one story copied fifty
times does not pass for fifty voices. Computed once, when the alert is stored (warehouse/detect.py).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from warehouse.db import sql_text

BASELINE_DAYS = 28
MIN_PHRASE_MENTIONS = 3  # in the window: fewer is an anecdote
MIN_Z = 1.96  # how far above its own baseline rate a phrase must be (about 2.5 % one-sided by chance)
MAX_PHRASES = 8
PRIOR_WEIGHT = 0.1  # the Dirichlet prior: the pooled counts at a tenth of their weight
MAX_SHARES = 3

# Function words only: "down", "no", "not", "again", "twice", "bill" carry complaints and stay.
STOPWORDS = frozenset("""
a about above after all also am an and any are as at be because been before being below between both but by
can could did do does doing during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who whom why will
with would you your yours yourself yourselves im id ill youre youve dont doesnt didnt isnt wasnt cant
couldnt wont wouldnt get got gets ive it's i'm i've don't doesn't didn't isn't wasn't can't couldn't won't
wouldn't you're you've that's there's what's let's one really even much many like anyone else via
""".split())
# Too common in complaints to say anything alone, telling in a phrase: "no signal", "down again".
WEAK = frozenset({"no", "not", "never", "again", "still", "now", "today", "time"})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")  # people's handles are not phrases (a hashtag keeps its word)
_BREAK = re.compile(r"[.!?;:,()\[\]{}\"“”«»|/\\\n\r\t…—–-]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Phrase:
    text: str
    window: int  # (author, text) pairs in the window that use it
    baseline: int  # and in the baseline
    z: float  # Fightin' Words log-odds z-score of its share, window against baseline


@dataclass(frozen=True)
class Share:
    name: str
    mentions: int
    share: float  # of the window's mentions


@dataclass(frozen=True)
class AlertDrivers:
    """Why an alert fired, in terms a reader can check against the mentions."""

    mentions: int  # the metric's mentions in the window
    authors: int  # distinct (source kind, author) among them
    without_author: int  # mentions whose source names no author
    top_author_mentions: int  # the most mentions any one author wrote in the window
    baseline_mentions: int
    baseline_days: int
    phrases: list[Phrase] = field(default_factory=list)
    sources: list[Share] = field(default_factory=list)
    products: list[Share] = field(default_factory=list)
    tags: list[Share] = field(default_factory=list)  # tags.yaml rules the window's mentions match
    stories: list[Share] = field(default_factory=list)  # the window's largest clusters of near-copies, by an excerpt
    clusters: int = 0  # distinct stories among the window's mentions (a cluster counts once); 0: stored before clustering

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AlertDrivers:
        raw = json.loads(text)
        return cls(**{**raw, "phrases": [Phrase(**p) for p in raw["phrases"]],
                      **{key: [Share(**s) for s in raw.get(key, [])] for key in ("sources", "products", "tags", "stories")}})

    @property
    def voices(self) -> str:
        line = f"{self.mentions} mentions from {self.authors} distinct authors"
        if self.clusters:
            line += f", {self.clusters} distinct stories"
        if self.without_author:
            line += f" ({self.without_author} with no author named)"
        if self.top_author_mentions > 1:
            line += f"; the most from one author: {self.top_author_mentions}"
        return line

    def phrase_lines(self) -> list[str]:
        return [f"“{p.text}”: {p.window} in the window, {p.baseline} in the {self.baseline_days} days before" for p in self.phrases]

    def share_line(self, shares: list[Share]) -> str:
        return ", ".join(f"{s.name} {100 * s.share:.0f}%" for s in shares)

    def stories_line(self) -> str:
        return "; ".join(f"“{s.name}” in {s.mentions} mentions" for s in self.stories)

    def summary(self) -> str:
        """One line for a table cell: the top phrases, the main source, the voices."""
        parts = []
        if self.phrases:
            parts.append(", ".join(f"“{p.text}” {p.window} vs {p.baseline}" for p in self.phrases[:3]))
        if self.sources:
            parts.append(self.share_line(self.sources[:2]))
        if self.products:
            parts.append(self.share_line(self.products[:2]))
        if self.tags:
            parts.append(self.share_line(self.tags[:2]))
        parts.append(f"{self.mentions} mentions, {self.authors} authors")
        return "; ".join(parts)


def alert_drivers(
    con: duckdb.DuckDBPyConnection, *, brand: str, product: str, source_kind: str, mentions_condition: str,
    window_start: datetime, window_end: datetime, baseline_days: int = BASELINE_DAYS,
) -> AlertDrivers:
    """The drivers of one alert, from the warehouse as it is now."""
    baseline_start = window_start - timedelta(days=baseline_days)
    rows = con.execute(
        sql_text("alert_drivers").replace("{condition}", mentions_condition),
        {"brand": brand, "product": product, "source_kind": source_kind, "window_start": window_start,
         "window_end": window_end, "baseline_start": baseline_start},
    ).fetchall()
    window = [r for r in rows if r[0]]
    baseline = [r for r in rows if not r[0]]
    own_names = _own_names(con, brand, product) + sorted({w for r in rows for w in (r[7] or [])})
    authors = Counter((r[2], r[4]) for r in window if r[4])
    return AlertDrivers(
        mentions=len(window), authors=len(authors), without_author=sum(1 for r in window if not r[4]),
        top_author_mentions=max(authors.values(), default=0), baseline_mentions=len(baseline), baseline_days=baseline_days,
        phrases=over_represented(_voices(window), _voices(baseline), own_names,
                                 window_days=(window_end - window_start) / timedelta(days=1), baseline_days=baseline_days),
        sources=_shares((f"{r[3]} ({r[2]})" for r in window), len(window)),
        products=_shares((p for r in window for p in (r[6] or [])), len(window)) if product == "*" else [],
        tags=_shares((tag for r in window for tag in (r[9] or [])), len(window)),
        stories=_stories(window),
        clusters=len({r[8] for r in window}),
    )


def _stories(window: list[tuple[Any, ...]]) -> list[Share]:
    """The largest clusters of near-copies in the window (two mentions or more), each by the start of its text."""
    sizes = Counter(r[8] for r in window)
    first_text: dict[Any, str] = {}
    for r in sorted(window, key=lambda r: r[1]):
        first_text.setdefault(r[8], r[5])
    return [Share(_excerpt(first_text[cluster]), size, round(size / len(window), 4))
            for cluster, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SHARES] if size > 1]


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(_URL.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def over_represented(window: Iterable[tuple[str | None, str]], baseline: Iterable[tuple[str | None, str]],
                     own_names: Iterable[str] = (), *, window_days: float = 1.0, baseline_days: float = BASELINE_DAYS,
                     limit: int = MAX_PHRASES, min_count: int = MIN_PHRASE_MENTIONS) -> list[Phrase]:
    """Words and two-word phrases that carry the jump: used in more of the window's (author, text)
    pairs than their own baseline rate predicts (log rate ratio with the informative prior, z at
    least MIN_Z) and at least at their usual share of the talk (Fightin' Words log-odds z >= 0, so
    a word that only rode the volume is left out), ranked by how many uses they add over that
    rate. A phrase most of whose texts already hold a shown one tells the same story and is left
    out. A text counts once per author (None: once)."""
    names = _name_pattern(own_names)
    window_sets = [terms(text, names) for _, text in _distinct(window)]
    y_w = Counter(t for found in window_sets for t in found)
    y_b = Counter(t for _, text in _distinct(baseline) for t in terms(text, names))
    n_w, n_b = sum(y_w.values()), sum(y_b.values())
    scored = []
    for term, count in y_w.items():
        if count < min_count or term in WEAK:
            continue
        b = y_b[term]
        a = PRIOR_WEIGHT * (count + b)
        spread = math.sqrt(1 / (count + a) + 1 / (b + a))
        rise = (math.log((count + a) / window_days) - math.log((b + a) / baseline_days)) / spread
        share = (math.log((count + a) / (n_w - count + a)) - math.log((b + a) / (n_b - b + a))) / spread
        if rise >= MIN_Z and share >= 0:
            scored.append((count - b * window_days / baseline_days, Phrase(term, count, b, round(share, 2))))
    scored.sort(key=lambda s: (-s[0], s[1].text))
    phrases = [p for _, p in scored]
    chosen: list[Phrase] = []
    for phrase in (_named(p, phrases, window_sets) for p in phrases):
        if phrase in chosen:
            continue
        holders = [found for found in window_sets if phrase.text in found]
        told = sum(1 for found in holders if any(c.text in found for c in chosen))
        if told >= 0.75 * len(holders):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
    return chosen


def _named(word: Phrase, candidates: list[Phrase], window_sets: list[set[str]]) -> Phrase:
    """A story is named by its phrase, not its word: "month" stands for "charged twice" when the
    phrase is in at least half as many texts, nearly all of them the word's."""
    if " " in word.text:
        return word
    holders = [found for found in window_sets if word.text in found]
    for phrase in candidates:
        if " " in phrase.text and phrase.window >= 0.5 * word.window:
            inside = sum(1 for found in holders if phrase.text in found)
            if inside >= 0.75 * phrase.window:
                return phrase
    return word


def _distinct(texts: Iterable[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    return list(dict.fromkeys((author, " ".join(t.casefold().split())) for author, t in texts))


def terms(text: str, own_names: re.Pattern[str] | None = None) -> set[str]:
    """The words (not function words) and two-word phrases of a text, no URL, handle or own name;
    a phrase never spans punctuation or a removed name."""
    text = _HANDLE.sub(" . ", _URL.sub(" . ", html.unescape(text).casefold()))  # feeds and tweets escape "&amp;"
    if own_names is not None:
        text = own_names.sub(" . ", text)
    found: set[str] = set()
    for segment in _BREAK.split(text):
        words = [w.replace("’", "'") for w in _WORD.findall(segment) if len(w) > 1 and not w.isdigit()]
        for i, word in enumerate(words):
            if word in STOPWORDS:
                continue
            found.add(word)
            if i + 1 < len(words) and words[i + 1] not in STOPWORDS | WEAK:
                found.add(f"{word} {words[i + 1]}")
    return found


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = sorted({n.casefold() for n in names if n.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?!\w)(?:['’]s)?")


def _own_names(con: duckdb.DuckDBPyConnection, brand: str, product: str) -> list[str]:
    """The brand's name and aliases (and the product's name on a product's alert): in every mention, never news."""
    row = con.execute("SELECT aliases FROM brands WHERE brand = ?", [brand]).fetchall()
    names = [brand, *(row[0][0] if row else [])] + ([product] if product != "*" else [])
    return names + [word for name in names for word in name.split()]  # "Acme" alone is Acme Mobile too


def _voices(rows: list[tuple[Any, ...]]) -> list[tuple[str | None, str]]:
    """(author, text): the same text from two people is two voices, from one person (or a feed) one."""
    return [(f"{r[2]}:{r[4]}" if r[4] else None, r[5]) for r in rows]


def _shares(names: Iterable[str], total: int) -> list[Share]:
    counts = Counter(names)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SHARES]
    return [Share(name, n, round(n / total, 3)) for name, n in ranked] if total else []

"""The SQL each page runs, built from fixed fragments and `?` parameters only; the page shows it as run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

PAGE_SIZE = 50
CSV_LIMIT = 100_000
OVERVIEW_DAYS = 30


@dataclass(frozen=True)
class Query:
    """A statement and its parameters: what a page runs, shows under "show the SQL" and exports as CSV."""

    sql: str
    params: list[Any] = field(default_factory=list)

    def shown(self) -> str:
        """The statement with its parameters listed after it, for a person to paste into `zmot sql --param`."""
        if not self.params:
            return self.sql.strip()
        return self.sql.strip() + "\n-- parameters, in order: " + ", ".join(repr(str(p)) for p in self.params)


OVERVIEW = Query("""
WITH last AS (SELECT max(day) AS d FROM daily_signals)
SELECT day, brand, mentions, positive, neutral, negative, zmot, lzmot, umot, avg_sentiment, avg_rating
FROM daily_signals
WHERE product = '*' AND source_kind = '*' AND day > (SELECT d FROM last) - INTERVAL 30 DAY
ORDER BY brand, day
""")

OPEN_ALERTS = Query("""
SELECT brand, count(*) AS alerts, max(window_start)::DATE AS latest
FROM alerts
WHERE window_start > (SELECT max(day) FROM daily_signals) - INTERVAL 30 DAY
GROUP BY brand
""")

ALERTS = Query("""
SELECT alert_id, brand, product, source_kind, metric, window_start, window_end, observed,
       round(expected, 2) AS expected, round(severity, 2) AS severity, reason, created_run,
       notified_at, coalesce(delivery, 'pending') AS delivery
FROM alerts ORDER BY window_start DESC, brand, metric
""")

ALERT_SERIES = Query("""
SELECT day, brand, product, source_kind, mentions, negative, lzmot, avg_rating
FROM daily_signals
WHERE day BETWEEN (SELECT min(window_start)::DATE FROM alerts) - INTERVAL 28 DAY AND (SELECT max(window_end)::DATE FROM alerts)
  AND (brand, product, source_kind) IN (SELECT brand, product, source_kind FROM alerts)
ORDER BY day
""")

RUNS = Query("""
SELECT run_key, interval_end, mentions_new, mentions_updated, rejects, sources_ok, sources_failed,
       len(days_touched) AS days_touched
FROM runs ORDER BY run_key DESC
""")

REJECTS = Query("""
SELECT run_key, source_id, source_kind, stage, reason, message, url, left(payload_excerpt, 200) AS payload_excerpt
FROM rejects ORDER BY run_key DESC, source_id, reason
""")

MENTION_DAY = Query("""
SELECT published_day FROM mentions WHERE mention_id = ?  -- a bare id: every id is read once, to learn the day
""")

MENTION = Query("""
SELECT m.mention_id, m.source_kind, m.source_id, m.native_id, m.url, m.author, m.title, m.text, m.published_at,
       m.published_day, m.date_missing, m.rating, m.fetched_at, n.language, n.sentiment_label, round(n.sentiment_score, 3) AS sentiment_score,
       n.moment, n.stage, round(n.moment_confidence, 3) AS moment_confidence, n.moment_evidence, n.model_version
FROM mentions m
LEFT JOIN (SELECT * FROM mention_nlp WHERE mention_id = ? AND published_day = ?) n USING (mention_id)
WHERE m.mention_id = ? AND m.published_day = ?  -- the day skips every other day's storage, in both tables
""")

MENTION_REFS = Query("""
SELECT ref_index, brand, product, matched_text, implicit, sentiment_label, round(sentiment_score, 3) AS sentiment_score,
       moment, stage, round(moment_confidence, 3) AS moment_confidence, moment_evidence
FROM mention_refs WHERE mention_id = ? AND published_day = ? ORDER BY ref_index
""")

MENTION_TARGETS = Query("""
SELECT brand, product, sentiment_label, round(sentiment_score, 3) AS sentiment_score, moment, stage
FROM mention_targets WHERE mention_id = ? AND published_day = ?  -- the day skips every other day's storage
ORDER BY brand, product
""")

MENTION_TAGS = Query("""
SELECT tag, rule_hash, tagged_at FROM mention_tags WHERE mention_id = ? AND published_day = ? ORDER BY tag
""")

FILTER_CHOICES = Query("""
SELECT 'brand' AS facet, brand AS value FROM brands
UNION SELECT 'source_kind', source_kind FROM source_state
UNION SELECT 'source_id', source_id FROM source_state
UNION SELECT 'language', language FROM (SELECT DISTINCT language FROM mention_nlp)
UNION SELECT 'tag', tag FROM (SELECT DISTINCT tag FROM mention_tags)
ORDER BY facet, value
""")


BRANDS = Query("SELECT DISTINCT brand FROM daily_signals ORDER BY brand")

LAST_DAY = Query("SELECT max(day) AS last FROM daily_signals WHERE brand = ?")

LATEST_DAY = Query("SELECT max(day) AS last FROM daily_signals")

MOMENT_SERIES = Query("""
SELECT day, mentions, zmot, zmot_negative, lzmot, lzmot_negative, umot, umot_negative
FROM daily_signals
WHERE brand = ? AND product = '*' AND source_kind = '*' AND day BETWEEN ? AND ?
ORDER BY day
""")

NORMANN_BALANCE = Query("""
SELECT month, good_moments, bad_moments, balance, normann_target
FROM normann_balance(?, ?) WHERE brand = ?  -- the period's days only (months at its edges are partial)
ORDER BY month DESC
""")

REPEAT_NEGATIVE_AUTHORS = Query("""
SELECT author_key, source_kind, negative_mentions, negative_days, first_day, last_day
FROM repeat_negative_authors(?, ?) WHERE brand = ?  -- negative three times or more within the period
ORDER BY negative_mentions DESC, author_key
LIMIT 25
""")

STORY_LIMIT = 8
# The stories a moment's reader wants first: the harshest departures and the warmest praise, the newest research.
STORY_SORTS = {"zmot": "newest", "lzmot": "most_negative", "umot": "most_positive"}


@dataclass(frozen=True)
class MentionFilter:
    """The mentions list's filters, as the query string gives them; empty means "any"."""

    brand: str = ""
    product: str = ""
    source_kind: str = ""
    source_id: str = ""
    moment: str = ""
    sentiment: str = ""
    language: str = ""
    tag: str = ""
    day_from: date | None = None
    day_to: date | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1
    copies: str = ""  # "all": every mention on its own line; otherwise near-copies fold into one line (not in CSV)


SORTS = {  # {a}: the alias the order applies to
    "newest": "{a}.published_at DESC, {a}.mention_id, {a}.brand",
    "oldest": "{a}.published_at ASC, {a}.mention_id, {a}.brand",
    "most_negative": "{a}.sentiment_score ASC NULLS LAST, {a}.published_at DESC, {a}.mention_id, {a}.brand",
    "most_positive": "{a}.sentiment_score DESC NULLS LAST, {a}.published_at DESC, {a}.mention_id, {a}.brand",
}


def _chosen(f: MentionFilter) -> tuple[str, list[Any]]:
    """FROM and WHERE over mention_targets, joining the NLP or the text only when a filter needs them (10 M rows)."""
    joins = ""
    if f.language:
        joins += "\nJOIN mention_nlp n ON n.mention_id = t.mention_id AND n.published_day = t.published_day"
    if f.q:
        joins += "\nJOIN mentions m ON m.mention_id = t.mention_id AND m.published_day = t.published_day"
    clauses = ["t.product = ?"]
    params: list[Any] = [f.product or "*"]
    for column, value in (("t.brand", f.brand), ("t.source_kind", f.source_kind), ("t.source_id", f.source_id),
                          ("t.moment", f.moment), ("t.sentiment_label", f.sentiment), ("n.language", f.language)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if f.tag:  # a semi-join: mention_tags holds a few rows per tagged mention, no text
        clauses.append("t.mention_id IN (SELECT mention_id FROM mention_tags WHERE tag = ?)")
        params.append(f.tag)
    for bound, day in ((">=", f.day_from), ("<=", f.day_to)):
        if day:  # on the texts too when they are read: only the period's storage of `mentions` is scanned
            for alias in ("t", "m") if f.q else ("t",):
                clauses.append(f"{alias}.published_day {bound} ?")
                params.append(day)
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(m.text ILIKE ? ESCAPE '\\' OR m.title ILIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    return "FROM mention_targets t" + joins + "\nWHERE " + "\n  AND ".join(clauses), params


def mentions(f: MentionFilter, *, csv: bool = False, limit: int = PAGE_SIZE, language: bool = True,
             prefix: int | None = None) -> Query:
    """One page of the filtered mentions (one row per mention and brand), or all of them (up to CSV_LIMIT) for CSV.

    Two steps, as the cookbook advises at millions of mentions: choose the rows in mention_targets, then
    read the text and language of those rows only (by id and day, so only their days' storage is read).
    On a folded page a cluster of near-copies is one line (its earliest mention in the chosen order) with
    the number of its other mentions the filters let through. Folding every chosen row costs a window over
    all of them (seconds at 10 M); instead only the first `prefix` rows in the chosen order are folded:
    a cluster's first line there is its first line overall, so the page is exact when the prefix yields
    enough lines (`folded_page` grows it until it does), and the sizes are counted for the page's clusters only.
    """
    chosen, params = _chosen(f)
    order = SORTS.get(f.sort, SORTS["newest"])
    offset = (max(f.page, 1) - 1) * int(limit)
    nlp = "\nLEFT JOIN mention_nlp nl ON nl.mention_id = c.mention_id AND nl.published_day = c.published_day" if language else ""
    text = "m.url, m.title, m.text" if csv else "left(coalesce(m.title || ' | ', '') || m.text, 240) AS excerpt"
    picked = f"""SELECT t.mention_id, t.published_day, t.published_at, t.brand, t.product, t.source_kind, t.source_id, t.author,
       t.sentiment_label, t.sentiment_score, t.moment, t.stage, t.cluster_no
{chosen}
ORDER BY {order.format(a="t")}"""
    if csv:
        steps, copies = f"chosen AS (\n{picked}\nLIMIT {CSV_LIMIT}\n)", ""
    elif not _folded(f, csv):
        steps, copies = f"chosen AS (\n{picked}\nLIMIT {int(limit)} OFFSET {offset}\n)", ", 0 AS copies"
    else:
        steps = f"""prefix AS (
{picked}
LIMIT {int(prefix or 2 * (offset + int(limit)))}
),
chosen AS (
SELECT * FROM prefix p
QUALIFY row_number() OVER (PARTITION BY {_LINE.format(a="p")} ORDER BY {order.format(a="p")}) = 1
ORDER BY {order.format(a="p")}
LIMIT {int(limit)} OFFSET {offset}
),
sizes AS (  -- the mentions the filters let through in each cluster on the page, by the number every target row carries
SELECT t.brand, t.cluster_no, count(*) AS members
{chosen}
  AND t.cluster_no IN (SELECT cluster_no FROM chosen)
GROUP BY ALL
)"""
        copies, nlp = ", coalesce(s.members, 1) - 1 AS copies", nlp + "\nLEFT JOIN sizes s ON s.brand = c.brand AND s.cluster_no = c.cluster_no"
        params = params + params
    return Query(f"""WITH {steps}
SELECT c.mention_id, c.published_day, c.published_at, c.brand, c.product, c.source_kind, c.source_id, c.author, c.sentiment_label,
       round(c.sentiment_score, 3) AS sentiment_score, c.moment, c.stage{", nl.language" if language else ""}, {text}{copies}
FROM chosen c
JOIN mentions m ON m.mention_id = c.mention_id AND m.published_day = c.published_day{nlp}
ORDER BY {order.format(a="c")}""", params)


# One line per brand and cluster of near-copies (016_cluster_numbers.sql); a mention not clustered is a line of its own.
_LINE = "{a}.brand, {a}.cluster_no, CASE WHEN {a}.cluster_no IS NULL THEN {a}.mention_id END"
_LINES = f"count(DISTINCT ({_LINE.format(a='t')}))"
# Above this many mentions the lines they fold into are not counted (a distinct count over all of them takes
# seconds at 10 M): the page says "more than" and pages on while pages are full.
LINES_COUNTED = 20_000


def _folded(f: MentionFilter, csv: bool) -> bool:
    return not csv and f.copies != "all"


def mentions_count(f: MentionFilter) -> Query:
    """The mentions the filters select (one filtered count over mention_targets)."""
    chosen, params = _chosen(f)
    return Query(f"SELECT count(*) AS mentions\n{chosen}", params)


def search_totals(f: MentionFilter) -> Query:
    """A text search's mentions and the lines they fold into, in one pass over the period's texts."""
    chosen, params = _chosen(f)
    return Query(f"SELECT count(*) AS mentions, {_LINES} AS lines\n{chosen}", params)


def lines_count(f: MentionFilter) -> Query:
    """The lines the selected mentions make on a folded page: their clusters (a mention not clustered is one)."""
    chosen, params = _chosen(f)
    return Query(f"SELECT {_LINES} AS lines\n{chosen}", params)

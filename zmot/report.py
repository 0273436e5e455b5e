"""`zmot report`: one self-contained HTML file about a brand over a period, for people who do not write SQL.

Everything is inside the file (inline SVG charts drawn by matplotlib, inline CSS, no scripts and
no external requests), so it opens offline and can be mailed around. Every text that came from
the internet is HTML-escaped.
"""

from __future__ import annotations

import html
import io
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from alerts.compose import copies  # noqa: E402
from warehouse.alert_drivers import AlertDrivers  # noqa: E402
from warehouse.brands import match_brand, signal_brands  # noqa: E402
from warehouse.publish import open_published  # noqa: E402
from warehouse.report_queries import (  # noqa: E402
    STORY_ORDER,
    daily_totals,
    last_signal_day,
    product_totals,
    report_alerts,
    share_of_voice,
    source_totals,
    top_stories,
)
from zmot.workbench.queries import STORY_LIMIT  # noqa: E402

EXCERPT_CHARS = 280
COLOURS = {"positive": "#2e8b57", "neutral": "#a0a0a0", "negative": "#c0392b",
           "zmot": "#4a6fa5", "lzmot": "#c0392b", "umot": "#2e8b57"}


class ReportError(ValueError):
    """The report cannot be written as asked (unknown brand, empty period)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def write_report(warehouse: Path, brand: str, days: int, out: Path, *, end: date | None = None) -> Path:
    """Query the warehouse read-only and write the report; returns the path written."""
    con = open_published(warehouse)
    try:
        data = _gather(con, brand, days, end)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_render(data), encoding="utf-8")
    return out


def _gather(con: duckdb.DuckDBPyConnection, brand: str, days: int, end: date | None) -> dict[str, Any]:
    known = signal_brands(con)
    match = match_brand(known, brand)
    if match is None:
        raise ReportError(f"no signals for brand {brand!r}; the warehouse has: {', '.join(known) or 'no brands yet'}")
    last = end or last_signal_day(con, match)
    period = Period(last - timedelta(days=days - 1), last)
    window = (match, period.start, period.end)
    by_day = {r["day"]: r for r in daily_totals(con, *window)}
    series = [by_day.get(d, {"day": d}) for d in period.days]
    return {
        "brand": match, "period": period, "series": series,
        "totals": _totals(series),
        "sources": source_totals(con, *window),
        "products": product_totals(con, *window),
        "voice": share_of_voice(con, *window),
        "stories": {moment: top_stories(con, *window, moment, STORY_LIMIT) for moment in STORY_ORDER},
        "alerts": report_alerts(con, *window),
        "generated": datetime.now(timezone.utc).replace(microsecond=0),
    }


def _totals(series: list[dict[str, Any]]) -> dict[str, Any]:
    total = {k: sum(r.get(k) or 0 for r in series) for k in ("mentions", "negative", "zmot", "lzmot", "umot", "rating_count")}
    rated = [(r["avg_rating"], r["rating_count"]) for r in series if r.get("rating_count")]
    total["avg_rating"] = sum(a * n for a, n in rated) / sum(n for _, n in rated) if rated else None
    total["negative_share"] = total["negative"] / total["mentions"] if total["mentions"] else None
    return total


# --- charts ---------------------------------------------------------------------------------


def _svg(draw: Any, title: str) -> str:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig, ax = plt.subplots(figsize=(8.0, 2.6), dpi=96)
        try:
            draw(ax)
            ax.set_title(title, fontsize=10, loc="left")
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
            ax.grid(alpha=0.25)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            ax.legend(fontsize=7, loc="upper left", frameon=False)
            fig.autofmt_xdate()
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        finally:
            plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def _charts(series: list[dict[str, Any]]) -> list[str]:
    days = [datetime.combine(r["day"], datetime.min.time()) for r in series]

    def value(key: str) -> list[float]:
        return [float(r.get(key) or 0) for r in series]

    def mentions(ax: Any) -> None:
        bottom = [0.0] * len(days)
        for label in ("negative", "neutral", "positive"):
            ax.bar(days, value(label), bottom=bottom, color=COLOURS[label], label=label, width=0.8)
            bottom = [b + v for b, v in zip(bottom, value(label), strict=True)]

    def moments(ax: Any) -> None:
        for label, name in (("zmot", "ZMOT (researching)"), ("lzmot", "LZMOT (leaving, warning)"), ("umot", "UMOT (advocacy)")):
            ax.plot(days, value(label), color=COLOURS[label], label=name, linewidth=1.6, marker="o", markersize=2.5)

    def sentiment(ax: Any) -> None:
        ax.plot(days, [r.get("avg_sentiment") for r in series], color="#4a6fa5", label="average sentiment (−1..1)", linewidth=1.6)
        if any(r.get("rating_count") for r in series):
            ax.plot(days, [r.get("avg_rating") if r.get("rating_count") else None for r in series], color="#d4a017",
                    marker="*", linestyle="none", label="average review rating (0..1)")
        ax.axhline(0, color="#999999", linewidth=0.8)

    return [_svg(mentions, "Mentions per day, by sentiment"), _svg(moments, "Moments of truth per day"),
            _svg(sentiment, "Sentiment and ratings per day")]


# --- HTML -----------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:60rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#666}.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem;min-width:7rem}.kpi b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #eee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}.num{text-align:right}.story{margin:.6rem 0;padding:.4rem .6rem;border-left:3px solid #ccc}
.story.negative{border-color:#c0392b}.story.positive{border-color:#2e8b57}.story small{color:#666}
figure{margin:1rem 0}svg{max-width:100%;height:auto}
"""


def _render(data: dict[str, Any]) -> str:
    period: Period = data["period"]
    totals = data["totals"]
    e = html.escape
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
        f"<title>{e(data['brand'])}: ZMOT report {period.start} to {period.end}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(data['brand'])}</h1>",
        f'<p class="meta">ZMOT Monitor report · {period.start} to {period.end} ({len(period.days)} days, UTC) · '
        f"generated {data['generated'].isoformat()}</p>",
        '<div class="kpis">',
        _kpi("mentions", f"{totals['mentions']:,}"),
        _kpi("negative share", _percent(totals["negative_share"])),
        _kpi("ZMOT (researching)", f"{totals['zmot']:,}"),
        _kpi("LZMOT (leaving, warning)", f"{totals['lzmot']:,}"),
        _kpi("UMOT (advocacy)", f"{totals['umot']:,}"),
        _kpi("average rating", f"{totals['avg_rating'] * 4 + 1:.2f} / 5 ({totals['rating_count']} reviews)" if totals["avg_rating"] is not None else "no reviews"),
        _kpi("alerts", str(len(data["alerts"]))),
        "</div>",
    ]
    parts += [f"<figure>{svg}</figure>" for svg in _charts(data["series"])]
    parts.append("<h2>Alerts</h2>")
    alerts = [{**a, "drivers": AlertDrivers.from_json(a["drivers"]).summary() if a["drivers"] else ""} for a in data["alerts"]]
    parts.append(_table(alerts, [("window_start", "when"), ("metric", "metric"), ("product", "product"),
                                         ("source_kind", "sources"), ("observed", "observed"), ("expected", "expected"),
                                         ("reason", "why"), ("drivers", "what drives it")]) if data["alerts"] else "<p>No alerts in this period.</p>")
    for moment, heading in (("lzmot", "Top LZMOT stories: customers leaving or warning others"),
                            ("zmot", "What prospects are asking (ZMOT), newest first"),
                            ("umot", "Advocacy (UMOT)")):
        parts.append(f"<h2>{heading}</h2>")
        stories = data["stories"][moment]
        parts += [_story(s) for s in stories] or ["<p>None in this period.</p>"]
    parts.append("<h2>Share of voice against configured competitors</h2>")
    voice = [{**v, "share": _percent(v["share"])} for v in data["voice"]]
    parts.append(_table(voice, [("brand", "brand"), ("mentions", "mentions"), ("share", "share")]))
    parts.append("<h2>Products</h2>")
    products = [{**p, "avg_rating": f"{p['avg_rating'] * 4 + 1:.2f} / 5" if p["avg_rating"] is not None else ""} for p in data["products"]]
    parts.append(_table(products, [("product", "product"), ("mentions", "mentions"), ("negative", "negative"), ("zmot", "ZMOT"),
                                   ("lzmot", "LZMOT"), ("avg_rating", "rating"), ("ratings", "reviews")])
                 if products else "<p>No product-level mentions.</p>")
    parts.append("<h2>Sources</h2>")
    parts.append(_table(data["sources"], [("source_kind", "source kind"), ("mentions", "mentions"), ("negative", "negative")]))
    parts.append('<p class="meta">Days are UTC. Sentiment is per brand reference; a review rated one star counts as negative. '
                 "Query the same data with <code>zmot sql</code>.</p></body></html>")
    return "\n".join(parts)


def _kpi(label: str, value: str) -> str:
    return f'<div class="kpi"><b>{html.escape(value)}</b>{html.escape(label)}</div>'


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(_cell(row.get(key)) for key, _ in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:,.1f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _story(row: dict[str, Any]) -> str:
    e = html.escape
    text = " ".join(str(row.get("text") or "").split())
    excerpt = text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")
    title = e(row.get("title") or excerpt[:80] or "(untitled)")
    url = str(row.get("url") or "")
    link = f'<a href="{e(url)}" rel="noopener noreferrer">{title}</a>' if url.startswith(("https://", "http://")) else title
    rating = f" · rated {row['rating'] * 4 + 1:.0f}/5" if row.get("rating") is not None else ""
    meta = f"{row['published_at']:%Y-%m-%d %H:%M} · {e(row['source_kind'])} · {e(row['source_id'])}{rating} · {e(row['sentiment_label'])}"
    if row.get("copies"):
        meta += f" · and {copies(row['copies'])}"
    return f'<div class="story {e(row["sentiment_label"])}"><b>{link}</b><br>{e(excerpt)}<br><small>{meta}</small></div>'

"""A brand's digest for a day or a week: the moments of truth against the period before, the top LZMOT
and ZMOT stories, the alerts, what changed, and new names seen with the brand. Written as Markdown or
HTML and sent as an email (plain text and HTML), once per brand and period.

Every text that came from the internet is escaped for where it goes: HTML-escaped in HTML, and in
Markdown both HTML-escaped (Markdown passes raw HTML through) and stripped of link and emphasis markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from alerts.compose import header_safe
from warehouse.alert_drivers import AlertDrivers
from warehouse.brands import catalog_brands, match_brand
from warehouse.deliveries import delivered, record_delivery
from warehouse.digest_queries import digest_alerts, mention_moves, period_totals, story_lines
from warehouse.new_names import BEFORE_DAYS, NewName, new_names
from zmot.config import AlertsConfig

PeriodKind = Literal["day", "week"]
STORY_LIMIT = 5
NEW_NAME_LIMIT = 10
CHANGE_LIMIT = 5
EXCERPT_CHARS = 240
MOMENTS = (("zmot", "ZMOT (researching)"), ("lzmot", "LZMOT (leaving, warning others)"), ("umot", "UMOT (advocacy)"))


class DigestError(ValueError):
    """The digest cannot be made as asked (a brand the warehouse does not know)."""


@dataclass(frozen=True)
class DigestPeriod:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> "DigestPeriod":
        """The day itself, or the ISO week (Monday to Sunday) that holds it."""
        if kind == "day":
            return cls(kind, day, day)
        monday = day - timedelta(days=day.weekday())
        return cls(kind, monday, monday + timedelta(days=6))

    @property
    def key(self) -> str:
        """Names the period in the deliveries table: day:2026-11-15, week:2026-W46."""
        if self.kind == "day":
            return f"day:{self.start.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"week:{year}-W{week:02d}"

    @property
    def adjective(self) -> str:
        return {"day": "daily", "week": "weekly"}[self.kind]

    @property
    def label(self) -> str:
        return f"{self.start:%a %d %b %Y}" if self.kind == "day" else f"week {self.key[5:]} ({self.start:%d %b} to {self.end:%d %b %Y})"

    def previous(self) -> "DigestPeriod":
        length = (self.end - self.start).days + 1
        return DigestPeriod(self.kind, self.start - timedelta(days=length), self.start - timedelta(days=1))


@dataclass(frozen=True)
class Story:
    published_at: datetime
    source_kind: str
    author: str | None
    text: str
    url: str | None
    copies: int  # other mentions with the same text (reposts, syndication), shown once


@dataclass(frozen=True)
class Change:
    what: str  # "product Nova" / "source reddit"
    now: int
    before: int


@dataclass
class Digest:
    brand: str
    period: DigestPeriod
    counts: dict[str, tuple[int, int]]  # metric -> (this period, the one before)
    stories: dict[str, list[Story]]  # lzmot / zmot
    alerts: list[dict[str, Any]]
    changes: list[Change]
    new_names: list[NewName] = field(default_factory=list)

    @property
    def subject_key(self) -> str:
        return f"digest:{self.brand}:{self.period.key}"


def gather_digest(con: duckdb.DuckDBPyConnection, brand: str, period: DigestPeriod) -> Digest:
    """Everything the digest says, from the warehouse (read-only queries)."""
    known = catalog_brands(con)
    match = match_brand(known, brand)
    if match is None:
        raise DigestError(f"unknown brand {brand!r}; the warehouse has: {', '.join(known) or 'no brands yet'}")
    before = period.previous()
    by_period = {r["now"]: r for r in period_totals(con, match, period.start, before.start, period.end)}
    counts = {m: (int((by_period.get(True) or {}).get(m) or 0), int((by_period.get(False) or {}).get(m) or 0))
              for m in ("mentions", "negative", "zmot", "lzmot", "umot")}
    return Digest(
        brand=match, period=period, counts=counts,
        stories={m: _stories(con, match, period, m) for m in ("lzmot", "zmot")},
        alerts=digest_alerts(con, match, period.start, period.end),
        changes=_changes(con, match, period, before),
        new_names=new_names(con, match, period.start, period.end, limit=NEW_NAME_LIMIT),
    )


def _stories(con: duckdb.DuckDBPyConnection, brand: str, period: DigestPeriod, moment: str) -> list[Story]:
    """The period's stories of one moment, worst (LZMOT) or newest (ZMOT) first, one line per distinct text."""
    chosen: dict[str, list[Any]] = {}
    for published_at, kind, author, text, url in story_lines(con, brand, moment, period.start, period.end):
        key = " ".join(text.casefold().split())
        if key in chosen:
            chosen[key][-1] += 1
        elif len(chosen) < STORY_LIMIT:
            chosen[key] = [published_at, kind, author, text, url, 0]
    return [Story(*values) for values in chosen.values()]


def _changes(con: duckdb.DuckDBPyConnection, brand: str, period: DigestPeriod, before: DigestPeriod) -> list[Change]:
    """The products and source kinds whose mentions moved most against the period before."""
    moves = mention_moves(con, brand, period.start, before.start, period.end)
    changes = [Change(what, int(now or 0), int(was or 0)) for what, now, was in moves]
    return sorted((c for c in changes if c.now != c.before), key=lambda c: (-abs(c.now - c.before), c.what))[:CHANGE_LIMIT]


# --- rendering ----------------------------------------------------------------------------------


def _change_text(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "none either period"
    return f"{(now - before) / before:+.0%} from {before:,}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


_MARKDOWN_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")


def markdown_escape(text: str) -> str:
    """Text shown as itself in any Markdown viewer: no raw HTML, no links, no emphasis, on one line."""
    return _MARKDOWN_MARKUP.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


def render_markdown(digest: Digest, *, escape: Any = markdown_escape) -> str:
    """The digest as Markdown; with `escape=str` it is the email's plain text."""
    e = escape
    p = digest.period
    lines = [f"# {e(digest.brand)}: {p.adjective} digest, {p.label}", "",
             f"Moments of truth, against the previous {p.kind} ({p.previous().start} to {p.previous().end}):", ""]
    for metric, label in (("mentions", "Mentions"), *MOMENTS, ("negative", "Negative")):
        now, before = digest.counts[metric]
        lines.append(f"- {label}: {now:,} ({_change_text(now, before)})")
    for moment, heading in (("lzmot", "Top LZMOT stories: customers leaving or warning others"),
                            ("zmot", "Top ZMOT stories: prospects researching, newest first")):
        lines += ["", f"## {heading}", ""]
        stories = digest.stories[moment]
        lines += [f"- {s.published_at:%d %b %H:%M} · {e(s.source_kind)} · {e(s.author or 'no author')}: "
                  f"{e(_excerpt(s.text))}" + (f" (and {s.copies} copies)" if s.copies else "")
                  + (f" <{e(s.url)}>" if s.url and escape is str else "") for s in stories] or ["- none this period"]
    lines += ["", "## Alerts", ""]
    for a in digest.alerts:
        lines.append(f"- {a['window_start']:%d %b}: {e(a['metric'].replace('_', ' '))}"
                     + ("" if a["product"] == "*" else f" for {e(a['product'])}")
                     + f", {a['observed']:g} against about {a['expected']:.0f} expected. {e(a['reason'])}")
        if a["drivers"]:
            lines.append(f"  What drives it: {e(AlertDrivers.from_json(a['drivers']).summary())}")
    if not digest.alerts:
        lines.append("- no alerts this period")
    lines += ["", "## What changed", ""]
    lines += [f"- {e(c.what)}: {c.now:,} mentions ({_change_text(c.now, c.before)})" for c in digest.changes] or ["- nothing moved"]
    lines += ["", "## New names seen with the brand, not in the catalog", ""]
    lines += [f"- {e(n.name)} ({n.kind}): {n.voices_now} voices this {p.kind}, {n.voices_before} in the {BEFORE_DAYS} days before"
              for n in digest.new_names] or ["- none"]
    lines += ["", "Add one to brands.yaml (as a competitor, a product or an alias) to track it."]
    return "\n".join(lines) + "\n"


CSS = ("body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
       "li{margin:.3em 0}.meta{color:#666}.up{color:#c0392b}.down{color:#2e8b57}")


def render_html(digest: Digest) -> str:
    """The digest as one self-contained HTML page (no scripts, nothing fetched)."""
    e = html.escape
    p = digest.period
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
             f"<title>{e(digest.brand)}: {p.adjective} digest {e(p.label)}</title><style>{CSS}</style></head><body>",
             f"<h1>{e(digest.brand)}: {p.adjective} digest</h1><p class=\"meta\">{e(p.label)}, against the previous {p.kind}</p><ul>"]
    for metric, label in (("mentions", "Mentions"), *MOMENTS, ("negative", "Negative")):
        now, before = digest.counts[metric]
        parts.append(f"<li><b>{e(label)}</b>: {now:,} ({e(_change_text(now, before))})</li>")
    parts.append("</ul>")
    for moment, heading in (("lzmot", "Top LZMOT stories: customers leaving or warning others"),
                            ("zmot", "Top ZMOT stories: prospects researching, newest first")):
        parts.append(f"<h2>{heading}</h2><ul>")
        for s in digest.stories[moment]:
            link = f' <a href="{e(s.url)}">link</a>' if s.url and s.url.startswith(("http://", "https://")) else ""
            copies = f" <i>(and {s.copies} copies)</i>" if s.copies else ""
            parts.append(f"<li>{s.published_at:%d %b %H:%M} · {e(s.source_kind)} · {e(s.author or 'no author')}: "
                         f"{e(_excerpt(s.text))}{copies}{link}</li>")
        parts.append("</ul>" if digest.stories[moment] else "<li>none this period</li></ul>")
    parts.append("<h2>Alerts</h2><ul>")
    for a in digest.alerts:
        drivers = f"<br>What drives it: {e(AlertDrivers.from_json(a['drivers']).summary())}" if a["drivers"] else ""
        scope = "" if a["product"] == "*" else f" for {e(a['product'])}"
        parts.append(f"<li>{a['window_start']:%d %b}: {e(a['metric'].replace('_', ' '))}{scope}, {a['observed']:g} against "
                     f"about {a['expected']:.0f} expected. {e(a['reason'])}{drivers}</li>")
    parts.append("</ul>" if digest.alerts else "<li>no alerts this period</li></ul>")
    parts.append("<h2>What changed</h2><ul>")
    parts += [f"<li>{e(c.what)}: {c.now:,} mentions ({e(_change_text(c.now, c.before))})</li>" for c in digest.changes] or ["<li>nothing moved</li>"]
    parts.append("</ul><h2>New names seen with the brand, not in the catalog</h2><ul>")
    parts += [f"<li>{e(n.name)} ({n.kind}): {n.voices_now} voices this {p.kind}, {n.voices_before} in the {BEFORE_DAYS} days before</li>"
              for n in digest.new_names] or ["<li>none</li>"]
    parts.append("</ul><p class=\"meta\">Add one to brands.yaml (as a competitor, a product or an alias) to track it.</p></body></html>")
    return "\n".join(parts) + "\n"


def write_digest(digest: Digest, out: Path) -> Path:
    """HTML for a .html or .htm file, Markdown otherwise."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(digest) if out.suffix.lower() in (".html", ".htm") else render_markdown(digest)
    out.write_text(text, encoding="utf-8")
    return out


def digest_email(digest: Digest, *, sender: str, recipients: list[str], sent_at: datetime) -> EmailMessage:
    """Multipart: the plain text first, the HTML as its alternative."""
    msg = EmailMessage()
    now, before = digest.counts["lzmot"]
    msg["Subject"] = header_safe(f"{digest.brand}: {digest.period.adjective} digest, {digest.period.label} "
                                 f"(LZMOT {now}, {_change_text(now, before)})")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(sent_at)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{digest.brand}-{digest.period.key}").strip("-").lower()
    msg["Message-ID"] = f"<zmot-digest-{slug}@{header_safe(sender.partition('@')[2]) or 'zmot-monitor'}>"
    msg.set_content(render_markdown(digest, escape=str))
    msg.add_alternative(render_html(digest), subtype="html")
    return msg


def send_digest_once(con: duckdb.DuckDBPyConnection, digest: Digest, cfg: AlertsConfig, *, data_dir: Path,
                     now: datetime) -> str | None:
    """Email the digest to the alert recipients (SMTP, else the outbox) unless it went out already for this
    brand and period; recorded only once accepted. Returns where it went, or None when it had gone before."""
    from alerts.deliver import send_smtp, write_outbox
    from zmot.notify import smtp_settings, smtp_target

    if delivered(con, digest.subject_key, "email"):
        return None
    if not cfg.recipients:
        raise DigestError("alerts.yaml: recipients: empty; expected at least one e-mail address to send the digest to")
    msg = digest_email(digest, sender=cfg.sender, recipients=cfg.recipients, sent_at=now)
    settings = smtp_settings(cfg)
    if settings is not None:
        where = send_smtp(msg, smtp_target(settings))
    else:
        outbox = Path(cfg.outbox_dir) if Path(cfg.outbox_dir).is_absolute() else data_dir / cfg.outbox_dir
        where = write_outbox(msg, outbox, msg["Message-ID"].strip("<>").partition("@")[0])
    record_delivery(con, digest.subject_key, "email", now, where)
    return where

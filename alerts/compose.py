"""Compose the alert email: subject that says what jumped and by how much, the numbers, the chart,
the mentions driving it, and the query that reproduces it. Plain text and HTML, chart inline."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from alerts.chart import spike_chart
from warehouse.alert_drivers import AlertDrivers
from warehouse.alert_queue import AlertRecord

METRIC_LABELS = {
    "negative_mentions": "negative mentions",
    "negative_share": "negative share",
    "lzmot_mentions": "LZMOT mentions",
    "avg_rating": "average rating",
}
VOICE_LABELS = {"clusters": "near-copies once", "authors": "each author once"}
SNIPPET_CHARS = 280
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # C0, DEL, C1 (an 8-bit CSI is \x9b), line separators


@dataclass(frozen=True)
class DrivingMention:
    published_at: datetime
    source_id: str
    author: str | None
    text: str
    url: str | None
    sentiment_label: str
    sentiment_score: float | None
    repeats: int = 0  # other mentions of its cluster in the window (near-copies: reposts, syndication, floods)

    @property
    def repeat_note(self) -> str:
        return f" (and {copies(self.repeats)})" if self.repeats else ""


def copies(n: int) -> str:
    """How the email, the report and the dashboard say a line stands for a cluster: "11 copies"."""
    return f"{n} cop{'y' if n == 1 else 'ies'}"


@dataclass(frozen=True)
class AlsoUnusual:
    """Another of the brand's series that jumped in the same window, told in the same email."""

    metric: str
    product: str
    source_kind: str
    observed: float
    expected: float
    ratio: float

    def line(self) -> str:
        label = METRIC_LABELS.get(self.metric, self.metric.replace("_", " "))
        scope = "" if self.product == "*" else f" ({self.product})"
        scope += "" if self.source_kind == "*" else f" on {self.source_kind}"
        return f"{label}{scope}: {self.observed:g} vs about {self.expected:.1f} expected ({self.ratio:.1f}×)"


@dataclass(frozen=True)
class AlertEmail(AlertRecord):
    """Everything one email says about one alert."""

    series: list[tuple[datetime, float]]
    mentions: list[DrivingMention]
    reproduce_sql: str
    also: list[AlsoUnusual] = field(default_factory=list)
    drivers: AlertDrivers | None = None
    voices: str = "mentions"  # alerts.yaml rules.voices: what the series counts

    @property
    def metric_label(self) -> str:
        label = METRIC_LABELS.get(self.metric, self.metric.replace("_", " "))
        if self.voices == "mentions" or self.metric == "avg_rating":
            return label
        return f"{label} (unique voices: {VOICE_LABELS[self.voices]})"

    @property
    def scope(self) -> str:
        parts = [self.brand]
        if self.product != "*":
            parts.append(self.product)
        if self.source_kind != "*":
            parts.append(f"on {self.source_kind}")
        return " ".join(parts)


def header_safe(text: str) -> str:
    """One line, no control characters: a brand or a mention can never inject a header."""
    return " ".join(_CONTROL.sub(" ", text).split())


def subject(alert: AlertEmail) -> str:
    jump = f"{alert.ratio:.1f}× usual" if alert.expected > 0 else f"{alert.observed:g} vs none usual"
    return header_safe(f"{alert.scope}: {alert.metric_label} {jump} on {alert.window_start:%a %d %b}")


def message_id(alert_id: str, domain: str) -> str:
    """Deterministic, so a resend after a crash is recognisably the same message."""
    return f"<zmot-alert-{alert_id}@{header_safe(domain) or 'zmot-monitor'}>"


def compose(alert: AlertEmail, *, sender: str, recipients: list[str], sent_at: datetime) -> EmailMessage:
    """Build the multipart email: text/plain and text/html alternatives, the chart inline in the HTML."""
    msg = EmailMessage()
    msg["Subject"] = subject(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id(alert.alert_id, sender.partition("@")[2])
    msg["X-ZMOT-Alert-Id"] = alert.alert_id
    msg.set_content(_plain(alert))
    chart_cid = f"chart-{alert.alert_id}@zmot-monitor"
    msg.add_alternative(_html(alert, chart_cid), subtype="html")
    png = spike_chart(alert.series, alert.window_start, alert.expected, header_safe(f"{alert.scope}: {alert.metric_label} per day"))
    html_part = list(msg.iter_parts())[1]  # the alternative added above
    html_part.add_related(png, maintype="image", subtype="png", cid=f"<{chart_cid}>", filename="spike.png")
    return msg


def _numbers(alert: AlertEmail) -> list[tuple[str, str]]:
    return [
        ("Window", f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%Y-%m-%d %H:%M} UTC"),
        ("Observed", f"{alert.observed:g}"),
        ("Expected", f"{alert.expected:.1f}"),
        ("Ratio", f"{alert.ratio:.1f}×"),
        ("Severity", f"{alert.severity:.1f}"),
        ("Why", alert.reason),
    ]


def _snippet(text: str) -> str:
    text = header_safe(text)
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def _plain(alert: AlertEmail) -> str:
    lines = [f"{alert.scope}: {alert.metric_label} jumped to {alert.observed:g} (about {alert.expected:.1f} expected).", ""]
    lines += [f"{k:9} {v}" for k, v in _numbers(alert)]
    if alert.also:
        lines += ["", "Also unusual in the same window:"] + [f"- {a.line()}" for a in alert.also]
    lines += _drivers_plain(alert.drivers)
    lines += ["", "What people are saying:"]
    for m in alert.mentions:
        score = "" if m.sentiment_score is None else f" {m.sentiment_score:+.2f}"
        lines.append(f"- [{m.sentiment_label}{score}] {m.published_at:%d %b %H:%M} {header_safe(m.source_id)}"
                     f"{' · ' + header_safe(m.author) if m.author else ''}: {_snippet(m.text)}{m.repeat_note}")
        if m.url:  # one line with no control characters: nothing in it can drive the reader's terminal
            lines.append(f"  {header_safe(m.url)}")
    if not alert.mentions:
        lines.append("- (no stored mentions in the window)")
    lines += ["", "Reproduce it:", f'  zmot sql "{alert.reproduce_sql}"', "", f"Alert id {alert.alert_id}"]
    return "\n".join(lines) + "\n"


def _drivers_lines(drivers: AlertDrivers) -> tuple[str, list[str], list[tuple[str, str]]]:
    """The heading, the phrases, and the labelled lines (sources, products, voices) of "What drives it"."""
    heading = f"What drives it (the window against the {drivers.baseline_days} days before, {drivers.baseline_mentions} mentions then)"
    labelled = [("Sources", drivers.share_line(drivers.sources)), ("Products", drivers.share_line(drivers.products)),
                ("Tags", drivers.share_line(drivers.tags)), ("Copies", drivers.stories_line()), ("Voices", drivers.voices)]
    phrases = drivers.phrase_lines() or ["no word or phrase stands out against the baseline"]
    return heading, phrases, [(k, v) for k, v in labelled if v]


def _drivers_plain(drivers: AlertDrivers | None) -> list[str]:
    if drivers is None:
        return []
    heading, phrases, labelled = _drivers_lines(drivers)
    return ["", heading + ":"] + [f"- {header_safe(p)}" for p in phrases] + [f"{k + ':':9} {header_safe(v)}" for k, v in labelled]


def _drivers_html(drivers: AlertDrivers | None) -> str:
    if drivers is None:
        return ""
    e = html.escape
    heading, phrases, labelled = _drivers_lines(drivers)
    items = "".join(f"<li>{e(p)}</li>" for p in phrases)
    rows = "".join(f"<tr><th align='left' style='padding-right:12px'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in labelled)
    return f"<h3>{e(heading)}</h3>\n<ul style='padding-left:18px;font-size:14px'>{items}</ul>\n<table style='font-size:14px'>{rows}</table>"


def _html(alert: AlertEmail, chart_cid: str) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left' style='padding-right:12px'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _numbers(alert))
    items = []
    for m in alert.mentions:
        colour = {"negative": "#c0392b", "positive": "#27ae60"}.get(m.sentiment_label, "#7f8c8d")
        score = "" if m.sentiment_score is None else f" {m.sentiment_score:+.2f}"
        link = f" <a href='{e(m.url, quote=True)}'>link</a>" if m.url and m.url.startswith(("http://", "https://")) else ""
        items.append(
            f"<li style='margin-bottom:8px'><span style='color:{colour};font-weight:bold'>{e(m.sentiment_label)}{e(score)}</span> "
            f"<span style='color:#666'>{e(f'{m.published_at:%d %b %H:%M}')} · {e(m.source_id)}"
            f"{' · ' + e(m.author) if m.author else ''}</span><br>{e(_snippet(m.text))}{e(m.repeat_note)}{link}</li>"
        )
    mentions = "".join(items) or "<li>(no stored mentions in the window)</li>"
    also = ""
    if alert.also:
        also = "<p><b>Also unusual in the same window:</b></p><ul>" + "".join(f"<li>{e(a.line())}</li>" for a in alert.also) + "</ul>"
    return f"""<!doctype html>
<html><body style="font-family:Helvetica,Arial,sans-serif;color:#222;max-width:720px">
<h2 style="margin-bottom:4px">{e(alert.scope)}: {e(alert.metric_label)} {e(f'{alert.ratio:.1f}')}× usual</h2>
<p style="margin-top:0;color:#555">{e(f'{alert.observed:g}')} on {e(f'{alert.window_start:%A %d %B %Y}')}, about {e(f'{alert.expected:.1f}')} expected.</p>
<img src="cid:{e(chart_cid)}" alt="{e(alert.metric_label)} per day, spike marked" width="700">
<table style="margin:12px 0;font-size:14px">{rows}</table>
{also}
{_drivers_html(alert.drivers)}
<h3>What people are saying</h3>
<ul style="padding-left:18px;font-size:14px">{mentions}</ul>
<h3>Reproduce it</h3>
<pre style="background:#f4f4f4;padding:8px;white-space:pre-wrap">zmot sql "{e(alert.reproduce_sql)}"</pre>
<p style="color:#888;font-size:12px">ZMOT Monitor · alert {e(alert.alert_id)}</p>
</body></html>
"""

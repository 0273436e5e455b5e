"""The dashboard's web application: Starlette routes over short-lived read-only connections.

Every page opens the warehouse for the request and closes it before answering, so the nightly load
never waits for a browser tab. Only a correction writes, through `warehouse.corrections`.
"""

from __future__ import annotations

import base64
import csv
import hmac
import io
import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from warehouse.corrections import MOMENTS, SENTIMENTS, Correction, CorrectionError, history, record_correction
from warehouse.db import WarehouseError
from warehouse.share_of_voice import VOICE_DAILY_SQL, VOICE_SQL, compared_brands, voice_params, with_shares
from zmot.access import analyst_name, reading, writing
from zmot.workbench import queries
from zmot.workbench.charts import day_bars
from zmot.workbench.queries import MentionFilter, Query

TOKEN_ENV = "ZMOT_SERVE_TOKEN"
USER_ENV = "ZMOT_SERVE_USER"
PASSWORD_ENV = "ZMOT_SERVE_PASSWORD"
CSRF_COOKIE = "zmot_csrf"
TOKEN_COOKIE = "zmot_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a browser send `Origin: null` with the forms
    "X-Frame-Options": "DENY",
}
# Which mentions make each alert metric's count, as filters of the mentions page.
ALERT_MENTIONS = {"negative_mentions": {"sentiment": "negative"}, "lzmot_mentions": {"moment": "lzmot"},
                  "negative_share": {"sentiment": "negative"}, "avg_rating": {"source_kind": "reviews"}}
ALERT_SERIES = {"negative_mentions": ("mentions", "negative"), "lzmot_mentions": ("mentions", "lzmot"),
                "negative_share": ("mentions", "negative"), "avg_rating": ("mentions", "negative")}


class ServeError(ValueError):
    """The server cannot start as asked (a public address without credentials)."""


@dataclass(frozen=True)
class Credentials:
    """What a request must carry: a bearer token, or basic-auth user and password (from the environment)."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_environment(cls) -> Credentials | None:
        token = os.environ.get(TOKEN_ENV) or None
        user, password = os.environ.get(USER_ENV) or None, os.environ.get(PASSWORD_ENV) or None
        if bool(user) != bool(password):
            raise ServeError(f"set both {USER_ENV} and {PASSWORD_ENV}, or neither")
        return cls(token, user, password) if token or user else None

    def accepts(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        offered = [request.cookies.get(TOKEN_COOKIE, ""), request.query_params.get("token", "")]
        if header.lower().startswith("bearer "):
            offered.append(header[7:].strip())
        if self.token and any(o and hmac.compare_digest(o.encode(), self.token.encode()) for o in offered):
            return True
        if self.user and header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except ValueError:
                return False
            return hmac.compare_digest(user.encode(), self.user.encode()) and hmac.compare_digest(
                password.encode(), (self.password or "").encode())
        return False


def is_loopback(host: str) -> bool:
    """Whether binding here keeps the dashboard on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, credentials: Credentials | None) -> None:
    """Binding beyond loopback needs credentials: mentions and corrections are not for the whole network."""
    if not is_loopback(host) and credentials is None:
        raise ServeError(
            f"--host {host} is reachable from other machines: set {TOKEN_ENV} (or {USER_ENV} and {PASSWORD_ENV}) "
            "in the environment, or bind to 127.0.0.1"
        )


class _Guard(BaseHTTPMiddleware):
    """Credentials when configured, security headers on every answer, and a CSRF cookie for the forms."""

    def __init__(self, app: Any, credentials: Credentials | None) -> None:
        super().__init__(app)
        self.credentials = credentials

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if self.credentials and not self.credentials.accepts(request):
            headers = {"WWW-Authenticate": 'Basic realm="zmot"'} if self.credentials.user else {}
            response: Response = PlainTextResponse("authentication required\n", status_code=401, headers=headers)
        elif self.credentials and self.credentials.token and request.query_params.get("token"):
            # a token given in the address becomes a cookie, and the address loses it
            kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            response = RedirectResponse(request.url.path + (f"?{kept}" if kept else ""), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.credentials.token, httponly=True, samesite="strict")
        else:
            request.state.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
            response = await call_next(request)
            if CSRF_COOKIE not in request.cookies:
                response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        response.headers.update(SECURITY_HEADERS)
        return response


def create_app(warehouse: Path, credentials: Credentials | None = None) -> Starlette:
    """The dashboard over one warehouse file."""
    templates = Environment(loader=PackageLoader("zmot.workbench", "templates"), autoescape=select_autoescape(default=True))
    templates.globals.update(MOMENTS=MOMENTS, SENTIMENTS=SENTIMENTS, SORTS=list(queries.SORTS), with_query=_with_query,
                             LINES_COUNTED=queries.LINES_COUNTED, OVERVIEW_DAYS=queries.OVERVIEW_DAYS,
                             safe_href=_safe_href)
    templates.filters["cell"] = _cell

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        body = templates.get_template(template).render(request=request, csrf=getattr(request.state, "csrf", ""), **context)
        return HTMLResponse(body, status_code=status_code)

    def run(con: duckdb.DuckDBPyConnection, query: Query) -> list[dict[str, Any]]:
        result = con.execute(query.sql, query.params)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row)) for row in result.fetchall()]

    def csv_or(request: Request, name: str, rows: list[dict[str, Any]], render: Any) -> Response:
        if request.query_params.get("format") == "csv":
            return _csv(name, rows)
        return render()

    def overview(request: Request) -> Response:
        with reading(warehouse) as con:
            rows = run(con, queries.OVERVIEW)
            alerts = {r["brand"]: r for r in run(con, queries.OPEN_ALERTS)}
        brands: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            brands.setdefault(row["brand"], []).append(row)
        last = max((r["day"] for r in rows), default=date.today())
        first = last - timedelta(days=queries.OVERVIEW_DAYS - 1)
        cards = []
        for brand, series in brands.items():
            total = {k: sum(r[k] or 0 for r in series) for k in ("mentions", "negative", "positive", "zmot", "lzmot", "umot")}
            cards.append({
                "brand": brand, "total": total, "alerts": alerts.get(brand),
                "bars": day_bars(series, first, last, total="mentions", part="negative",
                                 href=lambda d, b=brand: "/mentions?" + urlencode({"brand": b, "day_from": d, "day_to": d})),
            })
        return csv_or(request, "overview", rows, lambda: page(
            request, "overview.html", cards=cards, first=first, last=last, sql=[queries.OVERVIEW, queries.OPEN_ALERTS]))

    def listed(con: duckdb.DuckDBPyConnection, f: MentionFilter, total: int, *, limit: int = queries.PAGE_SIZE,
               language: bool = True) -> tuple[list[dict[str, Any]], Query]:
        """A page of the list; folded, from a prefix of the chosen rows grown until it gives the page (or holds all)."""
        prefix = 2 * max(f.page, 1) * limit
        if f.q and total <= queries.LINES_COUNTED:  # each query of a search reads its period's texts: fold all at once
            prefix = max(total, prefix)
        listing = queries.mentions(f, limit=limit, language=language, prefix=prefix)
        rows = run(con, listing)
        if f.copies != "all":
            while len(rows) < limit and prefix < total:
                prefix *= 4
                listing = queries.mentions(f, limit=limit, language=language, prefix=prefix)
                rows = run(con, listing)
        return rows, listing

    def mentions(request: Request) -> Response:
        try:
            f = _mention_filter(request)
        except ValueError as exc:
            return PlainTextResponse(f"bad filter: {exc}\n", status_code=400)
        with reading(warehouse) as con:
            if f.q and not (f.day_from or f.day_to):
                # reading every text takes seconds at 10 M: a search covers the overview's period unless told otherwise
                last = run(con, queries.LATEST_DAY)[0]["last"] or date.today()
                f = replace(f, day_from=last - timedelta(days=queries.OVERVIEW_DAYS - 1))
            if request.query_params.get("format") == "csv":
                return _csv("mentions", run(con, queries.mentions(f, csv=True)))
            folded = f.copies != "all"
            lines: int | None = None
            if f.q and folded:  # a search reads every text of its period per query: its count and lines in one pass
                count = queries.search_totals(f)
                found = run(con, count)[0]
                total, lines = found["mentions"], found["lines"]
            else:
                count = queries.mentions_count(f)
                total = run(con, count)[0]["mentions"]
                lines = None if folded else total
            rows, listing = listed(con, f, total)
            asked = [listing, count]
            if lines is None and total <= queries.LINES_COUNTED:
                asked.append(queries.lines_count(f))
                lines = run(con, asked[-1])[0]["lines"]
            choices: dict[str, list[str]] = {}
            for row in run(con, queries.FILTER_CHOICES):
                choices.setdefault(row["facet"], []).append(row["value"])
        pages = None if lines is None else max(1, -(-lines // queries.PAGE_SIZE))
        more = len(rows) == queries.PAGE_SIZE if pages is None else f.page < pages
        return page(request, "mentions.html", rows=rows, total=total, lines=lines, f=f, pages=pages, more=more,
                    choices=choices, sql=asked)

    def mention(request: Request) -> Response:
        mention_id = request.path_params["mention_id"]
        try:  # the list links give the day; a bare id (or a day an edit moved) is looked up
            days = [date.fromisoformat(request.query_params.get("day", "")[:10])]
        except ValueError:
            days = []
        asked = [Query(queries.MENTION.sql, [mention_id, d, mention_id, d]) for d in days]
        with reading(warehouse) as con:
            found = run(con, asked[0]) if asked else []
            if not found:
                asked = [Query(queries.MENTION_DAY.sql, [mention_id])]
                days = [r["published_day"] for r in run(con, asked[0])]
                if days:
                    asked.append(Query(queries.MENTION.sql, [mention_id, days[0], mention_id, days[0]]))
                    found = run(con, asked[-1])
            if found:
                day = found[0]["published_day"]
                asked += [Query(queries.MENTION_REFS.sql, [mention_id, day]),
                          Query(queries.MENTION_TARGETS.sql, [mention_id, day]),
                          Query(queries.MENTION_TAGS.sql, [mention_id, day])]
                refs, targets, tags = (run(con, q) for q in asked[-3:])
                corrections = history(con, mention_id)
        if not found:
            return page(request, "missing.html", status_code=404, what=f"mention {mention_id}")
        brands = sorted({r["brand"] for r in refs})
        return page(request, "mention.html", m=found[0], refs=refs, targets=targets, tags=tags, corrections=corrections,
                    brands=brands, error=request.query_params.get("error"), done=request.query_params.get("done"),
                    sql=asked)

    async def correct(request: Request) -> Response:
        mention_id = request.path_params["mention_id"]
        form = await request.form()
        sent = str(form.get("csrf", ""))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()) or not _same_origin(request):
            return PlainTextResponse("refused: the form's CSRF token is missing or wrong; reload the page\n", status_code=403)
        field, value = str(form.get("field", "")), str(form.get("value", "")).strip()
        if field == "not_about":
            value = "true"
        correction = Correction(mention_id, str(form.get("brand", "")), field, value, str(form.get("note", "")).strip() or None)
        back = "/mentions/" + quote(mention_id, safe=":@")
        try:
            done = await run_in_threadpool(_record, warehouse, correction)
        except CorrectionError as exc:
            return RedirectResponse(back + "?" + urlencode({"error": str(exc)}), status_code=303)
        message = f"{done.brand}: {field} {done.old_value or '(none)'} -> {value}; signals of {done.day} recomputed"
        return RedirectResponse(back + "?" + urlencode({"done": message, "day": done.day}), status_code=303)

    def alerts(request: Request) -> Response:
        with reading(warehouse) as con:
            rows = run(con, queries.ALERTS)
            series = run(con, queries.ALERT_SERIES) if rows else []
        for alert in rows:
            start, end = alert["window_start"].date(), (alert["window_end"] - timedelta(microseconds=1)).date()
            behind = {"brand": alert["brand"], "day_from": start, "day_to": end, **ALERT_MENTIONS.get(alert["metric"], {})}
            if alert["product"] != "*":
                behind["product"] = alert["product"]
            if alert["source_kind"] != "*":
                behind["source_kind"] = alert["source_kind"]
            alert["mentions_href"] = "/mentions?" + urlencode(behind)
            mine = [s for s in series if (s["brand"], s["product"], s["source_kind"]) ==
                    (alert["brand"], alert["product"], alert["source_kind"])]
            total, part = ALERT_SERIES.get(alert["metric"], ("mentions", "negative"))
            alert["bars"] = day_bars(
                mine, start - timedelta(days=28), end, total=total, part=part, highlight=(start, end),
                href=lambda d, a=alert, b=behind: "/mentions?" + urlencode({**b, "day_from": d, "day_to": d}))
        return csv_or(request, "alerts", [{k: v for k, v in r.items() if k not in ("bars", "mentions_href")} for r in rows],
                      lambda: page(request, "alerts.html", rows=rows, sql=[queries.ALERTS, queries.ALERT_SERIES]))

    def runs(request: Request) -> Response:
        with reading(warehouse) as con:
            run_rows, reject_rows = run(con, queries.RUNS), run(con, queries.REJECTS)
        wanted = request.query_params.get("table")
        if request.query_params.get("format") == "csv":
            return _csv("rejects" if wanted == "rejects" else "runs", reject_rows if wanted == "rejects" else run_rows)
        return page(request, "runs.html", runs=run_rows, rejects=reject_rows, sql=[queries.RUNS, queries.REJECTS])

    def chosen_brand(request: Request, con: duckdb.DuckDBPyConnection) -> tuple[str, date, date, list[str]] | None:
        """The brand and period a brand page asks for (the first brand and the last 30 days by default)."""
        brands = [r["brand"] for r in run(con, queries.BRANDS)]
        brand = request.query_params.get("brand") or (brands[0] if brands else "")
        if brand not in brands:
            return None
        last = run(con, Query(queries.LAST_DAY.sql, [brand]))[0]["last"]
        return brand, last - timedelta(days=_days(request) - 1), last, brands

    def brand_page(render: Callable[..., Response]) -> Callable[[Request], Response]:
        """A page about one brand over a period; a brand the warehouse has no signals of is not found."""
        def handler(request: Request) -> Response:
            with reading(warehouse) as con:
                picked = chosen_brand(request, con)
                if picked is not None:
                    return render(request, con, *picked)
            return page(request, "missing.html", status_code=404, what=f"brand {request.query_params.get('brand')}")
        return handler

    def moments(request: Request, con: duckdb.DuckDBPyConnection, brand: str, first: date, last: date,
                brands: list[str]) -> Response:
        asked = {
            "series": Query(queries.MOMENT_SERIES.sql, [brand, first, last]),
            "normann": Query(queries.NORMANN_BALANCE.sql, [first, last, brand]),
            "authors": Query(queries.REPEAT_NEGATIVE_AUTHORS.sql, [first, last, brand]),
        }
        found = {name: run(con, query) for name, query in asked.items()}
        for m, sort in queries.STORY_SORTS.items():
            stories = MentionFilter(brand=brand, moment=m, day_from=first, day_to=last, sort=sort)
            total = run(con, queries.mentions_count(stories))[0]["mentions"]
            found[f"{m}_stories"], asked[f"{m}_stories"] = listed(con, stories, total, limit=queries.STORY_LIMIT,
                                                                  language=False)
        table = request.query_params.get("table", "series")
        if request.query_params.get("format") == "csv":
            return _csv(f"moments-{table}", found.get(table, found["series"]))
        charts = {m: day_bars(found["series"], first, last, total=m, part=f"{m}_negative",
                              href=lambda d, m=m: "/mentions?" + urlencode({"brand": brand, "moment": m, "day_from": d, "day_to": d}))
                  for m in queries.STORY_SORTS}
        return page(request, "moments.html", brand=brand, brands=brands, first=first, last=last, charts=charts,
                    found=found, totals={m: sum(r[m] or 0 for r in found["series"]) for m in queries.STORY_SORTS},
                    sql=list(asked.values()))

    def voice(request: Request, con: duckdb.DuckDBPyConnection, brand: str, first: date, last: date,
              brands: list[str]) -> Response:
        params = voice_params(compared_brands(con, brand), first, last)
        asked = [Query(VOICE_SQL, params), Query(VOICE_DAILY_SQL, params)]
        totals, daily = with_shares(run(con, asked[0])), run(con, asked[1])
        if request.query_params.get("format") == "csv":
            return _csv("share-of-voice", daily if request.query_params.get("table") == "daily" else totals)
        by_day: dict[date, dict[str, Any]] = {}
        for row in daily:
            day = by_day.setdefault(row["day"], {"day": row["day"], "compared": 0, brand: 0})
            day["compared"] += row["mentions"] or 0
            if row["brand"] == brand:
                day[brand] = row["mentions"] or 0
        bars = day_bars(list(by_day.values()), first, last, total="compared", part=brand,
                        href=lambda d: "/mentions?" + urlencode({"brand": brand, "day_from": d, "day_to": d}))
        return page(request, "voice.html", brand=brand, brands=brands, first=first, last=last, totals=totals,
                    bars=bars, sql=asked)

    async def unavailable(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"the warehouse cannot be read right now: {exc}\n", status_code=503,
                                 headers={"Retry-After": "10", **SECURITY_HEADERS})

    routes = [
        Route("/", overview),
        Route("/mentions", mentions),
        Route("/mentions/{mention_id:path}/corrections", correct, methods=["POST"]),
        Route("/mentions/{mention_id:path}", mention),
        Route("/alerts", alerts),
        Route("/moments", brand_page(moments)),
        Route("/voice", brand_page(voice)),
        Route("/runs", runs),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Mount("/static", StaticFiles(packages=[("zmot.workbench", "static")]), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, credentials=credentials)],
                     exception_handlers={WarehouseError: unavailable})


def _record(warehouse: Path, correction: Correction) -> Any:
    with writing(warehouse) as con:
        return record_correction(con, correction, analyst_name())


def _mention_filter(request: Request) -> MentionFilter:
    params = request.query_params
    values: dict[str, Any] = {}
    for f in fields(MentionFilter):
        raw = params.get(f.name, "").strip()
        if not raw:
            continue
        if f.name in ("day_from", "day_to"):
            values[f.name] = date.fromisoformat(raw[:10])
        elif f.name == "page":
            values[f.name] = max(1, int(raw))
        else:
            values[f.name] = raw[:500]
    return MentionFilter(**values)


def _days(request: Request) -> int:
    """The period a brand page covers, in days: 30 unless asked, from 1 to 366; a wrong value is the default."""
    raw = request.query_params.get("days", "")
    return min(max(int(raw), 1), 366) if raw.isdigit() else queries.OVERVIEW_DAYS


def _same_origin(request: Request) -> bool:
    """A browser names where a form came from; it must be this server (no header at all: not a browser)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host")


def _with_query(request: Request, **changes: Any) -> str:
    """This page's address with some query parameters replaced (None removes one)."""
    kept = {k: v for k, v in request.query_params.items() if k not in changes}
    kept.update({k: v for k, v in changes.items() if v is not None})
    return request.url.path + ("?" + urlencode(kept) if kept else "")


def _cell(value: Any) -> str:
    """A table cell as text: nothing for NULL, a list as its items."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _safe_href(url: str | None) -> str | None:
    """A mention's link, only if it is a web address: a `javascript:` URL from a feed is not a link."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url.strip()
    return None


def _csv(name: str, rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (mentions are hostile input)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def app_for(warehouse: Path, host: str) -> tuple[Starlette, Credentials | None]:
    """The application `zmot serve` runs on `host`, with the credentials the environment gives."""
    credentials = Credentials.from_environment()
    check_binding(host, credentials)
    if not Path(warehouse).exists():
        raise FileNotFoundError(f"{warehouse}: no warehouse here yet; run `zmot demo` or the DAG first")
    return create_app(warehouse, credentials), credentials


def serve(warehouse: Path, host: str, port: int) -> None:
    """Run the dashboard until interrupted; refuses a public address without credentials."""
    import uvicorn

    app, credentials = app_for(warehouse, host)
    print(f"ZMOT Monitor dashboard on http://{host}:{port}/ over {warehouse}"
          + (" (credentials required)" if credentials else ""), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

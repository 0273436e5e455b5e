"""Reddit through praw: new posts and comments in watched subreddits, and searches, incrementally.

Every listing is read newest first and paging stops a little behind the stream's cursor (the
newest created time already stored, less `revisit_hours`, so edits and deletions of recent items
are seen), so a daily run costs a handful of requests. Each stream (`r/x/new`,
`r/x/comments`, `search:...`) keeps its own cursor in the source state, written in the same
transaction as its mentions. Requests go through praw (its OAuth and its rate limiter, which
reads Reddit's `X-Ratelimit-*` headers); a metered requests session under it counts requests,
enforces the per-run cap and caps the size of each body. 429 and 5xx are retried with backoff
honouring `Retry-After`; when retries run out the whole source fails and its cursors stay put.

Deleted and removed items are never stored; when one we stored earlier comes back deleted, its
mention id is returned in `retracted` so the warehouse forgets it too (Reddit's terms ask for that).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import praw
import prawcore
import requests

from connectors.http import (
    FetchError,
    FetchPolicy,
    TerminalFetchError,
    TransientFetchError,
    cut_at_deadline,
    polite_session,
    read_capped,
    request_error,
    retry_after_seconds,
    retrying,
)
from connectors.kinds.reddit import RedditSource, RedditState
from connectors.records import ExtractResult, Mention, Reject, stable_mention_id, utc
from connectors.text import clean_text, decode_entities, plain_unicode

log = logging.getLogger(__name__)

SOURCE_KIND = "reddit"
REDDIT_WEB = "https://www.reddit.com"
PAGE_SIZE = 100
RAW_LIMIT = 20_000
GONE_TEXT = {"[deleted]", "[removed]"}
TEXT_FIELDS = ("id", "name", "title", "selftext", "body", "author", "subreddit", "permalink", "link_id", "parent_id", "link_title", "url")
ENV_CLIENT_ID = "ZMOT_REDDIT_CLIENT_ID"
ENV_CLIENT_SECRET = "ZMOT_REDDIT_CLIENT_SECRET"
ENV_USER_AGENT = "ZMOT_REDDIT_USER_AGENT"
ENV_OAUTH_URL = "ZMOT_REDDIT_OAUTH_URL"
ENV_REDDIT_URL = "ZMOT_REDDIT_URL"
ENV_AUTHOR_SALT = "ZMOT_AUTHOR_SALT"


class RedditCredentialsError(TerminalFetchError):
    """Credentials are missing or refused; the message names what, never the secret."""


class RequestCapReached(Exception):
    """The per-run request budget is spent."""


@dataclass(frozen=True)
class RedditCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    user_agent: str


@dataclass(frozen=True)
class RedditEndpoints:
    """Where praw talks to; tests and the demo point these at a loopback replay server."""

    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "RedditEndpoints":
        env = os.environ if env is None else env
        return cls(
            oauth_url=env.get(ENV_OAUTH_URL) or cls.oauth_url,
            reddit_url=env.get(ENV_REDDIT_URL) or cls.reddit_url,
        )


def resolve_credentials(
    connection_id: str | None, *, default_user_agent: str, env: Mapping[str, str] | None = None
) -> RedditCredentials:
    """Credentials from ZMOT_REDDIT_* environment variables, else from the named Airflow connection.

    The Airflow connection holds the client id as login and the secret as password; its extra may
    carry `user_agent`.
    """
    env = os.environ if env is None else env
    client_id, secret, agent = env.get(ENV_CLIENT_ID), env.get(ENV_CLIENT_SECRET), env.get(ENV_USER_AGENT)
    if not (client_id and secret) and connection_id:
        conn = _airflow_connection(connection_id)
        if conn is not None:
            client_id = client_id or conn.login
            secret = secret or conn.password
            agent = agent or (conn.extra_dejson or {}).get("user_agent")
    missing = [name for name, value in ((ENV_CLIENT_ID, client_id), (ENV_CLIENT_SECRET, secret)) if not value]
    if missing:
        where = f" or the Airflow connection {connection_id!r} (login = client id, password = secret)" if connection_id else ""
        raise RedditCredentialsError(
            "credentials_missing", REDDIT_WEB,
            f"Reddit credentials missing: set {' and '.join(missing)}{where}; "
            "create a 'script' or read-only app at https://www.reddit.com/prefs/apps",
        )
    return RedditCredentials(str(client_id), str(secret), agent or default_user_agent)


def fetch_reddit(
    plan: RedditSource,
    *,
    state: RedditState,
    credentials: RedditCredentials,
    policy: FetchPolicy,
    keep: Callable[[str], bool],
    interval_end: datetime,
    backfill_start: datetime,
    fetched_at: datetime,
    endpoints: RedditEndpoints | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ExtractResult:
    """Read every stream of one source; a transient failure that outlasts the retries fails the source."""
    source_id = plan.name
    reader = _Reader(source_id, plan, credentials, policy, endpoints or RedditEndpoints.from_env(), sleep)
    run = _Run(source_id, plan, state, keep, utc(interval_end), utc(backfill_start), utc(fetched_at))
    try:
        for stream, path, params in _listing_streams(plan):
            run.read_listing(reader, stream, path, params)
            if run.full:
                break
        if plan.thread_comments and not run.full:
            run.read_threads(reader)
    except RequestCapReached:
        run.reject("request_cap", f"stopped after {plan.max_requests} requests (sources.yaml max_requests); "
                   "the streams not finished resume from their old cursors next run")
    finally:
        reader.close()
    log.info("reddit %s: %d mentions, %d retracted, %d requests", source_id, len(run.mentions), len(run.retracted), reader.requests)
    return ExtractResult(
        source_id=source_id, source_kind=SOURCE_KIND, mentions=list(run.mentions.values()),
        state=run.next_state().stored(source_id, SOURCE_KIND), rejects=run.rejects, requests=reader.requests, held_back=run.held_back,
        retracted=sorted(run.retracted),
    )


def thing_to_mention(
    thing: dict[str, Any], *, source_id: str, fetched_at: datetime, thread_title: str | None = None,
    pseudonymise: bool = False, stream: str = "",
) -> Mention | None:
    """Map a t3 (post) or t1 (comment) to a mention; None for deleted or removed items."""
    kind, data = thing.get("kind"), thing.get("data") or {}
    if kind not in ("t1", "t3") or not data.get("name") or data.get("created_utc") is None:
        return None
    if _is_gone(kind, data):
        return None
    named = clean_text(str(data.get("author") or ""))
    author = None if not named or named == "[deleted]" else (pseudonym(named) if pseudonymise else named)
    permalink = data.get("permalink") or _permalink(kind, data)
    metadata: dict[str, Any] = {
        "kind": "post" if kind == "t3" else "comment",
        "subreddit": data.get("subreddit"),
        "score": data.get("score"),
        "permalink": REDDIT_WEB + permalink if permalink.startswith("/") else permalink or None,
        "thread_id": data["name"] if kind == "t3" else data.get("link_id"),
        "parent_id": data.get("parent_id"),
        "edited": bool(data.get("edited")),
        "stream": stream,
    }
    if kind == "t3":
        title, text = data.get("title") or "", data.get("selftext") or ""
        metadata["num_comments"] = data.get("num_comments")
        if data.get("crosspost_parent"):
            metadata["crosspost_of"] = data["crosspost_parent"]
            parents = data.get("crosspost_parent_list") or []
            if not text and parents:
                text = parents[0].get("selftext") or ""
        if not data.get("is_self", True) and data.get("url"):
            metadata["link_url"] = data["url"]
    else:
        title, text = data.get("link_title") or thread_title, data.get("body") or ""
    return Mention(
        source_kind=SOURCE_KIND, source_id=source_id, native_id=data["name"],
        url=metadata["permalink"], author=author, title=clean_text(decode_entities(title or "")) or None, text=plain_unicode(decode_entities(text)),
        published_at=datetime.fromtimestamp(float(data["created_utc"]), tz=timezone.utc),
        fetched_at=fetched_at, metadata=metadata, raw=_raw(data),
    )


def pseudonym(author: str) -> str:
    """A stable stand-in for a username, salted by ZMOT_AUTHOR_SALT when it is set."""
    salt = os.environ.get(ENV_AUTHOR_SALT, "")
    return "u:" + hashlib.sha256(f"{salt}\x1f{author}".encode("utf-8")).hexdigest()[:16]


# --- reading -------------------------------------------------------------------------------


class _MeteredSession(requests.Session):
    """Counts every HTTP request praw makes, stops at the budget, caps each body's size, and holds
    each request to our timeout (praw 8 ignores its own `timeout` and waits 16 s) and to a deadline
    (a server dribbling its headers would reset the per-read timeout forever)."""

    def __init__(self, max_requests: int, max_bytes: int, timeout: float, max_wait: float) -> None:
        super().__init__()
        polite_session(self)
        self.max_requests, self.max_bytes, self.timeout, self.max_wait = max_requests, max_bytes, timeout, max_wait
        self.count = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.count >= self.max_requests:
            raise RequestCapReached(url)
        self.count += 1
        kwargs["stream"] = True
        kwargs["timeout"] = (self.timeout, self.timeout)
        deadline = time.monotonic() + self.timeout * 3
        with cut_at_deadline(self, url, deadline) as cut:
            try:
                response = super().request(method, url, *args, **kwargs)
                response._content = read_capped(response, url, self.max_bytes, deadline)  # noqa: SLF001 - requests' own cache
            except (requests.exceptions.RequestException, TransientFetchError):
                if not cut.is_set():
                    raise
        if cut.is_set():  # whatever the cut connection seemed to answer
            raise requests.exceptions.ReadTimeout(f"{url}: still answering after {self.timeout * 3:g}s; gave up")
        _tame_rate_limit_headers(response.headers, self.max_wait)
        return response


def _tame_rate_limit_headers(headers: MutableMapping[str, str], max_wait: float) -> None:
    """praw sleeps (unbounded) until `x-ratelimit-reset` when none remain, and crashes on a header that is
    not a number: keep the three headers whole numbers and the reset within our longest wait, or drop them."""
    names = ("x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")
    if names[0] not in headers:
        return
    try:
        remaining, used, reset = (float(headers[name]) for name in names)
        values = [int(remaining), int(used), int(min(max(reset, 0.0), max_wait))]
    except (KeyError, ValueError, OverflowError):
        for name in names:
            headers.pop(name, None)
        return
    headers.update({name: str(value) for name, value in zip(names, values, strict=True)})


class _Reader:
    """praw plus our retry policy; returns raw JSON so nothing lazily fetches behind our back."""

    def __init__(
        self, source_id: str, plan: RedditSource, credentials: RedditCredentials, policy: FetchPolicy,
        endpoints: RedditEndpoints, sleep: Callable[[float], None],
    ) -> None:
        self.source_id, self.policy, self.sleep = source_id, policy, sleep
        self.session = _MeteredSession(plan.max_requests, policy.max_bytes, policy.timeout_seconds, policy.max_retry_after_seconds)
        self.reddit = praw.Reddit(
            client_id=credentials.client_id, client_secret=credentials.client_secret,
            user_agent=credentials.user_agent, oauth_url=endpoints.oauth_url, reddit_url=endpoints.reddit_url,
            timeout=int(max(1, policy.timeout_seconds)), check_for_updates=False, check_for_async=False,
            requestor_kwargs={"session": self.session},
        )
        self.reddit.read_only = True

    @property
    def requests(self) -> int:
        return self.session.count

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, params: dict[str, Any] | None = None, *, data: dict[str, Any] | None = None) -> Any:
        """One API call, retried on 429/5xx/network errors by the shared helper, honouring Retry-After."""
        url = self.reddit.config.oauth_url + path
        return retrying(f"reddit {self.source_id} {path}", self.policy, self.sleep,
                        lambda deadline: self._request(url, path, params, data))

    def _request(self, url: str, path: str, params: dict[str, Any] | None, data: dict[str, Any] | None) -> Any:
        """One attempt; praw's errors become ours, typed so the retry helper knows which are worth another try."""
        try:
            return self.reddit.request(method="POST" if data is not None else "GET", path=path, params=params, data=data)
        except prawcore.TooManyRequests as exc:
            raise TransientFetchError("http_429", url, "rate limited by Reddit (429)",
                                      retry_after=retry_after_seconds(exc.response.headers)) from None
        except prawcore.ServerError as exc:
            raise TransientFetchError(f"http_{exc.response.status_code}", url, f"Reddit answered {exc.response.status_code}",
                                      retry_after=retry_after_seconds(exc.response.headers)) from None
        except prawcore.BadJSON as exc:  # a 200 whose body is an error page or cut short: not Reddit's API answer
            raise TransientFetchError(
                "unexpected_json", url, f"Reddit answered {exc.response.status_code} with a body that is not JSON "
                f"({exc.response.headers.get('Content-Type') or 'no content type'}); nothing stored, the cursor stays",
                exc.response.content[:500].decode("utf-8", "replace"),
            ) from None
        except prawcore.ResponseException as exc:
            status = exc.response.status_code
            if status == 401 or "access_token" in (exc.response.url or ""):
                raise RedditCredentialsError(
                    "credentials_rejected", url,
                    f"Reddit refused the credentials ({status}); check {ENV_CLIENT_ID}/{ENV_CLIENT_SECRET}",
                ) from None
            raise
        except prawcore.OAuthException as exc:
            raise RedditCredentialsError(
                "credentials_rejected", url, f"Reddit refused the credentials ({exc.error}); check {ENV_CLIENT_ID}/{ENV_CLIENT_SECRET}",
            ) from None
        except prawcore.RequestException as exc:
            if isinstance(exc.original_exception, RequestCapReached):
                raise exc.original_exception from None
            raise self._network_error(exc.original_exception, url) from None

    def _network_error(self, original: Exception, url: str) -> FetchError:
        """The same reasons as every other connector's (timeout, tls, dns, connection_reset...), not one vague 'network'."""
        if isinstance(original, FetchError):  # from read_capped: a dropped or dribbled body
            return original
        if isinstance(original, requests.exceptions.RequestException):
            return request_error(original, url, self.policy.timeout_seconds)
        return TransientFetchError("network", url, f"network error: {type(original).__name__}")


def _listing_streams(plan: RedditSource) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for subreddit in plan.subreddits:
        yield f"r/{subreddit}/new", f"/r/{subreddit}/new", {}
        if plan.include_comments:
            yield f"r/{subreddit}/comments", f"/r/{subreddit}/comments", {}
    for search in plan.searches:
        params = {"q": search.query, "sort": "new", "t": "all", "restrict_sr": search.subreddit.casefold() != "all"}
        yield f"search:r/{search.subreddit}:{search.query}", f"/r/{search.subreddit}/search", params


class _Run:
    """One source's run: what it kept, where each stream's cursor moves, what it rejected."""

    def __init__(
        self, source_id: str, plan: RedditSource, state: RedditState, keep: Callable[[str], bool],
        interval_end: datetime, backfill_start: datetime, fetched_at: datetime,
    ) -> None:
        self.source_id, self.plan, self.state, self.keep = source_id, plan, state, keep
        self.interval_end, self.backfill_start, self.fetched_at = interval_end, backfill_start, fetched_at
        self.mentions: dict[str, Mention] = {}
        self.retracted: set[str] = set()
        self.rejects: list[Reject] = []
        self.cursors: dict[str, float] = {}
        self.new_threads: dict[str, str] = {}  # thread id36 -> title, from search hits
        self.held_back = 0
        self.seen = 0

    @property
    def full(self) -> bool:
        return len(self.mentions) >= self.plan.max_items

    def reject(self, reason: str, message: str, url: str | None = None, excerpt: str = "") -> None:
        self.rejects.append(Reject(self.source_id, SOURCE_KIND, "extract", reason, message, url, excerpt))

    def read_listing(self, reader: _Reader, stream: str, path: str, params: dict[str, Any]) -> None:
        """Page newest first until the cursor (or the backfill start) is reached."""
        floor = self._floor(stream)
        after: str | None = None
        newest: float | None = None
        malformed: list[str] = []
        while True:
            try:
                page = reader.get(path, {**params, "limit": PAGE_SIZE, **({"after": after} if after else {})})
            except (prawcore.Forbidden, prawcore.NotFound, prawcore.Redirect, prawcore.BadRequest) as exc:
                self._refused(stream, reader.reddit.config.oauth_url + path, exc, what="subreddit")
                return
            children, after = _listing(page, reader.reddit.config.oauth_url + path)
            reached_floor = False
            for thing in children:
                if problem := _malformed(thing):
                    malformed.append(problem)
                    continue
                created = thing["data"]["created_utc"]
                if created < floor:
                    reached_floor = True
                    break
                if created > self.interval_end.timestamp():
                    self.held_back += 1
                    continue
                newest = created if newest is None else max(newest, created)
                self._take(thing, stream)
                if thing["kind"] == "t3" and stream.startswith("search:") and thing["data"].get("id") and not thing["data"].get("crosspost_parent"):
                    self.new_threads.setdefault(thing["data"]["id"], thing["data"].get("title") or "")
                if self.full:
                    self.reject("item_cap", f"{stream}: stopped at max_items={self.plan.max_items}; older items were skipped")
                    break
            if reached_floor or not after or self.full:
                break
        if malformed:  # what was readable is stored; the cursor waits so the rest is read once Reddit sends it whole
            self.reject("unexpected_item", f"{stream}: {len(malformed)} listing item(s) are not a post or comment we can read "
                        f"({'; '.join(malformed[:3])}); skipped, and this stream's cursor stays")
        elif newest is not None:
            self.cursors[stream] = max(newest, self._stored_cursor(stream) or newest)

    def read_threads(self, reader: _Reader) -> None:
        """Comment trees of threads the searches found this run, expanding 'load more' up to max_more."""
        for count, (thread, title) in enumerate(self.new_threads.items()):
            if count >= self.plan.max_threads:
                self.reject("thread_cap", f"{len(self.new_threads) - count} search threads over max_threads={self.plan.max_threads} "
                            "were not expanded; their posts are stored")
                return
            try:
                tree = reader.get(f"/comments/{thread}", {"limit": 500, "sort": "new"})
            except (prawcore.Forbidden, prawcore.NotFound, prawcore.Redirect) as exc:
                self._refused(f"thread {thread}", reader.reddit.config.oauth_url + f"/comments/{thread}", exc, what="thread")
                continue
            comments, more = _flatten_tree(tree[1] if isinstance(tree, list) and len(tree) > 1 else {})
            expansions = 0
            while more and expansions < self.plan.max_more:
                stub = more.pop(0)
                expansions += 1
                found, extra = self._expand(reader, thread, stub)
                comments.extend(found)
                more.extend(extra)
            readable = [thing for thing in comments if not _malformed(thing)]
            if len(readable) < len(comments):
                self.reject("unexpected_item", f"thread {thread}: {len(comments) - len(readable)} comment(s) in a shape we cannot read; skipped")
            for thing in readable:
                created = thing["data"]["created_utc"]
                if self.backfill_start.timestamp() <= created <= self.interval_end.timestamp():
                    self._take(thing, f"thread:{thread}", thread_title=title)
                if self.full:
                    return

    def next_state(self) -> RedditState:
        return RedditState.with_cursors({**self.state.cursors, **self.cursors}, self.state.watermark)

    def _expand(self, reader: _Reader, thread: str, stub: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        children = [c for c in _dig(stub, "children") or [] if isinstance(c, str)]
        if children:
            data = {"api_type": "json", "children": ",".join(children), "link_id": f"t3_{thread}", "sort": "new"}
            answer = reader.get("/api/morechildren", data=data)
            things = [t for t in _dig(answer, "json", "data", "things") or [] if isinstance(t, dict)]
            found = [t for t in things if t.get("kind") == "t1"]
            return found, [t["data"] for t in things if t.get("kind") == "more" and isinstance(t.get("data"), dict)]
        parent = str(stub.get("parent_id") or "").partition("_")[2]
        if not parent:
            return [], []
        tree = reader.get(f"/comments/{thread}/_/{parent}", {"limit": 500, "sort": "new"})
        return _flatten_tree(tree[1] if isinstance(tree, list) and len(tree) > 1 else {})

    def _take(self, thing: dict[str, Any], stream: str, thread_title: str | None = None) -> None:
        self.seen += 1
        data = thing.get("data") or {}
        if _is_gone(thing.get("kind"), data):
            if data.get("name"):
                self.retracted.add(stable_mention_id(SOURCE_KIND, data["name"]))
            return
        mention = thing_to_mention(
            thing, source_id=self.source_id, fetched_at=self.fetched_at, thread_title=thread_title,
            pseudonymise=self.plan.pseudonymise_authors, stream=stream,
        )
        if mention is None or mention.native_id in self.mentions:
            return
        if self.keep(f"{mention.title or ''}\n{mention.text}"):
            self.mentions[mention.native_id] = mention

    def _floor(self, stream: str) -> float:
        stored = self._stored_cursor(stream)
        if stored is None:
            return self.backfill_start.timestamp()
        return stored - self.plan.revisit_hours * 3600

    def _stored_cursor(self, stream: str) -> float | None:
        return self.state.cursors.get(stream)

    def _refused(self, stream: str, url: str, exc: prawcore.PrawcoreException, *, what: str) -> None:
        """A private, quarantined, banned or missing subreddit is a reject for this stream, not a failed source."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        reason_text = ""
        try:
            reason_text = str((response.json() or {}).get("reason") or "") if response is not None else ""
        except ValueError:
            pass
        if isinstance(exc, prawcore.Redirect):
            reason, said = f"{what}_missing", "does not exist (Reddit redirected to a search)"
        elif status == 404 and not reason_text:
            reason, said = f"{what}_missing", "does not exist (404)"
        elif reason_text == "banned":
            reason, said = f"{what}_banned", "is banned"
        elif reason_text in {"private", "quarantined", "gold_only"}:
            reason, said = f"{what}_{reason_text}", f"is {reason_text.replace('_', ' ')}; we do not log in to read it"
        else:
            reason, said = f"http_{status}" if status else "refused", f"was refused ({status})"
        self.reject(reason, f"{stream} {said}; skipped, the other streams go on", url)


def _permalink(kind: str, data: dict[str, Any]) -> str:
    """Old comments carry no permalink; Reddit's URL scheme rebuilds it from the ids."""
    subreddit, thread = data.get("subreddit"), (data.get("link_id") or "").partition("_")[2]
    if kind == "t1" and subreddit and thread and data.get("id"):
        return f"/r/{subreddit}/comments/{thread}/_/{data['id']}/"
    return ""


def _listing(page: Any, url: str) -> tuple[list[Any], str | None]:
    """A listing's children and the next page's token; anything else Reddit might send fails the source, cursor unmoved."""
    data = page.get("data") if isinstance(page, dict) else None
    if page in ("", None):
        problem = "is empty"
    elif not isinstance(page, dict) or page.get("kind") != "Listing":
        problem = "is not a listing"
    elif not isinstance(data, dict) or not isinstance(data.get("children"), list):
        problem = "is a listing without a list of children"
    elif not isinstance(data.get("after"), str | None):
        problem = "is a listing whose 'after' is not a page token"
    else:
        return data["children"], data.get("after") or None
    raise TerminalFetchError("unexpected_json", url, f"Reddit's answer {problem}; nothing stored, the cursor stays",
                             json.dumps(page, default=str)[:500])


def _malformed(thing: Any) -> str | None:
    """Why a listing child is not a post or comment we can read (wrong kind or types), or None when it is one."""
    if not isinstance(thing, dict):
        return f"a {type(thing).__name__}"
    data = thing.get("data")
    if thing.get("kind") not in ("t1", "t3"):
        return f"kind {str(thing.get('kind'))[:20]!r}"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return "no data or no name"
    created = data.get("created_utc")
    if isinstance(created, bool) or not isinstance(created, int | float) or not math.isfinite(created):
        return f"created_utc {str(created)[:20]!r}"
    wrong = [key for key in TEXT_FIELDS if data.get(key) is not None and not isinstance(data[key], str)]
    parents = data.get("crosspost_parent_list") or []
    if not isinstance(parents, list) or not all(isinstance(p, dict) and isinstance(p.get("selftext") or "", str) for p in parents):
        wrong.append("crosspost_parent_list")
    return f"{', '.join(wrong)} not text" if wrong else None


def _dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]... where every level is an object, else None."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _flatten_tree(listing: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every comment in a comment tree, depth first, plus its 'more' stubs."""
    comments: list[dict[str, Any]] = []
    more: list[dict[str, Any]] = []
    children = _dig(listing, "data", "children")
    stack = list(reversed(children)) if isinstance(children, list) else []
    while stack:
        thing = stack.pop()
        if not isinstance(thing, dict):
            continue
        if thing.get("kind") == "more" and isinstance(thing.get("data"), dict):
            more.append(thing["data"])
            continue
        if thing.get("kind") != "t1":
            continue
        comments.append(thing)
        replies = _dig(thing, "data", "replies", "data", "children")
        if isinstance(replies, list):
            stack.extend(reversed(replies))
    return comments, more


def _is_gone(kind: Any, data: dict[str, Any]) -> bool:
    if kind == "t1":
        return (data.get("body") or "").strip() in GONE_TEXT
    if kind == "t3":
        removed = data.get("removed_by_category") is not None
        return removed or (data.get("selftext") or "").strip() in GONE_TEXT and data.get("author") == "[deleted]"
    return False


def _raw(data: dict[str, Any]) -> str:
    slim = {k: v for k, v in data.items() if k not in ("replies", "preview", "media_metadata", "all_awardings")}
    text = json.dumps(slim, ensure_ascii=False, default=str)
    return text[:RAW_LIMIT]


def _airflow_connection(connection_id: str) -> Any:
    """The Airflow connection when running under Airflow; None elsewhere or when it is not defined."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        return None
    try:
        return BaseHook.get_connection(connection_id)
    except Exception:  # noqa: BLE001 - an undefined connection is "not there", reported as missing credentials
        return None


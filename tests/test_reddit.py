"""The Reddit connector against real recorded Reddit API traffic and the project's own recorded-style fixtures.

Everything goes through praw and a loopback replay server; nothing leaves the machine.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors import reddit
from connectors.http import FetchPolicy, TransientFetchError
from connectors.kinds.reddit import RedditSource, RedditState
from connectors.records import SourceState, stable_mention_id
from connectors.replay import Recorded, ReplayServer, read_cassette, request_key
from tests.conftest import shared_data
from warehouse.db import connect
from zmot import steps
from zmot.runcontext import RunContext

CREDS = reddit.RedditCredentials("test-client", "s3cret-value", "python:zmot-tests:1.0 (by u/nobody)")
POLICY = FetchPolicy(user_agent="zmot-tests", timeout_seconds=5, max_retries=2, backoff_seconds=0.01)
T_END = datetime(2026, 11, 15, tzinfo=timezone.utc)
JSON = {"Content-Type": "application/json; charset=UTF-8"}
TOKEN = Recorded(200, b'{"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}', JSON)


# --- fixtures written by the project, in the shape Reddit returns ----------------------------


def _post(pid: str, title: str, when: datetime, text: str = "", sub: str = "phones", **extra: Any) -> dict[str, Any]:
    data = {"id": pid, "name": f"t3_{pid}", "title": title, "selftext": text, "author": "ana", "subreddit": sub,
            "created_utc": when.timestamp(), "score": 3, "num_comments": 0, "is_self": True,
            "permalink": f"/r/{sub}/comments/{pid}/x/", "edited": False, "removed_by_category": None}
    return {"kind": "t3", "data": {**data, **extra}}


def _comment(cid: str, body: str, when: datetime, thread: str = "t3_p1", sub: str = "phones", **extra: Any) -> dict[str, Any]:
    data = {"id": cid, "name": f"t1_{cid}", "body": body, "author": "bo", "subreddit": sub, "link_id": thread,
            "parent_id": thread, "created_utc": when.timestamp(), "score": 1, "edited": False,
            "permalink": f"/r/{sub}/comments/{thread[3:]}/_/{cid}/", "replies": "", "link_title": "Acme thread"}
    return {"kind": "t1", "data": {**data, **extra}}


def _listing(children: list[dict[str, Any]], after: str | None = None) -> Recorded:
    body = {"kind": "Listing", "data": {"after": after, "before": None, "children": children}}
    return Recorded(200, json.dumps(body).encode(), JSON)


def _server(*routes: tuple[str, str, dict[str, str], Recorded]) -> ReplayServer:
    server = ReplayServer([(request_key("POST", "/api/v1/access_token", {}), TOKEN)])
    for method, path, params, recorded in routes:
        server.add(request_key(method, path, params), recorded)
    return server


def _plan(*, searches: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (), **keys: Any) -> RedditSource:
    return RedditSource(name="rd", kind="reddit", searches=[{"query": q, "subreddit": sub} for q, sub in searches], **keys)


def _fetch(server: ReplayServer, plan: RedditSource, state: SourceState | None = None, *,
           interval_end: datetime = T_END, days: int = 30, keep=lambda text: True, sleeps: list[float] | None = None,
           policy: FetchPolicy = POLICY):
    return reddit.fetch_reddit(
        plan, state=RedditState.read(state or SourceState("rd", "reddit")), credentials=CREDS, policy=policy, keep=keep,
        interval_end=interval_end, backfill_start=interval_end - timedelta(days=days),
        fetched_at=datetime(2026, 11, 15, 1, tzinfo=timezone.utc),
        endpoints=reddit.RedditEndpoints(server.url, server.url),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def _day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=timezone.utc)


# --- real recorded traffic (praw's own cassettes) -------------------------------------------


def _cassette(name: str) -> Path:
    return shared_data("reddit-api-recorded") / name


def _bodies(path: Path) -> list[Any]:
    return [json.loads(i["response"]["body"]["string"]) for i in json.loads(path.read_text())["interactions"]]


def _window(things: list[dict[str, Any]]) -> tuple[datetime, float]:
    """A run that ends just after the newest item and reaches back half the page: no second page needed."""
    times = [t["data"]["created_utc"] for t in things]
    return datetime.fromtimestamp(max(times) + 1, tz=timezone.utc), (max(times) - min(times)) / 86400 / 2


def test_real_subreddit_listings_become_mentions_and_paging_stops_at_the_window() -> None:
    new, comments = _cassette("TestSubredditListings.test_new.json"), _cassette("TestSubredditListings.test_comments.json")
    posts, replies = _bodies(new)[1]["data"]["children"], _bodies(comments)[1]["data"]["children"]
    plan = _plan(subreddits=["AskReddit"], thread_comments=False)
    with ReplayServer() as server:
        server.add_cassettes([new, comments])
        end, days = _window(posts)
        posts_only = _plan(subreddits=["AskReddit"], include_comments=False, thread_comments=False)
        posts_run = _fetch(server, posts_only, interval_end=end, days=days)
        end_c, days_c = _window(replies)
        comments_run = _fetch(server, plan, interval_end=end_c, days=days_c)
    assert server.unmatched == []
    assert (posts_run.requests, comments_run.requests) == (2, 3)  # token, r/AskReddit/new (, r/AskReddit/comments)
    in_window = [p for p in posts if p["data"]["created_utc"] >= end.timestamp() - days * 86400]
    assert {m.native_id for m in posts_run.mentions} == {p["data"]["name"] for p in in_window}
    first = next(m for m in posts_run.mentions if m.native_id == posts[0]["data"]["name"])
    assert first.title == posts[0]["data"]["title"]
    assert first.url == "https://www.reddit.com" + posts[0]["data"]["permalink"]
    assert first.published_at == datetime.fromtimestamp(posts[0]["data"]["created_utc"], tz=timezone.utc)
    assert first.metadata["subreddit"] == "AskReddit" and first.metadata["thread_id"] == first.native_id
    assert RedditState.read(posts_run.state).cursors["r/AskReddit/new"] == max(p["data"]["created_utc"] for p in posts)
    assert comments_run.mentions and all(m.metadata["kind"] == "comment" for m in comments_run.mentions)
    comment = comments_run.mentions[0]
    assert comment.title  # the thread's title gives a comment its context
    assert comment.metadata["thread_id"].startswith("t3_") and comment.metadata["parent_id"]


def test_a_real_comment_tree_is_read_whole_through_load_more_and_continue_this_thread() -> None:
    path = _cassette("TestCommentForest.test_replace__all.json")
    bodies = _bodies(path)
    submission = bodies[1][0]["data"]["children"][0]
    recorded = [t for body in bodies[1:] for t in _things(body) if t.get("kind") == "t1"]
    recorded_comments = {t["data"]["name"] for t in recorded}
    end = datetime.fromtimestamp(max(t["data"]["created_utc"] for t in recorded) + 1, tz=timezone.utc)
    with ReplayServer() as server:
        server.add_cassettes([path])
        server.add(request_key("GET", "/r/all/search", {"q": "drum"}), _listing([submission]))
        result = _fetch(server, _plan(searches=[("drum", "all")], max_more=100), interval_end=end, days=400)
    assert server.unmatched == []
    stored = {m.native_id for m in result.mentions}
    gone = {m for m in recorded_comments if stable_mention_id("reddit", m) in result.retracted}
    assert stored | gone == recorded_comments | {submission["data"]["name"]}
    assert len(stored) > 500
    assert result.requests == 21  # token, search, tree, 12 "load more", 6 "continue this thread"
    print(f"requests per 1,000 mentions (comment tree): {1000 * result.requests / len(result.mentions):.1f}")


def _things(body: Any) -> list[dict[str, Any]]:
    """Every thing in a response, however deeply Reddit nested it."""
    found, stack = [], [body]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("kind") in ("t1", "t3"):
                found.append(node)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return found


def test_real_deleted_comments_and_crossposts_are_handled_on_purpose() -> None:
    deleted = [t for t in _things(_bodies(_cassette("TestComment.test_refresh__deleted_comment.json"))) if t["data"].get("body") == "[deleted]"]
    assert deleted
    assert all(reddit.thing_to_mention(t, source_id="rd", fetched_at=T_END) is None for t in deleted)
    crosspost = next(t for t in _things(_bodies(_cassette("TestSubmission.test_crosspost.json"))) if t["data"].get("crosspost_parent"))
    mention = reddit.thing_to_mention(crosspost, source_id="rd", fetched_at=T_END)
    assert mention is not None and mention.metadata["crosspost_of"] == crosspost["data"]["crosspost_parent"]


def test_every_recorded_thing_maps_without_error() -> None:
    lines = (shared_data("reddit-api-recorded") / "_extracted_things.jsonl").read_text().splitlines()
    mapped = gone = 0
    for line in lines:
        flat = json.loads(line)  # the folder's own flattened form: kind comment/submission, id is the fullname
        data = {**flat, "name": flat["id"], "id": flat["id"][3:]}
        thing = {"kind": "t1" if flat["kind"] == "comment" else "t3", "data": data}
        mention = reddit.thing_to_mention(thing, source_id="rd", fetched_at=T_END, pseudonymise=True)
        if mention is None:
            gone += 1
            continue
        mapped += 1
        assert mention.native_id.startswith(("t1_", "t3_")) and mention.published_at.tzinfo is not None
        assert mention.author is None or mention.author.startswith("u:")
    assert mapped > 2000 and gone < 100 and mapped + gone == len(lines)


def test_entities_in_reddit_markdown_are_decoded_once_as_reddit_shows_them() -> None:
    """Reddit's markdown keeps "&amp;" for "&" (a recorded comment's link reads "...watch?v=...&amp;feature=");
    a reference an author typed as text ("&amp;lt;b&amp;gt;") is decoded once, to "&lt;b&gt;", never markup."""
    lines = (shared_data("reddit-api-recorded") / "_extracted_things.jsonl").read_text().splitlines()
    flat = next(json.loads(line) for line in lines if "&amp;feature=" in line)
    data = {**flat, "name": flat["id"], "id": flat["id"][3:]}
    mention = reddit.thing_to_mention({"kind": "t1", "data": data}, source_id="rd", fetched_at=T_END)
    assert mention is not None and "&feature=" in mention.text and "&amp;" not in mention.text
    typed = {**data, "body": "Acme &amp;lt;b&amp;gt; AT&T &notation &quot;#iPad&quot;", "link_title": "R&amp;D at Acme"}
    mention = reddit.thing_to_mention({"kind": "t1", "data": typed}, source_id="rd", fetched_at=T_END)
    assert mention.text == 'Acme &lt;b&gt; AT&T &notation "#iPad"' and mention.title == "R&D at Acme"


def test_recorded_stream_with_rate_limit_headers_and_a_placeholder_subreddit() -> None:
    path = _cassette("TestSubredditStreams.test_comments__with_continue_after_id.json")
    pairs = read_cassette(path, rename={"<TEST_SUBREDDIT>": "zmottest"})
    first_page = json.loads(pairs[1][1].body)["data"]["children"]
    newest = max(c["data"]["created_utc"] for c in first_page)
    pairs.append((request_key("GET", "/r/zmottest/new", {}), _listing([])))  # only comments were recorded
    with ReplayServer(pairs) as server:
        result = _fetch(server, _plan(subreddits=["zmottest"]), interval_end=datetime.fromtimestamp(newest + 1, tz=timezone.utc), days=0.0001)
    assert server.unmatched == [] and result.rejects == []
    assert result.mentions  # the newest comments, inside the tiny window


# --- the project's own fixtures: the cases the recordings lack ------------------------------


def test_pagination_follows_after_and_stops_at_the_stored_cursor() -> None:
    page1 = [_post(f"a{i}", f"Acme post {i}", _day(14) - timedelta(hours=i)) for i in range(3)]
    page2 = [_post(f"b{i}", f"Acme post {i}", _day(13) - timedelta(hours=i)) for i in range(3)]
    page3 = [_post(f"c{i}", f"Acme post {i}", _day(10) - timedelta(hours=i)) for i in range(3)]
    routes = [("GET", "/r/phones/new", {}, _listing(page1, "t3_a2")),
              ("GET", "/r/phones/new", {"after": "t3_a2"}, _listing(page2, "t3_b2")),
              ("GET", "/r/phones/new", {"after": "t3_b2"}, _listing(page3, None))]
    plan = _plan(subreddits=["phones"], include_comments=False, thread_comments=False, revisit_hours=0)
    with _server(*routes) as server:
        first = _fetch(server, plan)
        assert len(first.mentions) == 9 and first.rejects == []  # the listing ended
        cursor = SourceState("rd", "reddit", extra={"cursor:r/phones/new": (_day(13) - timedelta(hours=1)).timestamp()})
        before = len(server.requests)
        second = _fetch(server, plan, cursor)
    assert server.requests[before:] == ["POST /api/v1/access_token?", "GET /r/phones/new?", "GET /r/phones/new?after=t3_a2"]
    assert {m.native_id for m in second.mentions} == {"t3_a0", "t3_a1", "t3_a2", "t3_b0", "t3_b1"}
    assert "GET /r/phones/new?after=t3_b2" not in server.requests[before:]


def test_items_newer_than_the_run_are_held_back_for_the_next_run() -> None:
    posts = [_post("late", "Acme late", _day(15, 6)), _post("ok", "Acme ok", _day(14))]
    with _server(("GET", "/r/phones/new", {}, _listing(posts))) as server:
        result = _fetch(server, _plan(subreddits=["phones"], include_comments=False))
    assert [m.native_id for m in result.mentions] == ["t3_ok"] and result.held_back == 1
    assert RedditState.read(result.state).cursors["r/phones/new"] == _day(14).timestamp()


def test_a_429_is_retried_after_the_time_reddit_asks_for() -> None:
    throttled = Recorded(429, b'{"message": "Too Many Requests", "error": 429}', {**JSON, "Retry-After": "7"})
    server = _server(("GET", "/r/phones/new", {}, throttled))
    server.add(request_key("GET", "/r/phones/new", {}), _listing([_post("p1", "Acme", _day(14))]))
    sleeps: list[float] = []
    with server:
        result = _fetch(server, _plan(subreddits=["phones"], include_comments=False), sleeps=sleeps)
    assert [m.native_id for m in result.mentions] == ["t3_p1"]
    assert sleeps == [7.0] and result.requests == 3


def test_a_5xx_storm_fails_the_source_and_says_so() -> None:
    storm = Recorded(503, b"<html>upstream overloaded</html>", {"Content-Type": "text/html"})
    policy = FetchPolicy(user_agent="t", timeout_seconds=5, max_retries=1, backoff_seconds=0.01)
    with _server(("GET", "/r/phones/new", {}, storm)) as server, pytest.raises(TransientFetchError) as failed:
        _fetch(server, _plan(subreddits=["phones"], include_comments=False), policy=policy)
    assert failed.value.reason == "http_503" and "gave up after 2 attempts" in failed.value.message


def test_private_banned_and_missing_subreddits_are_rejects_and_the_rest_is_read() -> None:
    private = Recorded(403, b'{"reason": "private", "message": "Forbidden", "error": 403}', JSON)
    banned = Recorded(404, b'{"reason": "banned", "message": "Not Found", "error": 404}', JSON)
    missing = Recorded(302, b"", {"Location": "https://www.reddit.com/subreddits/search.json?q=nosuchsub"})
    plan = _plan(subreddits=["secret", "gone", "nosuchsub", "phones"], include_comments=False)
    with _server(("GET", "/r/secret/new", {}, private), ("GET", "/r/gone/new", {}, banned),
                 ("GET", "/r/nosuchsub/new", {}, missing),
                 ("GET", "/r/phones/new", {}, _listing([_post("p1", "Acme", _day(14))]))) as server:
        result = _fetch(server, plan)
    assert [r.reason for r in result.rejects] == ["subreddit_private", "subreddit_banned", "subreddit_missing"]
    assert "r/secret/new is private" in result.rejects[0].message
    assert [m.native_id for m in result.mentions] == ["t3_p1"]


def test_missing_and_refused_credentials_name_what_to_fix_without_the_secret() -> None:
    with pytest.raises(reddit.RedditCredentialsError) as missing:
        reddit.resolve_credentials(None, default_user_agent="ua", env={reddit.ENV_CLIENT_ID: "abc"})
    assert missing.value.reason == "credentials_missing"
    assert reddit.ENV_CLIENT_SECRET in missing.value.message and "abc" not in missing.value.message
    refused = Recorded(401, b'{"message": "Unauthorized", "error": 401}', JSON)
    server = ReplayServer([(request_key("POST", "/api/v1/access_token", {}), refused)])
    with server, pytest.raises(reddit.RedditCredentialsError) as rejected:
        _fetch(server, _plan(subreddits=["phones"]))
    assert rejected.value.reason == "credentials_rejected"
    assert CREDS.client_secret not in rejected.value.message and CREDS.client_secret not in repr(CREDS)


def test_credentials_come_from_an_airflow_connection_when_the_environment_has_none(monkeypatch) -> None:
    conn = {"conn_type": "generic", "login": "from-airflow", "password": "pw", "extra": {"user_agent": "python:zmot:1 (by u/x)"}}
    monkeypatch.setenv("AIRFLOW_CONN_REDDIT_TEST", json.dumps(conn))
    creds = reddit.resolve_credentials("reddit_test", default_user_agent="ua", env={})
    assert (creds.client_id, creds.client_secret, creds.user_agent) == ("from-airflow", "pw", "python:zmot:1 (by u/x)")


def test_the_request_cap_stops_the_run_with_a_reject() -> None:
    pages = [("GET", "/r/phones/new", {"after": f"t3_p{i}"} if i else {}, _listing([_post(f"p{i + 1}", "Acme", _day(14) - timedelta(hours=i))], f"t3_p{i + 1}")) for i in range(5)]
    with _server(*pages) as server:
        result = _fetch(server, _plan(subreddits=["phones"], include_comments=False, max_requests=3))
    assert result.requests == 3 and [r.reason for r in result.rejects] == ["request_cap"]
    assert len(result.mentions) == 2  # token + two pages


def test_a_hostile_answer_that_is_not_a_listing_is_refused_by_name() -> None:
    weird = Recorded(200, b'{"kind": "t2", "data": {"name": "evil"}}', JSON)
    with _server(("GET", "/r/phones/new", {}, weird)) as server, pytest.raises(reddit.TerminalFetchError) as refused:
        _fetch(server, _plan(subreddits=["phones"], include_comments=False))
    assert refused.value.reason == "unexpected_json"


def test_the_prefilter_keeps_only_brand_mentions_from_a_watched_subreddit() -> None:
    posts = [_post("p1", "Acme outage again", _day(14)), _post("p2", "My cat", _day(14, 11))]
    with _server(("GET", "/r/phones/new", {}, _listing(posts))) as server:
        result = _fetch(server, _plan(subreddits=["phones"], include_comments=False), keep=lambda t: "Acme" in t)
    assert [m.native_id for m in result.mentions] == ["t3_p1"]


# --- through the pipeline: edits, deletions, reruns -----------------------------------------


BRANDS = "brands:\n  - name: Acme\n    products:\n      - name: Acme Nova\n"
SOURCES = "sources:\n  - name: rd\n    kind: reddit\n    subreddits: [phones]\n    include_comments: true\n    backfill_days: 10\n"


def _pipeline_run(tmp_path: Path, day: datetime) -> RunContext:
    ctx = RunContext.for_date(day, config_dir=tmp_path / "config", data_dir=tmp_path / "data")
    steps.extract(ctx, "rd")
    steps.enrich(ctx, "rd")
    steps.load(ctx)
    return ctx


def _stored(ctx: RunContext) -> dict[str, str]:
    con = connect(ctx.warehouse, read_only=True)
    try:
        return dict(con.execute("SELECT native_id, text FROM mentions").fetchall())
    finally:
        con.close()


def test_rerun_edit_and_delete_through_the_warehouse(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "brands.yaml").write_text(BRANDS)
    (tmp_path / "config" / "sources.yaml").write_text(SOURCES)
    posts = [_post("p1", "Acme Nova battery?", _day(13), "Is the Acme Nova battery any good?")]
    comments = [_comment("c1", "Mine lasts two days.", _day(13, 14)), _comment("c2", "Acme support was useless", _day(13, 15))]
    server = _server(("GET", "/r/phones/new", {}, _listing(posts)), ("GET", "/r/phones/comments", {}, _listing(comments)))
    with server:
        monkeypatch.setenv(reddit.ENV_OAUTH_URL, server.url)
        monkeypatch.setenv(reddit.ENV_REDDIT_URL, server.url)
        monkeypatch.setenv(reddit.ENV_CLIENT_ID, "id")
        monkeypatch.setenv(reddit.ENV_CLIENT_SECRET, "secret")
        ctx = _pipeline_run(tmp_path, _day(14, 0))
        assert _stored(ctx) == {"t3_p1": "Is the Acme Nova battery any good?", "t1_c1": "Mine lasts two days.",
                                "t1_c2": "Acme support was useless"}
        _pipeline_run(tmp_path, _day(14, 0))  # the same day again: nothing doubles
        assert len(_stored(ctx)) == 3
        # next day: c1 was edited, c2 deleted by its author
        edited = _comment("c1", "Mine lasts two days. Edit: one day now.", _day(13, 14), edited=_day(14, 9).timestamp())
        deleted = _comment("c2", "[deleted]", _day(13, 15), author="[deleted]")
        server.replace(request_key("GET", "/r/phones/comments", {}), _listing([edited, deleted]))
        ctx = _pipeline_run(tmp_path, _day(15, 0))
    assert _stored(ctx) == {"t3_p1": "Is the Acme Nova battery any good?", "t1_c1": "Mine lasts two days. Edit: one day now."}


def test_the_cursor_does_not_move_when_the_load_never_happened(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "brands.yaml").write_text(BRANDS)
    (tmp_path / "config" / "sources.yaml").write_text(SOURCES)
    posts = [_post("p1", "Acme Nova?", _day(13))]
    with _server(("GET", "/r/phones/new", {}, _listing(posts)), ("GET", "/r/phones/comments", {}, _listing([]))) as server:
        for name, value in ((reddit.ENV_OAUTH_URL, server.url), (reddit.ENV_REDDIT_URL, server.url),
                            (reddit.ENV_CLIENT_ID, "id"), (reddit.ENV_CLIENT_SECRET, "secret")):
            monkeypatch.setenv(name, value)
        ctx = RunContext.for_date(_day(14, 0), config_dir=tmp_path / "config", data_dir=tmp_path / "data")
        steps.extract(ctx, "rd")  # extracted, but the run died before load
        ctx2 = _pipeline_run(tmp_path, _day(14, 0))
    assert list(_stored(ctx2)) == ["t3_p1"]

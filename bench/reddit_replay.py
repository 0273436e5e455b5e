"""Requests spent per 1,000 Reddit mentions, replaying recorded Reddit API traffic on loopback.

Three workloads: praw's recorded subreddit listings (one page of new posts and of new comments),
praw's recorded 543-comment thread reached through a search (load more + continue this thread),
and the demo's seven daily runs over its recorded-style cassette. Every item is kept (no brand
filter), so the figure is the connector's own cost, not the brand mix of the data.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connectors import reddit
from connectors.http import FetchPolicy
from connectors.kinds.reddit import RedditSource, RedditState
from connectors.records import SourceState
from connectors.replay import Recorded, ReplayServer, request_key

PROJECT = Path(__file__).resolve().parents[1]
RECORDED = PROJECT.parent / "shared" / "data" / "reddit-api-recorded"
DEMO = PROJECT / "config" / "sample" / "reddit" / "demo.cassette.json"
POLICY = FetchPolicy(user_agent="zmot-bench", timeout_seconds=10, max_retries=1)
CREDS = reddit.RedditCredentials("bench", "bench", "python:zmot-bench:1 (replay)")


def _plan(*, searches: tuple[tuple[str, str], ...] = (), **keys: Any) -> RedditSource:
    return RedditSource(name="bench", kind="reddit", searches=[{"query": q, "subreddit": sub} for q, sub in searches], **keys)


def _run(server: ReplayServer, plan: RedditSource, end: datetime, days: float, state: SourceState | None = None):
    return reddit.fetch_reddit(
        plan, state=RedditState.read(state or SourceState("bench", "reddit")), credentials=CREDS, policy=POLICY,
        keep=lambda text: True, interval_end=end, backfill_start=end - timedelta(days=days), fetched_at=end,
        endpoints=reddit.RedditEndpoints(server.url, server.url),
    )


def _first_page(path: Path) -> list[dict]:
    return json.loads(json.loads(path.read_text())["interactions"][1]["response"]["body"]["string"])["data"]["children"]


def listings() -> tuple[int, int]:
    new, comments = RECORDED / "TestSubredditListings.test_new.json", RECORDED / "TestSubredditListings.test_comments.json"
    requests = mentions = 0
    with ReplayServer() as server:
        server.add_cassettes([new, comments])
        for page, plan in ((_first_page(new), _plan(subreddits=["AskReddit"], include_comments=False)),
                           (_first_page(comments), _plan(subreddits=["AskReddit"]))):
            times = [t["data"]["created_utc"] for t in page]
            end = datetime.fromtimestamp(max(times) + 1, tz=timezone.utc)
            result = _run(server, plan, end, (max(times) - min(times)) / 86400 * 0.999)
            requests, mentions = requests + result.requests, mentions + len(result.mentions)
    return requests, mentions


def thread() -> tuple[int, int]:
    path = RECORDED / "TestCommentForest.test_replace__all.json"
    tree = json.loads(json.loads(path.read_text())["interactions"][1]["response"]["body"]["string"])
    submission = tree[0]["data"]["children"][0]
    with ReplayServer() as server:
        server.add_cassettes([path])
        listing = {"kind": "Listing", "data": {"after": None, "children": [submission]}}
        server.add(request_key("GET", "/r/all/search", {"q": "bench"}), Recorded(200, json.dumps(listing).encode()))
        result = _run(server, _plan(searches=(("bench", "all"),), max_more=100),
                      datetime(2017, 1, 1, tzinfo=timezone.utc), 600)
    return result.requests, len(result.mentions)


def demo_week() -> tuple[int, int]:
    plan = _plan(subreddits=["AcmeMobile"], searches=(("Kettleworks OR \"Juniper Brew\" OR \"Juniper Grinder\"", "all"),))
    state, requests, ids = None, 0, set()
    with ReplayServer() as server:
        server.add_cassettes([DEMO])
        for day in range(9, 16):
            result = _run(server, plan, datetime(2026, 11, day, tzinfo=timezone.utc), 60, state)
            state, requests = result.state, requests + result.requests
            ids |= {m.native_id for m in result.mentions}
    return requests, len(ids)


def main() -> None:
    if not RECORDED.exists():
        print(f"{RECORDED} is missing: only the demo workload runs")
    print(f"{'workload':<52}{'requests':>9}{'mentions':>10}{'req/1000':>10}{'seconds':>9}")
    workloads = [("demo: 7 daily runs, r/AcmeMobile + 1 search", demo_week)]
    if RECORDED.exists():
        workloads = [("praw recorded: r/AskReddit new posts + comments", listings),
                     ("praw recorded: search hit, 543-comment thread", thread), *workloads]
    for name, work in workloads:
        started = time.perf_counter()
        requests, mentions = work()
        print(f"{name:<52}{requests:>9}{mentions:>10}{1000 * requests / max(mentions, 1):>10.1f}"
              f"{time.perf_counter() - started:>9.2f}")


if __name__ == "__main__":
    main()

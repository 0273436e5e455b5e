"""Alerts POSTed to webhooks on a loopback receiver: signed, retried as the receiver asks, posted once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from alerts.deliver import DeliveryError
from alerts.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from connectors.http import FetchPolicy
from tests.feeds_server import Route, serve
from tests.test_notify import _detect, _warehouse
from zmot.config import AlertsConfig
from zmot.notify import WebhookConfigError, notify_all

NOT_BEFORE = datetime(2026, 10, 30)
SECRET = "a-test-signing-key"


def _config(*hooks: dict) -> AlertsConfig:
    return AlertsConfig.model_validate({"webhooks": list(hooks)})


def _notify(con, cfg: AlertsConfig, tmp_path: Path, waits: list[float] | None = None) -> dict:
    return notify_all(con, cfg, data_dir=tmp_path, not_before=NOT_BEFORE, sleep=(waits if waits is not None else []).append)


def _posts(server, path: str) -> list:
    return [r for r in server.requests_for(path) if r.method == "POST"]


def test_a_post_is_signed_over_timestamp_and_body_and_verifies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    con, days = _warehouse(tmp_path)
    [alert_id] = _detect(con, days)
    with serve({"/hook": Route(conditional=False)}) as server:
        cfg = _config({"name": "ops", "url": server.url("/hook"), "secret_env": "HOOK_SECRET"})
        assert _notify(con, cfg, tmp_path)["webhooks"]["posted"] == 1
    [post] = _posts(server, "/hook")
    headers = {k.lower(): v for k, v in post.headers.items()}
    stamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + post.body, hashlib.sha256).hexdigest()
    assert signature == expected
    assert verify(SECRET.encode(), stamp, post.body, signature)
    assert not verify(SECRET.encode(), stamp, post.body.replace(b"Acme", b"Acne"), signature)  # tampered body
    assert not verify(SECRET.encode(), stamp, post.body, signature, now=int(stamp) + 3600)  # replayed an hour later
    assert not verify(b"another key", stamp, post.body, signature)
    body = json.loads(post.body)
    assert body["type"] == "zmot.alert" and body["alert_id"] == alert_id and body["brand"] == "Acme"
    assert body["metric"] == "negative_mentions" and body["observed"] == 25 and body["drivers"]["mentions"] == 25
    assert headers[DELIVERY_HEADER.lower()] == f"{alert_id}:ops"


def test_a_429_is_retried_after_its_retry_after_and_posted_once_across_reruns(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    [alert_id] = _detect(con, days)
    waits: list[float] = []
    with serve({"/hook": Route(statuses=[429], headers={"Retry-After": "7"}, conditional=False)}) as server:
        cfg = _config({"name": "ops", "url": server.url("/hook")})
        assert _notify(con, cfg, tmp_path, waits)["webhooks"]["posted"] == 1
        assert _notify(con, cfg, tmp_path, waits)["webhooks"]["posted"] == 0  # a rerun, or a retried task
    posts = _posts(server, "/hook")
    assert len(posts) == 2 and waits == [7.0]
    assert posts[0].body == posts[1].body  # the retry is the same delivery (same id, same body)
    assert {p.headers[DELIVERY_HEADER] for p in posts} == {f"{alert_id}:ops"}
    rows = con.execute("SELECT subject, destination, detail FROM deliveries").fetchall()
    assert rows == [(alert_id, "webhook:ops", "http 200 after 2 request(s)")]


def test_a_receiver_that_keeps_failing_gets_the_alert_next_run_and_other_webhooks_are_not_held_up(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    [alert_id] = _detect(con, days)
    routes = {"/down": Route(status=500, conditional=False), "/up": Route(conditional=False)}
    waits: list[float] = []
    with serve(routes) as server:
        cfg = _config({"name": "down", "url": server.url("/down"), "max_retries": 2}, {"name": "up", "url": server.url("/up")})
        with pytest.raises(DeliveryError, match="webhook down: server answered 500"):
            _notify(con, cfg, tmp_path, waits)
        assert len(_posts(server, "/down")) == 3 and len(waits) == 2  # the first try and two retries, backing off
        base = FetchPolicy.backoff_seconds  # each wait is base * 2**(retry - 1), jittered by 0.5-1.5
        assert 0.5 * base <= waits[0] <= 1.5 * base and 1.0 * base <= waits[1] <= 3.0 * base
        assert con.execute("SELECT destination FROM deliveries").fetchall() == [("webhook:up",)]
        routes["/down"].status = 200  # the receiver is back
        assert _notify(con, cfg, tmp_path)["webhooks"]["posted"] == 1
        assert _notify(con, cfg, tmp_path)["webhooks"]["posted"] == 0
    assert len(_posts(server, "/down")) == 4 and len(_posts(server, "/up")) == 1
    assert sorted(con.execute("SELECT subject, destination FROM deliveries").fetchall()) == [
        (alert_id, "webhook:down"), (alert_id, "webhook:up")]


def test_slack_gets_text_and_blocks_with_mention_markup_escaped(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    [alert_id] = _detect(con, days)
    con.execute("UPDATE alerts SET reason = 'spike <!channel> & <https://evil.example|click me>'")
    with serve({"/slack": Route(conditional=False)}) as server:
        assert _notify(con, _config({"name": "team", "kind": "slack", "url": server.url("/slack")}), tmp_path)["webhooks"]["posted"] == 1
    body = json.loads(_posts(server, "/slack")[0].body)
    section = body["blocks"][0]["text"]["text"]
    assert body["text"].startswith("Acme: negative mentions 25 against about")
    assert "spike &lt;!channel&gt; &amp; &lt;https://evil.example|click me&gt;" in section
    assert "<!channel>" not in json.dumps(body) and "mentions from" in section
    assert body["blocks"][1]["elements"][0]["text"] == f"zmot alert {alert_id}"


def test_suppressed_and_stale_alerts_are_not_posted(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    _detect(con, days)
    with serve({"/hook": Route(conditional=False)}) as server:
        cfg = _config({"name": "ops", "url": server.url("/hook")})
        late = notify_all(con, cfg, data_dir=tmp_path, not_before=datetime(2026, 11, 5), sleep=time.sleep)
        assert late["webhooks"]["posted"] == 0
        con.execute("UPDATE alerts SET delivery = 'suppressed: found by a backfill'")
        assert _notify(con, cfg, tmp_path)["webhooks"]["posted"] == 0
    assert _posts(server, "/hook") == []


def test_a_missing_environment_variable_is_named_and_its_value_never_shown(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HOOK_URL", raising=False)
    con, days = _warehouse(tmp_path)
    _detect(con, days)
    with pytest.raises(WebhookConfigError, match=r"alerts.yaml: webhooks\[slack\].url_env: environment variable HOOK_URL is not set"):
        _notify(con, _config({"name": "slack", "kind": "slack", "url_env": "HOOK_URL"}), tmp_path)
    monkeypatch.setenv("HOOK_URL", "hooks.slack.example/T0/B0/sekrit")
    with pytest.raises(WebhookConfigError) as raised:
        _notify(con, _config({"name": "slack", "kind": "slack", "url_env": "HOOK_URL"}), tmp_path)
    assert "does not hold an http(s) URL" in str(raised.value) and "sekrit" not in str(raised.value)

"""From signals to one email: detect stores alerts once, notify sends each once, only when accepted."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from alerts.deliver import DeliveryError
from connectors.records import Mention, SourceState
from tests.smtp_server import smtp_server
from warehouse.db import connect
from warehouse.detect import detect_and_store
from warehouse.load import StagedRun, load_run
from warehouse.signals import recompute_signals
from warehouse.spikes import DetectorRules
from zmot import staging
from zmot.config import AlertsConfig
from zmot.notify import SmtpConfigError, notify_pending, smtp_target

FIRST = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)
SPIKE_DAY = date(2026, 10, 31)


def _mention(i: int, day: datetime, text: str) -> Mention:
    return Mention("rss", "forum", f"post-{i}", f"https://forum.example.net/t/{i}", f"user{i % 7}", None, text, day, day)


def _warehouse(tmp_path: Path):
    """31 days of Acme mentions: two negative a day, then 25 on the last day."""
    mentions, sentiment = [], {}
    for d in range(31):
        day = FIRST + timedelta(days=d)
        for k in range(25 if d == 30 else 2):
            m = _mention(d * 100 + k, day + timedelta(minutes=k), f"Acme dropped my call again ({d}/{k}), cancelling")
            mentions.append(m)
            sentiment[m.native_id] = ("negative", -0.6)
    folder = tmp_path / "stage"
    staging.write_mentions(staging.mentions_path(folder, "forum"), mentions)
    staging.write_rows(staging.nlp_path(folder, "forum"), [
        {"mention_id": m.mention_id, "language": "en", "language_score": 0.9, "sentiment_label": "negative",
         "sentiment_score": -0.6, "ref_count": 1, "moment": "lzmot", "stage": "loyalty", "moment_confidence": 0.8,
         "moment_evidence": ["cancel"], "model_version": "test"} for m in mentions], staging.NLP_SCHEMA)
    staging.write_rows(staging.refs_path(folder, "forum"), [
        {"mention_id": m.mention_id, "ref_index": 0, "brand": "Acme", "product": None, "matched_text": "Acme",
         "start_char": 0, "end_char": 4, "sentiment_label": "negative", "sentiment_score": -0.6, "moment": "lzmot",
         "stage": "loyalty", "moment_confidence": 0.8, "moment_evidence": ["cancel"]} for m in mentions], staging.REF_SCHEMA)
    con = connect(tmp_path / "w.duckdb")
    summary = load_run(con, StagedRun("r1", FIRST, [staging.mentions_path(folder, "forum")],
                                      [staging.nlp_path(folder, "forum")], [staging.refs_path(folder, "forum")], [SourceState("forum", "rss")], [], ["forum"], []))
    recompute_signals(con, summary.days_touched)
    return con, summary.days_touched


def _detect(con, days, notify_after=datetime(2026, 10, 30)) -> list[str]:
    return detect_and_store(con, run_key="r1", brands=["Acme"], metrics=["negative_mentions"], days_touched=days,
                            rules=DetectorRules(), history_days=56, notify_after=notify_after)


def _alerts_config(port: int | None) -> AlertsConfig:
    smtp = {"host": "127.0.0.1", "port": port, "security": "none"} if port else None
    return AlertsConfig.model_validate({"sender": "zmot@example.com", "recipients": ["team@example.com"], "smtp": smtp})


def test_one_spike_one_alert_one_email_and_never_twice(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    [alert_id] = _detect(con, days)
    assert _detect(con, days) == []  # rerun: unique per brand/metric/window
    with smtp_server() as (controller, mailbox):
        cfg = _alerts_config(controller.port)
        assert notify_pending(con, cfg, data_dir=tmp_path)["sent"] == 1
        assert notify_pending(con, cfg, data_dir=tmp_path)["sent"] == 0
    [message] = mailbox.messages
    assert message["Subject"].startswith("Acme: negative mentions") and "Sat 31 Oct" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "Acme dropped my call again (30/" in body
    # the day's 25 texts differ in one number: near-copies, each cluster quoted once with its size
    shown = [line for line in body.splitlines() if line.startswith("- [negative")]
    assert sum(1 + int(re.search(r"\(and (\d+) cop", line)[1]) if "cop" in line else 1 for line in shown) <= 25
    assert any("copies)" in line for line in shown)
    assert [p.get_content_type() for p in message.walk()].count("image/png") == 1
    row = con.execute("SELECT notified_at IS NOT NULL, message_id, delivery FROM alerts WHERE alert_id = ?", [alert_id]).fetchall()
    assert row == [(True, message["Message-ID"], f"smtp:127.0.0.1:{controller.port}")]


def test_an_smtp_failure_leaves_the_alert_unsent_until_the_server_is_back(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    _detect(con, days)
    with smtp_server() as (controller, mailbox):
        port = controller.port
        mailbox.fail_with = "451 mailbox busy"
        with pytest.raises(DeliveryError):
            notify_pending(con, _alerts_config(port), data_dir=tmp_path)
        assert con.execute("SELECT count(*) FROM alerts WHERE notified_at IS NULL").fetchall() == [(1,)]
        mailbox.fail_with = None
        assert notify_pending(con, _alerts_config(port), data_dir=tmp_path)["sent"] == 1
    assert len(mailbox.messages) == 1


def test_without_smtp_the_email_goes_to_the_outbox(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    _detect(con, days)
    result = notify_pending(con, _alerts_config(None), data_dir=tmp_path)
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert result["deliveries"] == [f"outbox:{eml}"]


def test_alerts_found_late_are_stored_but_not_emailed(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    _detect(con, days, notify_after=datetime(2026, 11, 20))
    assert notify_pending(con, _alerts_config(None), data_dir=tmp_path)["sent"] == 0
    [(delivery,)] = con.execute("SELECT delivery FROM alerts").fetchall()
    assert delivery.startswith("suppressed: window ended before 2026-11-20")


def test_a_deployment_can_point_the_example_config_at_its_mail_server(tmp_path: Path, monkeypatch) -> None:
    con, days = _warehouse(tmp_path)
    _detect(con, days)
    with smtp_server() as (controller, mailbox):
        monkeypatch.setenv("ZMOT_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ZMOT_SMTP_PORT", str(controller.port))
        monkeypatch.setenv("ZMOT_SMTP_SECURITY", "none")
        assert notify_pending(con, _alerts_config(None), data_dir=tmp_path)["sent"] == 1
    assert len(mailbox.messages) == 1 and not (tmp_path / "outbox").exists()


def test_missing_smtp_credentials_are_named_and_secrets_never_shown(monkeypatch) -> None:
    cfg = AlertsConfig.model_validate({"smtp": {"host": "mail.example.com", "username_env": "ZMOT_T_USER", "password_env": "ZMOT_T_PASS"}})
    monkeypatch.setenv("ZMOT_T_USER", "alice")
    monkeypatch.delenv("ZMOT_T_PASS", raising=False)
    with pytest.raises(SmtpConfigError, match="ZMOT_T_PASS is not set"):
        smtp_target(cfg.smtp)
    monkeypatch.setenv("ZMOT_T_PASS", "s3cret-value")
    target = smtp_target(cfg.smtp)
    assert target.password == "s3cret-value" and "s3cret" not in repr(target)


def test_several_jumps_of_one_brand_on_one_day_make_one_digest_email(tmp_path: Path) -> None:
    con, days = _warehouse(tmp_path)
    new = detect_and_store(con, run_key="r1", brands=["Acme"], metrics=["negative_mentions", "lzmot_mentions"],
                           days_touched=days, rules=DetectorRules(), history_days=56, notify_after=datetime(2026, 10, 30))
    assert len(new) == 2
    with smtp_server() as (controller, mailbox):
        assert notify_pending(con, _alerts_config(controller.port), data_dir=tmp_path)["sent"] == 1
    [message] = mailbox.messages
    assert "Also unusual in the same window" in message.get_body(("plain",)).get_content()
    assert con.execute("SELECT count(DISTINCT message_id), count(*) FROM alerts WHERE notified_at IS NOT NULL").fetchall() == [(1, 2)]

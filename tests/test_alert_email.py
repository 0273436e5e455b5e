"""Alert emails say what jumped, show it, quote the mentions behind it, and reach the server once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from alerts.compose import AlertEmail, DrivingMention, compose, header_safe
from alerts.deliver import DeliveryError, SmtpTarget, send_smtp, write_outbox
from tests.smtp_server import smtp_server

SPIKE_DAY = datetime(2026, 11, 11)


def _alert(brand: str = "Acme Mobile", text: str = "No signal since 7am, cancelling and switching to Orbit") -> AlertEmail:
    series = [(SPIKE_DAY - timedelta(days=i), 2.0 + (i % 3)) for i in range(20, 0, -1)] + [(SPIKE_DAY, 31.0)]
    mention = DrivingMention(SPIKE_DAY + timedelta(hours=8), "mobile-forum", "dana", text,
                             "https://forum.example.net/t/1", "negative", -0.83)
    return AlertEmail(
        alert_id="abc123", brand=brand, product="*", source_kind="*", metric="negative_mentions",
        window_start=SPIKE_DAY, window_end=SPIKE_DAY + timedelta(days=1), observed=31, expected=6.0, ratio=5.17,
        severity=9.5, reason="31 vs about 6 expected (same weekday median)", series=series, mentions=[mention],
        reproduce_sql="SELECT * FROM v_brand_mentions WHERE brand = 'Acme Mobile'",
    )


def _compose(alert: AlertEmail):
    msg = compose(alert, sender="zmot@example.com", recipients=["team@example.com"], sent_at=datetime(2026, 11, 12, tzinfo=timezone.utc))
    return msg


def test_the_email_names_brand_metric_and_jump_and_carries_both_parts_and_the_chart() -> None:
    with smtp_server() as (controller, mailbox):
        send_smtp(_compose(_alert()), SmtpTarget("127.0.0.1", controller.port, "none"))
    [received] = mailbox.messages
    assert received["Subject"] == "Acme Mobile: negative mentions 5.2× usual on Wed 11 Nov"
    assert received["Message-ID"] == "<zmot-alert-abc123@example.com>"
    assert mailbox.envelopes[0].rcpt_tos == ["team@example.com"]
    plain = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    for part in (plain, html):
        assert "No signal since 7am" in part and "https://forum.example.net/t/1" in part
        assert "v_brand_mentions" in part and "31" in part
    images = [p for p in received.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content().startswith(b"\x89PNG")
    cid = images[0]["Content-ID"].strip("<>")
    assert f"cid:{cid}" in html


def test_the_message_id_is_the_same_every_time_the_alert_is_composed() -> None:
    assert _compose(_alert())["Message-ID"] == _compose(_alert())["Message-ID"]


def test_a_brand_or_mention_with_line_breaks_cannot_inject_headers() -> None:
    alert = _alert(brand="Acme\r\nBcc: victim@example.com", text="<script>alert(1)</script>\r\nX-Evil: 1")
    with smtp_server() as (controller, mailbox):
        send_smtp(_compose(alert), SmtpTarget("127.0.0.1", controller.port, "none"))
    [received] = mailbox.messages
    assert received["Bcc"] is None and received["X-Evil"] is None
    assert "\n" not in received["Subject"] and "Bcc: victim" in received["Subject"]
    assert mailbox.envelopes[0].rcpt_tos == ["team@example.com"]
    html = received.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_non_ascii_brands_survive_the_trip() -> None:
    with smtp_server() as (controller, mailbox):
        send_smtp(_compose(_alert(brand="Café Ñandú 東京")), SmtpTarget("127.0.0.1", controller.port, "none"))
    assert mailbox.messages[0]["Subject"].startswith("Café Ñandú 東京: negative mentions")


def test_a_server_that_is_down_is_retried_then_reported() -> None:
    waits: list[float] = []
    with smtp_server() as (controller, mailbox):
        port = controller.port
    with pytest.raises(DeliveryError, match="failed after 3 attempts"):
        send_smtp(_compose(_alert()), SmtpTarget("127.0.0.1", port, "none"), sleep=waits.append)
    assert waits == [2.0, 4.0]


def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_not() -> None:
    with smtp_server() as (controller, mailbox):
        target = SmtpTarget("127.0.0.1", controller.port, "none")
        mailbox.fail_with = "451 try again later"
        waits: list[float] = []
        with pytest.raises(DeliveryError, match="after 2 attempts"):
            send_smtp(_compose(_alert()), target, attempts=2, sleep=waits.append)
        assert waits == [2.0]
        mailbox.fail_with = "554 rejected"
        with pytest.raises(DeliveryError, match="refused the message: 554"):
            send_smtp(_compose(_alert()), target, sleep=waits.append)
        assert waits == [2.0]
        assert mailbox.messages == []


def test_the_outbox_holds_a_complete_eml(tmp_path: Path) -> None:
    where = write_outbox(_compose(_alert()), tmp_path / "outbox", "alert-abc123")
    path = Path(where.removeprefix("outbox:"))
    parsed = message_from_bytes(path.read_bytes(), policy=default)
    assert parsed["Subject"].startswith("Acme Mobile:") and parsed.get_body(("html",)) is not None
    assert not list((tmp_path / "outbox").glob("*.tmp"))


def test_header_safe_flattens_control_characters() -> None:
    assert header_safe("a\r\nb\x00c\u2028d\te") == "a b c d e"

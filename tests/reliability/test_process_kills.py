"""SIGKILL at any moment of a daily run, then a rerun: the warehouse ends as one clean run leaves it.

Real processes: `zmot run` (the real DAG through dag.test) in its own process group, killed with
SIGKILL at staggered moments (wherever the clock falls) and at chosen points: while a feed is being
fetched, after extract before enrich has written, after one source's enrich has written but not the
others', while the load waits for an analyst's read lock,
and inside the SMTP conversation (before and after the server took the message). Then run again.
A real SMTP server on loopback counts the alert emails; feeds come from a loopback HTTP server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.smtp import Envelope

from tests.conftest import PROJECT
from tests.feeds_server import FeedServer, Route, serve
from tests.reliability.harness import SAMPLE_DAYS, SAMPLE_FEEDS
from tests.smtp_server import Mailbox, smtp_server
from warehouse.publish import writer_file
from zmot import staging

SAMPLE = PROJECT / "config" / "sample"
DATES = SAMPLE_DAYS  # the second run's window holds the outage: one alert email
FEEDS = SAMPLE_FEEDS
COMPARED = {
    "mentions": "* EXCLUDE (fetched_at, first_run, last_run)",
    "mention_nlp": "*",
    "mention_refs": "*",
    "mention_targets": "*",
    "daily_signals": "*",
    "alerts": "brand, product, source_kind, metric, window_start, window_end, observed, expected",
    "rejects": "source_id, stage, reason",
}
pytestmark = pytest.mark.slow


def _config(tmp_path: Path, smtp_port: int, feeds: FeedServer | None = None) -> Path:
    """The sample's feeds and brands (read in place, or served by `feeds`), mailing a loopback SMTP server."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "brands.yaml").write_text((SAMPLE / "brands.yaml").read_text())
    urls = {name: feeds.url(f"/{file}") if feeds else (SAMPLE / "feeds" / file).as_uri() for name, file in FEEDS}
    (config / "sources.yaml").write_text(
        "sources:\n" + "".join(f"  - name: {name}\n    kind: rss\n    url: {url}\n    backfill_days: 60\n" for name, url in urls.items())
    )
    (config / "alerts.yaml").write_text(
        "sender: zmot@example.com\nrecipients: [team@example.com]\n"
        f"smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}\n"
    )
    return config


def _command(config: Path, data: Path, date: str) -> list[str]:
    return [str(Path(sys.executable).parent / "zmot"), "run", "--date", date, "--config", str(config), "--data-dir", str(data)]


def _start(config: Path, data: Path, date: str) -> subprocess.Popen:
    """The run's output goes to a file beside its data (a pipe nobody reads while we wait could fill up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    data.mkdir(parents=True, exist_ok=True)
    with open(data / f"run-{date}.log", "ab") as log:
        return subprocess.Popen(_command(config, data, date), env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)


def _run(config: Path, data: Path, date: str, *, kill_after: float | None = None) -> int | None:
    """`zmot run --date`; with `kill_after`, SIGKILL its whole process group then (None if it was killed)."""
    process = _start(config, data, date)
    if kill_after is None:
        process.wait(timeout=300)
        assert process.returncode == 0, (data / f"run-{date}.log").read_text(errors="replace")[-5000:]
        return process.returncode
    try:
        process.wait(timeout=kill_after)
        return process.returncode  # finished before the kill
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


def _kill_when(process: subprocess.Popen, condition: Callable[[], bool]) -> bool:
    """SIGKILL the run's process group as soon as `condition` holds; False if the run ended first."""
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    process.wait()
    return False


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every compared table, floats rounded: DuckDB's parallel sums may differ in the last bit."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            t: sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                      for row in con.execute(f"SELECT {cols} FROM {t}").fetchall())
            for t, cols in COMPARED.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def day_one(tmp_path_factory) -> Path:
    """The data dir after the first day (no alert yet); every case starts from a copy of it."""
    tmp = tmp_path_factory.mktemp("day-one")
    _run(_config(tmp, smtp_port=1), tmp / "data", DATES[0])
    return tmp / "data"


def _from_day_one(day_one: Path, tmp_path: Path) -> Path:
    shutil.copytree(day_one, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture(scope="module")
def clean(day_one: Path, tmp_path_factory) -> tuple[dict[str, list[tuple]], int, float]:
    """The second day, uninterrupted: what every killed-and-rerun history must end as, and how long it took."""
    tmp = tmp_path_factory.mktemp("clean")
    data = _from_day_one(day_one, tmp)
    with smtp_server() as (controller, mailbox):
        config = _config(tmp, controller.port)
        started = time.monotonic()
        _run(config, data, DATES[1])
        duration = time.monotonic() - started
    return _snapshot(data / "zmot.duckdb"), len(mailbox.messages), duration


@pytest.mark.parametrize("moment", [0.3, 0.6, 0.9])
def test_a_run_killed_at_any_moment_then_rerun_ends_as_a_clean_run(day_one: Path, clean, tmp_path: Path, moment: float) -> None:
    """`moment` is the fraction of a clean run's duration after which the run is killed."""
    expected, emails, duration = clean
    kill_after = moment * duration
    assert emails == 1 and expected["mentions"] and expected["alerts"]
    data = _from_day_one(day_one, tmp_path)
    with smtp_server() as (controller, mailbox):
        config = _config(tmp_path, controller.port)
        killed = _run(config, data, DATES[1], kill_after=kill_after)
        _run(config, data, DATES[1])  # the rerun picks up what the killed run left
    assert _snapshot(data / "zmot.duckdb") == expected, f"killed={killed is None} after {kill_after}s"
    subjects = [m["Subject"] for m in mailbox.messages]
    assert len(set(subjects)) == 1 and len(subjects) == 1, subjects  # the alert was emailed, once


class _KillingMailbox(Mailbox):
    """Kills the run's process group inside the DATA command: before the message is taken, or after the
    server has stored it but before the client hears the 250 (the window no SMTP client can close)."""

    def __init__(self, *, store_first: bool) -> None:
        super().__init__()
        self.store_first = store_first
        self.victim: int | None = None

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.victim is None:
            return await super().handle_DATA(server, session, envelope)
        if self.store_first:
            await super().handle_DATA(server, session, envelope)
        os.killpg(self.victim, signal.SIGKILL)
        self.victim = None
        return "421 closing"


@contextmanager
def _held_read_lock(warehouse: Path) -> Iterator[None]:
    """A read-only hold on the writer's file (as a second writer's would be): the loader waits for it
    (and is killed while waiting). Analysts hold the published copy, which never makes it wait."""
    deadline = time.monotonic() + 5
    while True:
        try:
            reader = duckdb.connect(str(warehouse), read_only=True)
            break
        except duckdb.IOException:
            assert time.monotonic() < deadline, "the loader kept the warehouse; could not take a read lock"
            time.sleep(0.01)
    try:
        yield
    finally:
        reader.close()


PHASES = ["extract", "enrich", "enrich-partway", "load", "notify-before-accept", "notify-after-accept"]


def _enriched(staged: Path) -> list[bool]:
    """Which sources' enrich tasks have written their files (refs last)."""
    return [staging.refs_path(staged, name).exists() for name, _ in FEEDS]


@pytest.mark.parametrize("phase", PHASES)
def test_a_run_killed_inside_a_chosen_step_then_rerun_ends_as_a_clean_run(day_one: Path, clean, tmp_path: Path, phase: str) -> None:
    expected, _, _ = clean
    data = _from_day_one(day_one, tmp_path)
    warehouse = data / "zmot.duckdb"
    slow = "/mobile-forum.atom.xml"
    routes = {f"/{file}": Route((SAMPLE / "feeds" / file).read_bytes(), delay=2.0 if f"/{file}" == slow else 0.0)
              for _, file in FEEDS}
    mailbox = _KillingMailbox(store_first=phase == "notify-after-accept")
    with serve(routes) as feeds, smtp_server(mailbox) as (controller, _):
        config = _config(tmp_path, controller.port, feeds)
        before = _snapshot(warehouse)
        staged = data / "staging" / "2026-11-12T000000Z"
        process = _start(config, data, DATES[1])
        if phase == "extract":
            killed = _kill_when(process, lambda: bool(feeds.requests_for(slow)))
            assert not staging.outcome_path(staged, "mobile-forum").exists()
        elif phase == "enrich":
            killed = _kill_when(process, lambda: all(staging.outcome_path(staged, n).exists() for n, _ in FEEDS))
            assert not any(staging.nlp_path(staged, n).exists() for n, _ in FEEDS)
        elif phase == "enrich-partway":  # one source's enrich has written its files, the others' not yet
            killed = _kill_when(process, lambda: any(_enriched(staged)))
            assert not all(_enriched(staged))
        elif phase == "load":
            while process.poll() is None and not all(_enriched(staged)):
                time.sleep(0.01)
            with _held_read_lock(writer_file(warehouse)):
                time.sleep(1.0)  # the load task has started and waits for the lock
                killed = _kill_when(process, lambda: True)
        else:
            mailbox.victim = process.pid
            process.wait(timeout=300)
            killed = process.returncode == -signal.SIGKILL
        assert killed, f"the run ended before it could be killed in {phase}"
        if not phase.startswith("notify"):
            assert _snapshot(warehouse) == before  # nothing of the killed run was published
        _run(config, data, DATES[1])
    assert _snapshot(warehouse) == expected
    ids = [m["Message-ID"] for m in mailbox.messages]
    if phase == "notify-after-accept":
        # At least once: the server took the message but the run died before it heard so; the rerun sends it
        # again with the same Message-ID, which mail clients and list servers collapse into one.
        assert len(ids) == 2 and len(set(ids)) == 1, ids
    else:
        assert len(ids) == 1, ids

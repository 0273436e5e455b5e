"""A full disk during a run: the run fails loudly, the warehouse keeps what it had, a rerun with space ends as a clean run.

Two real ENOSPC sources: /dev/full behind one source's staging file (any machine), and a small
tmpfs holding the whole data dir, filled to a few bytes short (needs root to mount; skipped otherwise).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.reliability.harness import SAMPLE_DAYS, query, run_day, sample_days_in_a_row, snapshot
from zmot import staging, steps
from zmot.runcontext import RunContext

DAYS = SAMPLE_DAYS


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict[str, list[tuple]]]:
    return sample_days_in_a_row(tmp_path_factory.mktemp("sequential"))


def test_a_staging_file_that_cannot_be_written_fails_its_source_alone(clean, tmp_path: Path) -> None:
    """ENOSPC on one source's staging file: that extract task fails (as Airflow would see it), the load stores
    the others with a `no_outcome` reject and leaves its cursor; the next run, with space, catches up."""
    config, expected = clean
    data = tmp_path / "data"
    run_day(config, data, DAYS[0])
    ctx = RunContext.for_date(datetime.fromisoformat(DAYS[1]).replace(tzinfo=timezone.utc), config_dir=config, data_dir=data)
    full = staging.mentions_path(ctx.staging_dir, "mobile-forum")
    full.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = full.with_suffix(full.suffix + ".tmp")
    tmp_file.symlink_to("/dev/full")
    cursor_before = query(data / "zmot.duckdb", "SELECT state FROM source_state WHERE source_id = 'mobile-forum'")
    failed = []
    for name in steps.source_names(ctx):
        try:
            steps.extract(ctx, name)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            failed.append(name)
    assert failed == ["mobile-forum"] and not full.exists()
    for name in steps.source_names(ctx):
        steps.enrich(ctx, name)
    loaded = steps.load(ctx)
    assert loaded["sources_failed"] == ["mobile-forum"]
    warehouse = data / "zmot.duckdb"
    assert query(warehouse, "SELECT reason FROM rejects WHERE source_id = 'mobile-forum'") == [("no_outcome",)]
    assert query(warehouse, "SELECT state FROM source_state WHERE source_id = 'mobile-forum'") == cursor_before
    stored = dict(query(warehouse, "SELECT source_id, count(*) FROM mentions GROUP BY ALL"))
    assert stored["telecom-news"] == dict(expected_counts(expected))["telecom-news"]
    tmp_file.unlink(missing_ok=True)  # pyarrow removes what it could not write
    run_day(config, data, DAYS[1])  # the rerun, with space
    assert _without_rejects(snapshot(warehouse)) == _without_rejects(expected)


def expected_counts(snap: dict[str, list[tuple]]) -> list[tuple[str, int]]:
    """Mentions per source in a snapshot (mentions rows start with mention_id, source_kind, source_id)."""
    counts: dict[str, int] = {}
    for row in snap["mentions"]:
        counts[row[2]] = counts.get(row[2], 0) + 1
    return list(counts.items())


def _without_rejects(snap: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The failed attempt's reject row stays as history; everything else must match the clean run."""
    return {k: v for k, v in snap.items() if k != "rejects"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the /dev/full case still covers staging writes")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _run_in_a_process(config: Path, data: Path, day: str) -> subprocess.CompletedProcess:
    """A run in its own process, as an Airflow task is: a failed write must not poison the test's DuckDB."""
    code = ("import sys; from pathlib import Path; from tests.reliability.harness import run_day; "
            "run_day(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])")
    return subprocess.run([sys.executable, "-c", code, str(config), str(data), day], cwd=PROJECT, capture_output=True, text=True, timeout=300)


def _fill(mount: Path, leave: int) -> Path:
    """Fill the file system until only `leave` bytes are free."""
    filler = mount / "filler"
    stats = os.statvfs(mount)
    free = stats.f_bavail * stats.f_frsize
    with open(filler, "wb") as out:
        remaining = max(free - leave, 0)
        block = b"\0" * (1 << 20)
        try:
            while remaining > 0:
                remaining -= out.write(block[: min(len(block), remaining)])
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


# Free bytes left: none (staging fails), ~120 kB (the load's COMMIT fails writing DuckDB's WAL), 1 MB (the
# load commits, writing the alert to the outbox fails). Where each fails depends on file sizes; the test
# holds whichever step it is.
@pytest.mark.parametrize("leave", [0, 120_000, 1024 * 1024])
def test_a_full_disk_mid_run_loses_nothing_once_space_is_back(clean, small_disk: Path, leave: int) -> None:
    config, expected = clean
    data = small_disk / "data"
    first = _run_in_a_process(config, data, DAYS[0])
    assert first.returncode == 0, first.stderr[-3000:]
    before = snapshot(data / "zmot.duckdb")
    filler = _fill(small_disk, leave)
    attempt = _run_in_a_process(config, data, DAYS[1])
    after_attempt = snapshot(data / "zmot.duckdb")
    if attempt.returncode != 0:
        final_error = attempt.stderr.strip().splitlines()[-1]
        assert "No space left on device" in final_error, attempt.stderr[-3000:]  # the real cause, not a follow-on
        assert after_attempt["mentions"] in (before["mentions"], expected["mentions"])  # all of the run or none
    filler.unlink()
    rerun = _run_in_a_process(config, data, DAYS[1])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _without_rejects(snapshot(data / "zmot.duckdb")) == _without_rejects(expected)

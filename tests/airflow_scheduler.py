"""A real Airflow (`airflow standalone`: scheduler, dag-processor, api-server, triggerer, LocalExecutor,
SQLite metadata) started on loopback exactly as README's "Running under a real Airflow" says.

README's shell blocks are read from README.md and run line by line, so the test follows the
documented setup word for word; the only additions are loopback ports, fewer worker processes
and no automatic schedule (the test starts every run itself).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT

README = PROJECT / "README.md"
SETUP_MARKER = "<!-- under-airflow:"
RUNS_MARKER = "<!-- under-airflow-runs -->"
DAG_ID = "zmot_daily"


def readme_block(marker: str) -> list[str]:
    """The command lines of the bash block that follows `marker` in README.md."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(marker):]
    block = re.search(r"```bash\n(.*?)```", after, re.DOTALL)
    assert block, f"README.md: no bash block after {marker}"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class TaskRun:
    run_id: str
    task_id: str
    map_index: int
    rendered_map_index: str | None
    state: str | None
    try_number: int
    start: str | None
    end: str | None


class Airflow:
    """README's setup in a folder laid out like the project (dags/, config/, .venv/), HOME pointing there."""

    def __init__(self, workdir: Path, config_dir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        for name, target in (("dags", PROJECT / "dags"), (".venv", PROJECT / ".venv"), ("config", config_dir)):
            (workdir / name).symlink_to(target, target_is_directory=True)
        setup = readme_block(SETUP_MARKER)
        self.prelude = [line for line in setup if line.startswith(("source ", "export "))]
        self.setup = [line for line in setup if line not in self.prelude]
        port = _free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ZMOT_"))},
            "HOME": str(workdir),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # the test starts every run itself
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        }
        self.home = workdir / "airflow"
        self.data_dir = workdir / "data-airflow"
        self.log = workdir / "standalone.log"
        self._standalone: subprocess.Popen | None = None

    def sh(self, command: str, *, check: bool = True) -> subprocess.CompletedProcess:
        """Run one README command line after README's `source`/`export` lines."""
        script = "\n".join([*self.prelude, command])
        done = subprocess.run(["bash", "-c", script], cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{command!r} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    @contextmanager
    def running(self) -> Iterator["Airflow"]:
        """README's setup lines; `airflow standalone` in the background, its whole process group stopped after."""
        for line in self.setup:
            if line.startswith("airflow standalone"):
                self._start_standalone(line)
            else:
                self.sh(line)
        try:
            self._wait_for_dag()
            yield self
        finally:
            self.stop()

    def _start_standalone(self, line: str) -> None:
        script = "\n".join([*self.prelude, f"exec {line}"])
        with open(self.log, "wb") as log:
            self._standalone = subprocess.Popen(["bash", "-c", script], cwd=self.workdir, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self._standalone is None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self._standalone.pid, sig)
            except ProcessLookupError:
                break
            try:
                self._standalone.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._standalone = None

    def _wait_for_dag(self, timeout: float = 300) -> None:
        """Until the dag-processor has stored the DAG and the api-server answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._standalone is not None and self._standalone.poll() is not None:
                raise AssertionError(f"airflow standalone exited:\n{self.log.read_text()[-4000:]}")
            if self._rows("SELECT 1 FROM dag WHERE dag_id = ?", [DAG_ID]) and _port_open(int(self.env["AIRFLOW__API__PORT"])):
                return
            time.sleep(2)
        raise AssertionError(f"the DAG never appeared:\n{self.log.read_text()[-4000:]}")

    def _rows(self, sql: str, params: list | None = None) -> list[tuple]:
        db = self.home / "airflow.db"
        if not db.exists():
            return []
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
            try:
                return con.execute(sql, params or []).fetchall()
            finally:
                con.close()
        except sqlite3.OperationalError:
            return []  # tables not there yet, or busy

    def run_state(self, day: str) -> str | None:
        rows = self._rows("SELECT state FROM dag_run WHERE dag_id = ? AND logical_date LIKE ?", [DAG_ID, f"{day}%"])
        return rows[0][0] if rows else None

    def wait_for_runs(self, days: list[str], timeout: float = 600) -> dict[str, str]:
        """Until every run of these logical dates has finished; their final states."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {day: self.run_state(day) for day in days}
            if all(state in ("success", "failed") for state in states.values()):
                return states
            time.sleep(2)
        raise AssertionError(f"runs {days} did not finish: {states}\n{self.log.read_text()[-4000:]}")

    def task_runs(self, day: str | None = None) -> list[TaskRun]:
        sql = ("SELECT ti.run_id, ti.task_id, ti.map_index, ti.rendered_map_index, ti.state, ti.try_number, "
               "ti.start_date, ti.end_date FROM task_instance ti JOIN dag_run dr "
               "ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id WHERE ti.dag_id = ?")
        params: list = [DAG_ID]
        if day:
            sql += " AND dr.logical_date LIKE ?"
            params.append(f"{day}%")
        return [TaskRun(*row) for row in self._rows(sql + " ORDER BY ti.start_date", params)]

    def run_seconds(self, day: str) -> float:
        """Wall time of the run of this logical date, from the metadata database."""
        rows = self._rows("SELECT (julianday(end_date) - julianday(start_date)) * 86400 FROM dag_run "
                          "WHERE dag_id = ? AND logical_date LIKE ?", [DAG_ID, f"{day}%"])
        return float(rows[0][0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0

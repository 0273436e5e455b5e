"""The dashboard on a loopback port for tests: a real uvicorn server in a thread, and a writable copy of a warehouse."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import uvicorn


def copy_warehouse(source: Path, folder: Path) -> Path:
    """A copy the test may change (the session's demo warehouse must stay as the demo left it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "zmot.duckdb"
    shutil.copy(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(target.name + ".wal"))
    return target


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """One query on a connection of its own, closed after: a test's look at the published copy."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@contextmanager
def running(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port of `host`; yields the base URL to reach it over loopback."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

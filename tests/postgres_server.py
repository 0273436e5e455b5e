"""A throwaway PostgreSQL from Debian's `postgresql` package, on loopback, for the lake catalog tests.

The cluster lives in its own temporary folder and is stopped and removed afterwards. PostgreSQL
refuses to run as root, so under root (CI) it runs as the package's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin() -> Path | None:
    """The folder of Debian's server programs (initdb, pg_ctl), newest version first; None if not installed."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def postgres(database: str = "zmot_lake") -> Iterator[str]:
    """A running server with `database` created; yields the libpq connection string to it."""
    binaries = postgres_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="zmot-pg-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    try:
        _run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options,
              "-w", "start"])
        try:
            _run([*as_user, str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database])
            yield f"host=127.0.0.1 port={port} user=postgres dbname={database}"
        finally:
            _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""`zmot shell`: an interactive, read-only SQL prompt on the published warehouse.

Statements end with `;`. Dot commands: `.tables`, `.help`, `.quit`. Before each statement the shell
moves on to the newest published run if one appeared, so an open shell never holds back a load and
never answers from an old run. Standard input that is not a terminal is read as a script, so the
shell can be fed a file or a pipe (and tested that way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import duckdb

from warehouse.publish import open_published, refresh
from zmot.tabular import write_rows

PROMPT = "zmot> "
CONTINUE = "  ...> "
MAX_ROWS = 1_000  # a terminal's worth; `zmot sql --format csv` or Parquet for more
HISTORY_FILE = Path("~/.zmot_shell_history")
CANCEL = "\x03"  # Ctrl-C at the prompt: drop the statement being typed
HELP = """Statements end with ';' (SELECT, DESCRIBE, SUMMARIZE, SHOW ...; the warehouse is read-only).
  .tables   the tables and views
  .help     this text
  .quit     leave (also .exit or Ctrl-D)
The shell always answers from the newest published run."""


class Shell:
    """One read-only connection, re-attached whenever a newer run has been published."""

    def __init__(self, warehouse: Path, out: TextIO, err: TextIO) -> None:
        self.warehouse = warehouse
        self.out, self.err = out, err
        self.con = open_published(warehouse)
        self.published = _identity(warehouse)
        self.errors = 0

    def close(self) -> None:
        self.con.close()

    def handle(self, command: str) -> bool:
        """Run one statement or dot command; False once the user asked to leave."""
        word = command.strip().rstrip(";").strip()
        if word in (".quit", ".exit"):
            return False
        if word == ".help":
            self.out.write(HELP + "\n")
        elif word == ".tables":
            self._run("SELECT table_name AS name, lower(table_type) AS kind FROM information_schema.tables "
                      "WHERE table_catalog = current_database() ORDER BY table_name")
        elif word.startswith("."):
            self._fail(f"unknown command {word.split()[0]}; .help lists them")
        elif word:
            self._run(command)
        return True

    def _run(self, sql: str) -> None:
        self._follow_publishing()
        try:
            result = self.con.execute(sql)
            if result.description is None:
                return
            columns = [d[0] for d in result.description]
            rows = result.fetchmany(MAX_ROWS + 1)
        except duckdb.Error as exc:
            self._fail(f"{type(exc).__name__}: {exc}")
            return
        except KeyboardInterrupt:
            self._fail("interrupted")
            return
        write_rows(self.out, columns, rows[:MAX_ROWS])
        if len(rows) > MAX_ROWS:
            self.out.write(f"(first {MAX_ROWS} rows shown; add LIMIT, or use zmot sql --format csv for all)\n")
        else:
            self.out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")
        self.out.flush()

    def _follow_publishing(self) -> None:
        now = _identity(self.warehouse)
        if now is not None and now != self.published:
            refresh(self.con)
            self.published = now

    def _fail(self, message: str) -> None:
        self.errors += 1
        self.err.write(message + "\n")
        self.err.flush()


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at the path now: a publish puts a new one there (a rename, so a new inode)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def commands(lines: Iterator[str]) -> Iterator[str]:
    """Whole commands from input lines: a dot command is one line, a statement runs to its `;`."""
    buffer: list[str] = []
    for line in lines:
        if line == CANCEL:
            buffer = []
            continue
        if not buffer and line.strip().startswith("."):
            yield line.strip()
            continue
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(buffer)
            buffer = []
    if any(part.strip() for part in buffer):
        yield "\n".join(buffer)


def run_shell(warehouse: Path, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    """The REPL on a terminal, a script otherwise; exit code 1 if any statement failed."""
    shell = Shell(warehouse, out, err)
    interactive = stdin.isatty()
    try:
        if interactive:
            out.write(f"zmot shell on {warehouse} (read-only). .help for help, .quit to leave.\n")
        for command in commands(_prompted_lines() if interactive else (line.rstrip("\r\n") for line in stdin)):
            if not shell.handle(command):
                break
    finally:
        shell.close()
    return 1 if shell.errors and not interactive else 0


def _prompted_lines() -> Iterator[str]:
    """Lines typed at the prompt, with readline editing and a history kept between sessions."""
    import readline

    history = HISTORY_FILE.expanduser()
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1_000)
    prompt = PROMPT
    try:
        while True:
            try:
                line = input(prompt)
            except EOFError:
                print()
                return
            except KeyboardInterrupt:
                print("^C")
                prompt = PROMPT
                yield CANCEL
                continue
            stripped = line.strip()
            if stripped and not (prompt == PROMPT and stripped.startswith(".")):
                prompt = PROMPT if stripped.endswith(";") else CONTINUE
            yield line
    finally:
        try:
            readline.write_history_file(history)
        except OSError:
            pass

"""Print query results the way analysts want them: an aligned table, CSV or JSON lines.

Mentions are text from the internet, so each format is safe for where it goes: the table is for a
terminal (control characters shown as symbols, never sent), CSV is for spreadsheets (a text cell that
starts like a formula is prefixed with ' as OWASP advises, so "=HYPERLINK(...)" stays text), and JSON
lines are exact, every control character and line separator escaped; for exact tables use JSON or Parquet.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")
MAX_CELL = 80
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")  # json.dumps leaves these raw: C1 controls, line separators


def write_rows(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> None:
    """Write rows in one of FORMATS; JSON is one object per line so it streams into other tools."""
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_spreadsheet_safe(_plain(v)) for v in row] for row in rows])
    elif fmt == "json":
        for row in rows:
            line = json.dumps(dict(zip(columns, (_json(v) for v in row))), ensure_ascii=False)
            out.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line) + "\n")
    elif fmt == "table":
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
    else:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(_json(value), ensure_ascii=False)
    return "" if value is None else value


def _spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading ' (numbers stay numbers)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _visible(match: re.Match[str]) -> str:
    """A control character as its Unicode symbol (ESC as ␛), so a terminal shows it instead of obeying it."""
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.3f}"
    else:
        text = str(_plain(value))
    text = _CONTROL.sub(_visible, " ".join(text.split()))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

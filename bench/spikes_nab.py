"""Score the shipped spike detector on NAB's real tweet-volume series (../shared/data/nab-realtweets-dev).

Prints per series and in total: windows caught, false alert episodes outside windows (alerts within
6 hours merge into one episode), false episodes per 30 days, precision, recall, F1, and how early in
each window the first alert came. Runs the product's defaults for count series; no per-window tuning.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from warehouse.spikes import DETECTOR_VERSION, DetectorRules, detect_spikes

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab-realtweets-dev"
EPISODE_GAP = timedelta(hours=6)


def load_series(path: Path) -> list[tuple[datetime, float]]:
    rows = path.read_text().splitlines()[1:]
    return [(datetime.fromisoformat(r.split(",")[0]), float(r.split(",")[1])) for r in rows if r.strip()]


def episodes(times: list[datetime]) -> list[list[datetime]]:
    out: list[list[datetime]] = []
    for t in sorted(times):
        if out and t - out[-1][-1] <= EPISODE_GAP:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def main() -> int:
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    windows = json.loads((DATA / "windows.json").read_text())
    rules = DetectorRules()
    print(f"detector {DETECTOR_VERSION}, defaults {rules}")
    print(f"{'series':28} {'windows':>7} {'caught':>6} {'false ep':>8} {'fp/30d':>6} {'prec':>5} {'recall':>6} {'F1':>5}  first alert in window (min after start, fraction)  secs")
    total = {"windows": 0, "caught": 0, "false": 0, "true_ep": 0, "days": 0.0}
    for name in sorted(windows):
        series = load_series(DATA / name)
        spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in windows[name]]
        started = time.perf_counter()
        alerts = [s.timestamp for s in detect_spikes(series, rules)]
        seconds = time.perf_counter() - started
        caught, leads = 0, []
        for start, end in spans:
            inside = [t for t in alerts if start <= t <= end]
            if inside:
                caught += 1
                first = min(inside)
                leads.append(f"{(first - start).total_seconds() / 60:.0f}m/{(first - start) / (end - start):.2f}")
            else:
                leads.append("missed")
        eps = episodes(alerts)
        false_eps = [e for e in eps if not any(s <= t <= en for t in e for s, en in spans)]
        true_eps = len(eps) - len(false_eps)
        days = (series[-1][0] - series[0][0]).total_seconds() / 86400
        precision = true_eps / len(eps) if eps else 0.0
        recall = caught / len(spans)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{name:28} {len(spans):7} {caught:6} {len(false_eps):8} {len(false_eps) / days * 30:6.2f} {precision:5.2f} {recall:6.2f} {f1:5.2f}  {', '.join(leads)}  {seconds:.2f}")
        total["windows"] += len(spans)
        total["caught"] += caught
        total["false"] += len(false_eps)
        total["true_ep"] += true_eps
        total["days"] += days
    precision = total["true_ep"] / (total["true_ep"] + total["false"]) if total["true_ep"] + total["false"] else 0.0
    recall = total["caught"] / total["windows"]
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"{'TOTAL':28} {total['windows']:7} {total['caught']:6} {total['false']:8} {total['false'] / total['days'] * 30:6.2f} {precision:5.2f} {recall:6.2f} {f1:5.2f}")
    print("reference (NAB realTweets, published): contextOSE ~82% windows, ~1 false episode/30 days; ADVec 82-88%, ~6/30 days")
    return 0


if __name__ == "__main__":
    sys.exit(main())

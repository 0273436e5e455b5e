"""The pipeline's outputs on real texts stay exactly what they were when recorded: a speed-up that
changes a language, a sentiment score, a moment or its evidence shows up here, float for float.

The recording holds ids (which rows of which ../shared/data file, or the name of a text written
here) and outputs, never the texts. Re-record only when outputs are meant to change:
`python -m tests.test_nlp_outputs_recorded`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from nlp.catalog import Brand, Product
from nlp.pipeline import TextAnalysis, analyse, build_pipeline
from tests.conftest import shared_data

RECORDING = Path(__file__).parent / "fixtures" / "nlp_outputs_recorded.json"
AIRLINE_ROWS = range(0, 14_640, 48)  # about 300 airline customer tweets, spread over the file
TWEETEVAL_LINES = range(0, 2_000, 7)  # about 290 TweetEval validation texts
CATALOG = [
    Brand(name=name, aliases=aliases, products=[Product(name=p) for p in products])
    for name, aliases, products in [
        ("Apple", [], ["iPhone", "iPad", "MacBook"]), ("Samsung", [], ["Galaxy"]), ("Google", [], ["Pixel", "Android"]),
        ("Microsoft", [], ["Xbox", "Windows"]), ("Amazon", [], ["Kindle", "Alexa"]), ("Nike", [], []),
        ("United", ["@united"], []), ("Delta", [], []), ("JetBlue", [], []), ("American Airlines", ["@AmericanAir"], []),
        ("Southwest", ["@SouthwestAir"], []), ("US Airways", ["@USAirways"], []), ("Virgin America", ["@VirginAmerica"], []),
    ]
]
ODD_TEXTS = {
    "empty": "", "blank": "   \n\t ", "emoji": "😀🔥 Apple iPhone 👍👍 love it 💯", "only-emoji": "🔥🔥🔥",
    "replacement-chars": "half a pair \ufffd then Apple, awful \ufffd", "zero-width": "App\u200ble iPhone\u200d is gr\u00e9at",
    "rtl": "مرحبا Apple שלום, the iPad is fine", "combining": "Cafe\u0301 Samsung n\u0303 Galaxy",
    "10k-chars": ("Should I get the iPhone or the Galaxy? My Pixel died again, never buying Google. " * 125)[:10_000],
    "brand-10k-times": "Apple " * 10_000, "long-word": "a" * 5_000 + " Nike",
    "switch": "Cancelled Samsung after the third outage. Switching to Apple, love my iPhone.",
    "controls": "\x00\x01 Amazon \x7f Kindle\tKindle", "astral": "𝔸𝕡𝕡𝕝𝕖 iPhone 𐍈 Xbox 🏳️‍🌈",
}


def _texts() -> dict[str, str]:
    tweets = shared_data("airline-customer-tweets") / "Tweets.csv"
    with tweets.open(encoding="utf-8", newline="") as f:
        airline = [row["text"] for row in csv.DictReader(f)]
    val = (shared_data("tweeteval-sentiment-val") / "val_text.txt").read_text(encoding="utf-8").splitlines()
    return {**{f"airline:{i}": airline[i] for i in AIRLINE_ROWS}, **{f"tweeteval-val:{i}": val[i] for i in TWEETEVAL_LINES},
            **{f"odd:{name}": text for name, text in ODD_TEXTS.items()}}


def _moment(m: Any) -> list[Any]:
    return [m.moment, m.stage, m.confidence, list(m.evidence)]


def _outputs(result: TextAnalysis) -> dict[str, Any]:
    return {
        "language": result.language, "language_score": result.language_score,
        "sentiment": [result.sentiment_label, result.sentiment_score], "moment": _moment(result.moment),
        "refs": [[r.brand, r.product, r.start_char, r.end_char, r.sentiment_label, r.sentiment_score] for r in result.refs],
        "ref_moments": [_moment(m) for m in result.ref_moments],
    }


def _current() -> dict[str, dict[str, Any]]:
    texts = _texts()
    results = analyse(build_pipeline(CATALOG, base="blank"), list(texts.values()))
    # through JSON, as the recording was: tuples read back as lists, floats exactly as they were
    return json.loads(json.dumps({key: _outputs(r) for key, r in zip(texts, results)}))


def test_every_output_is_the_recorded_one() -> None:
    recorded = json.loads(RECORDING.read_text(encoding="utf-8"))
    current = _current()
    assert current.keys() == recorded.keys()
    assert sum(len(o["refs"]) for o in recorded.values()) > 300  # the recording exercises per-reference outputs
    differing = [key for key in recorded if current[key] != recorded[key]]
    assert not differing, f"{len(differing)} texts differ, first {differing[0]}: {current[differing[0]]} != {recorded[differing[0]]}"


if __name__ == "__main__":
    try:
        RECORDING.write_text(json.dumps(_current(), ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    except pytest.skip.Exception as missing:
        raise SystemExit(str(missing)) from None

"""The labelled moments corpus: real posts in ../shared/data, referenced by (dataset, file, key, target).

`texts()` reads every source the corpus draws from, in place; `resolve()` turns the corpus's
references back into texts for training and evaluation; `split_of()` fixes each row's split.
Labels live in bench/data/moments_corpus.csv (see docs/moments-model.md); texts are never copied.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]  # a source checkout: the labels are not packaged
DATA = PROJECT.parent / "shared" / "data"
CORPUS = PROJECT / "bench" / "data" / "moments_corpus.csv"
PASS2 = PROJECT / "bench" / "data" / "moments_pass2.csv"
# moment and sentiment are the final labels; first_* are the first pass's, kept for agreement figures
CORPUS_COLUMNS = ["dataset", "file", "key", "target", "draw", "moment", "sentiment", "first_moment", "first_sentiment", "labeller"]
PASS2_COLUMNS = ["dataset", "file", "key", "target", "moment", "sentiment"]
SEMEVAL_FILES = ["twitter-2013train-A.txt", "twitter-2013dev-A.txt", "twitter-2013test-A.txt", "twitter-2014test-A.txt",
                 "twitter-2015train-A.txt", "twitter-2015test-A.txt", "twitter-2016train-A.txt", "twitter-2016dev-A.txt",
                 "twitter-2016devtest-A.txt", "twitter-2016test-A.txt"]  # SemEval-2017's test set is not among them
# brands and products a SemEval or Reddit text may name; the first one named is the target
BRAND_WORDS = [
    "iPhone", "iPad", "iPod", "MacBook", "Apple", "Samsung", "Galaxy", "Android", "Google", "Microsoft", "Windows",
    "Xbox", "PlayStation", "PS4", "Sony", "Nintendo", "Wii", "Amazon", "Kindle", "Netflix", "Hulu", "Spotify",
    "Verizon", "AT&T", "Sprint", "T-Mobile", "Comcast", "Xfinity", "Uber", "Lyft", "Tesla", "Ford", "Toyota",
    "Honda", "BMW", "Walmart", "Best Buy", "Costco", "Starbucks", "McDonald's", "Chipotle", "Taco Bell",
    "Burger King", "Wendy's", "Dunkin", "Domino's", "Pizza Hut", "KFC", "Nike", "Adidas", "Facebook", "Twitter",
    "Instagram", "Snapchat", "YouTube", "Dell", "Lenovo", "Canon", "Nikon", "GoPro", "Fitbit", "Beats", "Bose",
    "Delta", "JetBlue", "Southwest", "Coca-Cola", "Pepsi", "Red Bull", "IKEA", "Airbnb", "PayPal", "eBay",
    "Disney", "HBO", "Sephora", "Nordstrom", "Macy's", "DirecTV", "Blackberry", "Nokia", "Motorola", "HTC",
]
_BRAND_RE = re.compile(r"(?<![\w@#])(" + "|".join(re.escape(b) for b in sorted(BRAND_WORDS, key=len, reverse=True)) + r")(?!\w)",
                       re.IGNORECASE)
@dataclass(frozen=True)
class Text:
    dataset: str
    file: str
    key: str
    target: str
    text: str

    @property
    def ref(self) -> tuple[str, str, str, str]:
        return (self.dataset, self.file, self.key, self.target)


def texts() -> Iterator[Text]:
    """Every candidate text of every source, read in place; targets as each dataset names them. Keys are
    the source's own ids, or 1-based row, line or example numbers where it has none."""
    yield from _airline()
    yield from _sanders()
    yield from _semeval()
    yield from _dong()
    yield from _adidas()
    yield from _uci()
    yield from _absa()
    yield from _reddit()


def _airline() -> Iterator[Text]:
    path = DATA / "airline-customer-tweets" / "Tweets.csv"
    with path.open(encoding="utf-8", newline="") as f:
        for index, row in enumerate(csv.DictReader(f), start=1):  # ids were rounded by a spreadsheet: the row is the key
            yield Text("airline-customer-tweets", "Tweets.csv", str(index), airline_target(row["airline"]), row["text"])


def airline_target(airline: str) -> str:
    """The dataset's "Delta" rows are tweets to @JetBlue (2,218 of 2,222 name it; 6 name @Delta)."""
    return "JetBlue" if airline == "Delta" else airline


def _sanders() -> Iterator[Text]:
    path = DATA / "sanders-brand-sentiment" / "full-corpus.csv"
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield Text("sanders-brand-sentiment", "full-corpus.csv", row["TweetId"], row["Topic"].capitalize(), row["TweetText"])


def _semeval() -> Iterator[Text]:
    for name in SEMEVAL_FILES:
        for line in (DATA / "semeval-twitter-sentiment-2013-2016" / name).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                match = _BRAND_RE.search(parts[2])
                yield Text("semeval-twitter-sentiment-2013-2016", name, parts[0], match.group(1) if match else "", parts[2])


def _dong() -> Iterator[Text]:
    lines = (DATA / "target-sentiment-dong2014" / "train.raw").read_text(encoding="utf-8").splitlines()
    for index in range(0, len(lines) - 2, 3):
        target = lines[index + 1].strip()
        yield Text("target-sentiment-dong2014", "train.raw", str(index // 3 + 1), target, lines[index].replace("$T$", target))


def _adidas() -> Iterator[Text]:
    with (DATA / "purchase-intent-adidas" / "All_twitts_v02.csv").open(encoding="utf-8", newline="") as f:
        for index, row in enumerate(csv.DictReader(f), start=1):
            yield Text("purchase-intent-adidas", "All_twitts_v02.csv", str(index), "Adidas", row["text"])


def _uci() -> Iterator[Text]:
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt"):
        for index, line in enumerate((DATA / "uci-review-sentences" / name).read_text(encoding="utf-8").splitlines(), start=1):
            yield Text("uci-review-sentences", name, str(index), "", line.rsplit("\t", 1)[0])


def _absa() -> Iterator[Text]:
    for name in ("Laptop_Train_v2.xml", "Restaurants_Train_v2.xml"):
        for sentence in ET.parse(DATA / "absa-semeval2014" / name).getroot().iter("sentence"):
            yield Text("absa-semeval2014", name, sentence.get("id", ""), "", sentence.findtext("text") or "")


def _reddit() -> Iterator[Text]:
    seen = set()
    for path in sorted((DATA / "reddit-api-recorded").glob("*.json")):
        for interaction in json.loads(path.read_text(encoding="utf-8")).get("interactions", []):
            body = interaction.get("response", {}).get("body", {}).get("string", "")
            try:
                payload = json.loads(body)
            except (ValueError, TypeError):
                continue
            for thing in _things(payload):
                text = "\n\n".join(p for p in (thing.get("title"), thing.get("selftext") or thing.get("body")) if p)
                if thing["name"] in seen or not (match := _BRAND_RE.search(text)):
                    continue
                seen.add(thing["name"])
                yield Text("reddit-api-recorded", path.name, thing["name"], match.group(1), text)


def _things(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        data = node.get("data")
        if node.get("kind") in ("t1", "t3") and isinstance(data, dict) and data.get("name"):
            yield data
        for value in node.values():
            yield from _things(value)
    elif isinstance(node, list):
        for value in node:
            yield from _things(value)


def resolve(refs: list[tuple[str, ...]]) -> dict[tuple[str, str, str], str]:
    """The text behind each reference, by (dataset, file, key): the target is the label's, not the text's."""
    wanted = {tuple(r[:3]) for r in refs}
    return {t.ref[:3]: t.text for t in texts() if t.ref[:3] in wanted}


def split_of(text: str) -> str:
    """train / dev / test (70 / 15 / 15), fixed by a hash of the text's letters and digits, so copies of
    one post (retweets, the same sentence under two targets) always fall in the same split."""
    letters = re.sub(r"[^a-z0-9]+", "", re.sub(r"https?://\S+|@\w+", "", text.lower()))
    bucket = int(hashlib.sha256(letters.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"

"""Brand recall and precision on Sanders' brand tweets: the matcher as of e7a3dff against today's.

Sanders' corpus (../shared/data/sanders-brand-sentiment) labels 5,113 tweets found by searching for
apple, google, microsoft and twitter with their sentiment toward that brand, or "irrelevant" (mostly
not English, or not about the brand). The question is "does the text name its topic brand?": a
positive is a tweet not labelled irrelevant, a hit is a reference to the topic brand or one of its
products under CATALOG below (the catalog a user watching these four would write, defined once here).

Prints, for the old matcher (spaCy tokens and a PhraseMatcher on the configured names, their #name
and @name forms, case-sensitive brands only as written: re-implemented below as it was at commit
e7a3dff) and for nlp.brands.BrandFinder (what the pipeline runs): precision and recall per brand and
overall, on a development part (70 %, by a hash of the tweet id: the rules were tuned there) and on
the held-out rest. Then each positive the old matcher missed, by the kind of miss that the new rules
recover (or "other" when they do not), and each new false match on a negative, by the same kinds.
Precision is also given on the tweets nlp.language identifies as English: most irrelevant rows are
tweets in other languages that do name the brand, which no matcher should skip.
Also checks that the prefilter agrees (never no where the pipeline finds a reference).
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import spacy
from spacy.matcher import PhraseMatcher
from spacy.util import filter_spans

from nlp.brands import BrandFinder, make_prefilter
from nlp.catalog import Brand, Product
from nlp.langid import identify_many

SANDERS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sanders-brand-sentiment" / "full-corpus.csv"


def _brand(name: str, products: list[str | tuple[str, list[str]]], **extra: Any) -> Brand:
    items = [p if isinstance(p, tuple) else (p, []) for p in products]
    return Brand(name=name, products=[Product(name=n, aliases=a) for n, a in items], **extra)


CATALOG = [
    _brand("Apple", ["iPhone", "iPad", "iPod", ("Mac", ["Macintosh"]), "MacBook", "iMac", "iOS", "iTunes", "iCloud", "Siri",
                     "iMessage", "App Store"],
           aliases=["Apple Inc"], case_sensitive=True, competitors=["Google", "Microsoft"],
           exclusions=["apple pie", "Big Apple", "apple juice", "apple sauce", "apple cider", "apple tree", "Big Mac",
                       "mac and cheese", "mac n cheese"]),
    _brand("Google", ["Android", "Gmail", "Chrome", "Nexus", ("Google+", ["Google Plus"]), "Ice Cream Sandwich"],
           competitors=["Apple", "Microsoft"]),
    _brand("Microsoft", ["Windows", "Windows Phone", "Xbox", "Bing", ("Microsoft Office", ["Office 365"]), "Hotmail", "Skype",
                         "Kinect", "Internet Explorer"],
           aliases=["MSFT"], competitors=["Apple", "Google"]),
    _brand("Twitter", []),
]
KINDS = ("glued to punctuation, symbols, tags", "HTML entities", "plurals and model numbers", "lower-case case-sensitive", "other")


class OldMatcher:
    """nlp/brands.py's BrandReferences at e7a3dff, on the pipeline's tokenizer of then (brackets split)."""

    def __init__(self, brands: list[Brand]) -> None:
        self.nlp = spacy.blank("en")
        infixes = [*self.nlp.Defaults.infixes, r"[\[\]|{}]"]
        self.nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
        vocab = self.nlp.vocab
        self.any_case, self.exact_case = PhraseMatcher(vocab, attr="LOWER"), PhraseMatcher(vocab, attr="ORTH")
        self.exclusions = PhraseMatcher(vocab, attr="LOWER")
        self.targets: dict[str, str] = {}
        self.excluded_by: dict[str, str] = {}
        for index, brand in enumerate(brands):
            self.targets[f"B{index}"] = brand.name
            matcher = self.exact_case if brand.case_sensitive else self.any_case
            matcher.add(f"B{index}", [self.nlp.make_doc(v) for t in [brand.name, *brand.aliases] for v in _old_variants(t)])
            for p_index, product in enumerate(brand.products):
                self.targets[f"B{index}P{p_index}"] = brand.name
                self.any_case.add(f"B{index}P{p_index}", [self.nlp.make_doc(v) for t in [product.name, *product.aliases]
                                                          for v in _old_variants(t)])
            if brand.exclusions:
                self.excluded_by[f"X{index}"] = brand.name
                self.exclusions.add(f"X{index}", [self.nlp.make_doc(x) for x in brand.exclusions])

    def brands(self, texts: list[str]) -> list[set[str]]:
        out = []
        for doc in self.nlp.pipe(texts):
            strings = doc.vocab.strings
            spans = [doc[s:e] for _, s, e in [*self.any_case(doc), *self.exact_case(doc)]]
            labels = {(s, e): strings[k] for k, s, e in [*self.any_case(doc), *self.exact_case(doc)]}
            vetoes = [(self.excluded_by[strings[k]], s, e) for k, s, e in self.exclusions(doc)]
            found = set()
            for span in filter_spans(spans):
                brand = self.targets[labels[span.start, span.end]]
                if not any(b == brand and s < span.end and span.start < e for b, s, e in vetoes):
                    found.add(brand)
            out.append(found)
        return out


def _old_variants(term: str) -> list[str]:
    return [term, f"#{term}", f"@{term}"] if " " not in term and term[:1] not in "#@" else [term]


def split_of(tweet_id: str) -> str:
    return "dev" if hashlib.sha256(tweet_id.encode()).digest()[0] % 10 < 7 else "held-out"


_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


def kind_of(text: str, refs: list, brand: Brand) -> str:
    """Which rule recovered a reference the old matcher missed (refs: the new matcher's, to the brand)."""
    if not refs:
        return KINDS[4]
    ref = refs[0]
    written = {re.sub(r"\s", "", t) for t in [brand.name, *brand.aliases]}
    if brand.case_sensitive and ref.product is None and ref.text.lstrip("#@").replace(" ", "") not in written:
        return KINDS[3]
    entities = [m.span() for m in _ENTITY.finditer(text)]
    if any(e == ref.start_char or s == ref.end_char or (ref.text[:1] in "#@" and e == ref.start_char) for s, e in entities):
        return KINDS[1]
    if ref.product and ref.text.lower().rstrip("s") != ref.text.lower() and not any(
            ref.text.lower() == t.lower() for p in brand.products if p.name == ref.product for t in [p.name, *p.aliases]):
        return KINDS[2]
    if ref.end_char < len(text) and text[ref.end_char].isdigit():
        return KINDS[2]
    return KINDS[0]


def scores(rows: list[dict[str, str]], hits: list[bool]) -> tuple[float, float, int, int, int]:
    tp = sum(h and r["positive"] for r, h in zip(rows, hits))
    fp = sum(h and not r["positive"] for r, h in zip(rows, hits))
    fn = sum(not h and r["positive"] for r, h in zip(rows, hits))
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp, fp, fn


def main() -> int:
    if not SANDERS.exists():
        print(f"{SANDERS} not found; nothing to measure")
        return 0
    with SANDERS.open(encoding="utf-8", errors="replace") as handle:
        rows = [dict(r, positive=r["Sentiment"] != "irrelevant", split=split_of(r["TweetId"])) for r in csv.DictReader(handle)]
    texts = [r["TweetText"] for r in rows]
    by_topic = {b.name.lower(): b for b in CATALOG}
    started = time.perf_counter()
    old = OldMatcher(CATALOG).brands(texts)
    old_seconds = time.perf_counter() - started
    finder = BrandFinder(CATALOG)
    started = time.perf_counter()
    new_refs = [finder.find(t) for t in texts]
    new_seconds = time.perf_counter() - started
    keep = make_prefilter(CATALOG)
    prefilter_misses = sum(bool(refs) and not keep(t) for t, refs in zip(texts, new_refs))
    old_hit = [by_topic[r["Topic"]].name in found for r, found in zip(rows, old)]
    new_hit = [any(x.brand == by_topic[r["Topic"]].name for x in refs) for r, refs in zip(rows, new_refs)]

    print(f"Sanders: {len(rows)} tweets, {sum(r['positive'] for r in rows)} about their brand, "
          f"{sum(not r['positive'] for r in rows)} irrelevant (the negatives)")
    print(f"old matcher {len(texts) / old_seconds:,.0f} texts/s (tokenizing included), new {len(texts) / new_seconds:,.0f} texts/s; "
          f"texts the prefilter refused where the new matcher found a reference: {prefilter_misses}")
    for split in ("dev", "held-out", "all"):
        part = [i for i, r in enumerate(rows) if split in ("all", r["split"])]
        print(f"\n== {split}: {len(part)} tweets")
        print(f"{'brand':<11} {'old P':>6} {'old R':>6} {'new P':>6} {'new R':>6}   old tp/fp/fn   new tp/fp/fn")
        for topic in [*by_topic, "overall"]:
            sel = [i for i in part if topic in ("overall", rows[i]["Topic"])]
            sub = [rows[i] for i in sel]
            op, orc, *ocounts = scores(sub, [old_hit[i] for i in sel])
            np_, nrc, *ncounts = scores(sub, [new_hit[i] for i in sel])
            print(f"{topic:<11} {op:6.3f} {orc:6.3f} {np_:6.3f} {nrc:6.3f}   {'/'.join(map(str, ocounts)):>12}   "
                  f"{'/'.join(map(str, ncounts)):>12}")
        languages = identify_many([rows[i]["TweetText"] for i in part])
        english = [i for i, (language, _) in zip(part, languages) if language == "en"]
        sub = [rows[i] for i in english]
        (op, orc, *_), (np_, nrc, *_) = scores(sub, [old_hit[i] for i in english]), scores(sub, [new_hit[i] for i in english])
        print(f"{'  English':<11} {op:6.3f} {orc:6.3f} {np_:6.3f} {nrc:6.3f}   (the {len(english)} tweets nlp.language calls English: "
              "Sanders labels tweets in other languages irrelevant, even where they name the brand)")
        recovered, still, new_fp, lost = Counter(), Counter(), Counter(), 0
        for i in part:
            row, brand = rows[i], by_topic[rows[i]["Topic"]]
            refs = [x for x in new_refs[i] if x.brand == brand.name]
            if row["positive"] and not old_hit[i]:
                (recovered if new_hit[i] else still)[kind_of(row["TweetText"], refs, brand)] += 1
            if not row["positive"] and new_hit[i] and not old_hit[i]:
                new_fp[kind_of(row["TweetText"], refs, brand)] += 1
            lost += row["positive"] and old_hit[i] and not new_hit[i]
        positives = sum(rows[i]["positive"] for i in part)
        print(f"positives the old matcher missed, by kind (recall gained = recovered / {positives} positives):")
        for kind in KINDS:
            print(f"  {kind:<38} missed {recovered[kind] + still[kind]:>4}  recovered {recovered[kind]:>4} "
                  f"(+{recovered[kind] / positives:.3f} recall)  new false matches {new_fp[kind]:>3}")
        print(f"  positives the old matcher found and the new one does not: {lost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

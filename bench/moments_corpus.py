"""The labelled moments corpus: real posts in ../shared/data, referenced by (dataset, file, key), never copied.

Texts are read in place by nlp/moments_corpus.py; this script draws candidates to label and merges labels.

    python bench/moments_corpus.py draw OUT_DIR   # candidate batches to label (texts, outside the project)
    python bench/moments_corpus.py merge OUT_DIR  # labelled batches -> bench/data/moments_corpus.csv

Draws (the `draw` column): `random` (seeded, per source, so class priors are real), `cue:<moment>`
(texts a cue pattern for that moment matches, to have enough of each class; they favour cue-based
classifiers, so evaluations report the random draws apart) and `hardneg:<kind>` (support questions,
news and ads, flight "cancelled" by the airline: texts that look like a moment and are not).
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nlp.moments_corpus import CORPUS, CORPUS_COLUMNS, PASS2, PASS2_COLUMNS, Text, airline_target, texts  # noqa: E402

CUES = {
    "zmot": re.compile(
        r"\b(should i|which (one|phone|laptop|airline|should)|worth (it|the)|any(one|body) (tried|recommend|know|use)|"
        r"recommend(ation)?s?\?|\bvs\.?\b|versus|thinking (of|about) (getting|buying|switching)|looking (for|to buy)|"
        r"want(ing)? to (buy|get|try)|gonna (buy|get)|going to (buy|get)|need a new|thoughts on|opinions? on|"
        r"planning (to|on)|deciding|can'?t decide|or should|is it good|any good|how is the|is the .* good)\b|"
        r"\b(buy|get|getting|upgrade|worth|recommend|which|best|better|choose|pick|price|cost|deal)\b[^.!]*\?|"
        r"\b(i want|i need|i wish i had|saving (up )?for|can'?t wait to get|next (phone|laptop|car|flight|trip))\b", re.I),
    "lzmot": re.compile(
        r"\b(cancel(l?ed|l?ing)? my|switch(ing|ed)? (to|from|back)|never (again|fly(ing)?|buy(ing)?|us(e|ing)|going back)|"
        r"refund|return(ed|ing)? (it|my|the)|avoid|don'?t (buy|fly|use|bother)|done with|last time i|"
        r"third time|won'?t be (back|flying|using|buying)|lost a (loyal )?customer|goodbye|leaving|"
        r"will not (fly|buy|use)|not recommend|worst (airline|company|service|customer|phone|product))\b", re.I),
    "umot": re.compile(
        r"\b(highly recommend|i recommend|recommend (it|them|this)|love (my|this|the|you|flying)|best (airline|service|"
        r"phone|crew|ever)|great (service|job|experience|product|value|phone|flight)|loyal|always fly|"
        r"favou?rite (airline|phone|brand)|never disappoint|(so|very) (happy|pleased)|works (great|perfectly)|"
        r"you guys rock|amazing (service|crew|flight|product))\b", re.I),
}
HARD_NEGATIVES = {
    "support_question": re.compile(r"\b(can you|could you|how do i|where (is|do)|when will|is there a way|help me|dm)\b.*\?", re.I),
    "airline_cancelled": re.compile(r"\bcancel+ed flight", re.I),
    "news_or_ad": re.compile(r"(https?://\S+).*\b(announce|launch|deal|sale|win|giveaway|discount|% off|free|new)\b|"
                             r"\b(announce[sd]?|launch(es|ed)?|giveaway|promo code|on sale)\b", re.I),
}
RANDOM_PER_SOURCE = {"airline-customer-tweets": 900, "sanders-brand-sentiment": 450, "semeval-twitter-sentiment-2013-2016": 550,
                     "target-sentiment-dong2014": 250, "purchase-intent-adidas": 150, "uci-review-sentences": 150,
                     "absa-semeval2014": 100, "reddit-api-recorded": 50}
CUE_DRAWS = {"zmot": 1500, "lzmot": 1100, "umot": 1000}
HARD_NEGATIVE_DRAWS = 300
# a second, wider targeted round for the classes the first round left short (zmot, lzmot)
ROUND2_CUES = {
    "zmot": re.compile(
        r"\b(book(ing)?|fares?|tickets?|prices?|flights? (to|from)|do you (fly|have|offer)|fly (to|into)|available|"
        r"upgrade|buy|get (a|an|the|one|me)|want|wish|need|should|which|worth|recommend|thinking|considering|"
        r"looking|planning|compare|deal)\b[^.!]*\?|\b(i want|i need|i wish|can'?t wait to|gonna get|want to (try|fly|buy))\b",
        re.I),
    "lzmot": re.compile(
        r"\b(again|never|switch\w*|another airline|other airlines?|last time|done with|won'?t|refund\w*|cancel\w* my|"
        r"lost (a|my)|loyal\w*|hate|worst|don'?t (ever|fly|buy)|avoid|stay away|every time|always late|drive instead|"
        r"rental car|greyhound|amtrak|delta|southwest|jetblue|united|american)\b", re.I),
}
ROUND2_DRAWS = {"zmot": 1600, "lzmot": 1100}
# a third round for zmot, still the shortest class: any question or wish in the writer's voice
ROUND3_CUES = {
    "zmot": re.compile(r"\?|\b(i want|i need|i wish|want (a|an|the|one|to)|need (a|an|the|one|to)|can'?t wait|next|buy|get|try|"
                       r"book|planning|thinking|looking|hoping)\b", re.I),
    "lzmot": re.compile(r"\b(again|every ?time|always|switch\w*|never|drive|drove|another|other airline|last|done|loyal\w*|"
                        r"lost|bye|leav\w*|quit|deleted?|uninstall\w*|went back)\b", re.I),
}
ROUND3_DRAWS = {"zmot": 2200, "lzmot": 500}
# rounds 4 and 5 for zmot, ranked by the shipped model instead of a pattern (draws `model4:zmot`, `model5:zmot`);
# round 4 found one prospect in ten, so round 5 ranks only texts stating a wish or plan in the writer's voice
ROUND5_CUE = re.compile(r"\b(want|wanna|need|wish|hope|gonna|going to|getting|get|buy|try|book|should i|thinking)\b|\?", re.I)
# round 6: still short of 800, so the wish and plan words alone (round 4 found a prospect in six such texts)
ROUND6_CUE = re.compile(r"\b(want|wanna|wish|gonna|going to|getting|buy|book|should i|thinking about|planning|can'?t wait)\b", re.I)


def draw(out_dir: Path, *, batches: int = 5, seed: int = 20261201) -> None:
    """Candidate rows to label, shuffled into batches; texts stay outside the project."""
    rng = random.Random(seed)
    pool = [t for t in texts() if t.text.strip() and (t.target or t.dataset not in ("semeval-twitter-sentiment-2013-2016", "reddit-api-recorded"))]
    by_source: dict[str, list[Text]] = {}
    for t in pool:
        by_source.setdefault(t.dataset, []).append(t)
    chosen: dict[tuple, tuple[Text, str]] = {}
    for source, count in RANDOM_PER_SOURCE.items():
        for t in rng.sample(by_source.get(source, []), min(count, len(by_source.get(source, [])))):
            chosen[t.ref] = (t, "random")
    for moment, count in CUE_DRAWS.items():
        hits = [t for t in pool if t.ref not in chosen and CUES[moment].search(t.text)]
        for t in _spread(hits, count, rng):
            chosen[t.ref] = (t, f"cue:{moment}")
    for kind, pattern in HARD_NEGATIVES.items():
        hits = [t for t in pool if t.ref not in chosen and pattern.search(t.text) and not any(c.search(t.text) for c in CUES.values())]
        for t in _spread(hits, HARD_NEGATIVE_DRAWS // len(HARD_NEGATIVES), rng):
            chosen[t.ref] = (t, f"hardneg:{kind}")
    rows = list(chosen.values())
    rng.shuffle(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, (t, how) in enumerate(rows):
        record = {"id": index, "dataset": t.dataset, "file": t.file, "key": t.key, "target": t.target, "text": t.text, "draw": how}
        with (out_dir / "candidates.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        with (out_dir / f"batch_{index % batches}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": index, "target": t.target or "(the product or place reviewed)", "text": t.text},
                               ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for _, how in rows:
        counts[how] = counts.get(how, 0) + 1
    print(f"{len(rows)} candidates in {batches} batches under {out_dir}: {counts}")


def draw_round2(out_dir: Path, *, batches: int = 3, seed: int = 20261202, round_: int = 2) -> None:
    """More candidates for the short classes, none of them drawn before; ids continue the earlier rounds'."""
    rng = random.Random(seed)
    before = [json.loads(line) for line in (out_dir / "candidates.jsonl").read_text(encoding="utf-8").splitlines()]
    taken = {(r["dataset"], r["file"], r["key"]) for r in before}
    taken |= {(t.dataset, t.file, t.key) for t in _first_round_refs(before)}
    pool = [t for t in texts() if t.text.strip() and t.target and (t.dataset, t.file, t.key) not in taken]
    chosen: dict[tuple, tuple[Text, str]] = {}
    cues, draws = (ROUND2_CUES, ROUND2_DRAWS) if round_ == 2 else (ROUND3_CUES, ROUND3_DRAWS)
    for moment, count in draws.items():
        hits = [t for t in pool if t.ref not in chosen and cues[moment].search(t.text)]
        for t in _spread(hits, count, rng):
            chosen[t.ref] = (t, f"cue{round_}:{moment}")
    rows = list(chosen.values())
    rng.shuffle(rows)
    _append_round(out_dir, rows, len(before), batches, round_)


def draw_by_model(out_dir: Path, *, round_: int = 4, count: int = 900, batches: int = 3, seed: int = 20261204,
                  only: re.Pattern[str] | None = None) -> None:
    """Candidates the shipped model thinks likeliest to be zmot, spread over sources; none drawn before.

    Cue patterns found a prospect in one text of six; the model's ranking reaches texts no pattern names.
    """
    from nlp.moment_model import CLASSES, MomentInput
    from nlp.moments import _model, _sentencizer, read_doc

    rng = random.Random(seed)
    before = [json.loads(line) for line in (out_dir / "candidates.jsonl").read_text(encoding="utf-8").splitlines()]
    taken = {(r["dataset"], r["file"], r["key"]) for r in before} | {(t.dataset, t.file, t.key) for t in _first_round_refs(before)}
    pool = [t for t in texts() if t.text.strip() and t.target and (t.dataset, t.file, t.key) not in taken
            and (only is None or only.search(t.text))]
    model = _model()
    readings = [read_doc(doc, t.target) for doc, t in zip(_sentencizer().pipe((t.text for t in pool), batch_size=512), pool)]
    probabilities = model.probabilities([MomentInput(r.scope, r.target, r.tokens) for r in readings])
    ranked = [pool[i] for i in np.argsort(-probabilities[:, CLASSES.index("zmot")])[: count * 3]]
    chosen = [(t, f"model{round_}:zmot") for t in _spread(ranked, count, rng)]
    rng.shuffle(chosen)
    _append_round(out_dir, chosen, len(before), batches, round_)


def _append_round(out_dir: Path, rows: list[tuple[Text, str]], start: int, batches: int, round_: int) -> None:
    """A later round's candidates: ids continue the earlier rounds', batches are named after the round."""
    for offset, (t, how) in enumerate(rows):
        index = start + offset
        record = {"id": index, "dataset": t.dataset, "file": t.file, "key": t.key, "target": t.target, "text": t.text, "draw": how}
        with (out_dir / "candidates.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        with (out_dir / f"batch_r{round_}_{offset % batches}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": index, "target": t.target, "text": t.text}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} more candidates in {batches} batches: {Counter(how for _, how in rows)}")


def _first_round_refs(before: list[dict]) -> list[Text]:
    """The first round drew with 0-based keys; the same texts under the loader's 1-based keys."""
    return [Text(r["dataset"], r["file"], _key(r["key"]), r["target"], "") for r in before]


def _spread(hits: list[Text], count: int, rng: random.Random) -> list[Text]:
    """Up to `count` hits, spread over sources so one dataset does not fill a class."""
    by_source: dict[str, list[Text]] = {}
    for t in hits:
        by_source.setdefault(t.dataset, []).append(t)
    for items in by_source.values():
        rng.shuffle(items)
    out: list[Text] = []
    while len(out) < count and any(by_source.values()):
        for items in by_source.values():
            if items and len(out) < count:
                out.append(items.pop())
    return out


def _key(drawn: str) -> str:
    """Candidates were drawn with 0-based "row:N" keys; the corpus uses the 1-based numbers of nlp.moments_corpus."""
    prefix, sep, number = drawn.partition(":")
    return str(int(number) + 1) if sep and prefix in ("row", "line", "ex") else drawn


def merge(out_dir: Path) -> None:
    """Join the labellers' `id,moment,sentiment` files to the candidates' references: the corpus files.

    labels_pass1_*.csv are the first pass; relabel_*.csv replace rows a first-pass labeller read against
    a wrong target; adjudicated.csv settles the rows where the second pass (labels_pass2.csv) disagreed.
    """
    candidates = {r["id"]: r for r in map(json.loads, (out_dir / "candidates.jsonl").read_text(encoding="utf-8").splitlines())}
    first: dict[int, tuple[str, str, str]] = {}
    for path in sorted(out_dir.glob("labels_pass1_*.csv")):
        for label in _labels(path):
            first[int(label["id"])] = (label["moment"], label["sentiment"], path.stem.replace("labels_", ""))
    for path in sorted(out_dir.glob("relabel_*.csv")):
        for label in _labels(path):
            first[int(label["id"])] = (label["moment"], label["sentiment"], path.stem)
    final = {i: (m, s, who) for i, (m, s, who) in first.items()}
    adjudicated = out_dir / "adjudicated.csv"
    if adjudicated.exists():
        for label in _labels(adjudicated):
            final[int(label["id"])] = (label["moment"], label["sentiment"], final[int(label["id"])][2] + "+adjudicated")
    rows: dict[tuple[str, ...], list[str]] = {}
    for index, (moment, sentiment, who) in final.items():
        c = candidates[index]
        # a file that holds one tweet twice gave round 6 the same reference twice; its first labels stand
        rows.setdefault(tuple(_ref(c)), [*_ref(c), c["draw"], moment, sentiment, first[index][0], first[index][1], who])
    _write(CORPUS, CORPUS_COLUMNS, list(rows.values()))
    second = out_dir / "labels_pass2.csv"
    if second.exists():
        labels = {int(r["id"]): r for r in _labels(second)}
        for path in sorted(out_dir.glob("pass2_relabel_*.csv")):  # the second labeller's re-reading against the right target
            labels.update({int(r["id"]): r for r in _labels(path)})
        _write(PASS2, PASS2_COLUMNS, [[*_ref(candidates[i]), r["moment"], r["sentiment"]] for i, r in labels.items()])


def _ref(candidate: dict) -> list[str]:
    target = airline_target(candidate["target"]) if candidate["dataset"] == "airline-customer-tweets" else candidate["target"]
    return [candidate["dataset"], candidate["file"], _key(candidate["key"]), target]


def _labels(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def _write(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    rows.sort()
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {path}")


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    rounds = {"draw2": lambda d: draw_round2(d), "draw3": lambda d: draw_round2(d, batches=4, seed=20261203, round_=3),
              "draw4": draw_by_model, "draw5": lambda d: draw_by_model(d, round_=5, count=1200, batches=4, seed=20261205, only=ROUND5_CUE),
              "draw6": lambda d: draw_by_model(d, round_=6, count=600, batches=2, seed=20261206, only=ROUND6_CUE)}
    {"draw": draw, **rounds, "merge": merge}[command](folder)

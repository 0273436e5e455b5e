"""One voice counted once: near-copies across sources and days share a cluster id, stored with the load."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from connectors.records import Mention
from tests.test_warehouse import T0, _stage
from warehouse.cluster_rules import ClusterRules
from warehouse.clusters import MIN_WORDS, cluster_numbers, normalised_words, signatures, similarity
from warehouse.corrections import Correction, record_correction
from warehouse.db import connect
from warehouse.detect import detect_and_store
from warehouse.load import load_run
from warehouse.spike_rules import DetectorRules
from zmot.config import AlertRules, AlertsConfig, ConfigError, load_config
from zmot.notify import notify_pending
from zmot.report import write_report

STORY = ("Acme Mobile confirmed on Tuesday that a fault in its core network left customers in the north without "
         "data for most of the morning; engineers restored service by noon and the company promised credits.")
OTHER = ("Acme Mobile opened three new stores in the city centre this week and says it will hire forty people "
         "for its customer service team before the holiday season starts.")


def _m(kind: str, native_id: str, text: str, *, days: float = 0, author: str | None = "ana", title: str | None = None) -> Mention:
    at = T0 + timedelta(days=days)
    return Mention(source_kind=kind, source_id="news", native_id=native_id, url=f"https://n.example/{native_id}",
                   author=author, title=title, text=text, published_at=at, fetched_at=at)


def _load(tmp: Path, con, run_key: str, mentions: list[Mention], label: str = "negative", **kwargs):
    return load_run(con, _stage(tmp, run_key, mentions, {m.native_id: (label, -0.6 if label == "negative" else 0.0) for m in mentions}),
                    **kwargs)


def _clusters(con) -> dict[str, str]:
    return dict(con.execute("SELECT mention_id, cluster_id FROM mention_clusters").fetchall())


def test_copies_across_sources_and_days_share_the_earliest_mentions_id(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    original = _m("rss", "wire", STORY, title="Acme outage: north without data")
    syndicated = _m("rss", "paper", "Acme outage: north without data. " + STORY + " Read more at https://paper.example/x", days=1)
    crosspost = _m("reddit", "t3_x", f"RT @AcmeWatch: {STORY.upper()}  #acme https://t.co/abc", days=3, author="bob")
    different = _m("rss", "stores", OTHER, days=1)
    _load(tmp_path, con, "r1", [original, different])
    _load(tmp_path, con, "r2", [syndicated, crosspost])
    clusters = _clusters(con)
    assert clusters[syndicated.mention_id] == clusters[crosspost.mention_id] == clusters[original.mention_id] == original.mention_id
    assert clusters[different.mention_id] == different.mention_id


def test_different_stories_about_one_brand_stay_apart() -> None:
    texts = [STORY, OTHER,
             "Acme Mobile customers in the north lost data on Tuesday; I was one of them and support never called back.",
             "Is the Acme Mobile unlimited plan worth it compared to Orbit Telecom? Looking for real experiences."]
    sigs, signed = signatures([normalised_words(None, t) for t in texts])
    assert signed.all()
    assert max(similarity(sigs[i], sigs[j]) for i in range(4) for j in range(i + 1, 4)) < ClusterRules().similarity


def test_a_rerun_or_a_new_process_keeps_every_id(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    first = [_m("rss", "a", STORY), _m("rss", "b", OTHER), _m("rss", "c", STORY + " Update: credits from Friday.", days=1)]
    _load(tmp_path, con, "r1", first)
    before = con.execute("SELECT * FROM mention_clusters ORDER BY mention_id").fetchall()
    bands = con.execute("SELECT count(*) FROM mention_lsh").fetchall()
    _load(tmp_path, con, "r1", first)  # the same run again
    assert con.execute("SELECT * FROM mention_clusters ORDER BY mention_id").fetchall() == before
    assert con.execute("SELECT count(*) FROM mention_lsh").fetchall() == bands
    con.close()
    con = connect(path)  # a new process: the stored bands find the old cluster, nothing is rebuilt
    late = _m("reddit", "late", "Saw this: " + STORY, days=2, author="cy")
    _load(tmp_path, con, "r2", [late])
    assert _clusters(con)[late.mention_id] == first[0].mention_id
    assert con.execute("SELECT * FROM mention_clusters WHERE mention_id <> ? ORDER BY mention_id",
                       [late.mention_id]).fetchall() == before


def test_a_copy_outside_the_look_back_window_starts_its_own_cluster(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    old, again = _m("rss", "old", STORY), _m("rss", "again", STORY, days=20)
    _load(tmp_path, con, "r1", [old])
    _load(tmp_path, con, "r2", [again])
    assert _clusters(con)[again.mention_id] == again.mention_id
    con2 = connect(tmp_path / "w2.duckdb")
    _load(tmp_path / "b", con2, "r1", [old])
    _load(tmp_path / "b", con2, "r2", [again], clusters=ClusterRules(lookback_days=30))
    assert _clusters(con2)[again.mention_id] == old.mention_id


def test_an_edit_is_judged_again_and_a_retraction_forgets_its_cluster(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    a, b = _m("rss", "a", STORY), _m("rss", "b", STORY + " More to follow.", days=1)
    _load(tmp_path, con, "r1", [a, b])
    assert _clusters(con)[b.mention_id] == a.mention_id
    _load(tmp_path, con, "r2", [dataclasses.replace(b, text=OTHER, fetched_at=b.fetched_at + timedelta(hours=1))])
    assert _clusters(con)[b.mention_id] == b.mention_id
    staged = dataclasses.replace(_stage(tmp_path, "r3", [_m("rss", "c", OTHER, days=2)], {"c": ("neutral", 0.0)}),
                                 retracted=[b.mention_id])
    load_run(con, staged)
    assert b.mention_id not in _clusters(con)
    assert con.execute("SELECT count(*) FROM mention_lsh WHERE mention_id = ?", [b.mention_id]).fetchall() == [(0,)]


def _numbers_agree(con) -> dict[str, int]:
    """Every target row carries its mention's cluster number, and that number is its cluster id's."""
    rows = con.execute("SELECT t.mention_id, t.cluster_no, c.cluster_id, c.cluster_no FROM mention_targets t "
                       "JOIN mention_clusters c USING (mention_id)").fetchall()
    assert con.execute("SELECT count(*) FROM mention_targets").fetchall() == [(len(rows),)]
    for mention_id, target_no, cluster_id, cluster_no in rows:
        assert target_no == cluster_no == cluster_numbers([cluster_id])[0], mention_id
    return {r[0]: r[1] for r in rows}


def test_cluster_numbers_follow_cluster_ids_through_loads_edits_corrections_and_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    a, b, c = _m("rss", "a", STORY), _m("rss", "b", STORY + " More to follow.", days=1), _m("rss", "c", OTHER, days=1)
    _load(tmp_path, con, "r1", [a, b, c])
    numbers = _numbers_agree(con)
    assert numbers[a.mention_id] == numbers[b.mention_id] != numbers[c.mention_id]
    assert 0 <= min(numbers.values()) and max(numbers.values()) < 2**63
    _load(tmp_path, con, "r2", [dataclasses.replace(b, text=OTHER + " Edited.", fetched_at=b.fetched_at + timedelta(hours=1))])
    numbers = _numbers_agree(con)  # the edit left a's cluster for c's
    assert numbers[b.mention_id] == numbers[c.mention_id] != numbers[a.mention_id]
    record_correction(con, Correction(a.mention_id, "Acme", "moment", "lzmot"), "test")  # re-judges a's targets
    assert _numbers_agree(con) == numbers
    con.execute("UPDATE mention_targets SET cluster_no = NULL; UPDATE mention_clusters SET cluster_no = NULL; "
                "DELETE FROM schema_version WHERE version = 16")  # as a file from before version 16 holds them
    con.close()
    con = connect(path)  # migration 16 numbers what is stored, to the same numbers
    assert _numbers_agree(con) == numbers
    # a number is fixed by its id alone, in every process and version (a salted hash() would differ per process)
    assert cluster_numbers(["rss:news:wire"]) == [5293729214772266097]


def test_daily_signals_count_unique_voices_beside_the_raw_counts(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    flood = [_m("rss", f"copy{i}", f"{STORY} https://t.co/{i}", author=f"bot{i}") for i in range(6)]  # one story, six accounts
    angry = [_m("rss", f"angry{i}", text, author="dan") for i, text in enumerate(
        ["Acme dropped my call three times today and nobody at the shop could explain why",
         "Still no refund from Acme after two weeks of promises from their billing team"])]  # one author, two stories
    anonymous = [_m("rss", "anon1", OTHER, author=None), _m("rss", "anon2", "Acme price rise again, fourth this year, I am off", author=None)]
    _load(tmp_path, con, "r1", flood + angry + anonymous)
    row = con.execute(
        "SELECT mentions, negative, clusters, authors, negative_clusters, negative_authors FROM daily_signals "
        "WHERE brand = 'Acme' AND product = '*' AND source_kind = '*'").fetchall()
    # 10 mentions; clusters: the flood, dan's two, the two anonymous; authors: six bots, dan, two without a name
    assert row == [(10, 10, 5, 9, 5, 9)]


def _flood_warehouse(tmp_path: Path):
    """Four weeks of two complaints a day from different people, then one story copied by forty accounts."""
    con = connect(tmp_path / "w.duckdb")
    quiet = [_m("rss", f"q{d}-{k}", f"Complaint {d}-{k}: " + " ".join(f"w{d}x{k}y{j}" for j in range(8)), days=d - 28, author=f"p{d}{k}")
             for d in range(28) for k in range(2)]
    flood = [_m("rss", f"f{i}", f"{STORY} #{i}", days=0, author=f"bot{i}") for i in range(40)]
    _load(tmp_path, con, "r1", quiet + flood)
    days = [row[0] for row in con.execute("SELECT DISTINCT day FROM daily_signals ORDER BY 1").fetchall()]
    return con, days


@pytest.mark.parametrize(("voices", "fires"), [("mentions", True), ("clusters", False), ("authors", True)])
def test_alerts_can_judge_unique_voices(tmp_path: Path, voices: str, fires: bool) -> None:
    con, days = _flood_warehouse(tmp_path)
    new = detect_and_store(con, run_key="r1", brands=["Acme"], metrics=["negative_mentions"], days_touched=days,
                           rules=DetectorRules(), history_days=56, notify_after=datetime(2000, 1, 1), voices=voices)
    assert bool(new) is fires
    if new and voices != "mentions":
        assert con.execute("SELECT reason FROM alerts").fetchall()[0][0].endswith("counted in unique voices: each author once")


def test_the_voices_option_defaults_to_raw_counts_and_refuses_unknown_values(tmp_path: Path) -> None:
    assert AlertRules().voices == "mentions"
    (tmp_path / "brands.yaml").write_text("brands:\n  - name: Acme\n")
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    (tmp_path / "alerts.yaml").write_text("rules:\n  voices: people\nclusters:\n  lookback_days: 7\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml.*rules.voices"):
        load_config(tmp_path)
    (tmp_path / "alerts.yaml").write_text("rules:\n  voices: clusters\nclusters:\n  lookback_days: 7\n")
    cfg = load_config(tmp_path)
    assert (cfg.alerts.rules.voices, cfg.alerts.clusters.lookback_days) == ("clusters", 7)
    (tmp_path / "alerts.yaml").write_text("clusters:\n  window: 7\n")
    with pytest.raises(ConfigError, match=r"clusters.window"):
        load_config(tmp_path)


def test_the_email_and_the_report_quote_a_cluster_once_with_its_size(tmp_path: Path) -> None:
    con, days = _flood_warehouse(tmp_path)
    detect_and_store(con, run_key="r1", brands=["Acme"], metrics=["negative_mentions"], days_touched=days,
                     rules=DetectorRules(), history_days=56, notify_after=datetime(2000, 1, 1))
    cfg = AlertsConfig.model_validate({"sender": "z@example.com", "recipients": ["t@example.com"], "outbox_dir": str(tmp_path / "out")})
    assert notify_pending(con, cfg, data_dir=tmp_path)["sent"] == 1
    [eml] = (tmp_path / "out").glob("*.eml")
    body = eml.read_text(encoding="utf-8")
    assert body.count("confirmed on Tuesday") <= 2  # plain and HTML: one line each
    assert "(and 39 copies)" in body
    con.execute("UPDATE mention_nlp SET moment = 'lzmot'")
    con.execute("UPDATE mention_targets SET moment = 'lzmot'")
    con.close()
    out = write_report(tmp_path / "w.duckdb", "Acme", 30, tmp_path / "report.html", end=T0.date())
    page = out.read_text(encoding="utf-8")
    stories = [s for s in re.findall(r'<div class="story[^"]*">(.*?)</div>', page) if "confirmed on Tuesday" in s]
    assert len(stories) == 1 and "and 39 copies" in stories[0]


HOSTILE = [
    "",
    "   \n\t ",
    "https://only.example/a https://only.example/b",
    "@a @b @c @d @e @f",
    "\x00\x01\x02 Acme \u202e reversed \u202c text with NUL and bidi controls in it",
    "🔥🔥🔥 Acme 🔥🔥🔥 " * 50,
    "Acme " + "word " * 400_000,  # about 2 MB
    "\ud800 lone surrogate? no: " + "é" * 10,
]


def test_hostile_huge_and_empty_texts_are_clustered_without_losing_anything(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    mentions = [_m("rss", f"h{i}", text.encode("utf-8", "replace").decode("utf-8"), author=f"a{i}") for i, text in enumerate(HOSTILE)]
    mentions.append(_m("rss", "huge-copy", mentions[6].text + " tail", author="z"))
    summary = _load(tmp_path, con, "r1", mentions)
    assert summary.mentions_new == len(mentions)
    clusters = _clusters(con)
    assert len(clusters) == len(mentions)
    short = [m.mention_id for m in mentions[:4]]  # nothing, or fewer than MIN_WORDS words: a voice of its own
    assert all(clusters[i] == i for i in short) and len(normalised_words(None, HOSTILE[3])) < MIN_WORDS
    assert clusters[mentions[-1].mention_id] == mentions[6].mention_id  # judged on its first 2,000 words


def test_a_load_larger_than_one_pass_clusters_as_one_pass_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warehouse.clusters as clusters

    mentions = [_m("rss", f"s{i}", f"{STORY} Copy {i}.", days=i / 10, author=f"a{i}") for i in range(6)]
    mentions += [_m("rss", f"o{i}", f"{OTHER} Copy {i}.", days=i / 10 + 0.05, author=f"b{i}") for i in range(6)]
    whole = connect(tmp_path / "whole.duckdb")
    _load(tmp_path / "a", whole, "r1", mentions)
    monkeypatch.setattr(clusters, "CHUNK", 1)  # four mentions a pass, one signed at a time
    passes = connect(tmp_path / "passes.duckdb")
    _load(tmp_path / "b", passes, "r1", mentions)
    assert _clusters(passes) == _clusters(whole)
    assert set(_clusters(whole).values()) == {mentions[0].mention_id, mentions[6].mention_id}


def test_rows_that_share_a_band_but_are_not_alike_stay_apart() -> None:
    """Two texts agreeing on one band by chance are candidates, not copies (it crashed the matcher once)."""
    from warehouse.clusters import NUM_PERM, ROWS, _best_earlier, band_buckets

    sigs = np.arange(2 * NUM_PERM, dtype=np.uint32).reshape(2, NUM_PERM)
    sigs[1, :ROWS] = sigs[0, :ROWS]  # the first band alike, nothing else
    buckets = band_buckets(sigs)
    assert buckets[0, 0] == buckets[1, 0]
    micros = np.array([0, 60_000_000], dtype=np.int64)
    assert _best_earlier(sigs, buckets, np.array([True, True]), micros, 86_400_000_000, 0.5) == {}
    sigs[1] = sigs[0]
    assert _best_earlier(sigs, band_buckets(sigs), np.array([True, True]), micros, 86_400_000_000, 0.5) == {1: (1.0, 0)}

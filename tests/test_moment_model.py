"""The learned moments decider: trained by its own recipe, it decides relative to the target and names
the features that decided."""

from __future__ import annotations

import pytest

from nlp.moment_model import CLASSES, MomentInput, load_moment_model, mask_target, named_features
from nlp.moments import classify
from nlp.train_moments import Example, train


def test_the_target_is_masked_so_the_model_reads_its_role_not_its_name() -> None:
    assert mask_target("Leaving @Acme for Orbit, Acme's support is a joke", "Acme").split().count("tgt") == 2
    names = named_features(MomentInput("switching from Acme to Orbit", "Acme", ("leaving:switching_away",)))
    assert "b:from tgt" in names and "L:from" in names and "c:leaving:switching_away" in names


def test_a_model_trained_by_the_recipe_learns_the_classes(monkeypatch) -> None:
    texts = {
        "zmot": ["is {t} worth it for a family?", "thinking of getting a {t}, any advice?", "{t} or the other one, which would you pick?"],
        "lzmot": ["cancelled {t} today, switching away for good", "never again {t}, avoid them", "returning my {t}, refund please"],
        "umot": ["highly recommend {t}, love it", "been with {t} for years and still happy", "{t} works great, best purchase"],
        "none": ["{t} announced quarterly earnings", "win a {t}! retweet to enter", "the {t} store opens at nine"],
    }
    examples = [
        Example("synthetic", "written", template.format(t=brand), brand, moment, split)
        for moment, templates in texts.items() for template in templates
        for brand, split in (("Acme", "train"), ("Orbit", "train"), ("Nova", "train"), ("Kite", "dev"))
    ]
    model, choices = train(examples, log=lambda *_: None)
    assert choices["train_rows"] == len(examples)
    assert set(choices) >= {"C", "threshold", "temperature"}
    assert model.weights.shape[0] == len(CLASSES)


@pytest.mark.parametrize(
    ("text", "target", "moment"),
    [
        ("Cancelled my Acme plan after the third outage, switching to Orbit.", "Acme", "lzmot"),
        ("Is the Acme Nova worth it? Thinking of getting one.", "Acme Nova", "zmot"),
        ("Highly recommend Acme Fiber, not one outage in a year.", "Acme Fiber", "umot"),
    ],
)
def test_the_shipped_model_explains_its_decision(text: str, target: str, moment: str) -> None:
    [result] = classify([text], [target])
    assert result.moment == moment
    assert 0 < result.confidence <= 1 and result.evidence and all("(+" in e for e in result.evidence)
    assert load_moment_model().name.startswith("moments-linear")


def test_analysts_corrections_from_labels_export_become_training_rows(tmp_path) -> None:
    from nlp.train_moments import corrections

    exported = tmp_path / "labels.jsonl"
    exported.write_text(
        '{"mention_id": "rss:1", "target": "Acme", "field": "moment", "value": "lzmot", "text": "Done with Acme."}\n'
        '{"mention_id": "rss:1", "target": "Acme", "field": "sentiment", "value": "negative", "text": "Done with Acme."}\n'
        '{"text": "Is Orbit any good?", "target": "Orbit", "moment": "zmot"}\n\n', encoding="utf-8")
    rows = corrections(exported)
    assert [(r.text, r.target, r.moment, r.split) for r in rows] == [
        ("Done with Acme.", "Acme", "lzmot", "train"), ("Is Orbit any good?", "Orbit", "zmot", "train")]
    exported.write_text('{"text": "x", "target": "Acme", "field": "moment", "value": "churn"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="line 1: not a correction row"):
        corrections(exported)

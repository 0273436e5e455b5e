"""Moments of truth, judged relative to a brand: research, leaving or warning, advocacy, or none.

The cue reading (what the cue patterns see in the part of the text about the target) is tested as
rules; the trained model that decides from it is measured in bench/moments_eval.py and held here to
the labelling guide's own examples."""

from __future__ import annotations

import pytest

from nlp.catalog import Brand, Product
from nlp.moments import MOMENTS, STAGES, classify
from nlp.pipeline import analyse, build_pipeline

GUIDE_EXAMPLES = [
    ("Is Acme Unlimited worth it for a family of four?", "Acme Unlimited", "zmot"),
    ("Anyone tried the Juniper Brew One? Thinking of getting one.", "Juniper Brew One", "zmot"),
    ("Acme vs Orbit for a small business, which would you pick?", "Acme", "zmot"),
    ("Third dropped call this week. Cancelling Acme and switching to Orbit.", "Acme", "lzmot"),
    ("Avoid the Brew One, second one to leak, refund requested.", "Brew One", "lzmot"),
    ("I would not recommend Acme to anyone.", "Acme", "lzmot"),
    ("Highly recommend Acme Fiber, six months without an outage.", "Acme Fiber", "umot"),
    ("Love my new iPhone, best purchase this year", "iPhone", "umot"),
    ("Acme Mobile announced a recall of the Nova after reports of overheating.", "Acme Mobile", "none"),
    ("Win a new Acme Nova! Retweet to win.", "Acme", "none"),
    ("The Acme store opens at 9 on Saturdays.", "Acme", "none"),
]


@pytest.mark.parametrize(("text", "target", "moment"), GUIDE_EXAMPLES)
def test_the_cues_read_what_the_writer_does(text: str, target: str, moment: str) -> None:
    [result] = classify([text], [target], decider="cues")
    assert result.moment == moment, result


def test_switching_to_a_brand_is_not_leaving_it() -> None:
    text = "Leaving Acme for Orbit after three dropped calls."
    acme, orbit = classify([text, text], ["Acme", "Orbit"], decider="cues")
    assert acme.moment == "lzmot" and orbit.moment != "lzmot"


def test_a_question_about_a_competitor_is_not_research_about_us() -> None:
    """In the pipeline the catalog knows both brands, so each is judged on its own sentences."""
    catalog = [Brand(name="Acme"), Brand(name="Orbit", products=[Product(name="Orbit Flex")])]
    [result] = analyse(build_pipeline(catalog, base="blank"), ["My Acme contract is fine. Is Orbit Flex worth it though?"])
    moments = {ref.brand: m.moment for ref, m in zip(result.refs, result.ref_moments)}
    assert set(moments) == {"Acme", "Orbit"} and moments["Acme"] == "none"  # the question is Orbit's, not ours


def test_negation_cancels_a_leaving_cue() -> None:
    [result] = classify(["I'm not cancelling my Acme plan, it's fine."], ["Acme"], decider="cues")
    assert result.moment == "none"


def test_results_carry_stage_confidence_and_evidence() -> None:
    results = classify(["Is Acme worth it?", "Cancelled Acme, never again.", "Nice weather", ""], ["Acme", "Acme", None, None],
                       decider="cues")
    for result in results:
        assert result.moment in MOMENTS and 0 <= result.confidence <= 1
        assert result.stage is None or result.stage in STAGES
    assert results[0].stage == "consideration" and "worth_it" in results[0].evidence
    assert results[1].stage == "loyalty"


def test_the_trained_model_agrees_with_most_of_the_guides_examples() -> None:
    """Examples written for the labelling guide, never in the corpus: a floor, not the measured figure."""
    results = classify([t for t, _, _ in GUIDE_EXAMPLES], [target for _, target, _ in GUIDE_EXAMPLES])
    right = [r.moment == m for r, (_, _, m) in zip(results, GUIDE_EXAMPLES)]
    assert sum(right) >= 8, [(t, r.moment) for r, (t, _, _), ok in zip(results, GUIDE_EXAMPLES, right) if not ok]
    for result in results:
        assert result.moment in MOMENTS and 0 <= result.confidence <= 1
        assert (result.stage in STAGES) if result.moment != "none" else result.stage is None
        assert result.evidence


def test_mismatched_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 targets"):
        classify(["a", "b"], ["x"])

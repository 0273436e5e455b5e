"""Build the pipeline from config and run it over many texts with nlp.pipe."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language

import nlp.brands  # noqa: F401  (registers the factories)
import nlp.language  # noqa: F401
import nlp.moments  # noqa: F401
import nlp.sentiment  # noqa: F401
from nlp.brands import BrandRef, brand_refs_config
from nlp.catalog import Brand
from nlp.moments import MomentResult
from nlp.moments import model_version as moments_version
from nlp.scorers import DEFAULT_SCORER, load_scorer
from nlp.target_sentiment import load_target_scorer

log = logging.getLogger(__name__)

TRAINED_PIPELINES = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg")
MAX_TEXT_CHARS = 100_000  # longer texts are read up to here; the warehouse still stores them whole


@dataclass(frozen=True)
class TextAnalysis:
    language: str
    language_score: float | None
    sentiment_label: str
    sentiment_score: float | None
    moment: MomentResult
    refs: list[BrandRef]
    ref_moments: list[MomentResult]


def pipeline_version(scorer: str = DEFAULT_SCORER) -> str:
    """What produced a row: stored as model_version so re-scored history can be told apart."""
    return f"zmot-nlp-1+{load_scorer(scorer).name}+{load_target_scorer().name}+{moments_version()}"


def build_pipeline(brands: Sequence[Brand], *, scorer: str = DEFAULT_SCORER, base: str = "auto") -> Language:
    """language -> brand references -> sentiment -> moments, on a trained English pipeline when installed."""
    nlp = _base(base)
    _split_at_brackets(nlp)
    nlp.add_pipe("zmot_language")
    nlp.add_pipe("zmot_brand_refs", config=brand_refs_config(brands))
    nlp.add_pipe("zmot_sentiment", config={"scorer": scorer})
    nlp.add_pipe("zmot_moments")
    return nlp


def _split_at_brackets(nlp: Language) -> None:
    """Brackets and pipes end a word, so "Acme Mobile[1]" (a footnote) and "Acme|Orbit" are separate tokens
    for the sentiment and moments of each reference (brand references themselves are found on the text,
    by nlp.brands.BrandFinder, whatever the tokens)."""
    infixes = [*(nlp.Defaults.infixes or ()), r"[\[\]|{}]"]
    # a blank pipeline's tokenizer is a Tokenizer, which the stubs type as any callable
    nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer  # type: ignore[union-attr]


def _base(base: str) -> Language:
    if base == "auto":
        for name in TRAINED_PIPELINES:
            try:
                nlp = spacy.load(name, exclude=["ner", "lemmatizer", "attribute_ruler"])
                log.info("using the installed spaCy pipeline %s", name)
                return nlp
            except OSError:
                continue
        base = "blank"
    if base != "blank":
        raise ValueError(f"unknown base {base!r}; expected 'auto' or 'blank'")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def analyse(nlp: Language, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[TextAnalysis]:
    """Run the pipeline over texts in batches; one TextAnalysis per text, in order."""
    for doc in nlp.pipe((t[:MAX_TEXT_CHARS] for t in texts), batch_size=batch_size):
        yield TextAnalysis(
            language=doc._.language, language_score=doc._.language_score,
            sentiment_label=doc._.sentiment_label, sentiment_score=doc._.sentiment_score,
            moment=doc._.moment, refs=list(doc._.brand_refs or []), ref_moments=list(doc._.ref_moments or []),
        )

"""Sentiment per mention and per brand reference.

The mention's score is the scorer's score of the whole text (VADER's compound is calibrated on
whole texts). When a text names one brand only, that is also the brand's score: the whole story is
about it. When it names several, each reference's score comes from the clauses that name it, so
"switched from Orbit to Acme, Acme is so much better, Orbit was awful" is positive for Acme and
negative for Orbit; when those clauses carry no sentiment, the sentence's score stands.
"""

from __future__ import annotations

import re
from dataclasses import replace

from spacy.language import Language
from spacy.tokens import Doc

from nlp.language import UNDETERMINED
from nlp.scorers import label_for, load_scorer

UNSCORED = "unscored"
CLAUSE_BREAK = re.compile(r"\s*(?:[,;:]|\s-\s|\bbut\b|\bwhile\b|\bwhereas\b|\bhowever\b|\balthough\b)\s*", re.IGNORECASE)

if not Doc.has_extension("sentiment_label"):
    Doc.set_extension("sentiment_label", default=UNSCORED)
    Doc.set_extension("sentiment_score", default=None)


@Language.factory("zmot_sentiment", default_config={"scorer": "tweet"})
def make_sentiment(nlp: Language, name: str, scorer: str) -> "Sentiment":
    return Sentiment(scorer)


class Sentiment:
    """Scores docs in batches; languages the scorer does not know are 'unscored', never 'neutral'."""

    def __init__(self, scorer: str) -> None:
        self.scorer = load_scorer(scorer)

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 256):
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score_batch(batch)
                batch = []
        if batch:
            yield from self._score_batch(batch)

    def _scorable(self, doc: Doc) -> bool:
        language = doc._.language if Doc.has_extension("language") else UNDETERMINED
        return language in self.scorer.languages or language == UNDETERMINED

    def _score_batch(self, docs: list[Doc]) -> list[Doc]:
        scorable = [d for d in docs if self._scorable(d) and d.text.strip()]
        # One scorer call for every text and every clause in the batch: the model may be vectorised.
        pieces: list[str] = []
        plans = []
        for doc in scorable:
            plan = self._plan(doc)
            plans.append(plan)
            pieces.append(doc.text)
            for _, sentence, clauses in plan:
                pieces.append(sentence)
                pieces.extend(clauses)
        scores = iter(self.scorer.score(pieces))
        for doc, plan in zip(scorable, plans):
            doc._.sentiment_label, doc._.sentiment_score = next(scores)
            refs = list(doc._.brand_refs or [])
            if len({r.brand for r in refs}) == 1:
                refs = [replace(r, sentiment_label=doc._.sentiment_label, sentiment_score=doc._.sentiment_score) for r in refs]
            for ref_index, _, clauses in plan:
                sentence_label, sentence_score = next(scores)
                clause_scores = [next(scores) for _ in clauses]
                decided = [s for label, s in clause_scores if label != "neutral"]
                value = sum(decided) / len(decided) if decided else sentence_score
                label = label_for(value) if decided else sentence_label
                refs[ref_index] = replace(refs[ref_index], sentiment_label=label, sentiment_score=round(value, 4))
            doc._.brand_refs = refs
        scored = {id(d) for d in scorable}
        for doc in docs:
            if id(doc) not in scored:
                doc._.sentiment_label, doc._.sentiment_score = UNSCORED, None
        return docs

    @staticmethod
    def _plan(doc: Doc) -> list[tuple[int, str, list[str]]]:
        """For each reference: its sentence and the clauses of that sentence that name it.

        Texts that name a single brand need no plan: the document's score is the brand's.
        """
        plan: list[tuple[int, str, list[str]]] = []
        if len({r.brand for r in doc._.brand_refs or []}) <= 1:
            return plan
        for index, ref in enumerate(doc._.brand_refs or []):
            span = doc.char_span(ref.start_char, ref.end_char, alignment_mode="expand")
            sentence = span.sent if span is not None and doc.has_annotation("SENT_START") else doc[:]
            clauses, offset = [], sentence.start_char
            for part in CLAUSE_BREAK.split(sentence.text):
                start = doc.text.find(part, offset) if part else -1
                if part and start >= 0:
                    offset = start + len(part)
                    if start <= ref.start_char < start + len(part):
                        clauses.append(part)
            # Other clauses naming the same target count too ("Orbit ... , Orbit was awful").
            target = ref.text.casefold()
            clauses += [c for c in CLAUSE_BREAK.split(sentence.text) if c and target in c.casefold() and c not in clauses]
            plan.append((index, sentence.text, clauses))
        return plan

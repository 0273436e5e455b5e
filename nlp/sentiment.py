"""Sentiment per mention and per brand reference.

The mention's score is the scorer's score of the whole text. Each brand reference gets the
target-dependent model's score toward it (nlp/target_sentiment.py), in one-brand texts too: "the
camera is great but Acme's support ignored me" is positive as a text and negative toward Acme.
The target model reads the whole-text model's probabilities; when the mention's scorer is that
model they are computed once for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from nlp.doctext import text_of
from nlp.langid import UNDETERMINED
from nlp.scorers import load_scorer
from nlp.target_sentiment import Item, load_target_scorer
from nlp.tweet_sentiment import LABELS, TweetSentimentScorer, load_tweet_scorer

UNSCORED = "unscored"
MAX_REFS_SCORED = 64  # per text; further references (a hostile text naming a brand 10,000 times) get the text's score

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
        self.target = load_target_scorer()

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
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
        scorable = [d for d in docs if self._scorable(d) and text_of(d).strip()]
        texts = [text_of(d) for d in scorable]
        whole = None
        if isinstance(self.scorer, TweetSentimentScorer):
            whole = self.scorer.probabilities(texts)
            doc_scores = [(LABELS[int(np.argmax(p))], round(float(p[2] - p[0]), 4)) for p in whole]
        else:
            doc_scores = self.scorer.score(texts)
        items, owners = [], []
        for i, doc in enumerate(scorable):
            doc._.sentiment_label, doc._.sentiment_score = doc_scores[i]
            refs = list(doc._.brand_refs or [])
            for index, ref in enumerate(refs[:MAX_REFS_SCORED]):
                others = tuple((r.start_char, r.end_char) for r in refs[:MAX_REFS_SCORED] if r.brand != ref.brand or r.product != ref.product)
                items.append(Item(text_of(doc), ref.start_char, ref.end_char, others))
                owners.append((i, index))
            doc._.brand_refs = [replace(r, sentiment_label=doc._.sentiment_label, sentiment_score=doc._.sentiment_score) for r in refs]
        if items:
            rows = [i for i, _ in owners]
            # The target model reads the whole-text model's probabilities, whatever the mention's scorer.
            probs = whole[rows] if whole is not None else load_tweet_scorer().probabilities([item.text for item in items])
            for (i, index), (label, score) in zip(owners, self.target.score(items, probs)):
                refs = scorable[i]._.brand_refs
                refs[index] = replace(refs[index], sentiment_label=label, sentiment_score=score)
        scored = {id(d) for d in scorable}
        for doc in docs:
            if id(doc) not in scored:
                doc._.sentiment_label, doc._.sentiment_score = UNSCORED, None
        return docs

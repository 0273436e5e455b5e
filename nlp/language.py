"""Language identification, so sentiment is scored only in languages the model knows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from nlp.doctext import text_of
from nlp.langid import UNDETERMINED, identify_many

if not Doc.has_extension("language"):
    Doc.set_extension("language", default=UNDETERMINED)
    Doc.set_extension("language_score", default=None)


@Language.factory("zmot_language", default_config={"min_confidence": 0.5})
def make_language(nlp: Language, name: str, min_confidence: float) -> "LanguageIdentification":
    return LanguageIdentification(min_confidence)


class LanguageIdentification:
    """Sets doc._.language and doc._.language_score (py3langid's model, CPU, shipped in the wheel)."""

    def __init__(self, min_confidence: float) -> None:
        self.min_confidence = min_confidence

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """One identification per batch: the byte n-grams are cheapest counted together."""
        for batch in minibatch(docs, size=batch_size):
            languages = identify_many([text_of(doc) for doc in batch], self.min_confidence)
            for doc, (language, score) in zip(batch, languages):
                doc._.language, doc._.language_score = language, score
                yield doc

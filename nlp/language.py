"""Language identification, so sentiment is scored only in languages the model knows."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doctext import text_of
from nlp.langid import UNDETERMINED, identify

if not Doc.has_extension("language"):
    Doc.set_extension("language", default=UNDETERMINED)
    Doc.set_extension("language_score", default=None)


@Language.factory("zmot_language", default_config={"min_confidence": 0.5})
def make_language(nlp: Language, name: str, min_confidence: float) -> "LanguageIdentification":
    return LanguageIdentification(min_confidence)


class LanguageIdentification:
    """Sets doc._.language and doc._.language_score (py3langid, CPU, model shipped in the wheel)."""

    def __init__(self, min_confidence: float) -> None:
        self.min_confidence = min_confidence

    def __call__(self, doc: Doc) -> Doc:
        doc._.language, doc._.language_score = identify(text_of(doc), self.min_confidence)
        return doc

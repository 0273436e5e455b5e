"""A mention's text and sentence bounds, read once per Doc.

spaCy rebuilds `Doc.text` and `Span.text` from every token on each access, and the components ask
for them several times per mention (language, brands, sentiment, the moments per reference): on
tweets that was a fifth of the pipeline's time. The Doc is not changed after tokenising, so the
string and the sentence offsets are kept in its `user_data`."""

from __future__ import annotations

from spacy.tokens import Doc

_TEXT = "zmot.text"
_SENTENCES = "zmot.sentences"


def text_of(doc: Doc) -> str:
    text = doc.user_data.get(_TEXT)
    if text is None:
        text = doc.user_data[_TEXT] = doc.text
    return text


def sentence_bounds(doc: Doc) -> tuple[tuple[int, int], ...] | None:
    """(start_char, end_char) of each sentence; None for a Doc without sentence boundaries (asking spaCy
    whether it has them reads every token, so the answer is kept too)."""
    if _SENTENCES not in doc.user_data:
        has_sentences = doc.has_annotation("SENT_START")
        doc.user_data[_SENTENCES] = tuple((s.start_char, s.end_char) for s in doc.sents) if has_sentences else None
    bounds: tuple[tuple[int, int], ...] | None = doc.user_data[_SENTENCES]
    return bounds

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


def sentence_bounds(doc: Doc) -> tuple[tuple[int, int], ...]:
    """(start_char, end_char) of each sentence of a Doc that has sentence boundaries."""
    bounds = doc.user_data.get(_SENTENCES)
    if bounds is None:
        bounds = doc.user_data[_SENTENCES] = tuple((s.start_char, s.end_char) for s in doc.sents)
    return bounds

"""Which language a text is in (py3langid, CPU, model shipped in the wheel), without spaCy, so
`zmot sentiment` starts quickly; nlp/language.py wraps it as a pipeline component."""

from __future__ import annotations

from functools import lru_cache

UNDETERMINED = "und"
MIN_LETTERS = 12  # below this, identifiers guess; we would rather say "und"
# Restricting the candidates to widely used languages cuts the confusions langid makes on short posts.
CANDIDATES = (
    "en", "es", "pt", "fr", "de", "it", "nl", "sv", "da", "no", "fi", "pl", "cs", "tr", "ru", "uk", "el",
    "ar", "he", "fa", "hi", "bn", "id", "ms", "tl", "vi", "th", "ja", "zh", "ko", "ro", "hu",
)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def identify(text: str, min_confidence: float = 0.5) -> tuple[str, float | None]:
    """(ISO 639-1 code or 'und', probability); short or ambiguous text is 'und'."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < MIN_LETTERS:
        return UNDETERMINED, None
    code, probability = _identifier().classify(text)
    if probability < min_confidence:
        return UNDETERMINED, float(probability)
    return code, float(probability)

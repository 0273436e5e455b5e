"""The spaCy pipeline: brand and product references, sentiment per mention and per reference,
language, and the moment of truth. Components are registered with `@Language.factory` and built
from config; the pipeline runs on `spacy.blank("en")` and uses a trained English pipeline when
one is installed."""

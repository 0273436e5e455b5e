"""Site adapters for review pages that carry no usable schema.org markup.

Each adapter module exposes `name`, `matches(url, html_text)` and `extract(tree, url) -> PageExtraction`.
"""

from __future__ import annotations

from types import ModuleType

from connectors.review_adapters import amazon

ADAPTERS: list[ModuleType] = [amazon]


def adapter_for(url: str, html_text: str) -> ModuleType | None:
    """The first adapter that claims the page; None sends it down the generic schema.org path."""
    for adapter in ADAPTERS:
        if adapter.matches(url, html_text):
            return adapter
    return None

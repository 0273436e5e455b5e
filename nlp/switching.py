"""A customer moving to a brand ("switching to Orbit", "ported my number over from Acme to Orbit").

One definition for the two readers that need it: the moments (it is not leaving the brand it names)
and the sentiment toward a target (it is not negative toward the brand being chosen). No spaCy here,
so `zmot sentiment` stays quick to start.
"""

from __future__ import annotations

import re

_SWITCH_TO = (
    r"\b(?:switch(?:ed|ing)?|mov(?:ed|ing)|port(?:ed|ing)?(?: my number)?|go(?:ing)? back|went|leav(?:e|ing)\s+[\w@#&' -]{{1,40}}?)"
    r"\s+(?:over\s+)?(?:from\s+[\w@#&' -]{{1,40}}?\s+)?(?:to|for)\s+(?:the\s+)?{target}\b"
)


def switches_to(text: str, target: str | None) -> bool:
    """The writer is moving to `target` (the name as the text spells it)."""
    return bool(target and re.search(_SWITCH_TO.format(target=re.escape(target)), text, re.IGNORECASE))

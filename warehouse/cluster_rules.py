"""How near-copies are clustered, with the product's defaults, once (alerts.yaml `clusters:`).

Kept apart from warehouse/clusters.py (numpy) so that loading the config stays cheap.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClusterRules(BaseModel):
    """When two mentions count as one voice: near-copies of each other, published close together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookback_days: int = Field(
        default=14, ge=0, le=3650,
        description="A new mention joins a cluster only if a member was published within this many days of it.",
    )
    similarity: float = Field(
        default=0.5, gt=0, le=1,
        description="Estimated Jaccard similarity of word 3-shingles (normalised text) at which two mentions are copies.",
    )

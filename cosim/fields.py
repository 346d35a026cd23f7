"""Building blocks of the scenario schema (cosim.scenario, cosim.policy): strict pydantic
models, the number and code types of its fields, and YAML's spelling of infinity."""
from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[float, Field(ge=0)]
"""A number >= 0, in the unit its field names."""

Positive = Annotated[float, Field(gt=0)]
"""A number > 0, in the unit its field names."""

Norm = Annotated[float, Field(ge=1)]
"""The q of an Lq norm: 1 <= q <= inf (dimensionless)."""

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 country code (US, DE, ...)."""


def parse_inf(value: object) -> object:
    """*value*, or math.inf when it is a string spelling infinity ("inf", "infinity", ".inf",
    any case): YAML has no portable spelling of it, and norms and budgets accept it."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", ".inf"):
        return math.inf
    return value


class StrictModel(BaseModel):
    """A scenario section: unknown fields are refused, and values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

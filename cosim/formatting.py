"""Numbers as tables show them: the terminal tables of the CLI, the report page and the
figures' bar labels share one rule, so a value reads the same everywhere."""
from __future__ import annotations

import math
from numbers import Real

ROUND_OFF = 1e-9
"""Values within ROUND_OFF (absolute) or ROUND_OFF x the row's largest magnitude print as 0:
solver and floating-point round-off, not a result (no -0, no 2.2e-14)."""


def number(value, scale: float = 0.0) -> str:
    """Four significant digits, thousands separated; '-' for none or NaN; '0' for round-off,
    within ROUND_OFF of zero or of ROUND_OFF x *scale* (the row's largest magnitude);
    anything that is not a number as its text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) <= ROUND_OFF * max(1.0, abs(scale)):
        return "0"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def row_numbers(values) -> list[str]:
    """A table row's numbers, round-off judged against the row's largest finite magnitude."""
    finite = [abs(float(v)) for v in values
              if isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))]
    scale = max(finite, default=0.0)
    return [number(v, scale) for v in values]

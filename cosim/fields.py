"""Building blocks of the scenario schema (cosim.scenario, cosim.policy): strict pydantic
models, the number and code types of its fields, and YAML's spelling of infinity.

Every number of a scenario is finite and within a hard limit in its unit (:func:`quantity`,
:func:`count`): ``inf``, ``.inf``, ``nan`` and absurd magnitudes (1e308 Wh per request, a
horizon of 10^12 hours) are refused at validation, naming the field, before any solver
sees them. Only the fields that mean "no limit" by infinity (the Lq norms' q, a tier's
latency budget) accept it. These limits are far beyond the plausible ranges of
cosim.plausibility, which warns of likely unit mistakes among finite values; the table of
limits is docs/scenarios.md, "Limits".
"""
from __future__ import annotations

import math
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic.fields import FieldInfo

INF_SPELLINGS = ("inf", "+inf", "infinity", "+infinity", ".inf", "+.inf")
"""The strings read as +infinity where a field accepts it (any case): YAML has no portable
spelling of it."""

MAX_HOURS = 87_600
"""The longest horizon, hours: ten years of hours (8,760 x 10)."""

MAX_SEED = 2**63 - 1
"""The largest seed: the catalog stores it as a BIGINT."""


def parse_inf(value: object) -> object:
    """*value*, or math.inf when it is a string spelling infinity ("inf", "infinity", ".inf",
    any case): YAML has no portable spelling of it, and norms and budgets accept it."""
    if isinstance(value, str) and value.strip().lower() in INF_SPELLINGS:
        return math.inf
    return value


def _as_float(value: object) -> float | None:
    """*value* as a float when it is a float or a string pydantic would read as one (ints
    are left to :func:`_within`: they are finite, however large)."""
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in INF_SPELLINGS:
            return math.inf
        if text.lower() in ("-inf", "-.inf", "-infinity"):
            return -math.inf
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _in_unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _with_unit(value: float, unit: str) -> str:
    return f"{value:g} {unit}".rstrip()


def _finite(unit: str, allow_inf: bool, value: object) -> object:
    """*value* unchanged unless it is a number that is NaN or infinite (and *allow_inf* does
    not admit +inf): ValueError naming the unit."""
    number = _as_float(value)
    if number is None or math.isfinite(number):
        return value
    if allow_inf and number == math.inf:
        return math.inf
    spelled = "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    admits = "; only inf (no limit) is accepted" if allow_inf and number < 0 else ""
    raise ValueError(f"{spelled} is not a finite number{_in_unit(unit)}{admits}")


def _within(unit: str, limit: float, value: float) -> float:
    """*value* unless its magnitude is above *limit* (a finite one): ValueError naming the unit."""
    if (isinstance(value, int) or math.isfinite(value)) and abs(value) > limit:
        shown = (f"{value:g}" if isinstance(value, float) or value.bit_length() < 1000
                 else f"a number of {len(str(abs(value)))} digits")
        raise ValueError(f"{shown} {unit}".rstrip() + f" is beyond the limit of {_with_unit(limit, unit)} "
                         "(docs/scenarios.md, Limits)")
    return value


def quantity(unit: str, limit: float, *, allow_inf: bool = False, **bounds: float) -> Any:
    """A float field in *unit*: finite (or +inf when *allow_inf*), its magnitude at most
    *limit*, and within *bounds* (pydantic's ge, gt, le, lt)."""
    return Annotated[float, BeforeValidator(partial(_finite, unit, allow_inf)), Field(**bounds),
                     AfterValidator(partial(_within, unit, limit))]


def count(unit: str, limit: int, **bounds: int) -> Any:
    """A whole-number field counting *unit*, at most *limit*, within *bounds* (ge, gt)."""
    return Annotated[int, BeforeValidator(partial(_finite, unit, False)), Field(**bounds),
                     AfterValidator(partial(_within, unit, limit))]


NonNegative = quantity("the field's unit", 1e15, ge=0)
"""A number >= 0 and at most 1e15, in the unit its field names (prefer :func:`quantity`)."""

Positive = quantity("the field's unit", 1e15, gt=0)
"""A number > 0 and at most 1e15, in the unit its field names (prefer :func:`quantity`)."""

Norm = quantity("", 1000, allow_inf=True, ge=1)
"""The q of an Lq norm: 1 <= q <= 1000, or inf (dimensionless; inf is the max)."""

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 country code (US, DE, ...)."""


def field_adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    """A validator of one field of *model* alone, with its type, bounds and validators (so
    that a value set elsewhere, a sweep's axis, goes through the same checks)."""
    info: FieldInfo = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata])


class StrictModel(BaseModel):
    """A scenario section: unknown fields are refused, and values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

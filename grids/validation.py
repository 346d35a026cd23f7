"""pydantic errors as the project's :class:`InputError` (``source: where: reason``, *where*
the dotted field path: ``zones.BE.load.mean_mw``, ``lines[0].to``), in the wording of the
hand-written checks the models replaced. Used by the region spec (:mod:`grids.spec`) and
the fleet rows (:mod:`grids.fleet`); nothing here knows a schema.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import AfterValidator, ValidationError, ValidationInfo

from grids.errors import InputError


class FieldError(ValueError):
    """A failed check that names its field, relative to the model raising it ("" = the model)."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(reason)


_REASONS = {  # pydantic error type -> reason, in the wording of the hand-written checks it replaced
    "missing": "missing", "model_type": "must be a mapping", "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping", "list_type": "must be a list", "too_short": "needs at least one entry",
    "string_too_short": "empty", "string_type": "not a text: {v!r}", "float_parsing": "not a number: {v!r}",
    "float_type": "not a number: {v!r}", "int_parsing": "not a number: {v!r}", "int_type": "not a number: {v!r}",
    "int_from_float": "not a whole number: {v!r}", "finite_number": "not finite: {v!r}",
    "greater_than": "must be > {gt:g}, got {x:g}", "greater_than_equal": "must be >= {ge:g}, got {x:g}",
    "less_than": "must be < {lt:g}, got {x:g}", "less_than_equal": "must be <= {le:g}, got {x:g}",
}
_SHAPE_ERRORS = {"missing", "model_type", "model_attributes_type", "dict_type", "list_type", "string_type",
                 "too_short", "string_too_short"}


def _where(loc: tuple, rel: str = "") -> str:
    out = ""
    for p in (*loc, rel) if rel else loc:
        if p != "[key]":  # pydantic's marker after a bad mapping key; the key names the place
            out += f"[{p}]" if isinstance(p, int) else f".{p}" if out else str(p)
    return out or "(top level)"


def input_error(exc: ValidationError, source: str | Path,
                reasons: Mapping[tuple[str, ...], str] | None = None) -> InputError:
    """The first error of *exc* as an :class:`InputError` naming the field.

    *reasons*: better reasons where a field is missing or not of the right shape, by field
    path with ``*`` for any key or index (``{("zones", "*", "load"): "missing load"}``).
    """
    err = exc.errors()[0]
    loc, kind, v, ctx = tuple(err["loc"]), err["type"], err.get("input"), err.get("ctx") or {}
    if isinstance(ctx.get("error"), FieldError):
        return InputError(source, _where(loc, ctx["error"].where), ctx["error"].reason)
    for pattern, reason in (reasons or {}).items():
        if kind in _SHAPE_ERRORS and len(pattern) == len(loc) and all(p in ("*", q) for p, q in zip(pattern, loc)):
            return InputError(source, _where(loc), reason)
    if kind == "value_error":
        reason = err["msg"].removeprefix("Value error, ")
    elif v is None and kind in _REASONS:  # an explicit null is a missing value
        reason = "missing"
    elif kind in _REASONS:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = 0.0
        reason = _REASONS[kind].format(v=v, x=x, **{k: c for k, c in ctx.items() if k != "error"})
    else:
        reason = err["msg"]
    return InputError(source, _where(loc), reason)


def known_in(catalogue: str, reason: str) -> AfterValidator:
    """The value must be in the validation context's *catalogue* (None: anything goes)."""
    def check(v: str, info: ValidationInfo) -> str:
        if (known := info.context[catalogue]) is not None and v not in known:
            raise ValueError(reason.format(v=v, known=", ".join(known)))
        return v
    return AfterValidator(check)

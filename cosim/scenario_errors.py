"""A scenario's pydantic validation error as one :class:`InputError` (``source: where:
reason``, *where* the dotted field path), with a suggestion for a misspelled field.

A misspelled required field makes pydantic report two errors: the required field missing
and the misspelling as an extra field. Both become one message naming the misspelling:
``models.0.energy_wh_per_reqest: unknown field 'energy_wh_per_reqest' (did you mean
energy_wh_per_request?)``. An unknown field with no missing twin is matched against the
fields its section knows (difflib's close matches).
"""
from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from cosim.errors import InputError


class FieldError(ValueError):
    """A cross-field check that names its own field path (dotted, from the scenario's top)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


def where_of(loc: tuple) -> str:
    """pydantic's error location as a dotted path (``models.0.name``)."""
    return ".".join(str(p) for p in loc) or "(top level)"


def input_error(exc: ValidationError, model: type[BaseModel], source: str | Path) -> InputError:
    """The first error of *exc* (validating *model*) as an InputError naming *source*; a
    missing field whose misspelled twin is present becomes the twin's unknown-field error."""
    errors = exc.errors()
    err = errors[0]
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, FieldError):
        return InputError(source, ctx_error.where, ctx_error.reason)
    loc = tuple(err["loc"])
    if err["type"] == "missing":
        extras = [tuple(e["loc"]) for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"])[:-1] == loc[:-1]]
        twin = difflib.get_close_matches(str(loc[-1]), [str(e[-1]) for e in extras], n=1)
        if twin:
            return InputError(source, where_of((*loc[:-1], twin[0])),
                              f"unknown field '{twin[0]}' (did you mean {loc[-1]}?)")
    if err["type"] == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, sorted(fields_at(model, loc[:-1])), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return InputError(source, where_of(loc), f"unknown field '{name}'{hint}")
    return InputError(source, where_of(loc), err["msg"].removeprefix("Value error, "))


def fields_at(model: type[BaseModel], loc: tuple) -> set[str]:
    """The field names of the section at *loc* (a pydantic location) of *model*; empty when
    the location is not a section (a mapping of free keys, a value)."""
    candidates: list[object] = [model]
    for part in loc:
        step: list[object] = []
        for kind in _expand(candidates):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                if isinstance(part, str) and part in kind.model_fields:
                    step.append(kind.model_fields[part].annotation)
                else:  # a discriminated union's tag: pydantic puts it in the location
                    tag = kind.model_fields.get("kind")
                    if tag is not None and part in typing.get_args(tag.annotation):
                        step.append(kind)
            elif typing.get_origin(kind) in (list, tuple) and isinstance(part, int):
                step.extend(typing.get_args(kind)[:1])
            elif typing.get_origin(kind) is dict:
                step.extend(typing.get_args(kind)[1:2])
        candidates = step
    return {name for kind in _expand(candidates) if isinstance(kind, type) and issubclass(kind, BaseModel)
            for name in kind.model_fields}


def _expand(kinds: list[object]) -> list[object]:
    """Annotated, Optional and unions unwrapped into their member types."""
    out: list[object] = []
    for kind in kinds:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            out.extend(_expand([typing.get_args(kind)[0]]))
        elif origin in (typing.Union, types.UnionType):
            out.extend(_expand(list(typing.get_args(kind))))
        else:
            out.append(kind)
    return out

"""Plausible ranges of the unit-bearing inputs, and the unit mistake a value outside them
most likely is: one table (:data:`BOUNDS`), applied where such a value enters a run.

A value outside its range is not refused: it is a :class:`PlausibilityWarning` (a
DataWarning, so it lands in ``Instance.notes``, the summary's notes and the CLI's note
lines) naming the file and column (and the first row out of range) or the scenario field,
the value and the likely mistake. With ``--strict`` (``build_instance(strict=True)``) the
first one is refused instead: :meth:`PlausibilityWarning.as_error` is its InputError.

Where the checks run: the scenario's fields (:data:`FIELDS`, :func:`check_scenario`);
the signal CSVs and the E-GLB files, column by column, as cosim.loaders reads them
(``load_hourly_csv(quantity=...)``); the signals the grids compute (:func:`check_signals`),
which catch a unit mistake in a user's net (an emission or water rate per MWh given per
kWh). The basis of every bound is in docs/scenarios.md, "Plausibility checks".
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import DataWarning, InputError


class PlausibilityWarning(DataWarning):
    """A value outside the plausible range of its unit: ``source: where: reason``, as an
    InputError reads (``source`` the file, ``where`` the field or row and column)."""

    def __init__(self, source: str | Path, where: str, reason: str):
        self.source = str(source)
        self.where = where
        self.reason = reason
        super().__init__(f"{self.source}: {where}: {reason}")

    def as_error(self) -> InputError:
        """The same finding as a refusal (``--strict``)."""
        return InputError(self.source, self.where, self.reason)


@dataclass(frozen=True)
class Bound:
    """The plausible range of one quantity in its unit.

    ``high``: a value whose magnitude is above it warns (``too_high`` says the likely
    mistake); ``low``: a nonzero value whose magnitude is below it warns (``too_low``), zero
    meaning "none" and staying silent; ``series_low``: a whole series (a file's column) whose
    largest magnitude is below it warns (``too_small``), for quantities whose single values
    may be small but never all of them.
    """

    label: str
    unit: str
    high: float | None = None
    too_high: str = ""
    low: float | None = None
    too_low: str = ""
    series_low: float | None = None
    too_small: str = ""

    def _with_unit(self, value: float) -> str:
        return f"{value:g} {self.unit}".rstrip()

    def above(self, value: float, more: str = "") -> str:
        """The reason for a value above ``high`` (*more*: said before the likely mistake)."""
        return (f"{self._with_unit(value)} is above the plausible {self._with_unit(self.high)} of {self.label}{more}: "
                f"{self.too_high}")

    def below(self, value: float, more: str = "") -> str:
        """The reason for a nonzero value below ``low`` (*more*: said before the likely mistake)."""
        return (f"{self._with_unit(value)} is below the plausible {self._with_unit(self.low)} of {self.label}{more}: "
                f"{self.too_low}")

    def small(self, largest: float) -> str:
        """The reason for a series whose largest magnitude is below ``series_low``."""
        return (f"every value is below {self._with_unit(self.series_low)} of {self.label} "
                f"(the largest is {self._with_unit(largest)}): {self.too_small}")


BOUNDS: dict[str, Bound] = {
    "price_usd_per_mwh": Bound(
        "electricity price", "USD/MWh",
        high=10_000, too_high="looks like cents/MWh (divide by 100) or USD/GWh (divide by 1000)",
        series_low=1.0, too_small="looks like USD/kWh: multiply by 1000",
    ),
    "carbon_kg_per_kwh": Bound(
        "carbon intensity", "kg/kWh",
        high=2.0, too_high="looks like g/kWh or kg/MWh: divide by 1000 (lb/MWh: multiply by 0.000454)",
    ),
    "wue_l_per_kwh": Bound(
        "WUE", "L/kWh",
        high=20.0, too_high="looks like L/MWh or mL/kWh: divide by 1000 (gal/MWh: multiply by 0.003785)",
    ),
    "ewif_l_per_kwh": Bound(
        "EWIF (off-site water)", "L/kWh",
        high=20.0, too_high="looks like L/MWh: divide by 1000 (gal/MWh: multiply by 0.003785)",
    ),
    "energy_wh_per_request": Bound(
        "energy per request", "Wh",
        high=100.0, too_high="looks like J (divide by 3600) or mWh (divide by 1000)",
        low=1e-4, too_low="looks like kWh: multiply by 1000",
    ),
    "pue": Bound(
        "PUE", "",
        high=3.0, too_high="PUE is facility over IT energy, 1.1 to 2 at real sites; a percentage (110 for 1.1) "
                           "divides by 100",
    ),
    "server_power_kw": Bound(
        "server power", "kW",
        high=200.0, too_high="looks like W: divide by 1000",
    ),
    "mu_carbon_usd_per_t": Bound(
        "carbon price", "USD/t",
        high=10_000.0, too_high="looks like USD/kt: divide by 1000",
        low=1.0, too_low="looks like USD/kg: multiply by 1000",
    ),
    "egress_usd_per_gb": Bound(
        "data transfer price", "USD/GB",
        high=10.0, too_high="looks like USD/TB: divide by 1000",
    ),
    "list_price_usd_per_request": Bound(
        "list price per request", "USD",
        high=10.0, too_high="looks like USD per 1000 requests: divide by 1000",
    ),
}
"""Quantity (its name in the code, unit included) -> its plausible range."""

FIELDS: tuple[tuple[str, str], ...] = (
    ("models.*.energy_wh_per_request", "energy_wh_per_request"),
    ("datacenters.*.pue", "pue"),
    ("datacenters.*.server_power_kw", "server_power_kw"),
    ("policy.mu_carbon_usd_per_t", "mu_carbon_usd_per_t"),
    ("frictions.egress_usd_per_gb", "egress_usd_per_gb"),
    ("demand.list_price_usd_per_request", "list_price_usd_per_request"),
)
"""Scenario field path (``*``: every item of a list) -> the quantity of :data:`BOUNDS` it holds."""


def _finding(bound: Bound, value: float, more: str = "") -> str | None:
    """The reason one value is implausible, or None."""
    size = abs(value)
    if bound.high is not None and size > bound.high:
        return bound.above(value, more)
    if bound.low is not None and 0 < size < bound.low:
        return bound.below(value, more)
    return None


def check_value(quantity: str, value: float | None, *, source: str | Path, where: str) -> None:
    """Warn (PlausibilityWarning at *source*, *where*) when *value* of *quantity* is
    implausible; None is silent."""
    if value is None:
        return
    reason = _finding(BOUNDS[quantity], float(value))
    if reason is not None:
        warnings.warn(PlausibilityWarning(source, where, reason), stacklevel=2)


def check_scenario(scenario, source: str | Path) -> None:
    """Warn for every scenario field of :data:`FIELDS` out of its range, naming the field
    (``models.2.energy_wh_per_request``), except those the scenario's ``accept_implausible``
    lists; InputError for a listed path that is no such field."""
    data = scenario.model_dump()
    checked = [(where, value, quantity) for pattern, quantity in FIELDS for where, value in _fields(data, pattern.split("."))]
    known = {where for where, _, _ in checked}
    for n, path in enumerate(scenario.accept_implausible):
        if path not in known:
            raise InputError(source, f"accept_implausible.{n}", f"'{path}' is not a checked field "
                                     f"(checked: {', '.join(pattern for pattern, _ in FIELDS)}, * an index)")
    for where, value, quantity in checked:
        if where not in scenario.accept_implausible:
            check_value(quantity, value, source=source, where=where)


def _fields(data: object, parts: Sequence[str], prefix: str = "") -> Iterable[tuple[str, object]]:
    """(path, value) of every field matching *parts* (``*`` matching each list index)."""
    if not parts:
        yield prefix.rstrip("."), data
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for n, item in enumerate(data if isinstance(data, list) else []):
            yield from _fields(item, rest, f"{prefix}{n}.")
    elif isinstance(data, dict) and head in data:
        yield from _fields(data[head], rest, f"{prefix}{head}.")


def check_columns(quantity: str, values: np.ndarray, columns: Sequence[str], *, source: str | Path,
                  row: Callable[[int], str], series: bool = True, rows: str = "row(s)") -> None:
    """Warn once per column of *values* (rows x columns) holding an implausible value of
    *quantity*: at the first such row (``row(i)`` names it, e.g. "row 2"), with the value
    and how many more *rows* are out of range; or, with *series*, for a column whose every
    value is too small (``series_low``; a column of zeros is no unit mistake), at the column."""
    bound = BOUNDS[quantity]
    values = np.asarray(values, dtype=float).reshape(len(values), len(columns))
    size = np.abs(values)
    for k, column in enumerate(columns):
        out = np.zeros(len(values), dtype=bool)
        if bound.high is not None:
            out |= size[:, k] > bound.high
        if bound.low is not None:
            out |= (size[:, k] > 0) & (size[:, k] < bound.low)
        if out.any():
            bad = np.flatnonzero(out)
            reason = _finding(bound, values[bad[0], k], f" (and {len(bad) - 1} more {rows})" if len(bad) > 1 else "")
            warnings.warn(PlausibilityWarning(source, f"{row(int(bad[0]))}, column {column}", reason), stacklevel=2)
        elif series and bound.series_low is not None and len(values) and 0 < size[:, k].max() < bound.series_low:
            warnings.warn(PlausibilityWarning(source, f"column {column}", bound.small(float(size[:, k].max()))), stacklevel=2)


def check_signals(signals: dict[str, np.ndarray], datacenters: Sequence[str], times, *, source: str | Path,
                  origin: str) -> None:
    """Warn for the hourly signals (name -> (N, T) array) of :data:`BOUNDS` out of range,
    one warning per signal and data center, at its first hour; *origin* says where the
    signals came from (e.g. "signals (grids)"). Single values only: a computed price may
    well stay below a dollar for a few hours."""
    for name, array in signals.items():
        if name not in BOUNDS:
            continue
        check_columns(name, np.asarray(array).T, [f"{name} of {dc}" for dc in datacenters], source=source,
                      row=lambda t: f"{origin}: hour {times[t]:%Y-%m-%d %H:%M} UTC", series=False, rows="hour(s)")

"""The solvers' boundary: no NaN or infinity reaches an optimizer.

Validation (cosim.fields, the CSV readers) refuses non-finite inputs; this guard holds
the promise where it matters, in case an instance was built or changed past validation
(a study script, a scaled copy, a signal the grids computed, an overflow of finite
numbers): :func:`check_instance` and :func:`check_coefficients` raise
:class:`~cosim.errors.SolverInputError` naming the array and the first bad element, e.g.
``energy_kwh_per_request has inf at model 2 ('big')``, before cvxpy sees it.
"""
from __future__ import annotations

import math

import numpy as np

from cosim.errors import SolverInputError
from cosim.instance import Instance

_FINITE = {
    # name: the index names of its axes (N data centers, J users, K models, T hours)
    "demand": ("user", "hour"),
    "price_usd_per_mwh": ("data center", "hour"),
    "carbon_kg_per_kwh": ("data center", "hour"),
    "wue_l_per_kwh": ("data center", "hour"),
    "ewif_l_per_kwh": ("data center", "hour"),
    "pue": ("data center",),
    "capacity": ("data center",),
    "energy_kwh_per_request": ("model",),
    "resources_per_request": ("model",),
    "quality_score": ("model",),
    "inference_ms": ("model",),
    "distance_km": ("user", "data center"),
    "latency_ms": ("user", "data center"),
    "friction_usd_per_request": ("user", "data center"),
}
"""Instance arrays that must be finite everywhere, and the names of their axes."""

_NOT_NAN = {"tau_ms": ("user",)}
"""Instance arrays that may be +inf (no budget) but never NaN."""

_WEIGHTS = ("mu_carbon_usd_per_t", "mu_water_usd_per_m3", "social_weight_usd", "energy_weight",
            "moving_cost_usd_per_request_per_1000km", "unserved_penalty_usd_per_request")
"""Policy weights that must be finite (the norms' q may be inf)."""


def check_instance(inst: Instance, *, hourly_only: bool = False, where: str = "solver input") -> None:
    """SolverInputError naming the first NaN or infinite number of *inst* a solver reads
    (with *hourly_only*, only the hourly arrays: an online hour's shown signals)."""
    for name, axes in _FINITE.items():
        if hourly_only and axes[-1] != "hour":
            continue
        _refuse(np.asarray(getattr(inst, name), dtype=float), name, axes, inst, where, allow_inf=False)
    if hourly_only:
        return
    for name, axes in _NOT_NAN.items():
        _refuse(np.asarray(getattr(inst, name), dtype=float), name, axes, inst, where, allow_inf=True)
    for name in _WEIGHTS:
        value = float(getattr(inst.weights, name))
        if not math.isfinite(value):
            raise SolverInputError(f"{where}: policy weight {name} is {value}")
    for name in ("q_social", "q_env"):
        if math.isnan(float(getattr(inst.weights, name))):
            raise SolverInputError(f"{where}: policy weight {name} is nan")


def check_coefficients(coefficients, *, where: str = "solver input") -> None:
    """SolverInputError naming the first cost coefficient (USD per fraction of a user's
    demand on an arc) that is NaN or infinite: finite inputs whose product overflowed."""
    for name in ("energy", "moving", "env_carbon", "env_water", "resources", "social", "unserved"):
        values = np.asarray(getattr(coefficients, name), dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise SolverInputError(f"{where}: cost coefficient {name} has {values[index]} at "
                                   f"{'arc' if name != 'unserved' else 'user'} {index[0]}, hour {index[-1]} "
                                   "(finite inputs whose product overflowed)")


def _label(inst: Instance, axis: str, i: int) -> str:
    """The name of element *i* along *axis* of *inst*'s arrays."""
    if axis == "hour":
        return f"{inst.times[i]:%Y-%m-%d %H:%M} UTC" if i < len(inst.times) else "?"
    if axis == "user":
        users = inst.users
        return "/".join(users[i]) if i < len(users) else "?"
    names = inst.datacenters if axis == "data center" else inst.models
    return names[i] if i < len(names) else "?"


def _refuse(values: np.ndarray, name: str, axes: tuple[str, ...], inst: Instance, where: str,
            *, allow_inf: bool) -> None:
    bad = np.isnan(values) if allow_inf else ~np.isfinite(values)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    at = ", ".join(f"{axis} {i} ({_label(inst, axis, i)!r})" for axis, i in zip(axes, index))
    more = int(bad.sum()) - 1
    raise SolverInputError(f"{where}: {name} has {values[index]} at {at}"
                           + (f" (and {more} more)" if more else ""))

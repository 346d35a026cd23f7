"""Great-circle distances and the fiber estimate of round-trip times.

Distances are in km (grids.geo.great_circle_km, on a sphere of radius 6371 km),
coordinates in decimal degrees, RTTs in ms. :data:`ROUTE_INFLATION` is calibrated so that the estimate matches
Azure's measured matrix in the median over region pairs 500 km apart or more
(cosim.rtt_matrix.compare_with_measured, docs/latency.md).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["FIBER_KM_PER_MS", "ROUTE_INFLATION", "fiber_rtt_ms"]

FIBER_KM_PER_MS: float = 200.0
"""Light in optical fiber, one way, km per ms: c / n with n ~ 1.47 gives ~204 km/ms."""

ROUTE_INFLATION: float = 1.71
"""Fiber route length and routing overhead over the great-circle distance: the median of
measured / (2 d / 200 km/ms) over the 1145 Azure region pairs >= 500 km apart in the
2025-07-01 P50 matrix (docs/latency.md)."""


def fiber_rtt_ms(
    distance_km: float | np.ndarray, route_inflation: float = ROUTE_INFLATION, km_per_ms: float = FIBER_KM_PER_MS
) -> float | np.ndarray:
    """Round-trip time in ms over fiber for a great-circle *distance_km*:
    ``2 * distance * route_inflation / km_per_ms``. A float for a float, else an array."""
    if not route_inflation > 0 or not math.isfinite(route_inflation):
        raise ValueError(f"route_inflation must be a positive number, got {route_inflation!r}")
    if not km_per_ms > 0 or not math.isfinite(km_per_ms):
        raise ValueError(f"km_per_ms must be a positive number, got {km_per_ms!r}")
    d = np.asarray(distance_km, dtype=float)
    if (d < 0).any():
        raise ValueError("distance_km must not be negative")
    rtt = 2.0 * d * route_inflation / km_per_ms
    return float(rtt) if rtt.ndim == 0 else rtt

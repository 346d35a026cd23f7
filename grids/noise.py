"""Seeded, name-keyed random streams and the stationary AR(1) noise built on them.

A stream is ``default_rng(SeedSequence(seed, spawn_key=(crc32(key1), crc32(key2), ...)))``
with ``crc32`` of each UTF-8 name (zlib): a stable child of ``default_rng(seed)``'s seed
sequence keyed by names, not by the position in a request, so every (seed, names) pair
draws the same numbers whatever else is drawn.
"""
from __future__ import annotations

import math
import zlib

import numpy as np
from scipy.signal import lfilter


def stream(seed: int, *keys: str) -> np.random.Generator:
    """The independent random generator of (*seed*, *keys*)."""
    key = tuple(zlib.crc32(k.encode("utf-8")) for k in keys)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def ar1(e: np.ndarray, phi: float) -> np.ndarray:
    """Unit-variance stationary AR(1) path from standard normals *e* (dimensionless):
    ``z_0 = e_0``, ``z_k = phi z_{k-1} + sqrt(1 - phi^2) e_k``. *e* is not modified."""
    if len(e) == 0:
        return np.empty(0)
    x = np.sqrt(1.0 - phi * phi) * e
    x[0] = e[0]
    return lfilter([1.0], [1.0, -phi], x)


def lognormal_factor(z: np.ndarray, cv: float) -> np.ndarray:
    """exp(s z - s^2/2) with s^2 = ln(1 + cv^2), z standard normal: mean 1, coefficient
    of variation *cv* (dimensionless)."""
    if cv <= 0:
        return np.ones_like(z)
    s = math.sqrt(math.log1p(cv * cv))
    return np.exp(s * z - 0.5 * s * s)

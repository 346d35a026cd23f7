"""The hourly log of one co-simulated run: the series that accounting, metrics and outputs
read (they take the log, not the model). One HourRecord (agents.hour) per hour goes in;
arrays over the horizon come out.

Shapes: N data centers, J users, A arcs, G grids, T hours. Every series is dense except
the allocations x: per hour only the arcs above ALLOCATION_THRESHOLD are kept, so the log
grows with the allocations made, not with arcs x hours. They are appended to two growing
buffers (arc int32, fraction float64: 12 bytes an entry, doubled when full) and `x` is a
CSC view of them, not a copy: a run holds each allocation once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from agents.hour import SIGNALS, HourRecord
from cosim.glb.formulation import ALLOCATION_THRESHOLD
from cosim.instance import Instance


@dataclass
class HourlyLog:
    """Hour-by-hour records of one run.

    demand (J, T) requests the users emitted; x (A, T, a sparse CSC array: `x`) and u (J, T)
    the operators' fractions of it per arc and unserved; facility_mw (N, T) the data centers' draw; seen and
    realized: per signal name (N, T), the signals decided on and those after re-dispatch
    (the instance's own where no grid is simulated); per grid (G, T): emissions and the
    consumers' cost (LMP x background load) with and without the data centers, demand
    served, background demand and load shed, MW; replay_unserved (J, T); iterations and
    residual (T,), published_mw (N, T) of the iterate coupling; fallback_hours.
    """

    coupling: str
    operators: int
    iterate_tol: float
    grid_names: tuple[str, ...]
    demand: np.ndarray
    arcs: int
    u: np.ndarray
    facility_mw: np.ndarray
    seen: dict[str, np.ndarray]
    realized: dict[str, np.ndarray]
    emissions_with_kg: np.ndarray
    emissions_without_kg: np.ndarray
    consumers_with_usd: np.ndarray
    consumers_without_usd: np.ndarray
    grid_demand_mw: np.ndarray
    grid_background_mw: np.ndarray
    shed_mw: np.ndarray
    replay_unserved: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    published_mw: np.ndarray
    fallback_hours: list[int] = field(default_factory=list)
    _x_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32), repr=False)  # arcs kept
    _x_vals: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # their fractions
    _x_indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64), repr=False)  # (T+1,)
    _recorded: int = field(default=0, repr=False)  # hours recorded so far (in order)

    @classmethod
    def empty(cls, inst: Instance, arcs: int, grid_names: tuple[str, ...], *, coupling: str, operators: int,
              iterate_tol: float) -> HourlyLog:
        """A log for the hours of *inst* with *arcs* arcs, signals preset to the instance's."""
        n, j, _, t = inst.shape
        g = len(grid_names)

        def grid_series() -> np.ndarray:
            return np.zeros((g, t))

        return cls(
            coupling=coupling, operators=operators, iterate_tol=iterate_tol, grid_names=tuple(grid_names),
            demand=np.zeros((j, t)), arcs=arcs, u=np.zeros((j, t)), facility_mw=np.zeros((n, t)),
            seen={name: np.array(getattr(inst, name), dtype=float) for name in SIGNALS},
            realized={name: np.array(getattr(inst, name), dtype=float) for name in SIGNALS},
            emissions_with_kg=grid_series(), emissions_without_kg=grid_series(),
            consumers_with_usd=grid_series(), consumers_without_usd=grid_series(),
            grid_demand_mw=grid_series(), grid_background_mw=grid_series(), shed_mw=grid_series(),
            replay_unserved=np.zeros((j, t)), iterations=np.ones(t, dtype=int), residual=np.zeros(t),
            published_mw=np.zeros((n, t)),
            _x_indptr=np.zeros(t + 1, dtype=np.int64),
        )

    def record(self, k: int, hour: HourRecord) -> None:
        """Keep hour *k*: the hours are recorded in order, each once (ValueError otherwise)."""
        if k != self._recorded:
            raise ValueError(f"hour {k} recorded after {self._recorded} hours: the log keeps hours in order")
        d = hour.decision
        self.demand[:, k] = hour.demand
        self._append_x(k, np.asarray(d.x, dtype=float))
        self.u[:, k], self.facility_mw[:, k] = d.u, d.facility_mw
        if hour.replay_unserved is not None:
            self.replay_unserved[:, k] = hour.replay_unserved
        self.iterations[k], self.residual[k] = hour.iterations, hour.residual
        if hour.published_mw is not None:
            self.published_mw[:, k] = hour.published_mw
        if hour.fallback:
            self.fallback_hours.append(k)
        for g, grid in enumerate(hour.grids):
            with_load, without = grid.with_load, grid.without_load
            self.emissions_with_kg[g, k], self.emissions_without_kg[g, k] = with_load.emissions_kg, without.emissions_kg
            self.consumers_with_usd[g, k] = with_load.consumers_cost_usd
            self.consumers_without_usd[g, k] = without.consumers_cost_usd
            self.grid_demand_mw[g, k], self.shed_mw[g, k] = with_load.demand_mw, with_load.shed_mw
            self.grid_background_mw[g, k] = grid.background_mw
        if hour.realized is not None:
            for name in SIGNALS:
                self.seen[name][:, k] = getattr(hour.seen, name)
                self.realized[name][:, k] = getattr(hour.realized, name)

    def _append_x(self, k: int, x: np.ndarray) -> None:
        """Hour k's fractions above ALLOCATION_THRESHOLD onto the buffers (grown x2 when full)."""
        kept = np.flatnonzero(x > ALLOCATION_THRESHOLD)
        lo = int(self._x_indptr[k])
        hi = lo + len(kept)
        if hi > len(self._x_vals):
            self._resize_x(max(hi, len(self._x_vals) * 3 // 2, 1024))
        self._x_rows[lo:hi], self._x_vals[lo:hi] = kept, x[kept]
        self._x_indptr[k + 1] = hi  # only this hour's end: the later ones are filled in `x` (no O(T) write an hour)
        self._recorded = k + 1

    def _resize_x(self, size: int) -> None:
        """The buffers resized to *size* entries: in place (realloc, no second copy held at
        once) unless a view of them (`x`) is alive, then copied."""
        for name in ("_x_rows", "_x_vals"):
            buffer = getattr(self, name)
            try:
                buffer.resize(size, refcheck=True)
            except ValueError:  # referenced elsewhere: a copy leaves the views intact
                setattr(self, name, np.resize(buffer, size))

    @property
    def x_entries(self) -> int:
        """Allocations stored: the entries above ALLOCATION_THRESHOLD of the hours recorded."""
        return int(self._x_indptr[self._recorded])

    @property
    def x_bytes(self) -> int:
        """Bytes the buffers of `x` hold (capacity, not only the entries stored)."""
        return int(self._x_rows.nbytes + self._x_vals.nbytes + self._x_indptr.nbytes)

    @property
    def x(self) -> sp.csc_array:
        """(A, T) the operators' fractions per arc and hour, as a CSC array of the entries
        above ALLOCATION_THRESHOLD (hours not yet recorded are empty). Its data and indices
        are views of the log's buffers: do not write to them."""
        n = self.x_entries
        if self._recorded == len(self._x_indptr) - 1 and len(self._x_vals) > n:
            self._resize_x(n)  # every hour in: the buffers trimmed to what they hold
        out = sp.csc_array((self.arcs, len(self._x_indptr) - 1), dtype=float)
        indptr = self._x_indptr.copy()
        indptr[self._recorded + 1:] = n  # the hours not yet recorded: empty
        if n <= np.iinfo(np.int32).max:  # one index dtype for scipy: int32 indptr (T+1,), indices shared
            indices, indptr = self._x_rows[:n], indptr.astype(np.int32)
        else:
            indices = self._x_rows[:n].astype(np.int64)
        out.data, out.indices, out.indptr = self._x_vals[:n], indices, indptr
        out.has_canonical_format = True  # sorted arcs within each hour, each once
        return out

    def x_hour(self, k: int) -> np.ndarray:
        """(A,) the fractions of hour k, dense."""
        out = np.zeros(self.arcs)
        if k >= self._recorded:
            return out
        lo, hi = self._x_indptr[k], self._x_indptr[k + 1]
        out[self._x_rows[lo:hi]] = self._x_vals[lo:hi]
        return out

    def instances(self, inst: Instance) -> tuple[Instance, Instance]:
        """(seen, realized): *inst* with the users' realized demand and the signals the
        operators saw, and with the signals that resulted from the re-dispatch."""
        return replace(inst, demand=self.demand, **self.seen), replace(inst, demand=self.demand, **self.realized)

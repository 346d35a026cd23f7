"""How a scenario is run: the options of `cosim run` (and of the studies and batch runs
that call cosim.runner.run_scenario), with the rules that tie them together. Checked
here, once, before anything is computed; the CLI, the runner and the model read them.
"""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from cosim.errors import InputError
from cosim.policy import ALGORITHMS, POLICY_NAMES

MODES = ("offline", "online")
COUPLINGS = ("open", "lagged", "iterate")
OFFLINE_METHODS = ("monolithic", "decomposed")
"""cosim.glb.offline.METHODS, repeated here: that module loads cvxpy (tests/test_offline_method.py holds them equal)."""


MAX_OPERATORS = 1000
"""The most operators sharing the sites (--operators, a sweep's operators axis)."""

MAX_DAMPING = 1e6
"""The largest online switching cost (--damping), in units of the hour's typical arc cost."""

MAX_ELASTICITY = 1000.0
"""The largest price elasticity (--elasticity, a sweep's elasticity axis; the scenario's
demand.price_elasticity has the same limit)."""

class RunOptions(BaseModel):
    """One run's options. `mode`: offline (full-horizon plans replayed through the grids)
    or online (hour by hour); `coupling`: what online operators see (default lagged with
    grids, open without); `policies`: the policies to co-simulate (default: the
    scenario's); `ai_share`: the share of each grid's demand the no-relocation baseline
    draws (requests and capacity scaled to it); `operators`: equal operators sharing
    every site and user; `damping` (x the hour's typical arc cost), `max_shift` (share of
    a user's demand away from home) and `sequential` (lagged only): herding controls;
    `elasticity`: the users' price elasticity (default: the scenario's); `strict`: refuse
    (InputError) a value outside its plausible range instead of noting it (cosim.plausibility);
    `offline_method`: how offline plans are solved, one problem (monolithic) or by column
    generation over hours (decomposed; cosim.glb.decomposition), its hours on a LocalCluster
    of `workers` processes or on the Dask `scheduler` (neither: serially)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policies: tuple[str, ...] | None = None
    mode: str = "offline"
    coupling: str | None = None
    online_algorithm: str | None = None
    ai_share: float | None = None
    operators: int = 1
    damping: float = 0.0
    max_shift: float | None = None
    sequential: bool = False
    elasticity: float | None = None
    strict: bool = False
    offline_method: str = "monolithic"
    workers: int | None = None
    scheduler: str | None = None

    def checked(self, *, grids: bool) -> RunOptions:
        """These options with the coupling's default filled in, or InputError naming the
        option (as its CLI flag) when a value or a combination is not allowed. *grids*:
        the scenario's signals come from simulated grids."""
        check_policies(self.policies)
        if self.mode not in MODES:
            raise InputError("--mode", self.mode, f"must be one of {', '.join(MODES)}")
        if self.online_algorithm is not None and self.online_algorithm not in ALGORITHMS:
            raise InputError("--online-algorithm", self.online_algorithm, f"must be one of {', '.join(ALGORITHMS)}")
        if self.ai_share is not None:
            if not (math.isfinite(self.ai_share) and 0 < self.ai_share < 10):
                raise InputError("--ai-share", f"{self.ai_share:g}", "a share of the grids' demand: > 0 (and below 10)")
            if not grids:
                raise InputError("--ai-share", f"{self.ai_share:g}", "needs simulated grids (signals: grids)")
        if not 1 <= self.operators <= MAX_OPERATORS:
            raise InputError("--operators", str(self.operators), f"at least one operator, at most {MAX_OPERATORS:,}")
        if not (math.isfinite(self.damping) and 0 <= self.damping <= MAX_DAMPING):
            raise InputError("--damping", f"{self.damping:g}", f"a switching cost >= 0 (at most {MAX_DAMPING:g})")
        if self.max_shift is not None and not 0 <= self.max_shift <= 1:
            raise InputError("--max-shift", f"{self.max_shift:g}", "a share of each user's demand, 0 to 1")
        if self.elasticity is not None and not (math.isfinite(self.elasticity) and 0 <= self.elasticity <= MAX_ELASTICITY):
            raise InputError("--elasticity", f"{self.elasticity:g}", f"an elasticity >= 0 (at most {MAX_ELASTICITY:g})")
        self._check_offline_method()
        coupling = self._coupling(grids)
        if self.sequential and coupling != "lagged":
            raise InputError("--sequential", f"--mode {self.mode} --coupling {coupling}",
                             "cumulative shifting needs --mode online --coupling lagged")
        return self.model_copy(update={"coupling": coupling})

    def _check_offline_method(self) -> None:
        if self.offline_method not in OFFLINE_METHODS:
            raise InputError("--offline-method", self.offline_method, f"must be one of {', '.join(OFFLINE_METHODS)}")
        if self.offline_method == "decomposed" and self.mode != "offline":
            raise InputError("--offline-method", "decomposed", "solves offline plans; use --mode offline")
        if self.workers is not None and self.workers < 1:
            raise InputError("--workers", str(self.workers), "at least one worker process")
        if self.workers is not None and self.scheduler is not None:
            raise InputError("--workers", str(self.workers), "a local cluster or --scheduler, not both")
        for flag, value in (("--workers", self.workers), ("--scheduler", self.scheduler)):
            if value is not None and self.offline_method != "decomposed":
                raise InputError(flag, str(value), "runs the hours of a decomposed solve; add --offline-method decomposed")

    def _coupling(self, grids: bool) -> str:
        coupling = self.coupling
        if coupling is None:
            return "lagged" if grids and self.mode == "online" else "open"
        if coupling not in COUPLINGS:
            raise InputError("--coupling", coupling, f"must be one of {', '.join(COUPLINGS)}")
        if coupling != "open" and self.mode == "offline":
            raise InputError("--coupling", coupling, "offline plans are replayed open-loop through the grids; use --mode online")
        if coupling != "open" and not grids:
            raise InputError("--coupling", coupling, "needs simulated grids (signals: grids)")
        return coupling


def check_policies(names: tuple[str, ...] | list[str] | None) -> None:
    """InputError naming `--policy` and the value's position for a policy not in POLICY_NAMES."""
    for n, name in enumerate(names or ()):
        if name not in POLICY_NAMES:
            raise InputError("--policy", f"value {n + 1}", f"unknown policy '{name}' (known: {', '.join(POLICY_NAMES)})")

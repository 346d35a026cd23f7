"""What a scenario says about its policies: the names `policies` may list, and the weights
and norms of the `policy` section (SE-GLB). The GLB optimizers (cosim.glb) turn a name and
these weights into the terms they minimize; this module knows nothing of them.
"""
from __future__ import annotations

from typing import Literal

from cosim.fields import Norm, StrictModel, quantity

ALGORITHMS = ("myopic", "dmd")
"""Online algorithms for the environmental norm over the horizon (cosim.glb.online)."""

POLICY_NAMES = ("cost-glb", "all-glb", "e-glb", "se-glb", "nearest", "min-price")
"""The policies a scenario may name (cosim.glb.policies says what each one minimizes)."""


class PolicyWeights(StrictModel):
    """Prices on carbon, water and quality loss, and the equity norms (SE-GLB)."""

    mu_carbon_usd_per_t: quantity("USD/t", 1e9, ge=0) = 1500.0
    mu_water_usd_per_m3: quantity("USD/m3", 1e9, ge=0) = 60.0
    social_weight_usd: quantity("USD", 1e12, ge=0) = 1.0
    """USD per point of request-averaged quality loss, per hour, inside the social norm."""
    energy_weight: quantity("", 1e6, ge=0) = 1.0
    """Multiplies the energy cost (1 = dollars as billed)."""
    q_social: Norm = 2.0
    q_env: Norm = 2.0
    env_norm: Literal["combined", "separate"] = "combined"
    """combined: ||mu_c carbon_i + mu_w water_i||_q (SE-GLB);
    separate: mu_c ||carbon_i||_q + mu_w ||water_i||_q (E-GLB's code)."""
    norm_scale: Literal["entries", "none"] = "entries"
    """entries: Lq norms times m^(1-1/q), so q = 1 is the sum and q = inf is m x max;
    none: the plain norm (q = inf is the max)."""
    moving_cost_usd_per_request_per_1000km: quantity("USD", 1e6, ge=0) = 0.0
    unserved_penalty_usd_per_request: quantity("USD", 1e9, gt=0) = 10.0

    @property
    def env_group_count(self) -> int:
        """How many environmental norms there are: 1 combined, 2 separate (carbon, water)."""
        return 1 if self.env_norm == "combined" else 2

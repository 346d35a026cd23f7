"""The GLB policies: which cost terms each one minimizes, and with which norms.

Names follow SE-GLB's Table 1 (Li, Liu, Yang, Ren 2024) plus two references:
- cost-glb: energy cost + performance cost (social, q = 1), no environmental cost;
- all-glb:  energy + social (q = 1) + environmental cost summed over DCs (q = 1);
- e-glb:    energy + social (q = 1) + Lq norm of per-DC environmental cost (q = q_env);
- se-glb:   energy + Lq social norm (q_social) + Lq environmental norm (q_env);
- nearest:  Cost-GLB restricted to each region's local data center (no relocation);
- min-price: energy cost only (the E-GLB code's price-chasing baseline).
"""
from __future__ import annotations

from dataclasses import dataclass

from cosim.policy import POLICY_NAMES, PolicyWeights


@dataclass(frozen=True)
class Policy:
    """Which terms a GLB policy minimizes. A term is off when its norm is None."""

    name: str
    q_social: float | None
    q_env: float | None
    local_only: bool = False

    @property
    def conic(self) -> bool:
        """True when a norm is neither 1 nor inf (needs power cones, solved by Clarabel)."""
        return any(q is not None and q not in (1.0, float("inf")) for q in (self.q_social, self.q_env))


def make_policy(name: str, weights: PolicyWeights) -> Policy:
    """The policy *name* with the scenario's norms."""
    if name == "cost-glb":
        return Policy(name, q_social=1.0, q_env=None)
    if name == "all-glb":
        return Policy(name, q_social=1.0, q_env=1.0)
    if name == "e-glb":
        return Policy(name, q_social=1.0, q_env=weights.q_env)
    if name == "se-glb":
        return Policy(name, q_social=weights.q_social, q_env=weights.q_env)
    if name == "nearest":
        return Policy(name, q_social=1.0, q_env=None, local_only=True)
    if name == "min-price":
        return Policy(name, q_social=None, q_env=None)
    raise ValueError(f"unknown policy '{name}' (known: {', '.join(POLICY_NAMES)})")

"""Geographical load balancing: SE-GLB, its baselines, offline and online."""
from cosim.glb.formulation import Arcs, Solution, coefficients, make_arcs, objective_terms
from cosim.glb.offline import solve_offline
from cosim.glb.online import HourlyProblem, OnlineSolver, solve_online
from cosim.glb.policies import Policy, make_policy
from cosim.glb.solve import SolverFailure
from cosim.policy import ALGORITHMS, POLICY_NAMES

__all__ = [
    "ALGORITHMS", "Arcs", "HourlyProblem", "OnlineSolver", "POLICY_NAMES", "Policy", "Solution", "SolverFailure",
    "coefficients", "make_arcs", "make_policy", "objective_terms", "solve_offline", "solve_online",
]

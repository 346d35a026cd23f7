"""Geographical load balancing: SE-GLB, its baselines, offline and online."""
from cosim.glb.formulation import Arcs, Solution, coefficients, make_arcs, objective_terms
from cosim.glb.hour_inputs import HourInputs, hour_inputs
from cosim.glb.offline import solve_offline
from cosim.glb.online import BACKENDS, HourlyProblem, OnlineSolver, hourly_problem, solve_online
from cosim.glb.policies import Policy, make_policy
from cosim.glb.solve import SolverFailure
from cosim.policy import ALGORITHMS, POLICY_NAMES

__all__ = [
    "ALGORITHMS", "Arcs", "BACKENDS", "HourInputs", "HourlyProblem", "OnlineSolver", "POLICY_NAMES", "Policy", "Solution",
    "SolverFailure", "coefficients", "hour_inputs", "hourly_problem", "make_arcs", "make_policy", "objective_terms",
    "solve_offline", "solve_online",
]

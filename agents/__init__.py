"""Mesa agents of the co-simulation: operators, users (region x latency tier), grids and
data centers. The model that steps them is cosim.cosimulation.CoSimulation."""
from agents.datacenter import DataCenter
from agents.grid import GridAgent
from agents.operator import OperatorAgent
from agents.user import UserAgent

__all__ = ["DataCenter", "GridAgent", "OperatorAgent", "UserAgent"]

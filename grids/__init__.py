"""Regional power grids in pandapower: nets from fleets, DC-OPF dispatch, prices,
average and marginal emissions, water intensity.

    >>> from grids import dispatch
    >>> result = dispatch(net)          # DC-OPF of a pandapower net, HiGHS
    >>> result.lmp_usd_per_mwh, result.lme_kg_per_mwh
"""
from grids.opf import DispatchResult, Dispatcher, LoadShedWarning, dispatch

__all__ = ["DispatchResult", "Dispatcher", "LoadShedWarning", "dispatch"]

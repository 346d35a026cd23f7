"""Regional power grids in pandapower: nets from fleets, DC-OPF dispatch, prices,
average and marginal emissions, water intensity.

    >>> from grids import dispatch
    >>> result = dispatch(net)          # DC-OPF of a pandapower net, HiGHS
    >>> result.lmp_usd_per_mwh, result.lme_kg_per_mwh
"""
from __future__ import annotations

__all__ = ["DispatchResult", "Dispatcher", "LoadShedWarning", "dispatch"]


def __getattr__(name: str):
    # imported on first use: cosim imports grids.errors and grids.files, which must not
    # load pandapower and HiGHS
    if name in __all__:
        import grids.opf

        return getattr(grids.opf, name)
    raise AttributeError(f"module 'grids' has no attribute {name!r}")

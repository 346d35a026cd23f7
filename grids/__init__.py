"""Regional power grids in pandapower: nets from fleets, DC-OPF dispatch, prices,
average and marginal emissions, water intensity. Arrives with the grids issue."""

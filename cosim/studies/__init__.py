"""Policy studies shared by the notebooks (notebooks/) and the policy scripts (scenarios/).

Each study function takes a scenario and its knobs and returns a tidy pandas DataFrame,
one row per run and policy, units in the column names (t, usd, mwh; `_ratio` and
`_share` are dimensionless). Figure helpers write PNGs with matplotlib's Agg backend.

- rebound: predicted versus realized savings as the AI share grows, herding with
  several operators and damping, demand rebound (price elasticity), who pays;
- equity: the q-norms of SE-GLB from 1 to inf, the cost of equity, online versus offline;
- regulation: regulation masks compared through a `cosim batch` and its catalog (DIR/catalog.duckdb);
- script: the command-line conventions the policy scripts share (exit 2 on bad input).

docs/studies.md describes the studies and their measured answers.
"""
from cosim.studies.common import study_scenario, with_norms

__all__ = ["study_scenario", "with_norms"]

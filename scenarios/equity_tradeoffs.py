"""Equity trade-offs of SE-GLB: the q-norms from 1 (sums) to inf (minimax).

    python scenarios/equity_tradeoffs.py --out results/equity [--hours 24] [--data-dir DIR]

Writes into --out: q_sweep.csv (one row per norm swept, q and mode), pareto.png (energy
cost against each max/avg spread, with the Pareto front), cost_of_equity.csv (q low versus
q high per norm) and online_offline.png (both norms at q, offline versus online). The study
logic is cosim.studies.equity; docs/studies.md describes it. Exit 2 on bad input.
"""
from __future__ import annotations

import pandas as pd

from cosim.studies import equity
from cosim.studies.common import check_policies, check_range, study_scenario, write_csv
from cosim.studies.script import data_dir, floats, main, names, parser


def run(argv: list[str] | None = None) -> None:
    p = parser("equity_tradeoffs.py", __doc__.splitlines()[0], "results/equity", 24)
    p.add_argument("--qs", default="1,2,4,8,inf", help="norms q, >= 1, inf allowed (default %(default)s)")
    p.add_argument("--norms", default="social,environmental,both", help="which norms to sweep (default %(default)s)")
    p.add_argument("--policy", default="se-glb", help="the policy whose norms are swept (default %(default)s)")
    p.add_argument("--no-online", action="store_true", help="skip the online runs")
    args = p.parse_args(argv)

    spec = study_scenario(args.scenario, args.hours)
    policy = check_policies([args.policy])[0]
    qs = check_range(floats(args.qs, "--qs"), "--qs", low=1.0)
    norms = equity.check_norms(names(args.norms))
    out = args.out
    data = data_dir(args)
    frame = equity.q_sweep(spec, qs, norms=norms, policy=policy, data_dir=data)
    if not args.no_online:
        online = equity.q_sweep(spec, qs, norms=["both"], modes=["online"], policy=policy, data_dir=data)
        frame = pd.concat([frame, online], ignore_index=True)
    costs = equity.cost_of_equity(frame)
    write_csv(frame, out / "q_sweep.csv")
    write_csv(costs, out / "cost_of_equity.csv")
    equity.plot_pareto(frame, out / "pareto.png")
    if "both" in norms and not args.no_online:
        equity.plot_online_offline(frame, out / "online_offline.png")
    print(costs.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    print(f"{spec.name}, {spec.hours} h from {spec.start:%Y-%m-%d %H:%M} UTC, seed {spec.seed}: tables and figures written to {out}/")


if __name__ == "__main__":
    main(run)

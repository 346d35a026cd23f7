"""Rebound effects of geo-distributed AI inference, as the AI load grows.

    python scenarios/rebound_effects.py --out results/rebound [--hours 24] [--data-dir DIR]

Writes into --out: savings.csv / savings.png (predicted versus realized carbon and energy-
cost savings against `nearest`, per AI share and policy), who_pays.csv / who_pays.png
(consumers' cost change per grid), herding.csv / herding.png (several operators, damping)
and demand.csv / demand.png (requests and emissions added by the users' price response).
The study logic is cosim.studies.rebound; docs/studies.md describes it. Exit 2 on bad input.
"""
from __future__ import annotations

from cosim.studies import rebound
from cosim.studies.common import check_policies, check_range, study_scenario, write_csv
from cosim.studies.script import data_dir, floats, main, names, parser


def run(argv: list[str] | None = None) -> None:
    p = parser("rebound_effects.py", __doc__.splitlines()[0], "results/rebound", 24)
    p.add_argument("--shares", default="0.001,0.03,0.1,0.3", help="AI shares of the grids' demand (default %(default)s)")
    p.add_argument("--policies", default="all-glb,se-glb", help="policies compared with nearest (default %(default)s)")
    p.add_argument("--mode", default="offline", choices=("offline", "online"), help="of the share sweep (default %(default)s)")
    p.add_argument("--operators", default="1,3", help="operator counts of the herding runs (default %(default)s)")
    p.add_argument("--dampings", default="0,1,5", help="dampings of the herding runs (default %(default)s)")
    p.add_argument("--herding-share", type=float, default=0.1, help="AI share of the herding runs (default %(default)s)")
    p.add_argument("--elasticities", default="0,0.5,1", help="price elasticities (default %(default)s)")
    p.add_argument("--demand-share", type=float, default=0.03, help="AI share of the demand runs (default %(default)s)")
    args = p.parse_args(argv)

    spec = study_scenario(args.scenario, args.hours)
    rebound.check_grids(spec)
    data = data_dir(args)
    policies = check_policies(names(args.policies), "--policies")
    shares = check_range(floats(args.shares, "--shares"), "--shares", low=0.0, high=10.0, low_open=True)
    check_range([args.herding_share], "--herding-share", low=0.0, high=10.0, low_open=True)
    check_range([args.demand_share], "--demand-share", low=0.0, high=10.0, low_open=True)
    operators = [int(v) for v in check_range(floats(args.operators, "--operators"), "--operators", low=1.0)]
    dampings = check_range(floats(args.dampings, "--dampings"), "--dampings", low=0.0)
    elasticities = check_range(floats(args.elasticities, "--elasticities"), "--elasticities", low=0.0)

    out = args.out
    runs = rebound.share_runs(spec, shares, policies, mode=args.mode, data_dir=data)
    savings, who_pays = rebound.savings_frame(runs), rebound.who_pays_frame(runs)
    herding = rebound.herding_frame(spec, operators=operators, dampings=dampings, policies=policies,
                                    ai_share=args.herding_share, data_dir=data)
    demand = rebound.demand_frame(spec, elasticities=elasticities, policies=policies, ai_share=args.demand_share,
                                  data_dir=data)
    for name, frame, plot in (("savings", savings, rebound.plot_savings), ("who_pays", who_pays, rebound.plot_who_pays),
                              ("herding", herding, rebound.plot_herding), ("demand", demand, rebound.plot_demand)):
        write_csv(frame, out / f"{name}.csv")
        plot(frame, out / f"{name}.png")
    print(savings.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    print(f"{spec.name}, {spec.hours} h from {spec.start:%Y-%m-%d %H:%M} UTC, seed {spec.seed}: tables and figures written to {out}/")


if __name__ == "__main__":
    main(run)

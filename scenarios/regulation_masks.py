"""Regulation masks: what each rule set costs and whom it protects (a batch over the shipped sweep).

    python scenarios/regulation_masks.py --out results/regulation [--hours 6] [--workers 2] [--data-dir DIR]

Runs `cosim batch SWEEP --out OUT/batch` (default sweep: the shipped regulation_masks.yaml,
paper10 over five layered rule sets x the four Table-1 policies), then writes into --out:
masks.csv (one row per rule set and policy, from OUT/batch/catalog.duckdb), masks.png, and
regulation_cost.csv (each rule set against --reference, per policy). Rerunning skips the
runs already in the catalog. The study logic is cosim.studies.regulation; docs/studies.md
describes it. Exit 2 on bad input.
"""
from __future__ import annotations

from cosim.studies import regulation
from cosim.studies.common import check_hours, check_range, write_csv
from cosim.studies.script import data_dir, main, parser


def run(argv: list[str] | None = None) -> None:
    p = parser("regulation_masks.py", __doc__.splitlines()[0], "results/regulation", 6, scenario=False)
    p.add_argument("--sweep", default=None, help="sweep YAML (default: the shipped regulation_masks.yaml)")
    p.add_argument("--workers", type=int, default=1, help="batch worker processes (default %(default)s)")
    p.add_argument("--reference", default="latency-only", help="rule set the others are compared with (default %(default)s)")
    args = p.parse_args(argv)
    check_hours(args.hours)
    check_range([args.workers], "--workers", low=1.0)

    out = args.out
    proc = regulation.run_batch(out / "batch", sweep=args.sweep, hours=args.hours, workers=args.workers,
                                data_dir=data_dir(args))
    runs = regulation.read_catalog(out / "batch")
    table = regulation.mask_table(runs)
    cost = regulation.regulation_cost(table, reference=args.reference)
    write_csv(table, out / "masks.csv")
    write_csv(cost, out / "regulation_cost.csv")
    regulation.plot_masks(table, out / "masks.png")
    shown = ["mask", "policy", "energy_cost_usd_change_pct", "carbon_consequential_t_change_pct", "water_m3_change_pct",
             "perf_cost_max_avg_change", "rid_change"]
    print(cost[[c for c in shown if c in cost.columns]].to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    failed = runs[runs["status"] != "ok"]
    if proc.returncode == 1 or len(failed):
        print(f"{len(failed)} run(s) failed: their errors are in {out / 'batch' / 'catalog.duckdb'} (column error)")
    print(f"{len(runs)} runs, {args.hours} h each: tables and figures written to {out}/")


if __name__ == "__main__":
    main(run)
